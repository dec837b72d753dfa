"""Compliance in SQL: the status of every occurrence as of a moment, in one
query the database can aggregate. It states the rules of
``scheduler.compliance.status`` in SQL; tests check both agree."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, any_, bindparam, case, exists, func, literal, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from scheduler.compliance.status import COUNTS, Entry, Facts, ReportPeriod, rate
from scheduler.store.schedule import in_scope
from scheduler.store.tables import LedgerRow, OccurrenceRow


@dataclass(frozen=True)
class Scope:
    plan: str | tuple[str, ...] | None = None  # a tuple: several plans, consolidated
    agency: str | None = None
    obligation: str | None = None


def _window_filter(period: ReportPeriod, tz: ZoneInfo):
    """Occurrences whose window closes inside the period (its last day included)."""
    start = datetime.combine(period.start, time(0), tzinfo=tz)
    end = datetime.combine(period.end, time(0), tzinfo=tz)
    return and_(OccurrenceRow.window_end > start, OccurrenceRow.window_end <= end)


def scoped(query, scope: Scope, period: ReportPeriod, tz: ZoneInfo):
    """``query`` on occurrences narrowed to the scope and the period's windows."""
    return in_scope(query.where(_window_filter(period, tz)), scope.plan, scope.agency, scope.obligation)


def plans_with_occurrences(session: Session, plans: dict[str, str], scope: Scope, period: ReportPeriod) -> set[str]:
    """Which of ``plans`` (code -> time zone) have an occurrence in scope whose
    window closes in the period: one query per time zone (usually one)."""
    found: set[str] = set()
    for zone in sorted(set(plans.values())):
        codes = tuple(c for c, z in plans.items() if z == zone)
        query = select(OccurrenceRow.plan_code).distinct()
        found.update(
            session.scalars(scoped(query, Scope(codes, scope.agency, scope.obligation), period, ZoneInfo(zone)))
        )
    return found


RANKS = {4: "excused", 3: "on_time", 2: "late", 1: "non_conforming"}


def _live_rank(scope: Scope, period: ReportPeriod, tz: ZoneInfo, now: datetime):
    """Per occurrence in scope, the best of its live entries as a rank
    (excuse 4, conforming on time 3, conforming late 2, other delivery 1):
    one aggregate instead of an EXISTS per status, which planners handle
    poorly (and PostgreSQL's JIT compiles at great cost)."""
    later = aliased(LedgerRow)
    rank = case(
        (LedgerRow.kind == "excuse", 4),
        (and_(LedgerRow.conforming.is_(True), LedgerRow.late.is_(False)), 3),
        (LedgerRow.conforming.is_(True), 2),
        else_=1,
    )
    query = (
        select(LedgerRow.occurrence_id.label("occurrence_id"), func.max(rank).label("rank"))
        .join(OccurrenceRow, OccurrenceRow.id == LedgerRow.occurrence_id)
        .where(
            LedgerRow.recorded_at <= now,
            LedgerRow.extra.is_(False),
            ~exists().where(
                later.occurrence_id == LedgerRow.occurrence_id,
                later.supersedes == LedgerRow.seq,
                later.recorded_at <= now,
            ),
        )
        .group_by(LedgerRow.occurrence_id)
    )
    return scoped(query, scope, period, tz).subquery("live")


def _with_status(columns, scope: Scope, period: ReportPeriod, tz: ZoneInfo, now: datetime, risk_until: datetime):
    """Occurrences in scope with their status as of ``now`` (the rules of
    ``scheduler.compliance.status``, in SQL)."""
    live = _live_rank(scope, period, tz, now)
    state = case(
        (and_(OccurrenceRow.cancelled_at.is_not(None), OccurrenceRow.cancelled_at <= now), literal("cancelled")),
        *[(live.c.rank == r, literal(name)) for r, name in RANKS.items()],
        (OccurrenceRow.window_end <= now, literal("missing")),
        (OccurrenceRow.window_end <= risk_until, literal("at_risk")),
        else_=literal("pending"),
    ).label("status")
    query = select(*columns, state).outerjoin(live, live.c.occurrence_id == OccurrenceRow.id)
    return scoped(query, scope, period, tz), state


