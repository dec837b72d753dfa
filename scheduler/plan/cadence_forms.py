"""A cadence as a schedule file writes it: the plan's words, or a mapping
with one form key and that form's options (``docs/schedule-format.md``, 6).

The forms themselves, and the grammar of words, are in ``cadence`` and
``phrases``; this module only reads the mapping and says what is wrong in it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, tzinfo

from scheduler.errors import N_, SchedulerError
from scheduler.plan.cadence import (
    Cadence,
    CadenceError,
    Continuous,
    Deadlines,
    OneOff,
    Span,
    parse_phrase,
    parse_quota,
    parse_slots,
)
from scheduler.plan.cuts import read_cut
from scheduler.plan.periods import Period, parse_date, parse_period, parse_unit
from scheduler.plan.phrase_readings import Context

FORMS = ("quota", "window", "span", "deadlines", "continuous", "slots")


def _cut(value: dict[object, object]) -> str:
    try:
        return read_cut(value.get("cut", "full"))
    except SchedulerError as e:
        raise CadenceError(e.message, "cut", **e.params) from None


def _period(value: object, year: date, where: str) -> Period:
    try:
        return parse_period(value, year)
    except SchedulerError as e:
        raise CadenceError(e.message, where, **e.params) from None


def _count(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise CadenceError(N_('expected a whole number of at least 1, got "{value}"'), where, value=value)
    return value


DEADLINE_KEYS = ("on", "name", "name_en")


def _deadline(item: object, year: date, where: str) -> tuple[date, tuple[str, str]]:
    """A deadline: a date, or ``{on: date, name: "Báo cáo 6 tháng", name_en: ...}``."""
    name = ("", "")
    if isinstance(item, dict):
        unknown = [str(k) for k in item if k not in DEADLINE_KEYS]
        if unknown or "on" not in item:
            raise CadenceError(
                N_('expected a date or a mapping with "on" (and "name", "name_en"), got {found}'),
                where,
                found=", ".join(map(str, item)) or "-",
            )
        name = (" ".join(str(item.get("name") or "").split()), " ".join(str(item.get("name_en") or "").split()))
        item = item["on"]
        where += ".on"
    try:
        return parse_date(item, year), name
    except SchedulerError as e:
        raise CadenceError(e.message, where, **e.params) from None


def parse_cadence(
    value: object, start: date, tz: tzinfo, due_time: time = time(17, 0), end: date | None = None
) -> Cadence:
    """Read one cadence: a string (a quota or the plan's words), or a mapping with one form key.

    ``start`` is the plan's first day: a date written without a year
    ("before 30/09") is the first such day on or after it; ``due_time`` is
    the time of air slots written without one, ``end`` the plan's end
    (default: the end of ``start``'s year).
    """
    year = start
    ctx = Context(start, end or date(start.year + 1, 1, 1), due_time)
    if isinstance(value, str):
        return parse_phrase(value, ctx)
    if not isinstance(value, dict):
        raise CadenceError(
            N_('expected words ("2 per month", "02 số/tháng", "Quý III/2026", …) or a mapping with one of {keys}'),
            keys=", ".join(FORMS),
        )
    forms = [k for k in value if k in FORMS]
    if len(forms) != 1:
        raise CadenceError(
            N_("expected exactly one of {keys}, got {found}"),
            keys=", ".join(FORMS),
            found=", ".join(map(str, value)) or "-",
        )
    form = forms[0]
    allowed = {
        "quota": {"from", "until", "cut"},
        "window": {"count"},
        "span": {"count"},
        "deadlines": set(),
        "continuous": {"attest", "cut"},
        "slots": {"at"},
    }[form] | {form}
    for key in value:
        if key not in allowed:
            raise CadenceError(
                N_("unknown field (allowed here: {allowed})"), str(key), allowed=", ".join(sorted(allowed))
            )
    body = value[form]
    if form == "quota":
        active = None
        if "from" in value or "until" in value:
            first = _period(value["from"], year, "from").start if "from" in value else date.min
            last = _period(value["until"], year, "until").end if "until" in value else date.max
            if last <= first:
                raise CadenceError(N_('"until" ends before "from" starts'), "until")
            active = Period(first, last, "active")
        try:
            quota = parse_quota(body, active, ctx)
        except CadenceError as e:
            raise CadenceError(e.message, "quota", **e.params) from None
        return replace(quota, cut=_cut(value))
    if form == "window":
        return OneOff(_period(body, year, "window"), _count(value.get("count", 1), "count"))
    if form == "span":
        if not isinstance(body, dict) or set(body) != {"from", "by"}:
            raise CadenceError(
                N_('expected a mapping with "from" and "by", e.g. {{from: Q2/2024, by: Q4/2024}}'), "span"
            )
        opens, closes = _period(body["from"], year, "span.from"), _period(body["by"], year, "span.by")
        if closes.end <= opens.start:
            raise CadenceError(N_('"by" ends before "from" starts'), "span.by")
        return Span(opens, closes, _count(value.get("count", 1), "count"))
    if form == "deadlines":
        if not isinstance(body, list) or not body:
            raise CadenceError(N_("expected a list of dates"), "deadlines")
        days, names = [], []
        for i, item in enumerate(body):
            day, name = _deadline(item, year, f"deadlines[{i}]")
            days.append(day)
            names.append(name)
        if sorted(set(days)) != days:
            raise CadenceError(N_("deadlines must be listed in order, each once"), "deadlines")
        return Deadlines(tuple(days), tuple(names) if any(n != ("", "") for n in names) else ())
    if form == "continuous":
        during = None
        if str(body).strip().lower() not in ("all year", "cả năm", "trong năm", "all"):
            during = _period(body, year, "continuous")
        try:
            attest = parse_unit(value.get("attest", "month"))
        except SchedulerError as e:
            raise CadenceError(e.message, "attest", **e.params) from None
        if attest == "week":
            raise CadenceError(N_("attest per month, quarter, half-year or year"), "attest")
        return Continuous(attest, during, _cut(value))
    if "at" not in value:
        raise CadenceError(N_('missing field (the time of day, e.g. at: "19:30")'), "at")
    try:
        return parse_slots(body, value["at"], start, tz)
    except CadenceError as e:
        raise CadenceError(e.message, "slots" if e.where == "rule" else e.where, **e.params) from None
