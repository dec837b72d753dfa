"""``users``, ``subscribe``, ``subscriptions`` and ``tokens``: the people
who use the service, their calendar feeds and their API tokens. A secret
(a feed address, a token) is printed once; only its hash is stored."""

from __future__ import annotations

import argparse
import sys

from scheduler.bounds import parse_id
from scheduler.cli.context import DEFAULT_TZ, Context, command
from scheduler.cli.listing import table
from scheduler.errors import N_, InputError
from scheduler.people.accounts import FeedScope, check_channel, feed_urls, new_token
from scheduler.store import people as stored_people
from scheduler.store.known_codes import all_channels


def register(sub: argparse._SubParsersAction, _) -> None:
    users = command(sub, "users", _("people who use the service"))
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = command(
        actions,
        "add",
        _("add a user"),
        lambda ctx, a: users_add(ctx, a.email, a.role, a.agency, a.name, getattr(a, "lang", None)),
    )  # --lang: the new user's language too
    add.add_argument("email")
    add.add_argument(
        "--role",
        action="append",
        required=True,
        metavar="ROLE",
        help=_("admin, dha, producer or editor; repeat for several"),
    )
    add.add_argument(
        "--agency", help=_("the agency a producer records for, or whose occurrences an editor may move or skip")
    )
    add.add_argument("--name")
    command(actions, "list", _("list users"), lambda ctx, a: users_list(ctx))
    disable = command(actions, "disable", _("disable a user at once"), lambda ctx, a: users_disable(ctx, a.email))
    disable.add_argument("email")
    password = command(
        actions,
        "password",
        _("set a password read from standard input"),
        lambda ctx, a: users_password(ctx, a.email, sys.stdin),
    )
    password.add_argument("email")

    subscribe_ = command(
        sub,
        "subscribe",
        _("create a calendar feed for a person"),
        lambda ctx, a: subscribe(ctx, a.email, FeedScope(a.plan, a.agency, a.obligation, a.channel, a.milestones)),
    )
    subscribe_.add_argument("--email", required=True)
    for flag in ("plan", "agency", "obligation", "channel"):
        subscribe_.add_argument("--" + flag)
    subscribe_.add_argument(
        "--milestones",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=_("include production milestones (default: yes)"),
    )
    subscriptions = command(sub, "subscriptions", _("list or revoke calendar feeds"))
    actions = subscriptions.add_subparsers(dest="subscriptions_command", required=True, metavar="ACTION")
    command(actions, "list", run=lambda ctx, a: subscriptions_list(ctx))
    command(actions, "revoke", run=lambda ctx, a: subscriptions_revoke(ctx, a.id)).add_argument("id")

    tokens = command(sub, "tokens", _("API tokens (Authorization: Bearer)"))
    actions = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = command(
        actions, "create", _("a new token; shown once, last line"), lambda ctx, a: tokens_create(ctx, a.user)
    )
    create.add_argument("--user", required=True, metavar="EMAIL")
    command(actions, "list", run=lambda ctx, a: tokens_list(ctx))
    command(actions, "revoke", run=lambda ctx, a: tokens_revoke(ctx, a.id)).add_argument("id")


def users_add(
    ctx: Context, email: str, roles: list[str], agency: str | None, name: str | None, lang: str | None
) -> None:
    with ctx.session() as s:
        user = stored_people.add_user(s, email, roles, agency, name or "", lang or ctx.settings.lang, ctx.now)
        ctx.out.write(ctx._("added {email} ({roles})").format(email=user.email, roles=", ".join(user.roles)) + "\n")


def users_list(ctx: Context) -> None:
    _ = ctx._
    with ctx.session() as s:
        rows = [
            [
                u.email,
                u.name,
                ", ".join(u.roles),
                u.agency_code or "—",
                u.lang,
                _("disabled") if u.disabled else _("active"),
            ]
            for u in stored_people.list_users(s)
        ]
    ctx.out.write(table([_("Email"), _("Name"), _("Roles"), _("Agency"), _("Language"), _("State")], rows))


