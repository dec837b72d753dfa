"""Durations as people write them: ``10m``, ``10 phút``, ``00:10:00``, ``600``;
and as plans state a programme's length: ``15 phút``, ``15 ± 2 phút``,
``10 phút ± 30 giây`` (a nominal length and how far short it may fall)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the reader is only passed in
    from scheduler.plan.yaml_source import Node, Reader

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


SECONDS, MINUTES = N_("{seconds} s"), N_("{minutes} min")
NOMINAL_FORMS = N_('"15 phút", "15 ± 2 phút", "15 +- 2 phút", "15±2m" or "10 phút ± 30 giây"')
_PLUS_MINUS = re.compile(r"\s*(?:±|\+-|\+/-)\s*")
_UNIT_AT_END = re.compile(r"(h|giờ|min|m|phút|s|giây)\s*$", re.I)


def parse_nominal(value: object) -> tuple[timedelta, timedelta | None]:
    """A nominal length and its tolerance (None when none is given). A bare
    number beside a unit takes that unit: "15 ± 2 phút" is 15 minutes ± 2.

    >>> parse_nominal("15 ± 2 phút")
    (datetime.timedelta(seconds=900), datetime.timedelta(seconds=120))
    >>> parse_nominal("10 phút ± 30 giây"), parse_nominal("15 phút")
    ((datetime.timedelta(seconds=600), datetime.timedelta(seconds=30)), (datetime.timedelta(seconds=900), None))
    """
    text = " ".join(str(value).split())
    parts = _PLUS_MINUS.split(text)
    if len(parts) == 1:
        return parse_duration(value), None
    if len(parts) != 2 or not all(parts):
        raise SchedulerError(N_('expected a length as {forms}, got "{value}"'), forms=NOMINAL_FORMS, value=value)
    left, right = parts
    unit_left, unit_right = _UNIT_AT_END.search(left), _UNIT_AT_END.search(right)
    if re.fullmatch(r"[0-9]+", left) and unit_right:
        left += " " + unit_right[1]
    if re.fullmatch(r"[0-9]+", right) and unit_left:
        right += " " + unit_left[1]
    try:
        nominal, tolerance = parse_duration(left), parse_duration(right)
    except SchedulerError:
        raise SchedulerError(
            N_('expected a length as {forms}, got "{value}"'), forms=NOMINAL_FORMS, value=value
        ) from None
    if tolerance >= nominal:
        raise SchedulerError(N_('the tolerance of "{value}" is not shorter than the length itself'), value=value)
    return nominal, tolerance


@dataclass(frozen=True)
class Length:
    """What a plan says of a programme's length, read into the obligation's fields."""

    min_duration: timedelta | None = None
    duration: timedelta | None = None
    duration_tolerance: timedelta | None = None
    max_duration: timedelta | None = None

    @property
    def minimum(self) -> timedelta | None:
        """The shortest that conforms: the nominal less its tolerance (the
        nominal itself when no tolerance is given), or ``min_duration``; the
        larger when both are given."""
        found = [d for d in (self.min_duration, self._from_nominal()) if d is not None]
        return max(found) if found else None

    def _from_nominal(self) -> timedelta | None:
        if self.duration is None:
            return None
        return self.duration - (self.duration_tolerance or timedelta(0))


def read_length(reader: Reader, node: Node) -> Length:
    """An obligation's ``min_duration``, ``duration`` and ``max_duration``."""
    found: dict[str, timedelta | None] = {}
    if node.has("min_duration"):
        found["min_duration"] = reader.convert(node.child("min_duration"), parse_duration)
    if node.has("duration"):
        nominal = reader.convert(node.child("duration"), parse_nominal)
        if nominal:
            found["duration"], found["duration_tolerance"] = nominal
    if node.has("max_duration"):
        found["max_duration"] = reader.convert(node.child("max_duration"), parse_duration)
    length = Length(**found)
    if length.max_duration is not None and length.minimum is not None and length.max_duration < length.minimum:
        reader.fail(
            node.child("max_duration"),
            N_("max_duration {maximum} is shorter than the minimum length {minimum}"),
            maximum=format_duration(int(length.max_duration.total_seconds())),
            minimum=format_duration(int(length.minimum.total_seconds())),
        )
    return length


def show_length(
    minimum: int | None, nominal: int | None, tolerance: int | None, maximum: int | None, _: Callable[[str], str]
) -> str:
    """A length as people read it: "15 ± 2 phút", "≥ 10 phút", "≤ 20 phút"."""
    parts = []
    if nominal and not tolerance:
        parts.append(_minutes(nominal, _))
    elif nominal and tolerance and nominal % 60 == 0 and tolerance % 60 == 0:
        parts.append(f"{_number(nominal)} ± {_minutes(tolerance, _)}")
    elif nominal and tolerance:  # "10 phút ± 30 giây", as the plan writes it
        parts.append(f"{_minutes(nominal, _)} ± {_(SECONDS).format(seconds=tolerance)}")
    elif minimum:
        parts.append("≥ " + _minutes(minimum, _))
    if maximum:
        parts.append("≤ " + _minutes(maximum, _))
    return ", ".join(parts)


def _number(seconds: int) -> str:
    return f"{seconds / 60:.3g}"


def _minutes(seconds: int, _: Callable[[str], str]) -> str:
    return _(MINUTES).format(minutes=_number(seconds))
