"""The month a calendar page shows: its weeks (Monday first, the days of the
neighbouring months marked), the months before and after, and its names in
Vietnamese or English. Pure: which month is "now" is the caller's argument."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from babel.dates import format_skeleton, get_day_names

from scheduler.errors import N_, InputError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_YEAR, LAST_YEAR = 1900, 2999  # far enough for any plan; keeps every grid inside date's range


@dataclass(frozen=True)
class GridDay:
    day: date
    in_month: bool  # False for the neighbouring months' days that fill the first and last weeks


@dataclass(frozen=True, order=True)
class Month:
    """One calendar month.

    >>> march = parse_month("2024-03")
    >>> march.previous().key, march.next().key
    ('2024-02', '2024-04')
    >>> [d.day.strftime("%d/%m") for d in march.weeks()[0]]
    ['26/02', '27/02', '28/02', '29/02', '01/03', '02/03', '03/03']
    >>> month_heading(march, "vi"), month_heading(march, "en")
    ('Tháng 3 năm 2024', 'March 2024')
    """

    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def key(self) -> str:
        """``2024-03``, as the ``month`` query parameter and <input type=month> write it."""
        return f"{self.year:04d}-{self.month:02d}"

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def span(self) -> tuple[date, date]:
        """The shown days ``[first, end)``: from the Monday on or before the 1st
        to the day after the Sunday on or after the last day."""
        start = self.first - timedelta(days=self.first.weekday())
        last = self.next().first - timedelta(days=1)
        return start, last + timedelta(days=7 - last.weekday())

    def weeks(self) -> list[list[GridDay]]:
        """Four to six weeks of seven days, Monday first."""
        start, end = self.span()
        days = [start + timedelta(days=n) for n in range((end - start).days)]
        return [[GridDay(d, d.month == self.month) for d in days[i : i + 7]] for i in range(0, len(days), 7)]


def parse_month(text: str) -> Month:
    """``YYYY-MM``; anything else is an InputError that says what was expected."""
    found = _MONTH.match(text.strip())
    if found is None or not 1 <= int(found[2]) <= 12 or not FIRST_YEAR <= int(found[1]) <= LAST_YEAR:
        raise InputError(N_('expected a month as YYYY-MM, such as 2024-03, got "{value}"'), value=text)
    return Month(int(found[1]), int(found[2]))


def _locale(lang: str) -> str:
    return "en" if lang == "en" else "vi"


def weekday_names(lang: str, width: Literal["abbreviated", "narrow", "short", "wide"] = "wide") -> list[str]:
    """Monday first: ``Thứ Hai`` … ``Chủ Nhật``; ``abbreviated`` gives ``Thứ 2`` … ``CN``."""
    names = get_day_names(width, context="format", locale=_locale(lang))
    return [names[i] for i in range(7)]


def month_heading(month: Month, lang: str) -> str:
    """``Tháng 3 năm 2024`` or ``March 2024`` (the locale's own pattern, first letter upper)."""
    text = format_skeleton("yMMMM", month.first, locale=_locale(lang))
    return text[:1].upper() + text[1:]
