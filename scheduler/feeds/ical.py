"""iCalendar feeds (RFC 5545), pure: stored occurrences in, bytes out.

Each occurrence and each of its milestones is one VEVENT, serialized once per
revision and language; a feed is a head, those items, and a tail. Identity,
SEQUENCE and DTSTAMP come from the data, never from the clock, so unchanged
data gives byte-identical feeds. ``shared/reference/ical-feeds.md`` lists the
client quirks each choice answers.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Timezone, TimezoneStandard

from scheduler.errors import N_
from scheduler.feeds.ical_lines import alarm_line, categories_line, item, shared_lines, uid_line, when_lines
from scheduler.i18n import pick
from scheduler.plan.channels import BUILT_IN, Channel, channel
from scheduler.plan.durations import show_length

Gettext = Callable[[str], str]
PRODID = "-//Media Production Scheduler//Lich san xuat tuyen truyen 1.0//VI"
UID_DOMAIN = "media-production-scheduler"
VN_TZ = "Asia/Ho_Chi_Minh"
REFRESH = "PT1H"
MORNING = time(8, 0)
CHANNEL_NAMES = {c.code: c.name_en for c in BUILT_IN}  # message ids: the catalog holds the Vietnamese


@dataclass(frozen=True)
class Names:
    """What rendering needs beyond the occurrence: who and what its codes name."""

    agencies: Mapping[str, tuple[str, str]]  # code -> (vi, en)
    topics: Mapping[str, tuple[str, str]]
    base_url: str
    tz: str = VN_TZ
    channels: tuple[Channel, ...] = ()  # the plan's own channels


def channel_names(codes: Iterable[str], own: tuple[Channel, ...], lang: str, _: Gettext) -> str:
    """``phát thanh, truyền hình``: built-in names from the catalog, a plan's own in its words."""
    return ", ".join(_channel_name(c, own, lang, _) for c in codes)


def _channel_name(code: str, own: tuple[Channel, ...], lang: str, _: Gettext) -> str:
    if code in CHANNEL_NAMES:
        return _(CHANNEL_NAMES[code])
    mine = channel(code, own)
    return pick(lang, mine.name, mine.name_en) if mine else code


@dataclass(frozen=True)
class StoredOccurrence:
    """An occurrence as the database keeps it: ``shown`` is Occurrence.shown()."""

    id: str
    revision: int
    created: datetime
    last_modified: datetime
    shown: Mapping[str, Any]
    delivery: Mapping[str, Any] | None = None  # what the ledger made of it: state, moment, entry


@dataclass(frozen=True)
class Item:
    """One serialized VEVENT and what a feed needs to select and order it."""

    uid: str
    kind: str  # "occurrence" or "milestone"
    sort_key: str
    ical: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.ical).hexdigest()


def _text(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _pick(lang: str, pair: tuple[str, str] | list[str]) -> str:
    return pick(lang, *pair)


def _day(d: date) -> str:
    return d.strftime("%d/%m/%Y")


ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}


def period_text(label: str, _: Gettext) -> str:
    """``2024-03`` → "tháng 03/2024"; every label form expansion makes.

    >>> period_text("2024-Q4", lambda s: s)
    'quarter IV/2024'
    """
    if "_" in label:
        first, last = label.split("_", 1)
        return f"{period_text(first, _)} – {period_text(last, _)}"
    if label.startswith("by-"):
        return _("by {day}").format(day=_day(date.fromisoformat(label[3:])))
    parts = label.split("-")
    if len(parts) == 3:
        return _("on {day}").format(day=_day(date.fromisoformat(label)))
    if len(parts) == 1:
        return _("year {year}").format(year=label)
    year, part = parts
    if part.startswith("Q"):
        return _("quarter {roman}/{year}").format(roman=ROMAN[part[1]], year=year)
    if part.startswith("H"):
        return (_("first half of {year}") if part == "H1" else _("second half of {year}")).format(year=year)
    if part.startswith("W"):
        return _("week {week}/{year}").format(week=part[1:], year=year)
    return _("month {month}/{year}").format(month=part, year=year)


