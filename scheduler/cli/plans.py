"""``load``, ``occurrences``, ``milestones`` and ``plan roll``: schedule
files in, what is owed out (a table, JSON or CSV)."""

from __future__ import annotations

import argparse
import hashlib
from datetime import date, datetime, time, timedelta
from pathlib import Path

from scheduler.cli.context import DEFAULT_TZ, Context, command
from scheduler.cli.listing import (
    milestone_record,
    milestone_table,
    occurrence_record,
    occurrence_table,
    to_csv,
    to_json,
)
from scheduler.cli.progress import progress_bar
from scheduler.cli.reorganisation import report_applied, successors_for_roll
from scheduler.documents import read_document
from scheduler.errors import N_, InputError, SchedulerError
from scheduler.plan.periods import parse_date
from scheduler.plan.plan_import import import_plan
from scheduler.plan.production import read_files, read_texts, schedule_paths
from scheduler.plan.rolling import roll
from scheduler.plan.source_text import SourceText
from scheduler.store.closed_periods import HELD
from scheduler.store.files import atomic_write
from scheduler.store.known_codes import check_codes
from scheduler.store.loaded_agencies import loaded_agencies
from scheduler.store.loading import save_schedules
from scheduler.store.plan_documents import read_document as read_plan_document
from scheduler.store.schedule import Filters, find_milestones, find_occurrences
from scheduler.store.succession import apply_successions
from scheduler.store.web_exception_files import NOTHING_TO_EXPORT, export_layers


def register(sub: argparse._SubParsersAction, _) -> None:
    load_ = command(sub, "load", _("validate and load schedule files"), lambda ctx, a: load(ctx, a.paths))
    load_.add_argument("paths", nargs="*", type=Path, help=_("files or folders (default: SCHEDULES_DIR)"))

    for name, text, listing in (
        ("occurrences", _("list owed occurrences, by due moment"), occurrences),
        ("milestones", _("list production milestones, by day"), milestones),
    ):
        p = command(
            sub,
            name,
            text,
            lambda ctx, a, listing=listing: listing(
                ctx, a.format, plan=a.plan, agency=a.agency, obligation=a.obligation, first=a.first, last=a.last
            ),
        )
        p.add_argument("--plan")
        p.add_argument("--agency")
        p.add_argument("--obligation")
        p.add_argument("--from", dest="first", metavar="DATE", help=_("first day (inclusive)"))
        p.add_argument("--to", dest="last", metavar="DATE", help=_("last day (inclusive)"))
        p.add_argument("--format", choices=("table", "json", "csv"), default="table")

    plan = command(sub, "plan", _("work on plans"))
    actions = plan.add_subparsers(dest="plan_command", required=True, metavar="ACTION")
    roll_ = command(
        actions,
        "roll",
        _("write next year's schedule file from this one"),
        lambda ctx, a: plan_roll(ctx, a.source, a.year, a.rename, a.name, a.out, a.force),
    )
    roll_.add_argument("source", type=Path)
    roll_.add_argument("--year", type=int, required=True)
    roll_.add_argument(
        "--rename",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help=_("rename an agency code; several OLD to one NEW merges them"),
    )
    roll_.add_argument(
        "--name",
        action="append",
        default=[],
        metavar="CODE=NAME",
        help=_("set an agency's Vietnamese name in the new file"),
    )
    roll_.add_argument("--out", type=Path, help=_("where to write (default: beside SOURCE, named by the new code)"))
    roll_.add_argument("--force", action="store_true", help=_("replace an existing file"))
    import_ = command(
        actions,
        "import",
        _("read a plan document (.txt, .md, .docx, .pdf) into a draft schedule file"),
        lambda ctx, a: plan_import(ctx, a.source, a.year, a.out, a.force),
    )
    import_.add_argument("source", type=Path)
    import_.add_argument("--year", type=int, help=_("the plan's year (default: from its title)"))
    import_.add_argument("--out", type=Path, help=_("where to write (default: print the draft)"))
    import_.add_argument("--force", action="store_true", help=_("replace an existing file"))
    export = command(
        actions,
        "export",
        _("write the changes made on the web (moved or skipped occurrences) as production files"),
        lambda ctx, a: plan_export(ctx, a.plan, a.out),
    )
    export.add_argument("--plan", help=_("only this plan's changes"))
    export.add_argument("--out", type=Path, help=_("where to write (default: print); one file per plan and owner"))


def load(ctx: Context, paths: list[Path]) -> None:
    """Validate every file first; then write every plan in one transaction."""
    _ = ctx._
    paths = paths or [ctx.settings.schedules_dir]
    schedules = read_files(paths)
    for warning in schedules.warnings:
        ctx.err.write(_("warning: {text}").format(text=warning.render(_)) + "\n")
    digests = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in schedule_paths(paths)}
    with ctx.session() as session, progress_bar(ctx.err, _("calendar items")) as progress:
        results = save_schedules(session, schedules.plans, digests, ctx.now, ctx.settings, progress)
        applied = apply_successions(session, schedules.successions, "load", ctx.now, ctx.settings)
    if applied.recorded:
        report_applied(ctx, applied)
    for plan, changes in results:
        for warning in changes.warnings:  # the agency registry's; a web exception the files now override
            ctx.err.write(_("warning: {text}").format(text=warning.render(_)) + "\n")
        ctx.out.write(
            _("{plan}: {created} new, {revised} revised, {cancelled} cancelled, {unchanged} unchanged").format(
                plan=plan.code,
                created=len(changes.created),
                revised=len(changes.revised),
                cancelled=len(changes.cancelled),
                unchanged=changes.unchanged,
            )
            + "\n"
        )
        if changes.held:  # a closed period's occurrences stay as they were closed
            text = _(HELD).format(plan=plan.code, count=len(changes.held), ids=", ".join(changes.held[:20]))
            ctx.err.write(_("warning: {text}").format(text=text) + "\n")


