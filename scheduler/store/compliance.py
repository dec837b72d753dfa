"""Compliance in SQL: the status of every occurrence as of a moment, in one
query the database can aggregate. It states the rules of
``scheduler.compliance.status`` in SQL; tests check both agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.orm import Session, aliased

from ..compliance import COUNTS, Entry, Facts, ReportPeriod, rate
from .schedule import in_scope
from .tables import LedgerRow, OccurrenceRow


@dataclass(frozen=True)
class Scope:
    plan: str | None = None
    agency: str | None = None
    obligation: str | None = None


def _window_filter(period: ReportPeriod, tz: ZoneInfo):
    """Occurrences whose window closes inside the period (its last day included)."""
    start = datetime.combine(period.start, time(0), tzinfo=tz)
    end = datetime.combine(period.end, time(0), tzinfo=tz)
    return and_(OccurrenceRow.window_end > start, OccurrenceRow.window_end <= end)


def _scoped(query, scope: Scope, period: ReportPeriod, tz: ZoneInfo):
    return in_scope(query.where(_window_filter(period, tz)), scope.plan, scope.agency, scope.obligation)


def status_column(now: datetime, risk_until: datetime):
    """The status of each occurrence as of ``now``, as a SQL expression over
    its ledger entries recorded by then and not superseded by then."""
    entry, later = LedgerRow, aliased(LedgerRow)
    live = and_(entry.occurrence_id == OccurrenceRow.id, entry.recorded_at <= now, entry.extra.is_(False),
                ~exists().where(later.occurrence_id == entry.occurrence_id, later.supersedes == entry.seq,
                                later.recorded_at <= now))

    def has(*conditions):
        return exists().where(live, *conditions)

    return case(
        (and_(OccurrenceRow.cancelled_at.is_not(None), OccurrenceRow.cancelled_at <= now), literal("cancelled")),
        (has(entry.kind == "excuse"), literal("excused")),
        (has(entry.kind == "delivery", entry.conforming.is_(True), entry.late.is_(False)), literal("on_time")),
        (has(entry.kind == "delivery", entry.conforming.is_(True)), literal("late")),
        (has(entry.kind == "delivery"), literal("non_conforming")),
        (OccurrenceRow.window_end <= now, literal("missing")),
        (OccurrenceRow.window_end <= risk_until, literal("at_risk")),
        else_=literal("pending"),
    )


def totals(session: Session, scope: Scope, period: ReportPeriod, tz: ZoneInfo, now: datetime,
           risk_until: datetime) -> dict[tuple[str, str], dict]:
    """Counts per (agency, obligation), computed by the database."""
    state = status_column(now, risk_until).label("status")
    inner = _scoped(select(OccurrenceRow.agency_code, OccurrenceRow.obligation_code, state), scope, period, tz)
    inner = inner.subquery()
    query = (select(inner.c.agency_code, inner.c.obligation_code, inner.c.status, func.count())
             .group_by(inner.c.agency_code, inner.c.obligation_code, inner.c.status))
    groups: dict[tuple[str, str], dict] = {}
    for agency, obligation, status, count in session.execute(query):
        counts = groups.setdefault((agency, obligation), {k: 0 for k in COUNTS})
        counts[status] += count
        if status != "cancelled":
            counts["required"] += count
    return {k: {**v, "rate": rate(v)} for k, v in sorted(groups.items())}


def statuses(session: Session, scope: Scope, period: ReportPeriod, tz: ZoneInfo, now: datetime,
             risk_until: datetime) -> list[tuple[OccurrenceRow, str]]:
    """Each occurrence in scope with its status, in a stable order."""
    state = status_column(now, risk_until).label("status")
    query = _scoped(select(OccurrenceRow, state), scope, period, tz).order_by(
        OccurrenceRow.agency_code, OccurrenceRow.obligation_code, OccurrenceRow.window_end, OccurrenceRow.number)
    return [(row, status) for row, status in session.execute(query)]


def facts_and_entries(session: Session, scope: Scope, period: ReportPeriod, tz: ZoneInfo
                      ) -> tuple[list[Facts], list[Entry]]:
    """The same data as values, for the pure rules (tests compare both paths)."""
    rows = list(session.scalars(_scoped(select(OccurrenceRow), scope, period, tz)))
    facts = [Facts(r.id, r.agency_code, r.obligation_code, r.period, r.window_start, r.window_end, r.cancelled_at)
             for r in rows]
    ids = [r.id for r in rows]
    entries = [Entry(e.seq, e.occurrence_id, e.kind, e.recorded_at, e.supersedes, e.conforming, e.late, e.extra)
               for e in session.scalars(select(LedgerRow).where(LedgerRow.occurrence_id.in_(ids)))] if ids else []
    return facts, entries


def entries_by_occurrence(session: Session, ids: list[str], now: datetime) -> dict[str, list[LedgerRow]]:
    """Ledger rows recorded by ``now`` for these occurrences (their evidence links)."""
    found: dict[str, list[LedgerRow]] = {}
    for start in range(0, len(ids), 500):
        query = select(LedgerRow).where(LedgerRow.occurrence_id.in_(ids[start:start + 500]),
                                        LedgerRow.recorded_at <= now).order_by(LedgerRow.seq)
        for row in session.scalars(query):
            found.setdefault(row.occurrence_id, []).append(row)
    return found
