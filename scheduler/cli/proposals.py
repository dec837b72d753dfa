"""``proposals list|confirm|reject``: what the harvest proposed, decided from
the command line as the person named with ``--by`` (whose rights apply)."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from scheduler.cli.context import DEFAULT_TZ, Context, command
from scheduler.errors import N_, InputError
from scheduler.harvest.proposals import STATE_WORDS, STATES
from scheduler.store.known_codes import check_codes
from scheduler.store.proposal_decisions import (
    MAX_LIST,
    as_json,
    confirm,
    list_proposals,
    reject,
)
from scheduler.store.recording import actor_by_email


def register(sub: argparse._SubParsersAction, _) -> None:
    group = command(sub, "proposals", _("harvested proposals: list, confirm, reject"))
    actions = group.add_subparsers(dest="proposals_command", required=True, metavar="ACTION")
    list_ = command(
        actions,
        "list",
        _("the proposals, the newest first"),
        lambda ctx, a: show_list(ctx, a.outlet, a.state, a.plan, a.limit, a.format),
    )
    list_.add_argument("--outlet", metavar="CODE", help=_("only this outlet's (an agency code)"))
    list_.add_argument("--state", choices=STATES, help=_("only proposals in this state"))
    list_.add_argument("--plan", metavar="CODE")
    list_.add_argument("--limit", type=int, default=100, metavar="N", help=_("at most N (up to 500)"))
    list_.add_argument("--format", choices=("table", "json"), default="table")
    confirm_ = command(
        actions,
        "confirm",
        _("record a proposal as a delivery, with its source in the ledger entry"),
        lambda ctx, a: confirm_one(ctx, a.id, a.by, a.field, a.note),
    )
    confirm_.add_argument("id", type=int, metavar="ID")
    confirm_.add_argument("--by", required=True, metavar="EMAIL", help=_("the producer confirming it"))
    confirm_.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=_("evidence the harvest could not know, e.g. issue_number=12 page=3"),
    )
    confirm_.add_argument("--note", default="")
    reject_ = command(
        actions, "reject", _("reject a proposal, with a reason"), lambda ctx, a: reject_one(ctx, a.id, a.by, a.reason)
    )
    reject_.add_argument("id", type=int, metavar="ID")
    reject_.add_argument("--by", required=True, metavar="EMAIL")
    reject_.add_argument("--reason", required=True)


def show_list(ctx: Context, outlet: str | None, state: str | None, plan: str | None, limit: int, fmt: str) -> None:
    if not 1 <= limit <= MAX_LIST:
        raise InputError(N_("--limit: expected 1 to {most}, got {value}"), most=MAX_LIST, value=limit)
    with ctx.session() as s:
        check_codes(s, plan=plan)
        rows = [as_json(r) for r in list_proposals(s, outlet, state, plan, limit)]
    if fmt == "json":
        ctx.out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    _ = ctx._
    heads = [_("Id"), _("State"), _("Kind"), _("Outlet"), _("Occurrence"), _("Found"), _("Decided by")]
    ctx.out.write("\t".join(heads) + "\n")
    for r in rows:
        found = datetime.fromisoformat(r["found_at"]).astimezone(DEFAULT_TZ).strftime("%d/%m/%Y %H:%M")
        kind, state = _(r["kind"]), _(STATE_WORDS[r["state"]])
        line = [str(r["id"]), state, kind, r["outlet"], r["occurrence"] or "-", found, r["decided_by"]]
        ctx.out.write("\t".join(line) + "\n")


def _fields(given: list[str]) -> dict[str, str]:
    fields = {}
    for item in given:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError(N_('--field: expected NAME=VALUE, e.g. issue_number=12, got "{value}"'), value=item)
        fields[name.strip()] = value.strip()
    return fields


def confirm_one(ctx: Context, proposal_id: int, by: str, fields: list[str], note: str) -> None:
    with ctx.session() as s:
        result = confirm(s, actor_by_email(s, by), proposal_id, ctx.now, ctx.settings.base_url, _fields(fields), note)
    _ = ctx._
    ctx.out.write(
        _("entry {seq}: proposal {id} confirmed, delivery for {occurrence} recorded").format(
            seq=result.seq, id=proposal_id, occurrence=result.occurrence
        )
        + "\n"
    )
    if result.state:
        ctx.out.write(_("state: {state}").format(state=_(result.state)) + "\n")
    for message, params in result.reasons:
        ctx.out.write(_("not conforming: {reason}").format(reason=_(message).format(**params)) + "\n")


def reject_one(ctx: Context, proposal_id: int, by: str, reason: str) -> None:
    with ctx.session() as s:
        row = reject(s, actor_by_email(s, by), proposal_id, reason, ctx.now)
        at = row.decided_at.astimezone(DEFAULT_TZ).strftime("%d/%m/%Y %H:%M")
    ctx.out.write(ctx._("proposal {id} rejected at {at}").format(id=proposal_id, at=at) + "\n")
