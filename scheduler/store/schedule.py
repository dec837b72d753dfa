"""Writing a loaded plan and reading occurrences back, in the caller's
transaction. Loads are idempotent: the same plan twice writes nothing new
(beyond the load's own log line)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from scheduler.plan.channels import as_definition
from scheduler.plan.model import Plan
from scheduler.plan.occurrences import CANCELLED, Occurrence
from scheduler.plan.revisions import REMOVED_REASON, Changes, Stored, as_cancelled, fingerprint, reconcile
from scheduler.store.closed_periods import hold_closed
from scheduler.store.feed_items import Progress, write_items
from scheduler.store.occurrence_writes import insert_occurrences, occurrence_values, replace_milestones
from scheduler.store.registry import register_agencies
from scheduler.store.succession import mark_moved, owed_by_successors
from scheduler.store.tables import (
    AgencyMemberRow,
    AgencyRow,
    LoadRow,
    MilestoneRow,
    ObligationRow,
    OccurrenceRow,
    PlanRow,
)


def _jsonable(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "total_seconds"):
        return int(value.total_seconds())
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def save_plan(
    session: Session,
    plan: Plan,
    occurrences: list[Occurrence],
    now: datetime,
    source_sha256: str,
    base_url: str,
    progress: Progress | None = None,
) -> Changes:
    """Upsert the plan, its agencies and obligations, reconcile its occurrences
    and reserialize the calendar items of those that changed."""
    session.merge(
        PlanRow(
            code=plan.code,
            title=plan.title,
            title_en=plan.title_en,
            issuer=plan.issuer,
            timezone=plan.timezone,
            period_start=plan.period.start,
            period_end=plan.period.end,
            source=plan.source,
            source_sha256=source_sha256,
            loaded_at=now,
            province=plan.province,
            definition={
                "number": plan.number,
                "issued_on": _jsonable(plan.issued_on),
                "legal_basis": list(plan.legal_basis),
                "due_time": plan.due_time.isoformat(),
                "topics": _jsonable(plan.topics),
                "audiences": _jsonable(plan.audiences),
                "extra_holidays": _jsonable(plan.extra_holidays),
                "extra_workdays": _jsonable(plan.extra_workdays),
                "reminder_policy": dict(plan.reminder_policy),
                "channels": as_definition(plan.channels),  # the plan's own, looked up by plan
                "outlets": _jsonable(plan.outlets),  # harvest sections (plan/harvest_settings.py)
            },
        )
    )
    session.flush()
    for agency in plan.agencies:
        session.merge(
            AgencyRow(
                plan_code=plan.code,
                code=agency.code,
                name=agency.name,
                name_en=agency.name_en,
                kind=agency.kind,
                contacts=list(agency.contacts),
            )
        )
    save_members(session, plan)
    warnings = register_agencies(session, plan, now)  # the one registry, shared by code across plans
    current = {o.code for o in plan.obligations}
    for row in session.scalars(select(ObligationRow).where(ObligationRow.plan_code == plan.code)):
        row.active = row.code in current
    for ob in plan.obligations:
        definition = {
            **_jsonable(dataclasses.replace(ob, cadence=None)),
            "reminder_policy": _jsonable(dict(ob.reminder_policy)),
            "minimum": bool(getattr(ob.cadence, "minimum", False)),  # "tối thiểu": reports say "at least"
        }
        session.merge(
            ObligationRow(
                plan_code=plan.code,
                code=ob.code,
                title=ob.title,
                title_en=ob.title_en,
                host=ob.host,
                cadence=ob.cadence.describe(),
                definition=definition,
                active=True,
            )
        )
    session.flush()
    rows = {r.id: r for r in session.scalars(select(OccurrenceRow).where(OccurrenceRow.plan_code == plan.code))}
    occurrences, moved = owed_by_successors(session, plan, occurrences, rows)  # the 2025 reorganisation
    stored = {i: Stored(i, r.fingerprint, r.status, r.revision, r.window_end) for i, r in rows.items()}
    changes = reconcile(stored, occurrences, now)
    changes.warnings += warnings
    hold_closed(session, plan.code, ZoneInfo(plan.timezone), changes, rows)  # a closed period stays as it was closed
    for oid in [o.id for o, _ in changes.revised] + [i for i, _ in changes.cancelled]:
        changes.previous[oid] = (rows[oid].due, rows[oid].slot, rows[oid].status)
    insert_occurrences(session, changes.created, now)
    for occurrence, revision in changes.revised:
        before = rows[occurrence.id]
        cancelled_at = None
        if occurrence.status == CANCELLED:
            cancelled_at = before.cancelled_at if before.status == CANCELLED else now
        session.merge(_row(occurrence, revision, before.created_at, now, cancelled_at, before.delivery))
    session.flush()  # occurrences before the milestones that refer to them
    revised = [o for o, _ in changes.revised]
    replace_milestones(session, [o.id for o in revised], changes.created + revised)
    for oid, revision in changes.cancelled:
        row = rows[oid]
        row.status, row.reason, row.revision, row.updated_at = CANCELLED, REMOVED_REASON, revision, now
        row.cancelled_at = now
        row.shown = as_cancelled(row.shown)
        row.fingerprint = fingerprint(row.shown)
    changed = [o.id for o in changes.created] + [o.id for o, _ in changes.revised] + [i for i, _ in changes.cancelled]
    session.flush()
    mark_moved(session, {i: moved[i] for i in changed if i in moved})
    write_items(session, changed, base_url, progress)
    session.add(
        LoadRow(
            plan_code=plan.code,
            loaded_at=now,
            source=plan.source,
            source_sha256=source_sha256,
            created=len(changes.created),
            revised=len(changes.revised),
            cancelled=len(changes.cancelled),
            unchanged=changes.unchanged,
        )
    )
    session.flush()
    return changes


def _row(
    o: Occurrence,
    revision: int,
    created_at: datetime,
    now: datetime,
    cancelled_at: datetime | None,
    delivery: dict | None = None,
) -> OccurrenceRow:
    return OccurrenceRow(**occurrence_values(o, revision, created_at, now, cancelled_at, delivery))


def _milestones(o: Occurrence) -> Iterable[MilestoneRow]:
    """ORM rows for one occurrence's milestones (a web exception's single change; loads write them in bulk)."""
    return [
        MilestoneRow(occurrence_id=o.id, step=m.step, title=m.title, title_en=m.title_en, day=m.day, offset=m.offset)
        for m in o.milestones
    ]


@dataclasses.dataclass(frozen=True)
class Filters:
    """What a listing asks for; dates are inclusive days in the plan's zone."""

    plan: str | None = None
    agency: str | None = None
    obligation: str | None = None
    start: datetime | None = None
    end: datetime | None = None  # exclusive


