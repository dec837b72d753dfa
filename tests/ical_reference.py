"""The items as icalendar renders them: the code ``render_items`` ran
before issue 18 (an ``Event`` per item, ``to_ical``), kept here so tests can
show the direct writer gives the same bytes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Alarm, Event

from scheduler.feeds.ical import (
    MORNING,
    VN_TZ,
    Gettext,
    Item,
    Names,
    StoredOccurrence,
    _channel_name,
    _local,
    _pick,
    _text,
    _utc,
    description,
    milestone_uid,
    occurrence_uid,
    occurrence_url,
    summary,
)


def _event(uid: str, occ: StoredOccurrence, title: str, text: str, url: str, categories: list[str]) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", _utc(occ.last_modified))  # RFC 5545 3.8.7.2: the last revision, with no METHOD
    event.add("created", _utc(occ.created))
    event.add("last-modified", _utc(occ.last_modified))
    event.add("sequence", occ.revision)
    event.add("summary", title)
    event.add("description", text)
    event.add("url", url)
    event.add("status", "CANCELLED" if occ.shown["status"] == "cancelled" else "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    if categories:
        event.add("categories", categories)
    return event


def _all_day(event: Event, day: date) -> None:
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))  # exclusive, RFC 5545 3.6.1


def _alarm(event: Event, title: str, trigger: timedelta | datetime) -> None:
    """A reminder on the item's morning; a convenience only (Google and
    Outlook ignore alarms in subscriptions; email reminders are the channel)."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", title)
    if isinstance(trigger, datetime):
        alarm.add("trigger", _utc(trigger), parameters={"VALUE": "DATE-TIME"})
    else:
        alarm.add("trigger", trigger)
    event.add_component(alarm)


def _sort_key(start: datetime | date, uid: str) -> str:
    moment = start if isinstance(start, datetime) else datetime.combine(start, time(0), UTC)
    return f"{_utc(moment).strftime('%Y%m%dT%H%M%S')}|{uid}"


def reference_items(
    occ: StoredOccurrence, milestones: list[Mapping[str, Any]], names: Names, lang: str, _: Gettext
) -> list[Item]:
    """The occurrence's VEVENT and one per milestone (``step, title, title_en, day, offset``)."""
    tz = ZoneInfo(names.tz)
    s = occ.shown
    title = summary(s, lang, _, occ.delivery, names.tz)
    text = description(occ, names, lang, _)
    url = occurrence_url(names.base_url, occ.id)
    categories = [_text(_channel_name(c, names.channels, lang, _)) for c in s.get("channels", [])]
    state = (occ.delivery or {}).get("state")
    if state:
        categories.append(_text(_(state)))
    uid = occurrence_uid(occ.id)
    event = _event(uid, occ, title, text, url, categories)
    if s.get("slot"):
        slot = _local(s["slot"], tz)
        start: datetime | date = slot if names.tz == VN_TZ else _utc(slot)
        event.add("dtstart", start)
        if s.get("min_duration"):
            event.add("dtend", start + timedelta(seconds=s["min_duration"]))
        _alarm(event, title, datetime.combine(slot.date(), MORNING, tzinfo=tz))
    else:
        start = _local(s["due"], tz).date()
        _all_day(event, start)
        _alarm(event, title, timedelta(hours=MORNING.hour))
    items = [Item(uid, "occurrence", _sort_key(start if isinstance(start, datetime) else start, uid), event.to_ical())]
    for m in milestones:
        step_title = _text(_pick(lang, (m["title"], m["title_en"])))
        m_uid = milestone_uid(occ.id, m["step"])
        m_title = _text(_("{step}: {summary}").format(step=step_title, summary=title))
        m_text = _text(
            _("Production milestone: {step}, {offset} working day(s) before the due moment").format(
                step=step_title, offset=m["offset"]
            )
            + "\n"
            + text
        )
        m_event = _event(m_uid, occ, m_title, m_text, url, categories)
        day = m["day"] if isinstance(m["day"], date) else date.fromisoformat(m["day"])
        _all_day(m_event, day)
        _alarm(m_event, m_title, timedelta(hours=MORNING.hour))
        items.append(Item(m_uid, "milestone", _sort_key(day, m_uid), m_event.to_ical()))
    return items
