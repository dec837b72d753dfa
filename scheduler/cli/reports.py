"""``report``: the compliance report of a period, as of ``--now``, as JSON,
CSV, a workbook or a page."""

from __future__ import annotations

import argparse
from pathlib import Path

from scheduler.cli.context import Context, command
from scheduler.compliance.status import report_period
from scheduler.errors import N_, InputError
from scheduler.store.compliance import Scope
from scheduler.store.files import atomic_write
from scheduler.store.known_codes import check_codes, check_period
from scheduler.store.reporting import consolidated_report


def register(sub: argparse._SubParsersAction, _) -> None:
    p = command(
        sub,
        "report",
        _("the compliance report, as of --now"),
        lambda ctx, a: report(ctx, a.period, a.plan, a.agency, a.obligation, a.format, a.out, a.cutoff),
    )
    p.add_argument("--period", required=True, help=_("2024, 2024-Q3, 2024-H1, 2024-03 or 2024-03-01..2024-05-31"))
    for flag in ("plan", "agency", "obligation"):
        p.add_argument("--" + flag)
    p.add_argument("--format", choices=("json", "csv", "xlsx", "html"), default="json")
    p.add_argument(
        "--cutoff",
        action="store_true",
        help=_("reporting cut-off of Nghị định 09/2019/NĐ-CP: the 15th of the month before to the 14th"),
    )
    p.add_argument("--out", type=Path, metavar="PATH")


def build(
    ctx: Context, period: str, plan: str | None, agency: str | None, obligation: str | None, cutoff: bool
) -> dict:
    wanted = report_period(period, cutoff)
    with ctx.session() as s:
        check_codes(s, plan=plan, agency=agency, obligation=obligation)
        check_period(s, wanted)
        return consolidated_report(  # several plans loaded and no --plan: consolidated
            s,
            [plan] if plan else None,
            wanted,
            ctx.now,
            Scope(plan, agency, obligation),
            ctx.settings.at_risk_days,
            ctx.settings.report_agency,
            ctx.settings.lang,
        )


def report(
    ctx: Context,
    period: str,
    plan: str | None,
    agency: str | None,
    obligation: str | None,
    fmt: str,
    out: Path | None,
    cutoff: bool,
) -> None:
    """Text formats go to standard output unless --out; a workbook always to a file."""
    from scheduler.compliance.report_files import render

    if out is not None:  # before the report is built: a mistyped folder costs nothing
        if out.is_dir():
            raise InputError(N_("--out: {path} is a folder; give a file name"), path=str(out))
        folder = out.parent
        if folder.exists() and not folder.is_dir():
            raise InputError(N_("--out: {path} is a file, not a folder"), path=str(folder))
        if not folder.is_dir():
            raise InputError(N_("--out: the folder {path} does not exist"), path=str(folder))
    document = build(ctx, period, plan, agency, obligation, cutoff)
    body, _media, extension = render(document, fmt, ctx.settings.base_url)
    if out is None and fmt == "xlsx":
        code = document["plan"]["code"] if "plan" in document else "consolidated"
        name = f"compliance-{code}-{document['period']['label']}{'-cutoff' if cutoff else ''}"
        out = ctx.settings.outputs_dir / "reports" / f"{name.replace('..', '_')}.{extension}"
    if out is None:
        ctx.out.write(body.decode("utf-8-sig") if fmt == "csv" else body.decode("utf-8"))
        return
    atomic_write(out, body)
    ctx.err.write(ctx._("wrote {path}").format(path=str(out)) + "\n")
