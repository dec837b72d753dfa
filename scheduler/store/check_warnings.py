"""The host's warning the day a portal check fails: one ``check_failed``
message per (source, local day) and recipient, whatever the hourly retries
find that day, to the obligation's reminder list or else the host's contacts
(as reminders go). It is sent at any hour (``reminders.outbox.AT_ONCE_KINDS``):
a public page that is down is fixed when someone reads of it."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.harvest.portal import CheckResult
from scheduler.harvest.proposals import Owed
from scheduler.reminders.outbox import Message
from scheduler.settings import Settings
from scheduler.store.outbox import enqueue
from scheduler.store.registry import contacts_map, names
from scheduler.store.tables import HarvestSourceRow, ObligationRow, OccurrenceRow, UserRow

KIND = "check_failed"
WARN_FOR = timedelta(days=2)  # the day and the next: a later day that still fails has its own warning


def warn_failed(
    session: Session,
    source: HarvestSourceRow,
    result: CheckResult,
    now: datetime,
    zone: tzinfo,
    current: Owed | None,
    settings: Settings,
) -> int:
    """Enqueue the day's warning for ``source`` (a no-op when it is already
    there); returns how many messages were new."""
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(), tzinfo=zone)
    name, name_en = names(session, [source.outlet])[source.outlet]
    context: dict = {
        "tz": getattr(zone, "key", "Asia/Ho_Chi_Minh"),
        "url": source.url,
        "final_url": result.final_url,
        "status": result.status,
        "reason": result.reason,
        "params": dict(result.params),
        "day": day.isoformat(),
        "at": now.astimezone(zone).isoformat(),
        "agency": source.outlet,
        "agency_name": [name, name_en],
        **(_occurrence(session, current, zone) or {"link": f"{settings.base_url.rstrip('/')}/me"}),
    }
    langs = {u.email.lower(): u.lang for u in session.scalars(select(UserRow).where(UserRow.disabled.is_(False)))}
    messages = [
        Message(
            KIND,
            f"check:{source.id}@{day.isoformat()}",
            address,
            start,
            now,
            start + WARN_FOR,
            langs.get(address, "vi"),
            context=context,
        )
        for address in recipients(session, source)
    ]
    return enqueue(session, messages, now, urlparse(settings.base_url).hostname or "localhost")


def recipients(session: Session, source: HarvestSourceRow) -> list[str]:
    """The obligation's reminder list (addresses or agency codes), else the host's contacts."""
    obligation = session.get(ObligationRow, (source.plan_code, source.obligation_code))
    named = list((obligation.definition or {}).get("reminders") or []) if obligation else []
    named = named or [source.outlet]
    contacts = contacts_map(session, [n for n in named if "@" not in n])
    found: list[str] = []
    for item in named:
        found += [item] if "@" in item else contacts.get(item, [])
    return list(dict.fromkeys(a.strip().lower() for a in found if a.strip()))


def _occurrence(session: Session, owed: Owed | None, zone: tzinfo) -> dict:
    """The occurrence kept up today, as reminders name one (its summary, window and link)."""
    row = session.get(OccurrenceRow, owed.id) if owed else None
    if row is None:
        return {}
    shown = row.shown or {}
    return {
        "occurrence": row.id,
        "plan": row.plan_code,
        "obligation": row.obligation_code,
        "title": row.title,
        "title_en": row.title_en,
        "period": row.period,
        "number": row.number,
        "count": int(shown.get("count", 1)),
        "min_duration": shown.get("min_duration"),
        "due": row.due.astimezone(zone).isoformat(),
        "slot": row.slot.astimezone(zone).isoformat() if row.slot else None,
        "window_start": row.window_start.astimezone(zone).isoformat(),
        "window_end": row.window_end.astimezone(zone).isoformat(),
        "state": (row.delivery or {}).get("state"),
    }
