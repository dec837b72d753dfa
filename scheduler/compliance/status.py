"""Compliance, pure: the status of each occurrence as of a moment, and the
summaries the DHA reports.

"As of T" means what had been recorded by T (the recorded moment, not the
aired one): the same T always gives the same answer. The SQL path in
``store/compliance.py`` computes the same totals in one GROUP BY; tests check
on generated cases that both agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from scheduler.errors import N_, SchedulerError
from scheduler.plan.periods import OUT_OF_RANGE, Period, parse_date, parse_period
from scheduler.plan.workdays import WorkCalendar

STATUSES = ("pending", "at_risk", "on_time", "late", "missing", "non_conforming", "excused", "cancelled")
COUNTS = ("required",) + STATUSES


@dataclass(frozen=True)
class Facts:
    """An occurrence as compliance sees it."""

    id: str
    agency: str
    obligation: str
    period: str
    window_start: datetime
    window_end: datetime
    cancelled_at: datetime | None  # when it was cancelled, if it is


@dataclass(frozen=True)
class Entry:
    """A ledger entry's gist, as the projection columns keep it."""

    seq: int
    occurrence: str
    kind: str
    recorded_at: datetime
    supersedes: int | None
    conforming: bool
    late: bool
    extra: bool


def active_as_of(entries: Iterable[Entry], now: datetime) -> list[Entry]:
    """Entries recorded by ``now`` and not superseded by an entry recorded by ``now``."""
    known = [e for e in entries if e.recorded_at <= now]
    superseded = {e.supersedes for e in known if e.supersedes}
    return [e for e in known if e.seq not in superseded]


def status(o: Facts, entries: Iterable[Entry], now: datetime, risk_until: datetime) -> str:
    """One of STATUSES. ``risk_until``: a window ending by then is at risk
    (``now`` plus the configured working days; see ``risk_horizon``)."""
    if o.cancelled_at is not None and o.cancelled_at <= now:
        return "cancelled"
    live = [e for e in active_as_of(entries, now) if not e.extra]
    if any(e.kind == "excuse" for e in live):
        return "excused"
    deliveries = [e for e in live if e.kind == "delivery"]
    if any(e.conforming and not e.late for e in deliveries):
        return "on_time"
    if any(e.conforming for e in deliveries):
        return "late"
    if deliveries:
        return "non_conforming"
    if o.window_end <= now:
        return "missing"
    if o.window_end <= risk_until:
        return "at_risk"
    return "pending"


def risk_horizon(now: datetime, working_days: int, calendar: WorkCalendar) -> datetime:
    """The end of the ``working_days``-th working day after ``now``'s day: a
    window closing by then, still unmet, is at risk."""
    day, left = now.date(), working_days
    while left > 0:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            left -= 1
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)


def rate(counts: dict[str, int]) -> float | None:
    """Met share of what was decided: (on time + late) / (on time + late +
    missing + non-conforming). Pending, at-risk, excused and cancelled
    occurrences are not judged yet or not owed."""
    met = counts["on_time"] + counts["late"]
    decided = met + counts["missing"] + counts["non_conforming"]
    return round(met / decided, 4) if decided else None


def tally(statuses: Iterable[str]) -> dict[str, Any]:
    counts = dict.fromkeys(COUNTS, 0)
    for s in statuses:
        counts[s] += 1
        if s != "cancelled":
            counts["required"] += 1
    return {**counts, "rate": rate(counts)}


def surplus(entries: Iterable[Entry], now: datetime) -> int:
    """Extras delivered beyond what is owed, as of ``now``: shown beside the
    counts, never counted in them (a minimum welcomes more; a quota notes it)."""
    return sum(1 for e in active_as_of(entries, now) if e.extra and e.kind == "delivery")


