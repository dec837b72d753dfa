"""Working days in Vietnam: weekends and public holidays (Tết included) are
off, official make-up Saturdays are on, and a plan may override single days
the government moves in a given year."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _vietnam(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year, language="vi")


@lru_cache(maxsize=8192)
def _vietnam_working(day: date) -> bool:
    """Asked thousands of times per load (milestones count working days back
    from each due day); the answer for a day never changes."""
    return bool(_vietnam(day.year).is_working_day(day))


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days, for one plan.

    >>> cal = WorkCalendar()
    >>> cal.is_working_day(date(2024, 2, 12))   # Mùng ba Tết
    False
    >>> cal.is_working_day(date(2024, 5, 4))    # Saturday made a working day
    True
    >>> cal.working_days_before(date(2024, 2, 15), 1)
    datetime.date(2024, 2, 7)
    """

    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        return _vietnam_working(day)

    def holiday_name(self, day: date) -> str | None:
        return _vietnam(day.year).get(day)

    def on_or_before(self, day: date, floor: date | None = None) -> date:
        """The last working day at or before ``day``, not before ``floor``;
        ``day`` itself when there is none in between."""
        probe = day
        while not self.is_working_day(probe):
            probe -= timedelta(days=1)
            if floor is not None and probe < floor:
                return day
        return probe

    def working_days_before(self, day: date, count: int) -> date:
        """The working day ``count`` working days before ``day`` (0: ``day``
        itself if it is one, else the working day before it)."""
        probe = self.on_or_before(day) if count == 0 else day
        for _ in range(count):
            probe -= timedelta(days=1)
            while not self.is_working_day(probe):
                probe -= timedelta(days=1)
        return probe

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in ``[start, end)``."""
        return sum(1 for n in range((end - start).days) if self.is_working_day(start + timedelta(n)))