def users_disable(ctx: Context, email: str) -> None:
    with ctx.session() as s:
        user = stored_people.disable_user(s, email, ctx.now)
        ctx.out.write(ctx._("disabled {email}; their feeds stop within a second").format(email=user.email) + "\n")


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
        user = stored_people.find_user(s, email)
        if user is None:
            raise InputError(N_("no user {email}"), email=email)
        set_password(s, user, password, ctx.now)
    ctx.out.write(ctx._("password set for {email}").format(email=email) + "\n")


def subscribe(ctx: Context, email: str, scope: FeedScope) -> None:
    """Print the secret URL once; only its hash is stored."""
    token = new_token()
    with ctx.session() as s:
        check_channel(scope.channel, all_channels(s))
        sub_id = stored_people.subscribe(s, email, scope, token, ctx.now, ctx.settings.lang).id
    https, webcal = feed_urls(ctx.settings.base_url, token)
    _ = ctx._
    ctx.out.write(
        _("subscription {id} for {email}; the address is shown only now:").format(id=sub_id, email=email)
        + "\n"
        + f"  {https}\n  {webcal}\n"
    )


def subscriptions_list(ctx: Context) -> None:
    _ = ctx._
    with ctx.session() as s:
        rows = [
            [
                str(sub.id),
                user.email,
                sub.plan_code or "—",
                sub.agency_code or "—",
                sub.obligation_code or "—",
                sub.channel or "—",
                _("yes") if sub.milestones else _("no"),
                sub.created_at.astimezone(ctx.now.tzinfo).strftime("%d/%m/%Y %H:%M"),
                _("revoked") if sub.revoked_at else (_("user disabled") if user.disabled else _("active")),
            ]
            for sub, user in stored_people.list_subscriptions(s)
        ]
    ctx.out.write(
        table(
            [
                _("Id"),
                _("Email"),
                _("Plan"),
                _("Agency"),
                _("Obligation"),
                _("Channel"),
                _("Milestones"),
                _("Created"),
                _("State"),
            ],
            rows,
        )
    )


def subscriptions_revoke(ctx: Context, subscription_id: str) -> None:
    if not parse_id(subscription_id):
        raise InputError(N_('expected a subscription id (a number), got "{value}"'), value=subscription_id)
    with ctx.session() as s:
        stored_people.revoke(s, parse_id(subscription_id), ctx.now)
    ctx.out.write(
        ctx._("revoked subscription {id}; its address answers 404 within a second").format(id=subscription_id) + "\n"
    )


def tokens_create(ctx: Context, email: str) -> None:
    """The token alone on the last line: scripts take ``tail -n 1``."""
    token = "mps_" + new_token()
    with ctx.session() as s:
        row = stored_people.create_token(s, email, token, ctx.now)
        token_id = row.id
    ctx.out.write(ctx._("token {id} for {email}; it is shown only now:").format(id=token_id, email=email) + "\n")
    ctx.out.write(token + "\n")


def tokens_list(ctx: Context) -> None:
    _ = ctx._
    with ctx.session() as s:
        rows = [
            [
                str(t.id),
                u.email,
                ", ".join(u.roles),
                t.created_at.astimezone(DEFAULT_TZ).strftime("%d/%m/%Y %H:%M"),
                _("revoked") if t.revoked_at else (_("user disabled") if u.disabled else _("active")),
            ]
            for t, u in stored_people.list_tokens(s)
        ]
    ctx.out.write(table([_("Id"), _("Email"), _("Roles"), _("Created"), _("State")], rows))


def tokens_revoke(ctx: Context, token_id: str) -> None:
    if not parse_id(token_id):
        raise InputError(N_('expected a token id (a number), got "{value}"'), value=token_id)
    with ctx.session() as s:
        stored_people.revoke_token(s, parse_id(token_id), ctx.now)
    ctx.out.write(ctx._("revoked token {id}").format(id=token_id) + "\n")