def summarize(
    facts: list[Facts], entries: list[Entry], now: datetime, risk_until: datetime
) -> tuple[dict[str, str], dict[tuple[str, str], dict[str, Any]], dict[str, Any]]:
    """Status per occurrence; counts and ``surplus`` per (agency, obligation); totals."""
    by_occurrence: dict[str, list[Entry]] = {}
    for e in entries:
        by_occurrence.setdefault(e.occurrence, []).append(e)
    statuses = {o.id: status(o, by_occurrence.get(o.id, []), now, risk_until) for o in facts}
    groups: dict[tuple[str, str], list[Facts]] = {}
    for o in facts:
        groups.setdefault((o.agency, o.obligation), []).append(o)
    counted = {
        k: {
            **tally(statuses[o.id] for o in v),
            "surplus": surplus((e for o in v for e in by_occurrence.get(o.id, [])), now),
        }
        for k, v in sorted(groups.items())
    }
    totals = {**tally(statuses.values()), "surplus": sum(g["surplus"] for g in counted.values())}
    return statuses, counted, totals


@dataclass(frozen=True)
class ReportPeriod:
    """A report's period; occurrences belong to it when their window closes
    inside it (so nothing is counted twice across consecutive reports)."""

    label: str
    start: date
    end: date  # exclusive
    cutoff: bool = False

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def months(self) -> list[str]:
        found, day = [], date(self.start.year, self.start.month, 1)
        while day < self.end:
            found.append(f"{day.year}-{day.month:02d}")
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return found


class PeriodError(SchedulerError):
    """A report's period we do not read or do not report on; the request's ``period``."""

    field = "period"


def report_period(text: str, cutoff: bool = False) -> ReportPeriod:
    """``2024``, ``2024-Q3``, ``2024-H1``, ``2024-03`` or ``2024-03-01..2024-05-31``.

    With ``cutoff`` a month, quarter, half-year or year follows Nghị định
    09/2019/NĐ-CP Article 12: it runs from the 15th of the month before to the
    14th of its last month.

    >>> report_period("2024-03", cutoff=True)
    ReportPeriod(label='2024-03', start=datetime.date(2024, 2, 15), end=datetime.date(2024, 3, 15), cutoff=True)
    """
    text = text.strip()
    try:
        if ".." in text:
            first, last = (parse_date(p) for p in text.split("..", 1))
            if last < first:
                raise PeriodError(N_('"{value}" ends before it starts'), value=text)
            return ReportPeriod(text, first, last + timedelta(days=1))
        period = _calendar_period(text)
    except SchedulerError as e:
        if isinstance(e, PeriodError):
            raise
        if e.message == OUT_OF_RANGE:  # a real period, outside the years we keep: say so
            raise PeriodError(e.message, **e.params) from None
        raise PeriodError(
            N_('expected a period such as 2024, 2024-Q3, 2024-H1, 2024-03 or 2024-03-01..2024-05-31, got "{value}"'),
            value=text,
        ) from None
    if not cutoff:
        return ReportPeriod(period.label, period.start, period.end)
    start = date(period.start.year - (period.start.month == 1), (period.start.month - 2) % 12 + 1, 15)
    last_month = period.end - timedelta(days=1)
    return ReportPeriod(period.label, start, date(last_month.year, last_month.month, 15), True)


def _calendar_period(text: str) -> Period:
    year, _, part = text.partition("-")
    if not year.isascii() or not year.isdigit() or len(year) != 4:
        raise SchedulerError(N_("not a period"))  # report_period says what is allowed
    if not part:
        return parse_period(int(year))
    if part[0] in "QH":
        return parse_period(f"{part}/{year}")
    return parse_period(f"{part}/{year}")


@dataclass(frozen=True)
class WindowView:
    """The quota view of one window: "1 of 2 delivered for 03/2024, 3 working days left"."""

    obligation: str
    period: str
    window_start: datetime
    window_end: datetime
    owed: int
    met: int
    working_days_left: int
    ids: tuple[str, ...] = field(default_factory=tuple)


def window_views(
    facts: list[Facts], statuses: dict[str, str], now: datetime, calendar: WorkCalendar
) -> list[WindowView]:
    groups: dict[tuple[str, str], list[Facts]] = {}
    for o in facts:
        if statuses[o.id] != "cancelled":
            groups.setdefault((o.obligation, o.period), []).append(o)
    views = []
    for (obligation, period), items in sorted(groups.items()):
        end = items[0].window_end
        left = calendar.working_days_between(now.date(), end.date()) if end > now else 0
        views.append(
            WindowView(
                obligation,
                period,
                items[0].window_start,
                end,
                len(items),
                sum(statuses[o.id] in ("on_time", "late", "excused") for o in items),
                left,
                tuple(o.id for o in items),
            )
        )
    return views
