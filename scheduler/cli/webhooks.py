"""Webhook endpoints from the command line: ``webhooks add URL --events
a,b [--description TEXT]`` (the secret printed once), ``webhooks list``,
``webhooks remove ID``, ``webhooks test ID`` (``webhook.test`` sent now,
its answer printed)."""

from __future__ import annotations

import argparse

from scheduler.cli.context import Context, command
from scheduler.errors import N_, InputError
from scheduler.notifiers.webhooks import send_test
from scheduler.reminders.outbox import EVENTS
from scheduler.store import webhooks
from scheduler.store.provider_secrets import sealer_of


def register(sub: argparse._SubParsersAction, _) -> None:
    group = command(sub, "webhooks", _("webhook endpoints: add, list, remove, send a test event"))
    actions = group.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    add_ = command(
        actions,
        "add",
        _("register an endpoint; its signing secret is printed once, keep it"),
        lambda ctx, a: add(ctx, a.url, a.events, a.description),
    )
    add_.add_argument("url", help=_("an http:// or https:// address"))
    add_.add_argument("--events", required=True, metavar="A,B", help=", ".join(EVENTS))
    add_.add_argument("--description", default="", metavar="TEXT")
    command(actions, "list", _("the endpoints and their events"), lambda ctx, a: show_list(ctx))
    remove_ = command(actions, "remove", _("stop sending to an endpoint"), lambda ctx, a: remove(ctx, a.id))
    remove_.add_argument("id", type=int)
    test_ = command(actions, "test", _("send webhook.test to an endpoint now and print its answer"), None)
    test_.set_defaults(run=lambda ctx, a: test(ctx, a.id))
    test_.add_argument("id", type=int)


def add(ctx: Context, url: str, events: str, description: str) -> None:
    with ctx.session() as s:
        row, secret = webhooks.add(s, sealer_of(ctx.settings), url, events, description, "cli", ctx.now)
        number = row.id
    ctx.out.write(
        ctx._("webhook {id}: {url} ({events})").format(id=number, url=row.url, events=", ".join(row.events)) + "\n"
    )
    ctx.out.write(ctx._("signing secret (shown once): {secret}").format(secret=secret) + "\n")


def show_list(ctx: Context) -> None:
    with ctx.session() as s:
        for row in webhooks.listed(s):
            line = f"{row.id}\t{row.url}\t{','.join(row.events or [])}\t{row.description}"
            ctx.out.write(line.rstrip("\t") + "\n")


def remove(ctx: Context, webhook_id: int) -> None:
    with ctx.session() as s:
        webhooks.remove(s, webhook_id, ctx.now)
    ctx.out.write(ctx._("webhook {id} removed").format(id=webhook_id) + "\n")


def test(ctx: Context, webhook_id: int) -> None:
    db = ctx.database()
    try:
        delivered, answer = send_test(db, ctx.settings, webhook_id, ctx.now)
    finally:
        db.close()
    ctx.out.write(answer + "\n")
    if not delivered:
        raise InputError(N_("webhook {id}: the test event was not delivered"), id=webhook_id)
