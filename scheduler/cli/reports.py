"""``python main.py report``: the compliance report, as of ``--now``."""

from __future__ import annotations

from pathlib import Path

from scheduler.cli.commands import Context
from scheduler.compliance.status import report_period
from scheduler.errors import N_, InputError
from scheduler.store.files import atomic_write
from scheduler.store.reporting import compliance_report
from scheduler.store.compliance import Scope


def build(ctx: Context, period: str, plan: str | None, agency: str | None, obligation: str | None,
          cutoff: bool) -> dict:
    with ctx.session() as s:
        return compliance_report(s, plan, report_period(period, cutoff), ctx.now, Scope(plan, agency, obligation),
                                 ctx.settings.at_risk_days, ctx.settings.report_agency, ctx.settings.lang)


def report(ctx: Context, period: str, plan: str | None, agency: str | None, obligation: str | None, fmt: str,
           out: Path | None, cutoff: bool) -> None:
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
        name = f"compliance-{document['plan']['code']}-{document['period']['label']}{'-cutoff' if cutoff else ''}"
        out = ctx.settings.outputs_dir / "reports" / f"{name.replace('..', '_')}.{extension}"
    if out is None:
        ctx.out.write(body.decode("utf-8-sig") if fmt == "csv" else body.decode("utf-8"))
        return
    atomic_write(out, body)
    ctx.err.write(ctx._("wrote {path}").format(path=str(out)) + "\n")