def minutes_text(seconds: int | None, _: Gettext) -> str:
    if not seconds:
        return ""
    return _("{minutes} min").format(minutes=round(seconds / 60))


def stated_length(shown: Mapping[str, Any]) -> bool:
    """Whether the plan states a length (nominal or maximum), not only a minimum."""
    return bool(shown.get("duration") or shown.get("max_duration"))


def length_text(shown: Mapping[str, Any], _: Gettext) -> str:
    """ "15 ± 2 phút" where the plan states it; else the minimum, as before."""
    if not stated_length(shown):
        return minutes_text(shown.get("min_duration"), _)
    return show_length(
        shown.get("min_duration"),
        shown.get("duration"),
        shown.get("duration_tolerance"),
        shown.get("max_duration"),
        _,
    )


DONE_VERBS = {c.code: c.done for c in BUILT_IN}  # aired, published, checked, held, put up, issued, posted


def delivery_text(shown: Mapping[str, Any], delivery: Mapping[str, Any] | None, tz: ZoneInfo, _: Gettext) -> str:
    """``✓ đã phát sóng 14/03/2024``; empty while nothing is recorded."""
    delivery = delivery or {}
    state = delivery.get("state")
    if not state:
        return ""
    if state == "excused":
        return _("excused")
    verb = _(DONE_VERBS.get((shown.get("channels") or ["radio"])[0], N_("delivered")))
    day = _day(_local(delivery["moment"], tz).date()) if delivery.get("moment") else ""
    if state == "non_conforming":
        return _("⚠ {verb} {day}, not conforming").format(verb=verb, day=day)
    if state == "late":
        return _("✓ {verb} late {day}").format(verb=verb, day=day)
    return _("✓ {verb} {day}").format(verb=verb, day=day)


def summary(
    shown: Mapping[str, Any], lang: str, _: Gettext, delivery: Mapping[str, Any] | None = None, tz: str = VN_TZ
) -> str:
    """What and which one: ``Chuyên mục "Cải cách hành chính" – số 2, tháng 03/2024 (10 phút)``,
    led by what was recorded (``✓ đã phát sóng 14/03/2024: …``)."""
    title = _pick(lang, (shown["title"], shown["title_en"]))
    which = period_text(shown["period"], _)
    if shown.get("count", 1) > 1:
        which = _("no. {number}, {period}").format(number=shown["number"], period=which)
    text = f"{title} – {which}"
    name = _pick(lang, (shown.get("name", ""), shown.get("name_en", "")))
    if name:  # a named deadline: "Báo cáo kết quả … — Báo cáo 6 tháng (ngày 15/06/2026)"
        text = f"{title} — {name} ({which})"
    if shown.get("min_duration") or shown.get("max_duration"):
        text += f" ({length_text(shown, _)})"
    if shown["status"] == "cancelled":
        text = _("[Cancelled] {summary}").format(summary=text)
    done = delivery_text(shown, delivery, ZoneInfo(tz), _)
    if done:
        text = f"{done}: {text}"
    return _text(text)


def _local(iso: str, tz: ZoneInfo) -> datetime:
    return datetime.fromisoformat(iso).astimezone(tz)


