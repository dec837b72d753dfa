"""Closed periods as reports, loads and pages read them: which closing covers
a plan's period or an occurrence, what was recorded after it, and which
occurrences a load must leave as they were (``closing.py`` writes them)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.compliance.status import ReportPeriod
from scheduler.errors import N_, InputError
from scheduler.evidence.ledger import parse_content
from scheduler.plan.revisions import Changes
from scheduler.store.tables import ClosedPeriodRow, LedgerRow, OccurrenceRow, PlanRow

AFTER_CLOSING = N_("recorded after closing")  # "ghi nhận sau khi chốt"
CLOSED_OCCURRENCE = N_(
    "occurrence {id} belongs to a closed period (kỳ đã chốt): {label}, closing #{closing} on {at} by {by}; "
    "its report is fixed as of the closing, so it can no longer be moved or skipped"
)
HELD = N_("{plan}: closed period (kỳ đã chốt): {count} occurrences left as they were: {ids}")


def closing_of(session: Session, plan_code: str, period: ReportPeriod, now: datetime) -> ClosedPeriodRow | None:
    """The first closing of exactly this period that covers the plan and was
    made by ``now`` (a report as of an earlier moment knows no closing)."""
    query = (
        select(ClosedPeriodRow)
        .where(
            ClosedPeriodRow.label == period.label,
            ClosedPeriodRow.cutoff.is_(period.cutoff),
            ClosedPeriodRow.first_day == period.start,
            ClosedPeriodRow.last_day == period.last_day,
            ClosedPeriodRow.closed_at <= now,
        )
        .order_by(ClosedPeriodRow.closed_at, ClosedPeriodRow.id)
    )
    return next((row for row in session.scalars(query) if plan_code in (row.plans or [])), None)


def closing_section(closing: ClosedPeriodRow | None, tz: ZoneInfo) -> dict:
    """The keys a report of a closed period carries (none for an open one):
    as of the closing itself nothing was recorded after it."""
    if closing is None:
        return {}
    at = closing.closed_at.astimezone(tz).isoformat()
    return {
        "closing": {"id": closing.id, "closed_at": at, "closed_by": closing.closed_by, "seen_at": at},
        "recorded_after_closing": [],
    }


def after_closing(
    session: Session, document: dict, closing: ClosedPeriodRow, now: datetime, tz: ZoneInfo, among=None
) -> dict:
    """The report as the closing kept it, plus the entries recorded since
    (by ``now``) for its occurrences (``among``: a query of their ids, one
    statement), listed apart with their links."""
    ids = [o["id"] for o in document["occurrences"]]
    later: list[dict] = []
    chunks = [among] if among is not None else [ids[start : start + 500] for start in range(0, len(ids), 500)]
    for chunk in chunks:
        query = (
            select(LedgerRow)
            .where(
                LedgerRow.occurrence_id.in_(chunk),
                LedgerRow.recorded_at > closing.closed_at,
                LedgerRow.recorded_at <= now,
            )
            .order_by(LedgerRow.seq)
        )
        later += [_entry(row, tz) for row in session.scalars(query)]
    later.sort(key=lambda e: e["seq"])
    return {
        **document,
        "closing": {**document["closing"], "seen_at": now.astimezone(tz).isoformat()},
        "recorded_after_closing": later,
    }


def _entry(row: LedgerRow, tz: ZoneInfo) -> dict:
    payload = parse_content(row.content)["payload"]
    return {
        "seq": row.seq,
        "occurrence": row.occurrence_id,
        "href": f"/o/{row.occurrence_id}",
        "kind": row.kind,
        "recorded_at": row.recorded_at.astimezone(tz).isoformat(),
        "recorded_by": row.recorded_by,
        "moment": payload.get("moment"),
        "url": payload.get("url", ""),
        "reason": payload.get("reason", ""),
        "conforming": row.conforming,
        "late": row.late,
        "extra": row.extra,
        "supersedes": row.supersedes,
        "files": [
            {"name": f["name"], "sha256": f["sha256"], "href": f"/api/ledger/{row.seq}/files/{f['sha256']}"}
            for f in payload.get("files", [])
        ],
    }


def _bounds(row: ClosedPeriodRow, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A closed period as the window ends it holds: (first day 00:00, the day after the last 00:00]."""
    return (
        datetime.combine(row.first_day, time(0), tzinfo=tz),
        datetime.combine(row.last_day + timedelta(days=1), time(0), tzinfo=tz),
    )


def closings_of_plan(session: Session, plan_code: str, day: date | None = None) -> list[ClosedPeriodRow]:
    """Every closing covering the plan (closed periods are few: a handful a
    year per province), or those whose period holds ``day``."""
    query = select(ClosedPeriodRow).order_by(ClosedPeriodRow.closed_at, ClosedPeriodRow.id)
    if day is not None:
        query = query.where(ClosedPeriodRow.first_day <= day, ClosedPeriodRow.last_day >= day)
    return [row for row in session.scalars(query) if plan_code in (row.plans or [])]


