"""Messages that expired unsent, pure: how long each kind stays useful is in
the reminder policy; here, the daily summary that tells administrators which
ones were dropped, so none is dropped silently."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from scheduler.plan.reminder_policy import Policy
from scheduler.plan.workdays import WorkCalendar
from scheduler.reminders.outbox import Message
from scheduler.reminders.policy import next_opening

SUMMARY_FOR = timedelta(days=7)  # a summary unsent for a week is folded into the next ones' page
LISTED = 50  # the mail lists this many; the admin page lists them all


def day_start(now: datetime, tz: tzinfo) -> datetime:
    """The summary's cut-off: the start of ``now``'s day in ``tz``.

    >>> from zoneinfo import ZoneInfo
    >>> day_start(datetime(2024, 3, 15, 1, 30, tzinfo=ZoneInfo("UTC")), ZoneInfo("Asia/Ho_Chi_Minh"))
    datetime.datetime(2024, 3, 15, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='Asia/Ho_Chi_Minh'))
    """
    return datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)


def summary(
    expired: list[Mapping[str, Any]],
    admins: Iterable[tuple[str, str]],
    since: datetime,
    until: datetime,
    now: datetime,
    calendar: WorkCalendar,
    tz: tzinfo,
) -> list[Message]:
    """One message per administrator (address, language) about the messages
    that expired unsent in ``(since, until]``, sent at the next working hour;
    none when nothing expired. Its key is the day: one summary a day at most.

    >>> from zoneinfo import ZoneInfo
    >>> hcm = ZoneInfo("Asia/Ho_Chi_Minh")
    >>> until = datetime(2024, 3, 15, tzinfo=hcm)
    >>> item = {"kind": "due", "recipient": "a@x.vn", "about": "o#D-1", "expires_at": "2024-03-14T17:00:00+07:00"}
    >>> [(m.about, m.send_at.hour, m.context["count"]) for m in summary([item], [("admin@x.vn", "vi")],
    ...                                                                  until - timedelta(days=1), until, until,
    ...                                                                  WorkCalendar(), hcm)]
    [('outbox@2024-03-15', 8, 1)]
    """
    if not expired:
        return []
    send_at = next_opening(now, Policy(), calendar, tz)
    context = {
        "tz": getattr(tz, "key", str(tz)),
        "since": since.isoformat(),
        "until": until.isoformat(),
        "count": len(expired),
        "items": [dict(item) for item in expired[:LISTED]],
    }
    about = f"outbox@{until.astimezone(tz).date().isoformat()}"
    return [
        Message("expiry", about, address, until, send_at, send_at + SUMMARY_FOR, lang, (), context)
        for address, lang in sorted(set(admins))
    ]
