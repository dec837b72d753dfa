"""The forms of cadence a plan uses: how often an obligation is owed.

Each form is a small frozen class with one method, ``windows(span, tz)``: the
windows ``[start, end)`` inside the plan's span and how many occurrences each
one owes. Parsing a form validates it and says, in a sentence, what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

from scheduler.errors import N_, SchedulerError
from scheduler.plan.periods import Period, parse_date, parse_period, parse_time, parse_unit, tile

# A daily rule over a multi-year plan stays far below this; anything above it
# is a mistake (or an attack) that would flood feeds, mail and the database.
MAX_SLOTS = 5000

QUOTA_FORMS = N_('"N per week|month|quarter|half-year|year"')
FORMS = ("quota", "window", "span", "deadlines", "continuous", "slots")


class CadenceError(SchedulerError):
    """A cadence that cannot be read; ``where`` names the sub-field."""

    def __init__(self, message: str, where: str = "", **params: object):
        super().__init__(message, **params)
        self.where = where


@dataclass(frozen=True)
class Window:
    """One window of an obligation and what it owes: ``count`` occurrences."""

    period: Period
    count: int
    slots: tuple[datetime, ...] = ()  # fixed slots owed in this window, in order


@dataclass(frozen=True)
class Quota:
    """``N per unit``: N occurrences in each period, sharing its window."""

    count: int
    unit: str
    active: Period | None = None
    minimum: bool = False

    def windows(self, span: Period, tz: tzinfo) -> list[Window]:
        start, end = span.start, span.end
        if self.active:
            start, end = max(start, self.active.start), min(end, self.active.end)
        return [Window(p, self.count) for p in tile(self.unit, start, end)]

    def describe(self) -> str:
        return f"{self.count} per {self.unit}"


@dataclass(frozen=True)
class OneOff:
    """One window: a quarter, a half-year, two dates, or "before 30/09"."""

    period: Period
    count: int = 1

    def windows(self, span: Period, tz: tzinfo) -> list[Window]:
        if self.period.label.startswith("by-"):  # "before 30/09" opens with the plan
            return [Window(Period(span.start, self.period.end, self.period.label), self.count)]
        return [Window(self.period, self.count)]

    def describe(self) -> str:
        return f"window {self.period.label}"


@dataclass(frozen=True)
class Span:
    """ "From Q2, done by the end of Q4": work may start at ``first`` and must
    be done by the end of ``last``; one window across both."""

    first: Period
    last: Period
    count: int = 1

    def windows(self, span: Period, tz: tzinfo) -> list[Window]:
        label = f"{self.first.label}_{self.last.label}"
        return [Window(Period(self.first.start, self.last.end, label), self.count)]

    def describe(self) -> str:
        return f"span {self.first.label}..{self.last.label}"


@dataclass(frozen=True)
class Deadlines:
    """Fixed deadlines: each one's window runs from the previous deadline (or
    the plan's start) to the end of its day."""

    days: tuple[date, ...]

    def windows(self, span: Period, tz: tzinfo) -> list[Window]:
        windows, start = [], span.start
        for day in self.days:
            windows.append(Window(Period(start, day + timedelta(days=1), day.isoformat()), 1))
            start = day + timedelta(days=1)
        return windows

    def describe(self) -> str:
        return "deadlines " + ", ".join(d.strftime("%d/%m/%Y") for d in self.days)


@dataclass(frozen=True)
class Continuous:
    """Kept up all along (a portal section): attested once per ``attest`` unit."""

    attest: str
    during: Period | None = None

    def windows(self, span: Period, tz: tzinfo) -> list[Window]:
        start, end = span.start, span.end
        if self.during:
            start, end = max(start, self.during.start), min(end, self.during.end)
        return [Window(p, 1) for p in tile(self.attest, start, end)]

    def describe(self) -> str:
        return f"continuous, attested per {self.attest}"


@dataclass(frozen=True)
class AirSlots:
    """Fixed air slots: an RFC 5545 RRULE and a time of day in the plan's zone.

    As a cadence each slot is owed on its own day; attached to a quota it only
    plans which slot each occurrence of a window takes.
    """

    rule: str
    at: time

    def slots(self, span: Period, tz: tzinfo) -> list[datetime]:
        start = datetime.combine(span.start, self.at, tzinfo=tz)
        end = datetime.combine(span.end, time(0), tzinfo=tz)
        rule = rrulestr(self.rule, dtstart=start)
        found: list[datetime] = []
        for moment in rule:
            if moment >= end or len(found) >= MAX_SLOTS:
                break
            found.append(moment)
        return found

    def windows(self, span: Period, tz: tzinfo) -> list[Window]:
        """One window per day with slots: two slots on one day owe #1 and #2."""
        days: dict[date, list[datetime]] = {}
        for s in self.slots(span, tz):
            days.setdefault(s.date(), []).append(s)
        return [Window(Period(d, d + timedelta(days=1), d.isoformat()), len(s), tuple(s)) for d, s in days.items()]

    def describe(self) -> str:
        return f"slots {self.rule} at {self.at:%H:%M}"


