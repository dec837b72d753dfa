"""``harvest asrun FILE --outlet CODE``: a playout system's as-run export
into proposals a producer confirms (``store/harvest_asrun.py``), printed as
counts by kind and one line per proposal."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from scheduler.bounds import format_size
from scheduler.cli.context import Context, command
from scheduler.cli.harvest_run import register_run
from scheduler.cli.harvest_sources import register_sources
from scheduler.errors import N_, InputError
from scheduler.harvest.asrun_matching import OTHER, OUTCOME_WORDS, RERUN
from scheduler.harvest.proposals import KINDS
from scheduler.plan.harvest_settings import ASRUN_FORMATS
from scheduler.store.harvest_asrun import harvest_asrun, layout_of


def register(sub: argparse._SubParsersAction, _) -> None:
    harvest = command(sub, "harvest", _("evidence from the outlets' own systems"))
    actions = harvest.add_subparsers(dest="harvest_command", required=True, metavar="ACTION")
    asrun = command(
        actions,
        "asrun",
        _("read a playout system's as-run export (CSV, TSV, LibreTime) into proposals for the outlet"),
        lambda ctx, a: run_asrun(ctx, a.file, a.outlet, a.format, a.json),
    )
    asrun.add_argument("file", type=Path, help=_("the exported file"))
    asrun.add_argument("--outlet", required=True, metavar="CODE", help=_("the agency whose playout log it is"))
    asrun.add_argument(
        "--format", choices=ASRUN_FORMATS, default=None, help=_("the file's format (default: the outlet's, else csv)")
    )
    asrun.add_argument("--json", action="store_true", help=_("print the summary as JSON"))
    register_run(actions, _)  # harvest run: one pass of the daemon's harvest job (cli/harvest_run.py)
    register_sources(actions, _)  # harvest sources: what it reads and how it went (cli/harvest_sources.py)


def _read(path: Path, limit: int) -> bytes:
    if not path.is_file():
        raise InputError(N_("FILE: cannot read {path}"), path=str(path))
    if path.stat().st_size > limit:
        raise InputError(N_("{path}: the file is larger than {size}"), path=str(path), size=format_size(limit))
    return path.read_bytes()


def run_asrun(ctx: Context, path: Path, outlet: str, fmt: str | None, as_json: bool) -> None:
    data = _read(path, ctx.settings.harvest_max_bytes)
    with ctx.session() as s:
        summary = harvest_asrun(s, outlet, data, path.name, ctx.now, ctx.settings, layout_of(s, outlet, fmt))
    if as_json:
        ctx.out.write(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
        return
    ctx.out.write(summary_text(summary, ctx._))


def summary_text(summary: dict[str, Any], _) -> str:
    """Counts by kind, then each proposal: what a producer reads after a harvest."""
    lines = [
        _("{name}: {items} aired items, {new} new proposals").format(
            name=summary["file"]["name"], items=summary["items"], new=summary["new"]
        )
    ]
    outcomes = summary["outcomes"]
    for kind in (*KINDS, RERUN, OTHER):
        if outcomes.get(kind):
            lines.append(f"  {_(OUTCOME_WORDS.get(kind, kind))}: {outcomes[kind]}")
    for p in summary["proposals"]:
        where = p["occurrence"] or p["obligation"]
        mark = f"#{p['id']}" if p["id"] else _("(known)")
        rows = f" [{', '.join(str(r) for r in p['rows'])}]" if p["rows"] else ""
        said = " ".join(x for x in (where, (p["moment"] or "")[:16].replace("T", " "), p["title"]) if x)
        lines.append(f"{mark} {_(p['kind'])}: {said} — {p['detail']}{rows}")
    return "\n".join(lines) + "\n"
