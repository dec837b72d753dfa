"""Compliance in SQL: the status of every occurrence as of a moment, in one
query the database can aggregate. It states the rules of
``scheduler.compliance.status`` in SQL; tests check both agree."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache, partial
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, any_, bindparam, case, exists, func, literal, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from scheduler.compliance.status import COUNTS, Entry, Facts, ReportPeriod, rate
from scheduler.store.schedule import in_scope, of_agency
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


ZEROS = dict.fromkeys(COUNTS, 0)
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
    per (plan, agency, obligation), several plans' in one statement), with
    the surplus of extra deliveries counted in the same pass."""
    _no_jit(session)
    statement = _totals_statement(session.get_bind().dialect.name, by_plan, *_shape(scope))
    start, end = (datetime.combine(d, time(0), tzinfo=tz) for d in (period.start, period.end))
    values = {"start": start, "end": end, "now": now, "risk_until": risk_until, **_scope_values(scope)}
    groups = _counted(session.connection().execute(statement, values))  # Core rows: no ORM result layer
    return {k: {**_counts(v), "rate": rate(v), "surplus": v["surplus"]} for k, v in sorted(groups.items())}


def _counts(groups: dict) -> dict:
    return {c: groups[c] for c in COUNTS}


def grouped_statement(dialect: str, keys: list, narrow: Callable, now, risk_until):
    """(key..., status, count, extras) rows: per occurrence in scope the best
    of its live entries as one MAX-rank (excuse 4, conforming on time 3,
    conforming late 2, other delivery 1) and its active extras in the same
    pass, then the status and one GROUP BY. Each database gets the form it
    runs fastest (see ``_entries_once`` and ``_joined``). ``narrow``: the
    scope's filter on a query of occurrences; ``now``, ``risk_until``:
    moments or bound parameters."""
    names = [f"k{i}" for i in range(len(keys))]
    labelled = [k.label(n) for k, n in zip(keys, names, strict=True)]
    form = _entries_once if dialect == "postgresql" else _joined
    p = form(labelled, narrow, now).c
    state = case(
        (and_(p.cancelled_at.is_not(None), p.cancelled_at <= now), literal("cancelled")),
        *[(p.rank == r, literal(name)) for r, name in RANKS.items()],
        (p.window_end <= now, literal("missing")),
        (p.window_end <= risk_until, literal("at_risk")),
        else_=literal("pending"),
    ).label("status")
    rows = select(*[p[n] for n in names], state, p.extras).subquery("rows")
    columns = [rows.c[n] for n in names] + [rows.c.status]
    return select(*columns, func.count(), func.coalesce(func.sum(rows.c.extras), 0)).group_by(*columns)


def _rank_and_extras(e) -> list:
    """MAX of the non-extra entries' ranks; SUM of the extra deliveries."""
    rank = case(
        (e.extra.is_(True), None),
        (e.kind == "excuse", 4),
        (and_(e.conforming.is_(True), e.late.is_(False)), 3),
        (e.conforming.is_(True), 2),
        (e.kind == "delivery", 1),
    )
    extra = case((and_(e.extra.is_(True), e.kind == "delivery"), 1), else_=0)
    return [func.max(rank).label("rank"), func.sum(extra).label("extras")]


def _joined(labelled: list, narrow: Callable, now):
    """SQLite (nested loops only): one LEFT JOIN of the scope's occurrences
    to their live entries through the ledger's index, grouped per occurrence."""
    later = aliased(LedgerRow)
    live = and_(
        LedgerRow.occurrence_id == OccurrenceRow.id,
        LedgerRow.recorded_at <= now,
        ~exists().where(
            later.occurrence_id == LedgerRow.occurrence_id,
            later.supersedes == LedgerRow.seq,
            later.recorded_at <= now,
        ),
    )
    query = (
        select(*labelled, OccurrenceRow.cancelled_at, OccurrenceRow.window_end, *_rank_and_extras(LedgerRow))
        .select_from(OccurrenceRow)
        .outerjoin(LedgerRow, live)
        .group_by(OccurrenceRow.id)
    )
    return narrow(query).subquery("per_occurrence")


