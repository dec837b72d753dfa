"""VEVENT bytes written directly, byte for byte as icalendar writes them.

Building an icalendar ``Event`` and calling ``to_ical`` cost about 0.45 ms
per VEVENT (property objects, parameter objects, a character-by-character
fold), 90 % of a plan's load. The items we store have one fixed shape, so
they are written here as content lines: the properties in icalendar's
order (VEVENT's canonical ones, then the rest alphabetically; VALARM's
alphabetically), its TEXT escaping, its date forms and its fold (segments of
at most 74 bytes, never splitting a character, a trailing ``\\`` or ``^``
moved to the next segment). ``tests/test_ical_lines.py`` compares every
item of the bundled and benchmark plans, and thousands of generated texts,
with icalendar's own output.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache

from icalendar import vDuration

LIMIT = 74  # bytes per folded segment: icalendar breaks before reaching 75
BACKSLASH, CARET = 0x5C, 0x5E


def fold(line: str) -> bytes:
    """One content line, folded as icalendar's ``_foldline`` folds it."""
    raw = line.encode()
    size = len(raw)
    if size <= LIMIT:
        return raw
    parts = []
    pos = 0
    while size - pos > LIMIT:
        end = pos + LIMIT
        while raw[end] & 0xC0 == 0x80:  # never inside a character
            end -= 1
        if raw[end - 1] in (BACKSLASH, CARET) and end - 1 > pos:  # keep an escape with what it escapes
            end -= 1
        parts.append(raw[pos:end])
        pos = end
    parts.append(raw[pos:])
    return b"\r\n ".join(parts)


def escape(text: str) -> str:
    """RFC 5545 TEXT escaping, in icalendar's order of replacements."""
    return (
        text.replace(r"\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", r"\;")
        .replace(",", r"\,")
        .replace("\r\n", r"\n")
        .replace("\n", r"\n")
        .replace("\r", r"\n")
    )


def stamp(moment: datetime) -> str:
    """``20240105T193000``, with ``Z`` in UTC; seconds only, as icalendar."""
    text = f"{moment.year:04}{moment.month:02}{moment.day:02}T{moment.hour:02}{moment.minute:02}{moment.second:02}"
    return text + "Z" if moment.tzinfo is UTC else text


def moment_line(name: str, value: date | datetime, tzid: str) -> str:
    """DTSTART/DTEND: a day, a UTC moment, or a local one with its zone."""
    if not isinstance(value, datetime):
        return f"{name};VALUE=DATE:{value.year:04}{value.month:02}{value.day:02}"
    if value.tzinfo is UTC:
        return f"{name}:{stamp(value)}"
    return f"{name};TZID={tzid}:{stamp(value)}"


@cache
def duration(value: timedelta) -> str:
    text: bytes = vDuration(value).to_ical()  # type: ignore[no-untyped-call]
    return text.decode()


def trigger_line(trigger: timedelta | datetime) -> str:
    if isinstance(trigger, datetime):
        return f"TRIGGER;VALUE=DATE-TIME:{stamp(trigger.astimezone(UTC))}"
    return f"TRIGGER:{duration(trigger)}"


@dataclass(frozen=True)
class Shared:
    """Folded lines every item of one occurrence revision carries, whatever
    the item or the language: written once, not once per VEVENT."""

    stamp: bytes  # DTSTAMP
    sequence: bytes
    created: bytes
    tail: bytes  # LAST-MODIFIED, STATUS, TRANSP, URL, and the VALARM's opening


def shared_lines(*, stamped: datetime, created: datetime, sequence: int, cancelled: bool, url: str) -> Shared:
    """``stamped`` and ``created`` in UTC."""
    moment = stamp(stamped)
    tail = [
        f"LAST-MODIFIED:{moment}",
        "STATUS:CANCELLED" if cancelled else "STATUS:CONFIRMED",
        "TRANSP:TRANSPARENT",
        f"URL:{url}",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
    ]
    return Shared(
        fold(f"DTSTAMP:{moment}"),
        fold(f"SEQUENCE:{sequence}"),
        fold(f"CREATED:{stamp(created)}"),
        b"\r\n".join(fold(line) for line in tail),
    )


def categories_line(categories: list[str]) -> bytes:
    """Empty when there are none (then no line is written)."""
    return fold("CATEGORIES:" + ",".join(escape(c) for c in categories)) if categories else b""


def when_lines(start: date | datetime, end: date | datetime | None, tzid: str) -> bytes:
    """DTSTART and, when there is one, DTEND."""
    first = fold(moment_line("DTSTART", start, tzid))
    return first if end is None else first + b"\r\n" + fold(moment_line("DTEND", end, tzid))


def uid_line(uid: str) -> bytes:
    return fold(f"UID:{escape(uid)}")


def alarm_line(trigger: timedelta | datetime) -> bytes:
    return fold(trigger_line(trigger))


END = b"END:VALARM\r\nEND:VEVENT\r\n"


def item(
    shared: Shared, categories: bytes, uid: bytes, summary: str, when: bytes, description: str, alarm: bytes
) -> bytes:
    """One VEVENT with its VALARM from its parts; the lines in icalendar's order."""
    title = escape(summary)
    head = [b"BEGIN:VEVENT", fold(f"SUMMARY:{title}"), when, shared.stamp, uid, shared.sequence]
    if categories:
        head.append(categories)
    head += [shared.created, fold(f"DESCRIPTION:{escape(description)}"), shared.tail, fold(f"DESCRIPTION:{title}")]
    head += [alarm, END]
    return b"\r\n".join(head)


def vevent(
    *,
    uid: str,
    summary: str,
    start: date | datetime,
    end: date | datetime | None,
    stamped: datetime,
    created: datetime,
    sequence: int,
    categories: list[str],
    description: str,
    cancelled: bool,
    url: str,
    trigger: timedelta | datetime,
    tzid: str,
) -> bytes:
    """One VEVENT with its VALARM; ``stamped`` and ``created`` in UTC."""
    shared = shared_lines(stamped=stamped, created=created, sequence=sequence, cancelled=cancelled, url=url)
    return item(
        shared,
        categories_line(categories),
        uid_line(uid),
        summary,
        when_lines(start, end, tzid),
        description,
        alarm_line(trigger),
    )
