"""What each row of the plan's words grammar (``phrases.PHRASES``) makes of
the words it matched: a ``Reading``, a form and its values, that ``cadence``
turns into its classes."""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, time, timedelta

from scheduler.plan.periods import Period, parse_date, parse_period, parse_time, parse_unit, tile
from scheduler.plan.phrase_words import BARE, DATE, DAY, WEEKDAYS


@dataclass(frozen=True)
class Context:
    """What a phrase leaves to the plan: its year, its end and its due time."""

    start: date
    end: date
    due_time: time = time(17, 0)


@dataclass(frozen=True)
class Reading:
    """What a phrase says, in the terms of a cadence form (``cadence`` builds it).

    ``form`` is quota, window, windows, span, deadlines, continuous or slots.
    """

    form: str
    count: int = 1
    unit: str = ""
    minimum: bool = False
    periods: tuple[Period, ...] = ()
    days: tuple[date, ...] = ()
    rule: str = ""
    at: time = time(0)


def quota(m: re.Match[str], ctx: Context) -> Reading:
    groups = m.groupdict()
    return Reading("quota", int(groups.get("n") or 1), parse_unit(m["unit"]), minimum=bool(groups.get("min")))


def _time(m: re.Match[str], ctx: Context) -> time:
    """The phrase's time of day ("6 giờ 30", "20h", "19:30", "3 giờ chiều"), else the due time."""
    if not m["h"]:
        return ctx.due_time
    at = parse_time(f"{m['h']}:{m['m'] or '00'}")
    if (m["tpart"] or m["part"] or "").lower() in ("chiều", "tối") and at.hour < 12:
        at = at.replace(hour=at.hour + 12)
    return at


def slots(m: re.Match[str], ctx: Context) -> Reading | None:
    every = m["every"].lower()
    days = [WEEKDAYS[d.split()[-1].lower()] for d in re.findall(DAY, m["days"], re.I)]
    if every == "tuần":
        if m["weeks"]:
            return None
        return Reading("slots", rule="FREQ=WEEKLY;BYDAY=" + ",".join(days), at=_time(m, ctx))
    if not m["weeks"]:  # "thứ Năm hằng tháng" does not say which Thursday
        return None
    weeks = re.findall(r"[1-5]", m["weeks"])
    byday = ",".join(f"{w}{d}" for d in days for w in weeks)
    return Reading("slots", rule="FREQ=MONTHLY;BYDAY=" + byday, at=_time(m, ctx))


def daily(m: re.Match[str], ctx: Context) -> Reading:
    return Reading("slots", rule="FREQ=DAILY", at=_time(m, ctx))


def periods_in(text: str, ctx: Context) -> tuple[Period, ...]:
    """ "Quý II và Quý IV năm 2026": each period; a year written last serves all."""
    parts = re.split(r"\s*(?:,|\svà\s)\s*", text)
    kind = re.match(r"(quý|Q|tháng)\s*", parts[0], re.I)
    parts = [f"{kind[1]} {p}" if kind and re.fullmatch(BARE, p, re.I) else p for p in parts]  # "Quý I, II/2026"
    found: list[Period] = []
    year: int | date = ctx.start
    for part in reversed(parts):
        if y := re.search(r"(\d{4})$", part):
            year = int(y[1])
        found.append(parse_period(part, year))
    return tuple(reversed(found))


def window(m: re.Match[str], ctx: Context) -> Reading:
    periods = periods_in(m["when"], ctx)
    count = int(m.groupdict().get("n") or 1)
    return Reading("window" if len(periods) == 1 else "windows", count, periods=periods)


def span(m: re.Match[str], ctx: Context) -> Reading:
    last = parse_period(m["last"], ctx.start)
    first = parse_period(m["first"], last.start if re.search(r"\d{4}$", m["last"]) else ctx.start)
    return Reading("span", periods=(first, last))


def dates(m: re.Match[str], ctx: Context) -> Reading:
    days = [parse_date(d, ctx.start) for d in re.findall(DATE, m["days"])]
    if len(days) == 1:
        return Reading("window", periods=(parse_period(f"before {m['days']}", ctx.start),))
    return Reading("deadlines", days=tuple(days))


def day_of_period(m: re.Match[str], ctx: Context) -> Reading | None:
    """The day ``d`` of each period's last month ("trước ngày 12 của tháng cuối quý")."""
    unit, day = parse_unit(m["unit"]), int(m["d"])
    if unit == "week":
        return None
    days = []
    for whole in tile(unit, date(ctx.start.year, 1, 1), date(ctx.end.year + 1, 1, 1)):
        last = whole.last_day
        moment = parse_date(f"{day}/{last.month}/{last.year}")
        if ctx.start <= moment < ctx.end:
            days.append(moment)
    return Reading("deadlines", days=tuple(days))


def every_months(m: re.Match[str], ctx: Context) -> Reading | None:
    """ "6 tháng/lần": once every 6 months, that is once a half-year."""
    unit = {"1": "month", "3": "quarter", "6": "half-year", "12": "year"}.get(m["k"].lstrip("0"))
    return Reading("quota", 1, unit) if unit else None


def monthly_day(m: re.Match[str], ctx: Context) -> Reading | None:
    """ "trước ngày 15 hằng tháng": a deadline on that day of each month of the plan
    (the month's last day when it is shorter)."""
    day = int(m["d"])
    if not 1 <= day <= 31:
        return None
    days = []
    for month in tile("month", date(ctx.start.year, ctx.start.month, 1), ctx.end):
        year, number = month.start.year, month.start.month
        moment = date(year, number, min(day, monthrange(year, number)[1]))
        if ctx.start <= moment < ctx.end:
            days.append(moment)
    return Reading("deadlines", days=tuple(days))


def one_day(m: re.Match[str], ctx: Context) -> Reading:
    """ "Ngày 15/5/2026": one deliverable on that day."""
    day = parse_date(m["day"], ctx.start)
    return Reading("window", periods=(Period(day, day + timedelta(days=1), day.isoformat()),))


def half_and_year(m: re.Match[str], ctx: Context) -> Reading:
    """The first half and the whole of each year of the plan, clipped to it (as quotas are)."""
    periods: list[Period] = []
    for year in range(ctx.start.year, (ctx.end - timedelta(days=1)).year + 1):
        periods += [parse_period(f"H1/{year}"), parse_period(str(year))]
    clipped = (Period(max(p.start, ctx.start), min(p.end, ctx.end), p.label) for p in periods)
    return Reading("windows", periods=tuple(p for p in clipped if p.start < p.end))
