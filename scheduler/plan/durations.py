"""Durations as people write them: ``10m``, ``10 phút``, ``00:10:00``, ``600``."""

from __future__ import annotations

import re
from datetime import timedelta

from scheduler.bounds import MAX_DURATION
from scheduler.errors import N_, SchedulerError

FORMS = N_('"10m", "1h30m", "00:10:00" or a number of seconds')
_UNITS = {"h": 3600, "giờ": 3600, "m": 60, "min": 60, "phút": 60, "s": 1, "giây": 1}
_PART = re.compile(r"([0-9]+)\s*(h|giờ|min|m|phút|s|giây)", re.I)


def parse_duration(value: object) -> timedelta:
    """Read a duration of at most a day; a bare number is seconds.

    >>> parse_duration("1h30m"), parse_duration("00:10:00"), parse_duration(90)
    (datetime.timedelta(seconds=5400), datetime.timedelta(seconds=600), datetime.timedelta(seconds=90))
    """
    found = _read(value)
    if found > MAX_DURATION:
        raise SchedulerError(
            N_('expected a duration of at most {limit}, got "{value}"'),
            limit=format_duration(int(MAX_DURATION.total_seconds())),
            value=value,
        )
    return found


def _n(digits: str | int) -> int:
    """A count, capped far beyond any bound so that ``timedelta`` always holds it."""
    return min(int(digits), 10**9) if len(str(digits)) < 12 else 10**9


def _read(value: object) -> timedelta:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=_n(value))
    text = " ".join(str(value).lower().split())
    if re.fullmatch(r"[0-9]+", text):
        return timedelta(seconds=_n(text))
    if m := re.fullmatch(r"([0-9]+):([0-5][0-9]):([0-5][0-9])", text):
        return timedelta(seconds=_n(_n(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])))
    if text and re.fullmatch(r"(\s*[0-9]+\s*(h|giờ|min|m|phút|s|giây))+\s*", text):
        return timedelta(seconds=_n(sum(_n(n) * _UNITS[u] for n, u in _PART.findall(text))))
    raise SchedulerError(N_('expected a duration as {forms}, got "{value}"'), forms=FORMS, value=value)


def format_duration(seconds: int) -> str:
    """The short form we print.

    >>> format_duration(600), format_duration(5430)
    ('10m', '1h30m30s')
    """
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{n}{u}" for n, u in ((h, "h"), (m, "m"), (s, "s")) if n) or "0s"
