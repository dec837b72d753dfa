"""Web exceptions and loads: applying one to an occurrence (as the expansion
applies a file's exception), and, after a load expands the files, keeping
every live one unless the files now change the same occurrence, in which
case the file wins and the load says so."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.errors import N_, Problem
from scheduler.plan.milestones import Milestone, milestones_of
from scheduler.plan.model import MilestoneStep, Plan
from scheduler.plan.occurrences import CANCELLED, SCHEDULED, Occurrence
from scheduler.plan.periods import Period
from scheduler.plan.revisions import fingerprint
from scheduler.plan.workdays import WorkCalendar
from scheduler.store.tables import MilestoneRow, OccurrenceExceptionRow, OccurrenceRow

LENGTH_KEYS = ("duration", "duration_tolerance", "max_duration")
FILE_WINS = N_(
    "the files now change {occurrence}: the change {who} made on the web on {made} "
    '({action}: "{reason}") no longer applies; export it (plan export) to keep it in a file'
)
IN_THE_FILES = N_(
    '{occurrence}: the change {who} made on the web on {made} ({action}: "{reason}") is now in the files, '
    "which keep it from now on"
)


def live_exceptions(session: Session, plan: str | None = None, occurrence: str | None = None):
    """The web exceptions no load has overridden, oldest first."""
    query = select(OccurrenceExceptionRow).where(OccurrenceExceptionRow.overridden_at.is_(None))
    if plan:
        query = query.where(OccurrenceExceptionRow.plan_code == plan)
    if occurrence:
        query = query.where(OccurrenceExceptionRow.occurrence_id == occurrence)
    return list(session.scalars(query.order_by(OccurrenceExceptionRow.id)))


def applied(o: Occurrence, ex: OccurrenceExceptionRow, tz: tzinfo, calendar: WorkCalendar) -> Occurrence:
    """The occurrence with the web exception applied, as the expansion applies
    a file's exception (``occurrences._owed``): a new slot and/or due moment
    (the due follows the slot when only the slot is given), or cancelled; the
    reason shown; the milestones counted back from the due day again."""
    slot = ex.slot.astimezone(tz) if ex.slot else o.slot
    due = (ex.due or ex.slot or o.due).astimezone(tz)
    steps = tuple(MilestoneStep(m.step, m.title, m.title_en, m.offset) for m in o.milestones)
    return replace(
        o,
        slot=slot,
        due=due,
        status=CANCELLED if ex.action == "skip" else SCHEDULED,
        reason=ex.reason,
        milestones=milestones_of(o.id, due.date(), steps, calendar),
    )


def as_occurrence(row: OccurrenceRow, milestones: list[MilestoneRow], tz: tzinfo) -> Occurrence:
    """The stored occurrence as the expansion gave it (its ``shown`` fields):
    what a web exception is applied to between loads."""
    shown = row.shown
    offsets = {m.step: m.offset for m in milestones}

    def moment(key: str) -> datetime | None:
        return datetime.fromisoformat(shown[key]) if shown.get(key) else None

    return Occurrence(
        id=row.id,
        plan=row.plan_code,
        obligation=row.obligation_code,
        agency=shown.get("agency", row.agency_code),
        period=shown.get("period", row.period),
        number=shown.get("number", row.number),
        count=shown.get("count", 1),
        window=Period(row.window_start.astimezone(tz).date(), row.window_end.astimezone(tz).date(), row.period),
        window_start=moment("window_start") or row.window_start,
        window_end=moment("window_end") or row.window_end,
        due=moment("due") or row.due,
        slot=moment("slot"),
        title=shown.get("title", row.title),
        title_en=shown.get("title_en", row.title_en),
        channels=tuple(shown.get("channels", ())),
        coordinators=tuple(shown.get("coordinators", ())),
        coordination=shown.get("coordination", ""),
        topics=tuple(shown.get("topics", ())),
        audiences=tuple(shown.get("audiences", ())),
        min_duration=shown.get("min_duration", None),
        status=shown.get("status", row.status),
        reason=shown.get("reason", row.reason),
        milestones=tuple(
            Milestone(row.id, step, title, title_en, date.fromisoformat(day), offsets.get(step, 0))
            for step, title, title_en, day in shown.get("milestones", [])
        ),
        member=row.member,
        name=shown.get("name", ""),
        name_en=shown.get("name_en", ""),
        length=tuple((k, shown[k]) for k in LENGTH_KEYS if k in shown),
    )


def named_by_files(plan: Plan, o: Occurrence) -> bool:
    """A file's exception names this occurrence (for a group's obligation:
    this member's, or every member's)."""
    obligation = next((ob for ob in plan.obligations if ob.code == o.obligation), None)
    return obligation is not None and any(
        (a.period, a.number) == (o.period, o.number) and a.member in ("", o.member) for a in obligation.adjustments
    )


def keep_web_exceptions(
    session: Session, plan: Plan, occurrences: list[Occurrence], now: datetime
) -> tuple[list[Occurrence], list[Problem]]:
    """The load's occurrences with every live web exception of the plan
    applied, unless the files now change that occurrence: a file's exception
    names it, it left the files, or what the files say about it changed (with
    the exception applied it is no longer what is stored). Then the file wins:
    the exception is marked overridden and a warning names the occurrence and
    who made the web change. A load that does not touch it changes nothing."""
    live = live_exceptions(session, plan=plan.code)
    if not live:
        return occurrences, []
    at = {o.id: i for i, o in enumerate(occurrences)}
    ids = [ex.occurrence_id for ex in live]
    stored = {r.id: r for r in session.scalars(select(OccurrenceRow).where(OccurrenceRow.id.in_(ids)))}
    result, warnings = list(occurrences), []
    for ex in live:
        i, row = at.get(ex.occurrence_id), stored.get(ex.occurrence_id)
        kept, message = None, FILE_WINS
        if i is not None and not named_by_files(plan, occurrences[i]):
            kept = applied(occurrences[i], ex, plan.tz, plan.calendar)
            if row is None or fingerprint(kept.shown()) != row.fingerprint:
                kept = None
        elif i is not None and row is not None and fingerprint(occurrences[i].shown()) == row.fingerprint:
            message = IN_THE_FILES  # the export loaded back: the same change, now a file's
        if kept is not None:
            result[i] = kept
            continue
        ex.overridden_at, ex.overridden_by = now, plan.source
        label = occurrences[i].label if i is not None else ex.occurrence_id
        warnings.append(
            Problem(
                plan.source,
                None,
                ex.occurrence_id,
                message,
                {
                    "occurrence": label,
                    "who": ex.made_by,
                    "made": ex.made_at.astimezone(plan.tz).strftime("%d/%m/%Y %H:%M"),
                    "action": ex.action,
                    "reason": ex.reason[:200],
                },
            )
        )
    return result, warnings
