"""``serve``, ``worker``, ``remind`` and ``feeds export``: the running
service, its scheduler, and one pass of either by hand."""

from __future__ import annotations

import argparse

from scheduler.cli.context import DEFAULT_TZ, Context, command
from scheduler.cli.serve_workers import refuse_sqlite, run_workers, workers_count
from scheduler.store.feed_export import export_feeds
from scheduler.store.feed_items import rerender_stale


def register(sub: argparse._SubParsersAction, _) -> None:
    serve_ = command(
        sub,
        "serve",
        _("run the web service (feeds, pages, API)"),
        lambda ctx, a: serve(ctx, a.host, a.port, not a.no_scheduler, a.workers, a),
    )
    serve_.add_argument("--host", default="127.0.0.1")
    serve_.add_argument("--port", type=int, default=8000)
    serve_.add_argument("--no-scheduler", action="store_true", help=_("the web alone (run `worker` elsewhere)"))
    serve_.add_argument(
        "--workers",
        type=workers_count,
        default=1,
        metavar="N",
        help=_("web processes, 1 to 16 (more than one needs PostgreSQL; the jobs run in the parent)"),
    )
    command(sub, "worker", _("the scheduler alone: reminders, outbox, windows, reports"), lambda ctx, a: worker(ctx))
    remind_ = command(
        sub, "remind", _("one pass: plan what is owed at --now, send it"), lambda ctx, a: remind(ctx, a.dry_run)
    )
    remind_.add_argument("--dry-run", action="store_true", help=_("only show what would go out"))

    feeds = command(sub, "feeds", _("calendar feeds as files"))
    actions = feeds.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    command(actions, "export", _("write every feed to OUTPUTS_DIR/feeds/"), lambda ctx, a: feeds_export(ctx))


def feeds_export(ctx: Context) -> None:
    """Every active subscription's feed (and the public ones when switched
    on) to OUTPUTS_DIR/feeds/; see ``store.feed_export``."""
    db = ctx.database()
    try:
        done = export_feeds(db, ctx.settings)
    finally:
        db.close()
    ctx.out.write(
        ctx._("{count} feed(s) in {folder}: {written} written, {removed} removed").format(
            count=done.count, folder=str(done.folder), written=done.written, removed=done.removed
        )
        + "\n"
    )


def serve(ctx: Context, host: str, port: int, scheduler: bool = True, workers: int = 1, args=None) -> None:
    """The web service on uvicorn, with the scheduler unless told otherwise;
    runs until stopped (SIGTERM and SIGINT stop both gracefully). With
    ``workers`` > 1, see ``cli.serve_workers``."""
    import uvicorn

    from scheduler.clock import Clock
    from scheduler.web.app import create_app, install_log_masks

    if workers > 1:
        refuse_sqlite(ctx)
    db = ctx.database()
    with db.transaction() as s:
        rerender_stale(s, ctx.settings.base_url)
    clock = Clock(DEFAULT_TZ, ctx.now if ctx.now_given else None)
    daemon = None
    if scheduler:
        from scheduler.daemon.jobs import runtime
        from scheduler.daemon.runner import Daemon

        daemon = Daemon(runtime(ctx.settings, db, clock))
        daemon.lock.acquire()  # refuse at once, before the port is taken
        daemon.lock.release()
    # X-Forwarded-For only from TRUSTED_PROXIES (none by default): uvicorn's
    # own default would believe it from 127.0.0.1, whoever connects through it.
    proxies = [str(n) for n in ctx.settings.trusted_proxies]
    options = dict(
        host=host, port=port, proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None, log_level="info"
    )
    options.update(server_stack())
    ctx.err.write(
        ctx._("serving on http://{host}:{port} (public address {url}); database {db}").format(
            host=host, port=port, url=ctx.settings.base_url, db=ctx.settings.masked_database_url()
        )
        + "\n"
    )
    # uvicorn re-raises the stop signal once it has shut down; a handler that
    # does nothing makes a stop by SIGTERM or SIGINT a clean exit (status 0).
    import signal

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: None)
    try:
        if workers > 1:
            return run_workers(ctx, args, options, daemon)
        config = uvicorn.Config(create_app(ctx.settings, db, clock, daemon), **options)
        install_log_masks()  # after uvicorn configured its loggers
        uvicorn.Server(config).run()
    finally:
        db.close()


def server_stack() -> dict[str, str]:
    """uvloop's event loop and httptools' HTTP parser (``uvicorn[standard]``)
    when they import: compiled, so less CPU per request than asyncio's loop
    and the pure-Python h11 (bench/feeds.py measures on this stack). Without
    them, those two, said in the log."""
    import importlib.util
    import logging

    stack = {"loop": "uvloop", "http": "httptools"}
    missing = [name for name in stack.values() if importlib.util.find_spec(name) is None]
    if missing:
        logging.getLogger("scheduler.serve").warning(
            "%s not installed: serving on asyncio and h11 (pip install 'uvicorn[standard]')", ", ".join(missing)
        )
        return {"loop": "asyncio", "http": "h11"}
    return stack


def _runtime(ctx: Context, db):
    from scheduler.clock import Clock
    from scheduler.daemon.jobs import runtime

    return runtime(ctx.settings, db, Clock(DEFAULT_TZ, ctx.now if ctx.now_given else None))


def worker(ctx: Context) -> None:
    """The scheduler alone, until SIGTERM or SIGINT."""
    import threading

    from scheduler.daemon.runner import Daemon, wait_for_signal

    db = ctx.database()
    daemon = Daemon(_runtime(ctx, db))
    daemon.start()
    ctx.err.write(
        ctx._("scheduler running (jobs: reminders, outbox, windows, reports, feeds); stop with Ctrl+C or SIGTERM")
        + "\n"
    )
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
                messages = [
                    m
                    for plan, items in watched(s, ctx.now, ctx.settings.report_agency).values()
                    for m in owed(items, ctx.now, calendar_of(plan), zone(plan))
                ]
            for m in messages:
                mail = compose(m, "<dry-run@localhost>", ctx.settings.mail_from, ctx.settings.base_url)
                ctx.out.write(
                    f"{m.send_at.astimezone(ctx.now.tzinfo):%d/%m/%Y %H:%M}  {m.kind:<10} {m.recipient:<32} "
                    f"{mail.subject}\n"
                )
            ctx.out.write(
                _("{count} message(s) would be planned (dry run: nothing written or sent)").format(count=len(messages))
                + "\n"
            )
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
        ctx.out.write(
            _("planned {new} new message(s); sent {sent}, to retry {retried}, failed {failed}").format(
                new=planned["new"], **totals
            )
            + "\n"
        )
    finally:
        db.close()