def holding(closings: Iterable[ClosedPeriodRow], window_end: datetime, tz: ZoneInfo) -> ClosedPeriodRow | None:
    """The first closing whose period holds an occurrence ending its window at ``window_end``."""
    for row in closings:
        start, end = _bounds(row, tz)
        if start < window_end <= end:
            return row
    return None


def closing_of_occurrence(session: Session, row: OccurrenceRow) -> ClosedPeriodRow | None:
    """The closed period this occurrence belongs to, if any: what marks a
    record "ghi nhận sau khi chốt" (computed, never stored)."""
    tz = ZoneInfo(session.get(PlanRow, row.plan_code).timezone)
    last = (row.window_end.astimezone(tz) - timedelta(microseconds=1)).date()  # the window's last day
    return holding(closings_of_plan(session, row.plan_code, last), row.window_end, tz)


class PeriodClosed(InputError):
    """A change to an occurrence of a closed period: a conflict with the closing (HTTP 409)."""

    status = 409


def refuse_if_closed(session: Session, row: OccurrenceRow) -> None:
    """What a writer other than a load (a web move or skip) asks first: an
    occurrence of a closed period stays as it was closed."""
    closing = closing_of_occurrence(session, row)
    if closing is not None:
        tz = ZoneInfo(session.get(PlanRow, row.plan_code).timezone)
        raise PeriodClosed(
            CLOSED_OCCURRENCE,
            id=row.id,
            label=closing.label + (" cut-off" if closing.cutoff else ""),
            closing=closing.id,
            at=f"{closing.closed_at.astimezone(tz):%d/%m/%Y %H:%M}",
            by=closing.closed_by,
        )


def closing_lookup(session: Session) -> Callable[[OccurrenceRow], ClosedPeriodRow | None]:
    """``closing_of_occurrence`` for many occurrences (a succession moving
    thousands): the closings and zones read once, the same rule (``holding``)."""
    closings = list(session.scalars(select(ClosedPeriodRow).order_by(ClosedPeriodRow.closed_at, ClosedPeriodRow.id)))
    zones: dict[str, ZoneInfo] = {}

    def lookup(row: OccurrenceRow) -> ClosedPeriodRow | None:
        if not closings:
            return None
        if row.plan_code not in zones:
            zones[row.plan_code] = ZoneInfo(session.get(PlanRow, row.plan_code).timezone)
        of_plan = [c for c in closings if row.plan_code in (c.plans or [])]
        return holding(of_plan, row.window_end, zones[row.plan_code])

    return lookup


def occurrence_marks(session: Session, row: OccurrenceRow, entries: list[dict], _) -> dict:
    """What the occurrence page adds: its closed period, and which entries
    were recorded after the closing."""
    closing = closing_of_occurrence(session, row)
    if closing is None:
        return {"closed_period": None, "after_closing": []}
    return {
        "closed_period": {
            "id": closing.id,
            "label": closing.label,
            "cutoff": closing.cutoff,
            "closed_at": closing.closed_at.astimezone(ZoneInfo(session.get(PlanRow, row.plan_code).timezone)),
            "href": f"/dashboard/periods#closing-{closing.id}",
        },
        "after_closing": [e["seq"] for e in entries if e["recorded_at"] > closing.closed_at],
    }


def hold_closed(session: Session, plan_code: str, tz: ZoneInfo, changes: Changes, rows: dict) -> list[str]:
    """Take out of ``changes`` what would alter a closed period of the plan
    (an occurrence created, revised or cancelled whose window, before or
    after, ends in it): its report must stay as it was closed. The ids kept."""
    closings = closings_of_plan(session, plan_code)
    if not closings:
        return []

    def closed(*ends: datetime | None) -> bool:
        return any(end is not None and holding(closings, end, tz) is not None for end in ends)

    held = [o.id for o in changes.created if closed(o.window_end)]
    held += [o.id for o, _ in changes.revised if closed(o.window_end, rows[o.id].window_end)]
    held += [oid for oid, _ in changes.cancelled if closed(rows[oid].window_end)]
    if held:
        kept, changes_created = set(held), changes.created
        changes.created = [o for o in changes.created if o.id not in kept]
        changes.revised = [(o, r) for o, r in changes.revised if o.id not in kept]
        changes.cancelled = [(i, r) for i, r in changes.cancelled if i not in kept]
        changes.unchanged += len(held) - sum(1 for o in changes_created if o.id in kept)
        changes.held = sorted(held)
    return sorted(held)