def _no_jit(session: Session) -> None:
    """PostgreSQL's JIT costs more than it saves on these short reports."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def totals(
    session: Session,
    scope: Scope,
    period: ReportPeriod,
    tz: ZoneInfo,
    now: datetime,
    risk_until: datetime,
    by_plan: bool = False,
) -> dict[tuple, dict]:
    """Counts per (agency, obligation), computed by the database (``by_plan``:
    per (plan, agency, obligation), several plans' in one statement)."""
    _no_jit(session)
    keys = [OccurrenceRow.plan_code] if by_plan else []
    groups = _grouped(
        session, [*keys, OccurrenceRow.agency_code, OccurrenceRow.obligation_code], scope, period, tz, now, risk_until
    )
    extras = _surplus(session, scope, period, tz, now, by_plan)
    return {k: {**v, "rate": rate(v), "surplus": extras.get(k, 0)} for k, v in sorted(groups.items())}


def _grouped(session: Session, keys: list, scope: Scope, period, tz, now, risk_until) -> dict[tuple, dict]:
    """Counts per value of ``keys`` (columns of an occurrence), one per
    status plus "required" (all but cancelled), in one GROUP BY."""
    inner, _ = _with_status(keys, scope, period, tz, now, risk_until)
    inner = inner.subquery()
    columns = [inner.c[k.key] for k in keys] + [inner.c.status]
    groups: dict[tuple, dict] = {}
    for *key, status, count in session.execute(select(*columns, func.count()).group_by(*columns)):
        counts = groups.setdefault(tuple(key), dict.fromkeys(COUNTS, 0))
        counts[status] += count
        if status != "cancelled":
            counts["required"] += count
    return groups


def heatmap_counts(
    session: Session,
    scope: Scope,
    period: ReportPeriod,
    tz: ZoneInfo,
    now: datetime,
    risk_until: datetime,
    by_plan: bool = False,
) -> dict[tuple, dict]:
    """Counts per (agency, month of the window's last day), as ``tally`` of
    the statuses gives them: one GROUP BY in the database, the month read
    from the local month starts (a month ``""`` for a window outside them)."""
    _no_jit(session)
    month = case(
        *[
            (OccurrenceRow.window_end >= datetime.combine(first + timedelta(days=1), time(0), tzinfo=tz), literal(m))
            for m, first in reversed(_month_starts(period))
        ],
        else_=literal(""),
    ).label("month")
    keys = [OccurrenceRow.plan_code] if by_plan else []
    cells = _grouped(session, [*keys, OccurrenceRow.agency_code, month], scope, period, tz, now, risk_until)
    return {k: {**v, "rate": rate(v)} for k, v in sorted(cells.items())}


def _month_starts(period: ReportPeriod) -> list[tuple[str, date]]:
    """The period's months ("2024-03") with their first days, in order."""
    return [(m, date(int(m[:4]), int(m[5:7]), 1)) for m in period.months()]


def _surplus(
    session: Session, scope: Scope, period: ReportPeriod, tz: ZoneInfo, now: datetime, by_plan: bool = False
) -> dict:
    """Active extra deliveries per (agency, obligation) as of ``now`` (``status.surplus`` in SQL)."""
    later = aliased(LedgerRow)
    keys = [*([OccurrenceRow.plan_code] if by_plan else []), OccurrenceRow.agency_code, OccurrenceRow.obligation_code]
    query = (
        select(*keys, func.count())
        .join(LedgerRow, LedgerRow.occurrence_id == OccurrenceRow.id)
        .where(
            LedgerRow.recorded_at <= now,
            LedgerRow.extra.is_(True),
            LedgerRow.kind == "delivery",
            ~exists().where(
                later.occurrence_id == LedgerRow.occurrence_id,
                later.supersedes == LedgerRow.seq,
                later.recorded_at <= now,
            ),
        )
        .group_by(*keys)
    )
    return {tuple(key): n for *key, n in session.execute(scoped(query, scope, period, tz))}


def statuses(
    session: Session,
    scope: Scope,
    period: ReportPeriod,
    tz: ZoneInfo,
    now: datetime,
    risk_until: datetime,
    only: list[str] | None = None,
) -> list[tuple[OccurrenceRow, str]]:
    """Each occurrence in scope (of the obligations ``only`` names, when given)
    with its status, in a stable order."""
    _no_jit(session)
    query, _ = _with_status([OccurrenceRow], scope, period, tz, now, risk_until)
    if only is not None:
        query = query.where(OccurrenceRow.obligation_code.in_(only))
    query = query.order_by(
        OccurrenceRow.agency_code, OccurrenceRow.obligation_code, OccurrenceRow.window_end, OccurrenceRow.number
    )
    return [(row, status) for row, status in session.execute(query)]


def facts_and_entries(
    session: Session, scope: Scope, period: ReportPeriod, tz: ZoneInfo
) -> tuple[list[Facts], list[Entry]]:
    """The same data as values, for the pure rules (tests compare both paths)."""
    rows = list(session.scalars(scoped(select(OccurrenceRow), scope, period, tz)))
    facts = [
        Facts(r.id, r.agency_code, r.obligation_code, r.period, r.window_start, r.window_end, r.cancelled_at)
        for r in rows
    ]
    ids = [r.id for r in rows]
    entries = (
        [
            Entry(e.seq, e.occurrence_id, e.kind, e.recorded_at, e.supersedes, e.conforming, e.late, e.extra)
            for e in session.scalars(select(LedgerRow).where(LedgerRow.occurrence_id.in_(ids)))
        ]
        if ids
        else []
    )
    return facts, entries


def entries_by_occurrence(session: Session, ids: list[str], now: datetime) -> dict[str, list[LedgerRow]]:
    """Ledger rows recorded by ``now`` for these occurrences (their evidence
    links): one statement however many ids (a report of a province-year
    lists thousands), not one per 500."""
    found: dict[str, list[LedgerRow]] = {}
    if not ids:
        return found
    query = (
        select(LedgerRow)
        .where(_among(session, LedgerRow.occurrence_id, ids), LedgerRow.recorded_at <= now)
        .order_by(LedgerRow.seq)
    )
    for row in session.scalars(query):
        found.setdefault(row.occurrence_id, []).append(row)
    return found


def _among(session: Session, column, values: list[str]):
    """``column IN values`` with the values as one parameter: an array on
    PostgreSQL, a JSON list read by ``json_each`` on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("among", list(values), type_=postgresql.ARRAY(String)))
    listed = func.json_each(bindparam("among", json.dumps(list(values)))).table_valued("value")
    return column.in_(select(listed.c.value))
