"""``harvest sources``: every source the daemon reads, with its state and its
last error, as the admin page ``/admin/harvest`` lists them (the same reader,
``store/harvest_views.py``)."""

from __future__ import annotations

import argparse
import json

from scheduler.cli.context import DEFAULT_TZ, Context, command
from scheduler.errors import N_, InputError
from scheduler.store import harvest_views as hv
from scheduler.store.harvest_sources import KINDS


def register_sources(actions: argparse._SubParsersAction, _) -> None:
    sources = command(
        actions,
        "sources",
        _("the feeds, sitemaps, playout APIs and pages the harvest reads, and how their last read went"),
        lambda ctx, a: show_sources(ctx, a.outlet, a.kind, a.state, a.limit, a.format),
    )
    sources.add_argument("--outlet", metavar="CODE", help=_("only this outlet's (an agency code)"))
    sources.add_argument("--kind", choices=KINDS)
    sources.add_argument("--state", choices=hv.STATES)
    sources.add_argument("--limit", type=int, default=hv.MAX_SOURCES, metavar="N", help=_("at most N (up to 500)"))
    sources.add_argument("--format", choices=("table", "json"), default="table")


def show_sources(ctx: Context, outlet: str | None, kind: str | None, state: str | None, limit: int, fmt: str) -> None:
    if not 1 <= limit <= hv.MAX_SOURCES:
        raise InputError(N_("--limit: expected 1 to {most}, got {value}"), most=hv.MAX_SOURCES, value=limit)
    with ctx.session() as s:
        found, total = hv.list_sources(s, outlet, kind, state, 0, limit)
        rows = [hv.source_json(v, DEFAULT_TZ) for v in found]
    if fmt == "json":
        ctx.out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    _ = ctx._
    heads = [_("Id"), _("Kind"), _("Outlet"), _("Plan"), _("Obligation"), _("State"), _("Next read"), _("Last read")]
    ctx.out.write("\t".join([*heads, _("Failures in a row"), _("Last result"), _("Address")]) + "\n")
    for r, v in zip(rows, found, strict=True):
        last = _("not read yet") if r["last_ok"] is None else _("OK") if r["last_ok"] else _("error: {reason}")
        line = [
            str(r["id"]),
            _(hv.KIND_WORDS[r["kind"]]) if r["kind"] in hv.KIND_WORDS else r["kind"],
            r["outlet"],
            r["plan"],
            r["obligation"] or "-",
            _(hv.STATE_WORDS[r["state"]]),
            _moment(v.row.next_at) if r["active"] else "-",
            _moment(v.row.last_at),
            str(r["failures"]),
            last.format(reason=r["last_error"] or "-"),
            r["url"],
        ]
        ctx.out.write("\t".join(line) + "\n")
    if total > len(rows):
        ctx.out.write(_("… and {more} more (--limit)").format(more=total - len(rows)) + "\n")


def _moment(moment) -> str:
    return moment.astimezone(DEFAULT_TZ).strftime("%d/%m/%Y %H:%M") if moment else "-"
