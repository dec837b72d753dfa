"""Calendar periods and the way plans write them (Q4/2024, 30/09, 2024-03).

Every range is half-open, ``[start, end)``, with dates; a period's label is
its stable, URL-safe name (``2024-03``, ``2024-Q4``, ``2024-H1``, ``2024``,
``2024-W05``) used in occurrence ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from scheduler.bounds import FIRST_YEAR, LAST_YEAR
from scheduler.errors import N_, SchedulerError

UNITS = ("week", "month", "quarter", "half-year", "year")

# Words people write for each unit, English first, then Vietnamese.
UNIT_WORDS = {
    "week": "week",
    "weeks": "week",
    "tuần": "week",
    "month": "month",
    "months": "month",
    "tháng": "month",
    "quarter": "quarter",
    "quarters": "quarter",
    "quý": "quarter",
    "half-year": "half-year",
    "half year": "half-year",
    "6 tháng": "half-year",
    "nửa năm": "half-year",
    "year": "year",
    "years": "year",
    "năm": "year",
}

ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}


@dataclass(frozen=True, order=True)
class Period:
    """A named stretch of days, ``[start, end)``."""

    start: date
    end: date
    label: str

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_of(unit: str, day: date) -> Period:
    """The calendar period of ``unit`` that holds ``day``.

    >>> period_of("quarter", date(2024, 8, 15))
    Period(start=datetime.date(2024, 7, 1), end=datetime.date(2024, 10, 1), label='2024-Q3')
    """
    if unit == "week":
        start = day - timedelta(days=day.weekday())
        iso = start.isocalendar()
        return Period(start, start + timedelta(days=7), f"{iso.year}-W{iso.week:02d}")
    if unit == "month":
        start = date(day.year, day.month, 1)
        return Period(start, add_months(start, 1), f"{day.year}-{day.month:02d}")
    if unit == "quarter":
        q = (day.month - 1) // 3
        start = date(day.year, q * 3 + 1, 1)
        return Period(start, add_months(start, 3), f"{day.year}-Q{q + 1}")
    if unit == "half-year":
        h = (day.month - 1) // 6
        start = date(day.year, h * 6 + 1, 1)
        return Period(start, add_months(start, 6), f"{day.year}-H{h + 1}")
    if unit == "year":
        return Period(date(day.year, 1, 1), date(day.year + 1, 1, 1), str(day.year))
    raise ValueError(f"unknown unit {unit!r}")


def tile(unit: str, start: date, end: date) -> list[Period]:
    """The periods of ``unit`` that cover ``[start, end)``, clipped to it.

    They never overlap and leave no gap; a clipped period keeps its label.
    """
    periods = []
    day = start
    while day < end:
        whole = period_of(unit, day)
        periods.append(Period(max(whole.start, start), min(whole.end, end), whole.label))
        day = whole.end
    return periods


class PeriodSyntaxError(SchedulerError):
    """A date or period written in a way we do not read."""


def _day(year: int | str, month: int | str, day: int | str, text: str) -> date:
    """The day, if its year is one we keep (``bounds``); ``text`` is what was written."""
    if not FIRST_YEAR <= int(year) <= LAST_YEAR:
        raise PeriodSyntaxError(OUT_OF_RANGE, value=text, first=FIRST_YEAR, last=LAST_YEAR)
    return date(int(year), int(month), int(day))


DATE_FORMS = N_("a date as dd/mm/yyyy or yyyy-mm-dd")
PERIOD_FORMS = N_('Qn/yyyy, Hn/yyyy, mm/yyyy, yyyy, "dd/mm/yyyy - dd/mm/yyyy" or "before dd/mm[/yyyy]"')

OUT_OF_RANGE = N_('"{value}": expected a year from {first} to {last}')
_DMY = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})(?:/([0-9]{4}))?$")
_ISO = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")


def parse_date(value: object, default_year: int | date | None = None) -> date:
    """Read ``30/09/2024``, ``2024-09-30`` or (with a default year) ``30/09``.

    When the default is a day (a plan's start), a date written without a year
    is the first such day on or after it:

    >>> parse_date("31/03", date(2024, 7, 1))
    datetime.date(2025, 3, 31)
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if m := _ISO.match(text):
            return _day(m[1], m[2], m[3], text)
        if m := _DMY.match(text):
            if m[3]:
                return _day(m[3], m[2], m[1], text)
            if isinstance(default_year, date):
                found = _day(default_year.year, m[2], m[1], text)
                return found if found >= default_year else _day(default_year.year + 1, m[2], m[1], text)
            if default_year is not None:
                return _day(default_year, m[2], m[1], text)
    except ValueError:
        raise PeriodSyntaxError(N_('"{value}" is not a real day'), value=text) from None
    raise PeriodSyntaxError(N_('expected {forms}, got "{value}"'), forms=DATE_FORMS, value=text)


def parse_time(value: object) -> time:
    """Read a time of day written ``19:30`` (24-hour clock)."""
    m = re.match(r"^([0-9]{1,2})[:h]([0-9]{2})$", str(value).strip())
    if m and int(m[1]) < 24 and int(m[2]) < 60:
        return time(int(m[1]), int(m[2]))
    raise PeriodSyntaxError(N_('expected a time of day as HH:MM, got "{value}"'), value=value)


_YEAR = r"(?:\s*/\s*|\s+năm\s+)([0-9]{4})"


def _year_of(written: str | None, default_year: int | date | None) -> int | None:
    """The year written, else the default's ("Quý IV" in a 2026 plan)."""
    if written:
        return int(written)
    return default_year.year if isinstance(default_year, date) else default_year


def _quarter(text: str, default_year: int | date | None = None) -> tuple[int, int] | None:
    m = re.match(rf"^(?:Q|quý\s*|quarter\s*)([1-4]|IV|III|II|I)(?:{_YEAR})?$", text, re.I)
    year = _year_of(m[2], default_year) if m else None
    if not m or year is None:
        return None
    n = m[1].upper()
    return (ROMAN[n] if n in ROMAN else int(n)), year


def _vietnamese(text: str, default_year: int | date | None) -> Period | None:
    """The plan's words for a period: "quý 3 năm 2026", "tháng 5", "6 tháng đầu năm",
    "năm 2026", "cả năm" (no year written: ``default_year``'s)."""
    text = re.sub(r"^(?:trong|vào)\s+(?=\S)", "", text, flags=re.I)
    if q := _quarter(text, default_year):
        return period_of("quarter", _day(q[1], (q[0] - 1) * 3 + 1, 1, text))
    if m := re.match(rf"^tháng\s+([0-9]{{1,2}})(?:{_YEAR})?$", text, re.I):
        year = _year_of(m[2], default_year)
        if year is not None and 1 <= int(m[1]) <= 12:
            return period_of("month", _day(year, m[1], 1, text))
    m = re.match(r"^(?:6\s+tháng|nửa)\s+(đầu|cuối)\s+năm(?:\s+([0-9]{4}))?$", text, re.I)
    if m and (year := _year_of(m[2], default_year)) is not None:
        return period_of("half-year", _day(year, 1 if m[1].lower() == "đầu" else 7, 1, text))
    m = re.match(r"^(?:cả\s+)?năm(?:\s+([0-9]{4}))?$", text, re.I)
    if m and (year := _year_of(m[1], default_year)) is not None:
        return period_of("year", _day(year, 1, 1, text))
    return None


def parse_period(value: object, default_year: int | date | None = None) -> Period:
    """Read a window as plans write it.

    >>> parse_period("Q4/2024")
    Period(start=datetime.date(2024, 10, 1), end=datetime.date(2025, 1, 1), label='2024-Q4')
    >>> parse_period("before 30/09", default_year=2024).label
    'by-2024-09-30'
    """
    text = " ".join(str(value).split())
    if isinstance(value, int) and not isinstance(value, bool):
        return period_of("year", _day(value, 1, 1, text))
    if q := _quarter(text):
        return period_of("quarter", _day(q[1], (q[0] - 1) * 3 + 1, 1, text))
    if m := re.match(r"^(?:H|nửa\s*)([12])\s*/\s*([0-9]{4})$", text, re.I):
        return period_of("half-year", _day(m[2], (int(m[1]) - 1) * 6 + 1, 1, text))
    if m := re.match(r"^(?:năm\s*)?([0-9]{4})$", text, re.I):
        return period_of("year", _day(m[1], 1, 1, text))
    if (m := re.match(r"^(?:tháng\s*)?([0-9]{1,2})/([0-9]{4})$", text, re.I)) and 1 <= int(m[1]) <= 12:
        return period_of("month", _day(m[2], m[1], 1, text))
    if m := re.match(r"^(?:before|by|trước|trước ngày)\s+(\S+)$", text, re.I):
        last = parse_date(m[1], default_year)
        return Period(date(last.year, 1, 1), last + timedelta(days=1), f"by-{last.isoformat()}")
    if found := _vietnamese(text, default_year):
        return found
    parts = re.split(r"\s+(?:-|–|to|đến)\s+|\.\.", text)
    if len(parts) == 2:
        first, last = (parse_date(p, default_year) for p in parts)
        if last < first:
            raise PeriodSyntaxError(N_('"{value}" ends before it starts'), value=text)
        return Period(first, last + timedelta(days=1), f"{first.isoformat()}_{last.isoformat()}")
    raise PeriodSyntaxError(N_('expected {forms}, got "{value}"'), forms=PERIOD_FORMS, value=text)


def parse_unit(text: str) -> str:
    unit = UNIT_WORDS.get(" ".join(str(text).lower().split()))
    if unit is None:
        raise PeriodSyntaxError(N_('expected one of {allowed}, got "{value}"'), allowed="|".join(UNITS), value=text)
    return unit


def parse_moment(value: object, tz: tzinfo, default_time: time | None = None) -> datetime:
    """Read ``14/03/2024 19:30`` or ``2024-03-14T19:30`` as a moment in ``tz``
    (an offset written in the value wins); a bare date takes ``default_time``."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    text = " ".join(str(value).split())
    if _ISO.match(text):  # a bare day takes the default time, however it is written
        text = f"{parse_date(text).strftime('%d/%m/%Y')}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        _day(parsed.year, 1, 1, text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    day_part, _, time_part = text.partition(" ")
    day = parse_date(day_part)
    if time_part:
        return datetime.combine(day, parse_time(time_part), tzinfo=tz)
    if default_time is None:
        raise PeriodSyntaxError(N_('expected a date and time as "dd/mm/yyyy HH:MM", got "{value}"'), value=text)
    return datetime.combine(day, default_time, tzinfo=tz)