Cadence = Quota | OneOff | Span | Deadlines | Continuous | AirSlots

_QUOTA = re.compile(r"^(\d+)\s*(?:per|a|an|each|/|số\s*/|kỳ\s*/|lần\s*/|mỗi)\s*(.+)$", re.I)


def parse_quota(text: object, active: Period | None = None) -> Quota:
    """Read ``2 per month`` (also ``2/tháng``, ``02 số/tháng``)."""
    m = _QUOTA.match(" ".join(str(text).split()))
    if not m:
        raise CadenceError(N_('expected {forms}, got "{value}"'), forms=QUOTA_FORMS, value=text)
    try:
        unit = parse_unit(m[2])
    except SchedulerError:
        raise CadenceError(N_('expected {forms}, got "{value}"'), forms=QUOTA_FORMS, value=text) from None
    count = int(m[1])
    if count <= 0:
        raise CadenceError(N_("a quota must be at least 1, got {value}"), value=count)
    return Quota(count, unit, active)


_FREQS = {DAILY, WEEKLY, MONTHLY, YEARLY}


def parse_slots(rule: object, at: object, reference: date, tz: tzinfo) -> AirSlots:
    """Check an RRULE by expanding it once from ``reference``."""
    text = str(rule).strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "DTSTART" in text.upper() or "\n" in text:
        raise CadenceError(N_("give only the RRULE; the plan's period sets its start"), "rule")
    try:
        at_time = parse_time(at)
    except SchedulerError as e:
        raise CadenceError(e.message, "at", **e.params) from None
    try:
        parsed = rrulestr(text, dtstart=datetime.combine(reference, at_time, tzinfo=tz))
    except (ValueError, TypeError) as e:
        raise CadenceError(N_("not a valid RFC 5545 RRULE ({reason})"), "rule", reason=str(e)) from None
    # dateutil keeps the FREQ only in a private attribute, which its stubs do not declare
    if not isinstance(parsed, rrule) or parsed._freq not in _FREQS:  # type: ignore[attr-defined]
        raise CadenceError(N_("air slots repeat DAILY, WEEKLY, MONTHLY or YEARLY"), "rule")
    return AirSlots(text, at_time)


def _period(value: object, year: date, where: str) -> Period:
    try:
        return parse_period(value, year)
    except SchedulerError as e:
        raise CadenceError(e.message, where, **e.params) from None


def _count(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise CadenceError(N_('expected a whole number of at least 1, got "{value}"'), where, value=value)
    return value


def parse_cadence(value: object, start: date, tz: tzinfo) -> Cadence:
    """Read one cadence: a quota string, or a mapping with one form key.

    ``start`` is the plan's first day: a date written without a year
    ("before 30/09") is the first such day on or after it.
    """
    year = start
    if isinstance(value, str):
        return parse_quota(value)
    if not isinstance(value, dict):
        raise CadenceError(
            N_("expected {forms} or a mapping with one of {keys}"), forms=QUOTA_FORMS, keys=", ".join(FORMS)
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
        "quota": {"from", "until"},
        "window": {"count"},
        "span": {"count"},
        "deadlines": set(),
        "continuous": {"attest"},
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
            return parse_quota(body, active)
        except CadenceError as e:
            raise CadenceError(e.message, "quota", **e.params) from None
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
        days = []
        for i, item in enumerate(body):
            try:
                days.append(parse_date(item, year))
            except SchedulerError as e:
                raise CadenceError(e.message, f"deadlines[{i}]", **e.params) from None
        if sorted(set(days)) != days:
            raise CadenceError(N_("deadlines must be listed in order, each once"), "deadlines")
        return Deadlines(tuple(days))
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
        return Continuous(attest, during)
    if "at" not in value:
        raise CadenceError(N_('missing field (the time of day, e.g. at: "19:30")'), "at")
    try:
        return parse_slots(body, value["at"], start, tz)
    except CadenceError as e:
        raise CadenceError(e.message, "slots" if e.where == "rule" else e.where, **e.params) from None