def description(occ: StoredOccurrence, names: Names, lang: str, _: Gettext) -> str:
    s, tz = occ.shown, ZoneInfo(names.tz)
    start, end = _local(s["window_start"], tz), _local(s["window_end"], tz)
    host = _pick(lang, names.agencies.get(s["agency"], (s["agency"], "")))
    partners = ", ".join(_pick(lang, names.agencies.get(c, (c, ""))) for c in s.get("coordinators", []))
    lines = [_("Host: {agency}").format(agency=host)]
    if partners or s.get("coordination"):
        lines.append(
            _("Coordinating: {agencies}").format(
                agencies="; ".join(x for x in (partners, s.get("coordination", "")) if x)
            )
        )
    lines.append(
        _("Window: {first} – {last}").format(first=_day(start.date()), last=_day((end - timedelta(days=1)).date()))
    )
    lines.append(_("Due: {moment}").format(moment=_local(s["due"], tz).strftime("%d/%m/%Y %H:%M")))
    if s.get("slot"):
        lines.append(_("Air slot: {moment}").format(moment=_local(s["slot"], tz).strftime("%d/%m/%Y %H:%M")))
    if stated_length(s):
        lines.append(_("Length: {duration}").format(duration=length_text(s, _)))
    elif s.get("min_duration"):
        lines.append(_("Minimum duration: {duration}").format(duration=minutes_text(s["min_duration"], _)))
    lines.append(
        _("Channels: {channels}").format(channels=channel_names(s.get("channels", []), names.channels, lang, _))
    )
    if s.get("topics"):
        lines.append(
            _("Topics: {topics}").format(
                topics="; ".join(_pick(lang, names.topics.get(t, (t, ""))) for t in s["topics"])
            )
        )
    if s.get("reason"):
        lines.append(_("Note: {reason}").format(reason=_(s["reason"])))
    done = delivery_text(s, occ.delivery, tz, _)
    if done:
        lines.append(_("Recorded: {state}").format(state=done))
        delivery = occ.delivery or {}
        if delivery.get("note"):
            lines.append(_("Note: {reason}").format(reason=delivery["note"]))
        for message, params in delivery.get("reasons", []):
            lines.append(_("Not conforming: {reason}").format(reason=_(message).format(**params)))
    lines.append(_("Details: {url}").format(url=occurrence_url(names.base_url, occ.id)))
    return _text("\n".join(lines))


def occurrence_url(base_url: str, occurrence_id: str) -> str:
    return f"{base_url.rstrip('/')}/o/{occurrence_id}"


def occurrence_uid(occurrence_id: str) -> str:
    """Derived from the occurrence's id alone: stable across loads and databases."""
    return f"occurrence-{occurrence_id}@{UID_DOMAIN}"


def milestone_uid(occurrence_id: str, step: str) -> str:
    return f"milestone-{occurrence_id}-{step}@{UID_DOMAIN}"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _sort_key(start: datetime | date, uid: str) -> str:
    moment = start if isinstance(start, datetime) else datetime.combine(start, time(0), UTC)
    return f"{_utc(moment).strftime('%Y%m%dT%H%M%S')}|{uid}"


def render_items(
    occ: StoredOccurrence, milestones: list[Mapping[str, Any]], names: Names, lang: str, _: Gettext
) -> list[Item]:
    """The occurrence's VEVENT and one per milestone (``step, title, title_en, day, offset``),
    written in the bytes icalendar would write."""
    return render_languages(occ, milestones, names, {lang: _})[lang]


