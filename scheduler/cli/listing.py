"""Occurrences and milestones as people and programs read them: a terminal
table (Vietnamese text, dd/mm/yyyy), JSON and CSV. Pure: rows in, text out."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from scheduler.feeds.ical import length_text, stated_length
from scheduler.i18n import pick
from scheduler.plan.durations import format_duration

if TYPE_CHECKING:  # rows come from the store; this module only reads their fields
    from scheduler.store.tables import MilestoneRow, OccurrenceRow

Gettext = Callable[[str], str]


def occurrence_record(row: OccurrenceRow, tz: tzinfo) -> dict:
    """The JSON form of an occurrence: ISO 8601 moments with their offset."""

    def local(d: datetime | None) -> str | None:
        return d.astimezone(tz).isoformat() if d else None

    return {
        "id": row.id,
        "plan": row.plan_code,
        "obligation": row.obligation_code,
        "agency": row.agency_code,
        "title": row.title,
        "title_en": row.title_en,
        "channels": row.shown.get("channels", []),
        "period": row.period,
        "number": row.number,
        "window_start": local(row.window_start),
        "window_end": local(row.window_end),
        "due": local(row.due),
        "slot": local(row.slot),
        "revision": row.revision,
        "status": row.status,
        "reason": row.reason,
        "min_duration": row.shown.get("min_duration"),
        # only where the plan says them: a stated length (seconds), a named deadline
        **{
            k: row.shown[k]
            for k in ("duration", "duration_tolerance", "max_duration", "name", "name_en")
            if k in row.shown
        },
        "topics": row.shown.get("topics", []),
        "coordinators": row.shown.get("coordinators", []),
        "coordination": row.shown.get("coordination", ""),
    }


def milestone_record(m: MilestoneRow, o: OccurrenceRow, tz: tzinfo) -> dict:
    return {
        "occurrence": o.id,
        "plan": o.plan_code,
        "obligation": o.obligation_code,
        "agency": o.agency_code,
        "step": m.step,
        "title": m.title,
        "title_en": m.title_en,
        "day": m.day.isoformat(),
        "offset_working_days": m.offset,
        "due": o.due.astimezone(tz).isoformat(),
        "status": o.status,
    }


def to_json(records: list[dict]) -> str:
    return json.dumps(records, ensure_ascii=False, indent=2) + "\n"


def to_csv(records: list[dict]) -> str:
    if not records:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({k: ";".join(map(str, v)) if isinstance(v, list) else v for k, v in r.items()})
    return out.getvalue()


def width(text: str) -> int:
    """Terminal columns: wide East Asian letters take two, combining marks none."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clip(text: str, limit: int) -> str:
    if width(text) <= limit:
        return text
    out = ""
    for c in text:
        if width(out + c) > limit - 1:
            break
        out += c
    return out + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - width(c)) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]) + "\n"


def day(d) -> str:
    return d.strftime("%d/%m/%Y")


def moment(d: datetime | None, tz: tzinfo) -> str:
    return d.astimezone(tz).strftime("%d/%m/%Y %H:%M") if d else "—"


def window_text(row: OccurrenceRow, tz: tzinfo) -> str:
    """Windows are half-open; people read the last day."""
    last = (row.window_end.astimezone(tz) - timedelta(days=1)).date()
    return f"{day(row.window_start.astimezone(tz))}–{day(last)}"


def occurrence_table(rows: list[OccurrenceRow], tz: tzinfo, lang: str, _: Gettext) -> str:
    headers = [
        _("Due"),
        _("Obligation"),
        _("Period"),
        _("Window"),
        _("Slot"),
        _("Host"),
        _("Length"),
        _("Status"),
        _("Rev."),
        _("Id"),
    ]
    body = [
        [
            moment(r.due, tz),
            clip(pick(lang, r.title, r.title_en), 44),
            f"{r.period} #{r.number}",
            window_text(r, tz),
            moment(r.slot, tz),
            r.agency_code,
            _length(r.shown, _),
            _(r.status),
            str(r.revision),
            r.id,
        ]
        for r in rows
    ]
    return table(headers, body) + _("{count} occurrence(s)").format(count=len(rows)) + "\n"


def _length(shown: dict, _: Gettext) -> str:
    """The length as the plan states it ("15 ± 2 phút"), else the minimum ("10m")."""
    if stated_length(shown):
        return length_text(shown, _)
    return format_duration(shown["min_duration"]) if shown.get("min_duration") else "—"


def milestone_table(pairs: list[tuple[MilestoneRow, OccurrenceRow]], tz: tzinfo, lang: str, _: Gettext) -> str:
    headers = [_("Day"), _("Step"), _("Obligation"), _("Period"), _("Due"), _("Host"), _("Id")]
    body = [
        [
            day(m.day),
            pick(lang, m.title, m.title_en),
            clip(pick(lang, o.title, o.title_en), 40),
            f"{o.period} #{o.number}",
            moment(o.due, tz),
            o.agency_code,
            o.id,
        ]
        for m, o in pairs
    ]
    return table(headers, body) + _("{count} milestone(s)").format(count=len(pairs)) + "\n"
