"""``notifiers key|list|link|unlink``: a fresh NOTIFIER_KEY, who is linked
where (blocked first, with why), and an admin's hand on a person's chat
address (``store/notifier_admin.py``)."""

from __future__ import annotations

import argparse

from scheduler.cli.context import Context, command
from scheduler.errors import N_
from scheduler.reminders.outbox import CHAT_CHANNELS
from scheduler.sealing import new_key
from scheduler.store import notifier_admin

STATES = {"active": N_("active"), "blocked": N_("blocked")}


def register(sub: argparse._SubParsersAction, _) -> None:
    notifiers = command(sub, "notifiers", _("reminders in Telegram and Zalo: keys and links"))
    actions = notifiers.add_subparsers(dest="notifiers_command", required=True, metavar="ACTION")
    command(
        actions,
        "key",
        _("print a fresh NOTIFIER_KEY (put it first in NOTIFIER_KEY, the old keys after it, comma-separated)"),
        lambda ctx, a: ctx.out.write(new_key() + "\n"),
    )
    command(actions, "list", _("list linked chats and group chats, blocked ones first"), lambda ctx, a: run_list(ctx))
    link = command(
        actions,
        "link",
        _("set a person's Telegram chat id or Zalo follower id"),
        lambda ctx, a: run_link(ctx, a.email, a.channel, a.address),
    )
    link.add_argument("email", help=_("the person's sign-in email"))
    link.add_argument("channel", choices=CHAT_CHANNELS)
    link.add_argument("address", help=_("the chat id or follower id"))
    unlink = command(
        actions, "unlink", _("remove a person's chat link"), lambda ctx, a: run_unlink(ctx, a.email, a.channel)
    )
    unlink.add_argument("email", help=_("the person's sign-in email"))
    unlink.add_argument("channel", choices=CHAT_CHANNELS)


def run_list(ctx: Context) -> None:
    _ = ctx._
    with ctx.session() as s:
        people, groups = notifier_admin.links(s), notifier_admin.group_chats(s)
    for link in people:
        why = f" — {link.last_error}" if link.last_error else ""
        ctx.out.write(f"{link.email}\t{link.channel}\t{link.address}\t{_(STATES[link.state])}\t{link.label}{why}\n")
    for g in groups:
        why = f" — {g.last_error}" if g.last_error else ""
        kinds = ",".join(g.kinds or ())
        ctx.out.write(f"group:{g.id}\t{g.agency_code}\t{g.channel}\t{g.address}\t{_(STATES[g.state])}\t{kinds}{why}\n")
    if not people and not groups:
        ctx.out.write(_("no chat is linked") + "\n")


def run_link(ctx: Context, email: str, channel: str, address: str) -> None:
    with ctx.session() as s:
        notifier_admin.set_link(s, email, channel, address, "cli", ctx.now)
    ctx.out.write(ctx._("{email}: {channel} linked").format(email=email, channel=channel) + "\n")


def run_unlink(ctx: Context, email: str, channel: str) -> None:
    with ctx.session() as s:
        done = notifier_admin.unlink_email(s, email, channel)
    text = ctx._("{email}: {channel} unlinked") if done else ctx._("{email}: no {channel} link")
    ctx.out.write(text.format(email=email, channel=channel) + "\n")
