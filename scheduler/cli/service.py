"""Commands of the running service and its people: serve, users,
subscriptions, feeds export. Each gets a Context (settings, now, streams)."""

from __future__ import annotations

from scheduler.cli.commands import Context
from scheduler.bounds import parse_id
from scheduler.errors import N_, InputError
from scheduler.store.feed_export import export_feeds
from scheduler.people.accounts import FeedScope, check_channel, feed_urls, new_token
from scheduler.store import people
from scheduler.store.feed_items import rerender_stale
from scheduler.cli.listing import table


def users_add(ctx: Context, email: str, roles: list[str], agency: str | None, name: str | None,
              lang: str | None) -> None:
    with ctx.session() as s:
        user = people.add_user(s, email, roles, agency, name or "", lang or ctx.settings.lang, ctx.now)
        ctx.out.write(ctx._("added {email} ({roles})").format(email=user.email, roles=", ".join(user.roles)) + "\n")


def users_list(ctx: Context) -> None:
    _ = ctx._
    with ctx.session() as s:
        rows = [[u.email, u.name, ", ".join(u.roles), u.agency_code or "—", u.lang,
                 _("disabled") if u.disabled else _("active")] for u in people.list_users(s)]
    ctx.out.write(table([_("Email"), _("Name"), _("Roles"), _("Agency"), _("Language"), _("State")], rows))


def users_disable(ctx: Context, email: str) -> None:
    with ctx.session() as s:
        user = people.disable_user(s, email, ctx.now)
        ctx.out.write(ctx._("disabled {email}; their feeds stop within a second").format(email=user.email) + "\n")


def subscribe(ctx: Context, email: str, scope: FeedScope) -> None:
    """Print the secret URL once; only its hash is stored."""
    check_channel(scope.channel)
    token = new_token()
    with ctx.session() as s:
        sub_id = people.subscribe(s, email, scope, token, ctx.now, ctx.settings.lang).id
    https, webcal = feed_urls(ctx.settings.base_url, token)
    _ = ctx._
    ctx.out.write(_("subscription {id} for {email}; the address is shown only now:").format(id=sub_id, email=email)
                  + "\n" + f"  {https}\n  {webcal}\n")


def subscriptions_list(ctx: Context) -> None:
    _ = ctx._
    with ctx.session() as s:
        rows = [[str(sub.id), user.email, sub.plan_code or "—", sub.agency_code or "—",
                     sub.obligation_code or "—", sub.channel or "—", _("yes") if sub.milestones else _("no"),
                     sub.created_at.astimezone(ctx.now.tzinfo).strftime("%d/%m/%Y %H:%M"),
                 _("revoked") if sub.revoked_at else (_("user disabled") if user.disabled else _("active"))]
                for sub, user in people.list_subscriptions(s)]
    ctx.out.write(table([_("Id"), _("Email"), _("Plan"), _("Agency"), _("Obligation"), _("Channel"),
                         _("Milestones"), _("Created"), _("State")], rows))


def subscriptions_revoke(ctx: Context, subscription_id: str) -> None:
    if not parse_id(subscription_id):
        raise InputError(N_('expected a subscription id (a number), got "{value}"'), value=subscription_id)
    with ctx.session() as s:
        people.revoke(s, parse_id(subscription_id), ctx.now)
    ctx.out.write(ctx._("revoked subscription {id}; its address answers 404 within a second").format(
        id=subscription_id) + "\n")


def feeds_export(ctx: Context) -> None:
    """Every active subscription's feed (and the public ones when switched
    on) to OUTPUTS_DIR/feeds/; see ``store.feed_export``."""
    db = ctx.database()
    try:
        done = export_feeds(db, ctx.settings)
    finally:
        db.close()
    ctx.out.write(ctx._("{count} feed(s) in {folder}: {written} written, {removed} removed").format(
        count=done.count, folder=str(done.folder), written=done.written, removed=done.removed) + "\n")


