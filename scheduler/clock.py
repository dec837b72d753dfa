"""The one place that reads the clock, and ``--now`` for replays."""

from __future__ import annotations

import time
from datetime import datetime, tzinfo
from datetime import time as day_time

from scheduler.errors import N_, InputError, SchedulerError
from scheduler.plan.periods import parse_moment


def system_now(tz: tzinfo) -> datetime:
    return datetime.now(tz)


def parse_now(text: str, tz: tzinfo) -> datetime:
    """``--now``: a moment (``2024-03-15T09:00``, ``15/03/2024 09:00``) or a day,
    which means its start (00:00) in ``tz``."""
    try:
        return parse_moment(text, tz, default_time=day_time(0))
    except SchedulerError:
        raise InputError(
            N_('--now: expected a date or a moment such as 2024-03-15 or "15/03/2024 09:00", got "{value}"'), value=text
        ) from None


def now_from(text: str | None, tz: tzinfo) -> datetime:
    """Read the clock once per entry point, honouring ``--now``."""
    return parse_now(text, tz) if text else system_now(tz)


class Clock:
    """A running clock for long-lived processes: it starts at ``--now`` (or
    the real time) and advances with the real time."""

    def __init__(self, tz: tzinfo, start: datetime | None = None):
        self.tz = tz
        self.offset = (start - system_now(tz)) if start else None

    def now(self) -> datetime:
        real = system_now(self.tz)
        return real + self.offset if self.offset is not None else real


def elapsed() -> float:
    """Seconds on a monotonic clock, for budgets and timeouts (never dates)."""
    return time.monotonic()
