"""Closed periods from the command line: ``periods close LABEL --by EMAIL
[--cutoff] [--province CODE]``, ``periods list``, ``periods show ID``."""

from __future__ import annotations

import argparse
import json

from scheduler.cli.context import Context, command
from scheduler.errors import N_, InputError
from scheduler.store import checkpoints
from scheduler.store.closing import close_period, closed_periods, closing_record, seen_by
from scheduler.store.files import EvidenceStore
from scheduler.store.tables import ClosedPeriodRow


def register(sub: argparse._SubParsersAction, _) -> None:
    periods = command(sub, "periods", _("closed periods: close one, list them, show where their files are"))
    actions = periods.add_subparsers(dest="periods_command", required=True, metavar="ACTION")
    close_ = command(
        actions,
        "close",
        _("close a period: a ledger entry, a signed checkpoint and the report's files kept as they stand"),
        lambda ctx, a: close(ctx, a.label, a.by, a.cutoff, a.province),
    )
    close_.add_argument("label", help=_("2024, 2024-H1, 2024-Q1 or 2024-03"))
    close_.add_argument("--by", required=True, metavar="EMAIL", help=_("the DHA user or administrator closing it"))
    close_.add_argument(
        "--cutoff",
        action="store_true",
        help=_("reporting cut-off of Nghị định 09/2019/NĐ-CP: the 15th of the month before to the 14th"),
    )
    close_.add_argument(
        "--province",
        default="",
        metavar="CODE",
        help=_("only the plans of this province (a DHA user: their own province, the default)"),
    )
    list_ = command(
        actions, "list", _("the closed periods, the latest first"), lambda ctx, a: show_list(ctx, a.format, a.user)
    )
    list_.add_argument("--format", choices=("table", "json"), default="table")
    show_ = command(
        actions, "show", _("one closed period and where its files are"), lambda ctx, a: show(ctx, a.id, a.user)
    )
    show_.add_argument("id", type=int)
    for parser in (list_, show_):
        parser.add_argument("--user", metavar="EMAIL", help=_("only what this user sees (a DHA user: their province)"))


def _store(ctx: Context) -> EvidenceStore:
    return EvidenceStore(ctx.settings.outputs_dir / "evidence", ctx.settings.evidence_limit)


def close(ctx: Context, label: str, by: str, cutoff: bool, province: str) -> None:
    """One transaction; the checkpoint file is kept once it commits."""
    checkpoints.key_bytes(ctx.settings, lambda text: ctx.err.write(text + "\n"), create=True)
    with ctx.session() as s:
        record = closing_record(close_period(s, label, cutoff, province, by, ctx.now, ctx.settings), _store(ctx), "")
    ctx.out.write(
        ctx._("closed {label}{cutoff} ({province}): closing #{id}, ledger entry {seq}, plans {plans}").format(
            label=record["label"],
            cutoff=" (cut-off)" if record["cutoff"] else "",
            province=record["province"] or "*",
            id=record["id"],
            seq=record["ledger_seq"],
            plans=", ".join(record["plans"]),
        )
        + "\n"
    )


def show_list(ctx: Context, fmt: str, user: str | None = None) -> None:
    with ctx.session() as s:
        visible = seen_by(s, user) if user else None
        records = [closing_record(r, _store(ctx), ctx.settings.base_url, visible) for r in closed_periods(s, visible)]
    if fmt == "json":
        ctx.out.write(json.dumps(records, ensure_ascii=False, indent=2) + "\n")
        return
    _ = ctx._
    ctx.out.write("\t".join([_("Id"), _("Period"), _("Province"), _("Plans"), _("Closed"), _("By")]) + "\n")
    for r in records:
        label = r["label"] + (" (" + _("cut-off") + ")" if r["cutoff"] else "")
        row = [str(r["id"]), label, r["province"] or "*", ", ".join(r["plans"]), r["closed_at"], r["closed_by"]]
        ctx.out.write("\t".join(row) + "\n")


def show(ctx: Context, closing_id: int, user: str | None = None) -> None:
    """Where the kept files are: SHA-256, the file in the evidence store, the
    URL ("*": the consolidated report of a closing of several plans)."""
    with ctx.session() as s:
        visible = seen_by(s, user) if user else None
        row = s.get(ClosedPeriodRow, closing_id) if 0 < closing_id < 2**31 else None
        if row is None or (visible is not None and not set(row.plans or []) & set(visible)):
            raise InputError(N_("no closed period #{id} (`periods list` lists them)"), id=closing_id)
        r = closing_record(row, _store(ctx), ctx.settings.base_url, visible)
    _ = ctx._
    ctx.out.write(
        _("closing #{id}: {label} ({province}), {first} – {last}, closed {at} by {by}, ledger entry {seq}").format(
            id=r["id"],
            label=r["label"] + (" cut-off" if r["cutoff"] else ""),
            province=r["province"] or "*",
            first=r["first_day"],
            last=r["last_day"],
            at=r["closed_at"],
            by=r["closed_by"],
            seq=r["ledger_seq"],
        )
        + "\n"
    )
    for plan, kept in r["files"].items():
        for fmt, f in kept.items():
            ctx.out.write(f"{plan}\t{fmt}\t{f['sha256']}\t{f['path']}\t{f['url']}\n")
