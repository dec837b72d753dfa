"""Periods cut by the plan's edges: owed in full, pro rata, or not at all.

A week or month that the plan's start or end cuts owes, as the plan says,
its whole count (the default), its share of working days (the plan's
``WorkCalendar``), or nothing.
"""

from __future__ import annotations

from fractions import Fraction
from math import floor

from scheduler.errors import N_, SchedulerError
from scheduler.plan.periods import Period, period_of
from scheduler.plan.workdays import WorkCalendar

# How a period cut by the plan's start or end is owed (section 6.1 "cut").
CUTS = {"full": "full", "đủ": "full", "pro-rata": "pro-rata", "theo tỷ lệ": "pro-rata", "none": "none", "không": "none"}


def read_cut(value: object) -> str:
    """``full``, ``pro-rata`` or ``none``, also in Vietnamese (đủ, theo tỷ lệ, không)."""
    written = " ".join(str(value).lower().split())
    if written not in CUTS:
        raise SchedulerError(N_('expected full, pro-rata or none (đủ, theo tỷ lệ, không), got "{value}"'), value=value)
    return CUTS[written]


def owed(count: int, unit: str, part: Period, cut: str, calendar: WorkCalendar | None) -> int:
    """What a period ``part`` of ``unit`` owes when the plan's edges cut it:
    ``count`` in full, nothing, or pro rata of its working days (half up)."""
    whole = period_of(unit, part.start)
    if cut == "full" or (whole.start, whole.end) == (part.start, part.end):
        return count
    if cut == "none":
        return 0
    calendar = calendar or WorkCalendar()
    full = calendar.working_days_between(whole.start, whole.end)
    share = Fraction(calendar.working_days_between(part.start, part.end) * count, full) if full else Fraction(0)
    return floor(share + Fraction(1, 2))
