"""The forms of cadence a plan uses: how often an obligation is owed.

Each form is a small frozen class with one method, ``windows(span, tz)``: the
windows ``[start, end)`` inside the plan's span and how many occurrences each
one owes. Parsing a form validates it and says, in a sentence, what is wrong.
A string is read by the grammar of the plan's own words (``phrases``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

from scheduler.bounds import FIRST_YEAR
from scheduler.errors import N_, SchedulerError
from scheduler.plan.cuts import owed
from scheduler.plan.periods import Period, parse_time, tile
from scheduler.plan.phrase_readings import Context, Reading
from scheduler.plan.phrase_words import PHRASE_ERROR
from scheduler.plan.phrases import read
from scheduler.plan.workdays import WorkCalendar

# A daily rule over a multi-year plan stays far below this; anything above it
# is a mistake (or an attack) that would flood feeds, mail and the database.
MAX_SLOTS = 5000


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
    name: str = ""  # a named deadline's name ("Báo cáo 6 tháng"), shown with its occurrences
    name_en: str = ""


@dataclass(frozen=True)
class Quota:
    """``N per unit``: N occurrences in each period, sharing its window.

    ``minimum``: the plan says "at least N" (more are welcome); ``cut``: how
    a period cut by the plan's edges is owed (full, pro-rata or none).
    """

    count: int
    unit: str
    active: Period | None = None
    minimum: bool = False
    cut: str = "full"

    def windows(self, span: Period, tz: tzinfo, calendar: WorkCalendar | None = None) -> list[Window]:
        start, end = span.start, span.end
        if self.active:
            start, end = max(start, self.active.start), min(end, self.active.end)
        found = [Window(p, owed(self.count, self.unit, p, self.cut, calendar)) for p in tile(self.unit, start, end)]
        return [w for w in found if w.count]

    def describe(self) -> str:
        cut = "" if self.cut == "full" else f", cut periods: {self.cut}"
        return f"{'at least ' if self.minimum else ''}{self.count} per {self.unit}{cut}"


@dataclass(frozen=True)
class OneOff:
    """One window: a quarter, a half-year, two dates, or "before 30/09"."""

    period: Period
    count: int = 1

    def windows(self, span: Period, tz: tzinfo, calendar: WorkCalendar | None = None) -> list[Window]:
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

    def windows(self, span: Period, tz: tzinfo, calendar: WorkCalendar | None = None) -> list[Window]:
        label = f"{self.first.label}_{self.last.label}"
        return [Window(Period(self.first.start, self.last.end, label), self.count)]

    def describe(self) -> str:
        return f"span {self.first.label}..{self.last.label}"


@dataclass(frozen=True)
class Deadlines:
    """Fixed deadlines: each one's window runs from the previous deadline (or
    the plan's start) to the end of its day. A deadline may carry a name
    (``names[i]``: Vietnamese, English; empty when unnamed)."""

    days: tuple[date, ...]
    names: tuple[tuple[str, str], ...] = ()

    def windows(self, span: Period, tz: tzinfo, calendar: WorkCalendar | None = None) -> list[Window]:
        windows, start = [], span.start
        for i, day in enumerate(self.days):
            name, name_en = self.names[i] if i < len(self.names) else ("", "")
            period = Period(start, day + timedelta(days=1), day.isoformat())
            windows.append(Window(period, 1, name=name, name_en=name_en))
            start = day + timedelta(days=1)
        return windows

    def describe(self) -> str:
        names = self.names or (("", ""),) * len(self.days)
        return "deadlines " + ", ".join(
            d.strftime("%d/%m/%Y") + (f" ({n[0]})" if n[0] else "") for d, n in zip(self.days, names)
        )


@dataclass(frozen=True)
class Continuous:
    """Kept up all along (a portal section): attested once per ``attest`` unit."""

    attest: str
    during: Period | None = None
    cut: str = "full"  # an attestation period cut by the plan's edges: as for a quota

    def windows(self, span: Period, tz: tzinfo, calendar: WorkCalendar | None = None) -> list[Window]:
        start, end = span.start, span.end
        if self.during:
            start, end = max(start, self.during.start), min(end, self.during.end)
        found = [Window(p, owed(1, self.attest, p, self.cut, calendar)) for p in tile(self.attest, start, end)]
        return [w for w in found if w.count]

    def describe(self) -> str:
        cut = "" if self.cut == "full" else f", cut periods: {self.cut}"
        return f"continuous, attested per {self.attest}{cut}"


@dataclass(frozen=True)
class Windows:
    """Several one-off windows ("trong Quý II và Quý IV năm 2026", "định kỳ
    6 tháng và năm"): each owes ``count``; they may overlap."""

    periods: tuple[Period, ...]
    count: int = 1

    def windows(self, span: Period, tz: tzinfo, calendar: WorkCalendar | None = None) -> list[Window]:
        return [Window(p, self.count) for p in self.periods]

    def describe(self) -> str:
        return "windows " + ", ".join(p.label for p in self.periods)


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

    def windows(self, span: Period, tz: tzinfo, calendar: WorkCalendar | None = None) -> list[Window]:
        """One window per day with slots: two slots on one day owe #1 and #2."""
        days: dict[date, list[datetime]] = {}
        for s in self.slots(span, tz):
            days.setdefault(s.date(), []).append(s)
        return [Window(Period(d, d + timedelta(days=1), d.isoformat()), len(s), tuple(s)) for d, s in days.items()]

    def describe(self) -> str:
        return f"slots {self.rule} at {self.at:%H:%M}"


Cadence = Quota | OneOff | Span | Deadlines | Continuous | AirSlots | Windows


def _build(reading: Reading, text: object) -> Cadence:
    """The cadence a phrase of the plan means (see ``phrases.PHRASES``)."""
    if reading.count <= 0:
        raise CadenceError(N_("a quota must be at least 1, got {value}"), value=reading.count)
    if reading.form == "quota":
        return Quota(reading.count, reading.unit, minimum=reading.minimum)
    if reading.form == "window":
        return OneOff(reading.periods[0], reading.count)
    if reading.form == "windows":
        return Windows(reading.periods, reading.count)
    if reading.form == "span":
        first, last = reading.periods
        if last.end <= first.start:
            raise CadenceError(N_('"by" ends before "from" starts'))
        return Span(first, last, reading.count)
    if reading.form == "continuous":
        return Continuous(reading.unit)
    if reading.form == "deadlines":
        if sorted(set(reading.days)) != list(reading.days):
            raise CadenceError(N_("deadlines must be listed in order, each once"))
        return Deadlines(reading.days)
    return AirSlots(reading.rule, reading.at)


def parse_phrase(text: object, ctx: Context) -> Cadence:
    """Read a cadence written as text, in English or in the plan's own words."""
    try:
        reading = read(text, ctx)
    except SchedulerError as e:
        raise CadenceError(e.message, "", **e.params) from None
    if reading is None:
        raise CadenceError(PHRASE_ERROR, value=" ".join(str(text).split()))
    return _build(reading, text)


def parse_quota(text: object, active: Period | None = None, ctx: Context | None = None) -> Quota:
    """Read ``2 per month`` (also ``2/tháng``, ``02 số/tháng``, ``ít nhất 03 tin, bài mỗi tháng``)."""
    ctx = ctx or Context(date(FIRST_YEAR, 1, 1), date(FIRST_YEAR + 1, 1, 1))
    found = parse_phrase(text, ctx)
    if not isinstance(found, Quota):
        raise CadenceError(PHRASE_ERROR, value=" ".join(str(text).split()))
    return replace(found, active=active)


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