def in_scope(query, plan: str | Sequence[str] | None, agency: str | None, obligation: str | None):
    """Narrow a query on occurrences to a plan (or a list of plans: the
    consolidated report's), an agency, an obligation (each optional)."""
    if isinstance(plan, str) and plan:
        query = query.where(OccurrenceRow.plan_code == plan)
    elif plan is not None and not isinstance(plan, str):
        query = query.where(OccurrenceRow.plan_code.in_(list(plan)))
    if obligation:
        query = query.where(OccurrenceRow.obligation_code == obligation)
    return query.where(of_agency(agency)) if agency else query


def of_agency(agency: str):
    """The agency's occurrences; for a group, its members' (a group's members
    across plans: the same code in two plans is one agency)."""
    members = select(AgencyMemberRow.member_code).where(AgencyMemberRow.group_code == agency)
    return or_(OccurrenceRow.agency_code == agency, OccurrenceRow.agency_code.in_(members))


def save_members(session: Session, plan: Plan) -> None:
    """The plan's groups and their members, as the file lists them now."""
    session.execute(delete(AgencyMemberRow).where(AgencyMemberRow.plan_code == plan.code))
    session.add_all(
        AgencyMemberRow(plan_code=plan.code, group_code=a.code, member_code=m, position=i)
        for a in plan.agencies
        for i, m in enumerate(a.members)
    )


def group_members(session: Session, plan: str) -> dict[str, list[str]]:
    """Group code -> its members' codes, in the file's order."""
    query = select(AgencyMemberRow).where(AgencyMemberRow.plan_code == plan).order_by(AgencyMemberRow.position)
    found: dict[str, list[str]] = {}
    for row in session.scalars(query):
        found.setdefault(row.group_code, []).append(row.member_code)
    return found


def find_occurrences(session: Session, filters: Filters) -> list[OccurrenceRow]:
    """Occurrences whose due moment falls in the range, by due moment."""
    query = in_scope(select(OccurrenceRow), filters.plan, filters.agency, filters.obligation)
    if filters.start:
        query = query.where(OccurrenceRow.due >= filters.start)
    if filters.end:
        query = query.where(OccurrenceRow.due < filters.end)
    query = query.order_by(
        OccurrenceRow.due,
        OccurrenceRow.plan_code,
        OccurrenceRow.obligation_code,
        OccurrenceRow.period,
        OccurrenceRow.number,
    )
    return list(session.scalars(query))


def find_milestones(
    session: Session, filters: Filters, first: date | None, last: date | None
) -> list[tuple[MilestoneRow, OccurrenceRow]]:
    query = in_scope(
        select(MilestoneRow, OccurrenceRow).join(OccurrenceRow), filters.plan, filters.agency, filters.obligation
    )
    if first:
        query = query.where(MilestoneRow.day >= first)
    if last:
        query = query.where(MilestoneRow.day <= last)
    query = query.order_by(MilestoneRow.day, OccurrenceRow.due, OccurrenceRow.id, MilestoneRow.offset.desc())
    return [(m, o) for m, o in session.execute(query)]


def agency_names(session: Session) -> dict[tuple[str, str], tuple[str, str]]:
    return {(a.plan_code, a.code): (a.name, a.name_en) for a in session.scalars(select(AgencyRow))}
