"""Durations as people write them: ``10m``, ``10 phút``, ``00:10:00``, ``600``."""

from __future__ import annotations

import re
from datetime import timedelta

from .errors import N_, SchedulerError

FORMS = N_('"10m", "1h30m", "00:10:00" or a number of seconds')
_UNITS = {"h": 3600, "giờ": 3600, "m": 60, "min": 60, "phút": 60, "s": 1, "giây": 1}
_PART = re.compile(r"(\d+)\s*(h|giờ|min|m|phút|s|giây)", re.I)


def parse_duration(value: object) -> timedelta:
    """Read a duration; a bare number is seconds.

    >>> parse_duration("1h30m"), parse_duration("00:10:00"), parse_duration(90)
    (datetime.timedelta(seconds=5400), datetime.timedelta(seconds=600), datetime.timedelta(seconds=90))
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    text = " ".join(str(value).lower().split())
    if re.fullmatch(r"\d+", text):
        return timedelta(seconds=int(text))
    if m := re.fullmatch(r"(\d+):([0-5]\d):([0-5]\d)", text):
        return timedelta(hours=int(m[1]), minutes=int(m[2]), seconds=int(m[3]))
    if text and re.fullmatch(r"(\s*\d+\s*(h|giờ|min|m|phút|s|giây))+\s*", text):
        return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in _PART.findall(text)))
    raise SchedulerError(N_('expected a duration as {forms}, got "{value}"'), forms=FORMS, value=value)


def format_duration(seconds: int) -> str:
    """The short form we print.

    >>> format_duration(600), format_duration(5430)
    ('10m', '1h30m30s')
    """
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{n}{u}" for n, u in ((h, "h"), (m, "m"), (s, "s")) if n) or "0s"