def _day(text: str | None, flag: str) -> date | None:
    if not text:
        return None
    try:
        return parse_date(text)
    except SchedulerError:
        raise InputError(
            N_('{flag}: expected a date as dd/mm/yyyy or yyyy-mm-dd, got "{value}"'), flag=flag, value=text
        ) from None


def filters(
    plan: str | None, agency: str | None, obligation: str | None, first: str | None, last: str | None
) -> tuple[Filters, date | None, date | None]:
    """``--from``/``--to`` are inclusive days in the plan's zone."""
    start, end = _day(first, "--from"), _day(last, "--to")
    if start and end and end < start:
        raise InputError(N_("--to is before --from"))

    def as_moment(d: date | None) -> datetime | None:
        return datetime.combine(d, time(0), tzinfo=DEFAULT_TZ) if d else None

    return (
        Filters(plan, agency, obligation, as_moment(start), as_moment(end + timedelta(days=1)) if end else None),
        start,
        end,
    )


def _write(ctx: Context, fmt: str, records: list[dict], table_text) -> None:
    if fmt == "json":
        ctx.out.write(to_json(records))
    elif fmt == "csv":
        ctx.out.write(to_csv(records))
    else:
        ctx.out.write(table_text())


def occurrences(ctx: Context, fmt: str, **wanted: str | None) -> None:
    selection, _, _ = filters(**wanted)
    with ctx.session() as session:
        check_codes(session, plan=selection.plan, agency=selection.agency, obligation=selection.obligation)
        rows = find_occurrences(session, selection)
    _write(
        ctx,
        fmt,
        [occurrence_record(r, DEFAULT_TZ) for r in rows],
        lambda: occurrence_table(rows, DEFAULT_TZ, ctx.settings.lang, ctx._),
    )


def milestones(ctx: Context, fmt: str, **wanted: str | None) -> None:
    selection, first, last = filters(**wanted)
    with ctx.session() as session:
        check_codes(session, plan=selection.plan, agency=selection.agency, obligation=selection.obligation)
        pairs = find_milestones(session, selection, first, last)
    _write(
        ctx,
        fmt,
        [milestone_record(m, o, DEFAULT_TZ) for m, o in pairs],
        lambda: milestone_table(pairs, DEFAULT_TZ, ctx.settings.lang, ctx._),
    )


def plan_roll(
    ctx: Context, source: Path, year: int, renames: list[str], names: list[str], out: Path | None, force: bool
) -> None:
    """Write next year's schedule file from this year's; it must load as it is."""
    _ = ctx._
    pairs = {}
    for item in renames:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise InputError(N_('--rename: expected OLD=NEW, got "{value}"'), value=item)
        pairs[old.strip()] = new.strip()
    titles = {}
    for item in names:
        code, sep, name = item.partition("=")
        if not sep or not code or not name:
            raise InputError(N_('--name: expected CODE=NAME, got "{value}"'), value=item)
        titles[code.strip()] = name.strip()
    text = read_document(source)
    pairs, titles = successors_for_roll(ctx, text, str(source), year, pairs, titles)  # the registry's successions
    result = roll(text, str(source), year, pairs, titles)
    target = out or source.with_name(f"{result.code}.yaml")
    if target.exists() and not force:
        raise InputError(N_("{path} exists; choose another --out or add --force"), path=str(target))
    read_texts([(str(target), result.text)])  # the rolled file must load as it is
    atomic_write(target, result.text.encode("utf-8"))
    for note in result.notes:
        ctx.err.write(_("note: {text}").format(text=_(note.message).format(**note.params)) + "\n")
    ctx.out.write(_("wrote {path}").format(path=str(target)) + "\n")


def _source_text(path: Path) -> SourceText:
    """A .txt, .md, .docx or .pdf; a .doc, a scanned PDF or an old encoding is
    named with what to do (``store.plan_documents``)."""
    return read_plan_document(path)


def plan_import(ctx: Context, source: Path, year: int | None, out: Path | None, force: bool) -> None:
    """Write the draft (it must load as it is); the problems go to stderr, not fatal."""
    _ = ctx._
    if out and out.exists() and not force:
        raise InputError(N_("{path} exists; choose another --out or add --force"), path=str(out))
    text = _source_text(source)
    with ctx.session() as session:
        agencies = loaded_agencies(session)
    draft = import_plan(text, year, agencies, translate=_)
    read_texts([(str(out or source), draft.text)])  # the draft must load as it is
    if out:
        atomic_write(out, draft.text.encode("utf-8"))
    else:
        ctx.out.write(draft.text)
    for problem in draft.problems:
        ctx.err.write(f"{source}:{problem.line}: {problem.phrase}: {_(problem.why)}\n")
    if out:
        ctx.out.write(_("wrote {path}").format(path=str(out)) + "\n")


def plan_export(ctx: Context, plan: str | None, out: Path | None) -> None:
    """The live web exceptions as production layers; several plans or owners
    go to several files, named after ``--out`` with the plan and owner added."""
    with ctx.session() as session:
        check_codes(session, plan=plan)
        layers = export_layers(session, plan)
    if not layers:
        ctx.err.write(ctx._(NOTHING_TO_EXPORT) + "\n")
        return
    for plan_code, owner, text in layers:
        if out is None:
            ctx.out.write(text)
            continue
        path = out if len(layers) == 1 else out.with_name(f"{out.stem}-{plan_code}-{owner}{out.suffix or '.yaml'}")
        atomic_write(path, text.encode("utf-8"))
        ctx.out.write(ctx._("written: {path}").format(path=path) + "\n")