def _entries_once(labelled: list, narrow: Callable, now):
    """PostgreSQL: the scope's occurrences once (``scoped``), their entries
    recorded by ``now`` once (``known``), the supersession anti-join inside
    those few rather than on the whole ledger, then a hash join back."""
    occurrences = narrow(select(OccurrenceRow.id, OccurrenceRow.cancelled_at, OccurrenceRow.window_end, *labelled)).cte(
        "scoped"
    )
    columns = ("seq", "occurrence_id", "kind", "conforming", "late", "extra", "supersedes")
    known = (
        select(*[getattr(LedgerRow, c) for c in columns])
        .join(occurrences, occurrences.c.id == LedgerRow.occurrence_id)
        .where(LedgerRow.recorded_at <= now)
        .cte("known")
    )
    later, e = known.alias("later"), known.c
    best = (
        select(e.occurrence_id, *_rank_and_extras(e))
        .where(~exists().where(later.c.occurrence_id == e.occurrence_id, later.c.supersedes == e.seq))
        .group_by(e.occurrence_id)
        .cte("best")
    )
    o = occurrences.c
    keys = [o[c.name] for c in labelled]
    return (
        select(*keys, o.cancelled_at, o.window_end, best.c.rank, best.c.extras)
        .select_from(occurrences.outerjoin(best, best.c.occurrence_id == o.id))
        .subquery("per_occurrence")
    )


def _shape(scope: Scope) -> tuple[str, bool, bool]:
    """What a scope filters on (one plan, several, none; agency; obligation)."""
    plans = (
        "one" if isinstance(scope.plan, str) and scope.plan else "" if not scope.plan and scope.plan != () else "many"
    )
    return plans, bool(scope.agency), bool(scope.obligation)


def _scope_values(scope: Scope) -> dict:
    """The bound values of ``_totals_statement``'s scope filter."""
    plans, agency, obligation = _shape(scope)
    values: dict = {"plan": scope.plan} if plans == "one" else {"plans": list(scope.plan or ())} if plans else {}
    return (
        values | ({"agency": scope.agency} if agency else {}) | ({"obligation": scope.obligation} if obligation else {})
    )


@lru_cache(maxsize=32)
def _totals_statement(dialect: str, by_plan: bool, plans: str, agency: bool, obligation: bool):
    """``totals``' statement for a shape of scope, built once with bound
    parameters: building it anew took longer than a province-year's query
    spends in the database's planner."""
    keys = [*([OccurrenceRow.plan_code] if by_plan else []), OccurrenceRow.agency_code, OccurrenceRow.obligation_code]

    def narrow(query):
        query = query.where(OccurrenceRow.window_end > bindparam("start"), OccurrenceRow.window_end <= bindparam("end"))
        if plans == "one":
            query = query.where(OccurrenceRow.plan_code == bindparam("plan"))
        elif plans:
            query = query.where(OccurrenceRow.plan_code.in_(bindparam("plans", expanding=True)))
        if obligation:
            query = query.where(OccurrenceRow.obligation_code == bindparam("obligation"))
        return query.where(of_agency(bindparam("agency"))) if agency else query

    return grouped_statement(dialect, keys, narrow, bindparam("now"), bindparam("risk_until"))


def _grouped(session: Session, keys: list, scope: Scope, period, tz, now, risk_until) -> dict[tuple, dict]:
    """Counts per value of ``keys`` (expressions on an occurrence), one per
    status plus "required" (all but cancelled) and "surplus", in one GROUP BY."""
    narrow = partial(scoped, scope=scope, period=period, tz=tz)
    statement = grouped_statement(session.get_bind().dialect.name, keys, narrow, now, risk_until)
    return _counted(session.connection().execute(statement))


def _counted(rows) -> dict[tuple, dict]:
    """(key..., status, count, extras) rows folded into counts per key."""
    groups: dict[tuple, dict] = {}
    for *key, status, count, extras in rows:
        counts = groups.get(tuple(key))
        if counts is None:
            counts = groups[tuple(key)] = {**ZEROS, "surplus": 0}
        counts[status] += count
        counts["surplus"] += int(extras)  # PostgreSQL sums to numeric (Decimal)
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
    return {k: {**_counts(v), "rate": rate(v)} for k, v in sorted(cells.items())}


def _month_starts(period: ReportPeriod) -> list[tuple[str, date]]:
    """The period's months ("2024-03") with their first days, in order."""
    return [(m, date(int(m[:4]), int(m[5:7]), 1)) for m in period.months()]


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