def serve(ctx: Context, host: str, port: int, scheduler: bool = True) -> None:
    """The web service on uvicorn, with the scheduler unless told otherwise;
    runs until stopped (SIGTERM and SIGINT stop both gracefully)."""
    import uvicorn

    from scheduler.clock import Clock
    from scheduler.cli.commands import DEFAULT_TZ
    from scheduler.web.app import create_app, install_log_masks

    db = ctx.database()
    with db.transaction() as s:
        rerender_stale(s, ctx.settings.base_url)
    clock = Clock(DEFAULT_TZ, ctx.now if ctx.now_given else None)
    daemon = None
    if scheduler:
        from scheduler.daemon.runner import Daemon
        from scheduler.daemon.jobs import runtime

        daemon = Daemon(runtime(ctx.settings, db, clock))
        daemon.lock.acquire()  # refuse at once, before the port is taken
        daemon.lock.release()
    app = create_app(ctx.settings, db, clock, daemon)
    # X-Forwarded-For only from TRUSTED_PROXIES (none by default): uvicorn's
    # own default would believe it from 127.0.0.1, whoever connects through it.
    proxies = [str(n) for n in ctx.settings.trusted_proxies]
    config = uvicorn.Config(app, host=host, port=port, proxy_headers=bool(proxies),
                            forwarded_allow_ips=proxies or None, log_level="info")
    install_log_masks()  # after uvicorn configured its loggers
    ctx.err.write(ctx._("serving on http://{host}:{port} (public address {url}); database {db}").format(
        host=host, port=port, url=ctx.settings.base_url, db=ctx.settings.masked_database_url()) + "\n")
    # uvicorn re-raises the stop signal once it has shut down; a handler that
    # does nothing makes a stop by SIGTERM or SIGINT a clean exit (status 0).
    import signal
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: None)
    try:
        uvicorn.Server(config).run()
    finally:
        db.close()


def _runtime(ctx: Context, db):
    from scheduler.clock import Clock
    from scheduler.cli.commands import DEFAULT_TZ
    from scheduler.daemon.jobs import runtime

    return runtime(ctx.settings, db, Clock(DEFAULT_TZ, ctx.now if ctx.now_given else None))


def worker(ctx: Context) -> None:
    """The scheduler alone, until SIGTERM or SIGINT."""
    from scheduler.daemon.runner import Daemon, wait_for_signal
    import threading

    db = ctx.database()
    daemon = Daemon(_runtime(ctx, db))
    daemon.start()
    ctx.err.write(ctx._("scheduler running (jobs: reminders, outbox, windows, reports, feeds); "
                        "stop with Ctrl+C or SIGTERM") + "\n")
    try:
        wait_for_signal(threading.Event())
    finally:
        daemon.stop()
        db.close()


def remind(ctx: Context, dry_run: bool) -> None:
    """One pass at --now: close windows, write a periodic report if one is
    owed, plan what is owed, send the outbox, exit."""
    from scheduler.daemon.jobs import close_windows, periodic_reports, plan_reminders, send_outbox
    from scheduler.notifiers.letter import compose
    from scheduler.reminders.policy import owed
    from scheduler.store.watch import calendar_of, watched, zone

    _ = ctx._
    db = ctx.database()
    try:
        rt = _runtime(ctx, db)
        if dry_run:
            with db.transaction() as s:
                messages = [m for plan, items in watched(s, ctx.now, ctx.settings.report_agency).values()
                            for m in owed(items, ctx.now, calendar_of(plan), zone(plan))]
            for m in messages:
                mail = compose(m, "<dry-run@localhost>", ctx.settings.mail_from, ctx.settings.base_url)
                ctx.out.write(f"{m.send_at.astimezone(ctx.now.tzinfo):%d/%m/%Y %H:%M}  {m.kind:<10} {m.recipient:<32} "
                              f"{mail.subject}\n")
            ctx.out.write(_("{count} message(s) would be planned (dry run: nothing written or sent)").format(
                count=len(messages)) + "\n")
            return
        close_windows(rt)
        periodic_reports(rt)  # a report owed today joins the outbox with the reminders
        planned = plan_reminders(rt)
        totals = {"sent": 0, "retried": 0, "failed": 0}
        while True:
            result = send_outbox(rt)
            for key in totals:
                totals[key] += result[key]
            if not any(result.values()):
                break
        rt.mailer.close()
        ctx.out.write(_("planned {new} new message(s); sent {sent}, to retry {retried}, failed {failed}").format(
            new=planned["new"], **totals) + "\n")
    finally:
        db.close()


def users_password(ctx: Context, email: str, stdin) -> None:
    """Set a password read from standard input (the first admin, scripts);
    every session the user had ends."""
    import getpass

    from scheduler.web.auth import set_password

    if stdin.isatty():
        password = getpass.getpass(ctx._("New password for {email}: ").format(email=email))
        if getpass.getpass(ctx._("The same password again: ")) != password:
            raise InputError(N_("the two passwords are not the same"))
    else:
        password = stdin.readline().rstrip("\r\n")
    with ctx.session() as s:
        user = people.find_user(s, email)
        if user is None:
            raise InputError(N_("no user {email}"), email=email)
        set_password(s, user, password, ctx.now)
    ctx.out.write(ctx._("password set for {email}").format(email=email) + "\n")