def render_languages(
    occ: StoredOccurrence, milestones: list[Mapping[str, Any]], names: Names, languages: Mapping[str, Gettext]
) -> dict[str, list[Item]]:
    """``render_items`` for several languages (``lang -> gettext``): what does not
    depend on the language (times, UIDs, stamps, sort keys) is written once."""
    tz = ZoneInfo(names.tz)
    s = occ.shown
    shared = shared_lines(
        stamped=_utc(occ.last_modified),  # RFC 5545 3.8.7.2: the last revision, with no METHOD
        created=_utc(occ.created),
        sequence=occ.revision,
        cancelled=s["status"] == "cancelled",
        url=occurrence_url(names.base_url, occ.id),
    )
    morning = alarm_line(timedelta(hours=MORNING.hour))  # the alarm: a convenience only (ical-feeds.md)
    uid = occurrence_uid(occ.id)
    start: datetime | date
    end: datetime | date | None
    if s.get("slot"):
        slot = _local(s["slot"], tz)
        start = slot if names.tz == VN_TZ else _utc(slot)
        end = start + timedelta(seconds=s["min_duration"]) if s.get("min_duration") else None
        alarm = alarm_line(datetime.combine(slot.date(), MORNING, tzinfo=tz))
    else:
        start = _local(s["due"], tz).date()
        end, alarm = start + timedelta(days=1), morning  # exclusive, RFC 5545 3.6.1
    own = (uid, uid_line(uid), when_lines(start, end, names.tz), _sort_key(start, uid))
    steps = []
    for m in milestones:
        m_uid = milestone_uid(occ.id, m["step"])
        day = m["day"] if isinstance(m["day"], date) else date.fromisoformat(m["day"])
        steps.append(
            (m, m_uid, uid_line(m_uid), when_lines(day, day + timedelta(days=1), names.tz), _sort_key(day, m_uid))
        )
    rendered = {}
    for lang, _ in languages.items():
        title = summary(s, lang, _, occ.delivery, names.tz)
        text = description(occ, names, lang, _)
        categories = [_text(_channel_name(c, names.channels, lang, _)) for c in s.get("channels", [])]
        state = (occ.delivery or {}).get("state")
        if state:
            categories.append(_text(_(state)))
        kinds = categories_line(categories)
        event = item(shared, kinds, own[1], title, own[2], text, alarm)
        items = [Item(uid, "occurrence", own[3], event)]
        for m, m_uid, m_line, m_when, m_key in steps:
            step_title = _text(_pick(lang, (m["title"], m["title_en"])))
            m_title = _text(_("{step}: {summary}").format(step=step_title, summary=title))
            m_text = _text(
                _("Production milestone: {step}, {offset} working day(s) before the due moment").format(
                    step=step_title, offset=m["offset"]
                )
                + "\n"
                + text
            )
            items.append(Item(m_uid, "milestone", m_key, item(shared, kinds, m_line, m_title, m_when, m_text, morning)))
        rendered[lang] = items
    return rendered


def _vtimezone() -> Timezone:
    """The minimal VTIMEZONE for a zone without DST since 1975 (one STANDARD
    observance), the shape every client reads; see ical-feeds.md T2."""
    zone = Timezone()
    zone.add("tzid", VN_TZ)
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1970, 1, 1))
    standard.add("tzoffsetfrom", timedelta(hours=7))
    standard.add("tzoffsetto", timedelta(hours=7))
    standard.add("tzname", "+07")
    zone.add_component(standard)
    return zone


def calendar_head(name: str, description_text: str, tz: str = VN_TZ) -> bytes:
    """Everything before the items; VERSION, PRODID, names, refresh hints."""
    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", PRODID)
    cal.add("calscale", "GREGORIAN")
    cal.add("name", _text(name))
    cal.add("x-wr-calname", _text(name))
    cal.add("x-wr-caldesc", _text(description_text))
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", REFRESH)
    cal.add("x-wr-timezone", tz)
    if tz == VN_TZ:
        cal.add_component(_vtimezone())
    text: bytes = cal.to_ical()
    return text[: -len(CALENDAR_TAIL)]


CALENDAR_TAIL = b"END:VCALENDAR\r\n"


def feed_name(lang: str, _: Gettext, scope: str = "") -> str:
    base = _("Communication production schedule")
    return f"{base} – {scope}" if scope else base


def assemble(head: bytes, items: list[bytes]) -> bytes:
    return b"".join([head, *items, CALENDAR_TAIL])


def feed_etag(head: bytes, digests: bytes) -> str:
    """A strong validator over the bytes served: the head, each item's SHA-256
    in hex (each item's bytes are fixed per revision; ``digests`` holds them
    one after another, in feed order) and the tail, hashed together."""
    h = hashlib.sha256(head)
    h.update(digests)
    h.update(CALENDAR_TAIL)
    return '"' + h.hexdigest()[:40] + '"'
