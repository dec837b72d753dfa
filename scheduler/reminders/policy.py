"""The reminder policy, pure: which messages are owed at ``now``, which notices
a changed occurrence sends, and which unsent ones no longer apply. Values in,
``Message`` values out; the daemon stores them in the outbox and sends them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from scheduler.plan.reminder_policy import Policy
from scheduler.plan.workdays import WorkCalendar
from scheduler.reminders.outbox import Message

MET = ("on_time", "late", "excused")  # nothing more to remind anyone of
OPEN_UNMET = (None, "non_conforming")  # at risk while the window is open
CLOSED_UNMET = (None, "non_conforming", "missing")  # overdue once it has closed
OVERDUE_FOR = timedelta(days=7)
NOTICE_FOR = timedelta(days=14)


@dataclass(frozen=True)
class Watched:
    """An occurrence as the policy reads it, with who is reminded of it."""

    id: str
    plan: str
    obligation: str
    agency: str
    title: str
    title_en: str
    period: str
    number: int
    count: int
    window_start: datetime  # aware, any zone
    window_end: datetime
    due: datetime
    slot: datetime | None
    status: str  # "scheduled" | "cancelled"
    state: str | None  # None | "on_time" | "late" | "non_conforming" | "excused" | "missing"
    milestones: tuple[tuple[str, str, str, date], ...]  # (step, title, title_en, day)
    recipients: tuple[str, ...]  # who is reminded, resolved by the caller
    dha: tuple[str, ...] = ()  # copied on overdue notices
    lang: str = "vi"  # the recipients' language
    policy: Policy = Policy()  # already merged: plan defaults + obligation overrides


def within_hours(now: datetime, policy: Policy, calendar: WorkCalendar, tz: tzinfo) -> bool:
    """A working day in the plan's zone, between the start and end hours.

    >>> from zoneinfo import ZoneInfo
    >>> hcm = ZoneInfo("Asia/Ho_Chi_Minh")
    >>> [within_hours(datetime(2024, 3, 15, h, tzinfo=hcm), Policy(), WorkCalendar(), hcm) for h in (7, 8, 16, 17)]
    [False, True, True, False]
    """
    local = now.astimezone(tz)
    return calendar.is_working_day(local.date()) and policy.start <= local.time() < policy.end


def next_opening(now: datetime, policy: Policy, calendar: WorkCalendar, tz: tzinfo) -> datetime:
    """``now`` if within working hours, else the start of the next working period."""
    if within_hours(now, policy, calendar, tz):
        return now
    local = now.astimezone(tz)
    today = calendar.is_working_day(local.date()) and local.time() < policy.start
    return _at(local.date() if today else _next_working_day(local.date(), calendar), policy.start, tz)


def owed(watched: Iterable[Watched], now: datetime, calendar: WorkCalendar, tz: tzinfo) -> list[Message]:
    """Every message owed at ``now`` (``send_at <= now < expires_at``), sorted
    by ``(send_at, key)``. Planning them again is harmless: the outbox key
    makes each go out once."""
    items = list(watched)
    found: dict[str, Message] = {}
    for w in items:
        for m in _planned(w, calendar, tz):
            if m.send_at <= now < m.expires_at:
                found.setdefault(m.key, m)
    for m in _digests(items, now, calendar, tz):
        found.setdefault(m.key, m)
    return sorted(found.values(), key=lambda m: (m.send_at, m.key))


def notices(before: Watched | None, after: Watched, now: datetime, calendar: WorkCalendar, tz: tzinfo) -> list[Message]:
    """What a load's change to one occurrence tells its people: "moved" when
    its due moment or slot changed (or it came back from cancelled),
    "cancelled" when it was cancelled. A new, delivered or excused
    occurrence, or a change of wording only, sends nothing."""
    if before is None or after.state in MET:
        return []
    if after.status == "cancelled":
        if before.status == "cancelled":
            return []
        kind, announces = "cancelled", before.due
    elif before.status == "cancelled" or before.due != after.due or before.slot != after.slot:
        kind, announces = "moved", after.due
    else:
        return []
    send_at = next_opening(now, after.policy, calendar, tz)
    context = _context(
        after,
        tz,
        old_due=_iso(before.due, tz),
        old_slot=_iso(before.slot, tz),
        new_due=_iso(after.due, tz),
        new_slot=_iso(after.slot, tz),
        reinstated=before.status == "cancelled" and kind == "moved",
    )
    found = {m.key: m for m in _fan(after, kind, after.id, announces, send_at, send_at + NOTICE_FOR, context)}
    return sorted(found.values(), key=lambda m: (m.send_at, m.key))


def obsolete(pending: Iterable[Message], watched: Mapping[str, Watched]) -> list[str]:
    """Keys of unsent reminders that must not go out any more: their
    occurrence was met or cancelled, or the moment they announce moved.
    Notices, digests and messages about unknown occurrences are left alone."""
    gone = []
    for m in pending:
        if m.kind not in ("due", "milestone", "at_risk", "overdue"):
            continue
        occurrence, _, tail = m.about.partition("#")
        w = watched.get(occurrence)
        if w is not None and (w.status == "cancelled" or w.state in MET or _stale(m, tail, w)):
            gone.append(m.key)
    return gone


def superseded(pending: Iterable[Message], now: datetime) -> list[tuple[Message, str]]:
    """Unsent due reminders that a more urgent one, owed at ``now`` to the same
    person about the same occurrence, replaces, each with the one that goes:
    after an outage or a late start the D-7, D-1 and due-day reminders would
    otherwise arrive at once under one subject. Each channel on its own.

    >>> from datetime import timezone
    >>> at = lambda d: datetime(2024, 3, d, 8, tzinfo=timezone.utc)
    >>> due = lambda n, d: Message("due", f"o#D-{n}", "a@x.vn", at(15), at(d), at(15))
    >>> [(m.about, by) for m, by in superseded([due(7, 6), due(1, 14), due(0, 15)], at(14))]
    [('o#D-7', 'D-1')]
    """
    ready: dict[tuple[str, str, str], list[Message]] = {}
    for m in pending:
        if m.kind == "due" and m.send_at <= now < m.expires_at:
            ready.setdefault((occurrence_of(m.about), m.recipient.strip().lower(), m.channel), []).append(m)
    found = []
    for _, group in sorted(ready.items()):
        urgent = max(group, key=lambda m: (m.send_at, m.key))
        found += [(m, urgent.about.partition("#")[2]) for m in sorted(group, key=lambda m: m.key) if m is not urgent]
    return found


def occurrence_of(about: str) -> str:
    """The occurrence a reminder is about: due reminders are about
    ``"<id>#D-<n>"`` and milestones ``"<id>#<step>"``, so that the reminders
    of one occurrence have distinct outbox keys.

    >>> occurrence_of("pt.a.2024-03.1#D-7"), occurrence_of("pt.a.2024-03.1")
    ('pt.a.2024-03.1', 'pt.a.2024-03.1')
    """
    return about.partition("#")[0]


def _stale(m: Message, tail: str, w: Watched) -> bool:
    if m.kind == "due":
        return m.announces != w.due or tail not in {f"D-{n}" for n in w.policy.due_before}
    if m.kind == "milestone":
        days = {step: day.isoformat() for step, _, _, day in w.milestones}
        return not w.policy.milestones or tail not in days or m.context.get("day") != days[tail]
    if m.kind == "overdue" and not w.policy.overdue:
        return True
    return m.announces != w.window_end  # at_risk and overdue announce the window's end


def _planned(w: Watched, calendar: WorkCalendar, tz: tzinfo) -> Iterator[Message]:
    """Every reminder this occurrence will owe, whatever the moment."""
    if w.status == "cancelled" or w.state in MET:
        return
    p = w.policy
    due_day = w.due.astimezone(tz).date()
    last_day = (w.window_end.astimezone(tz) - timedelta(microseconds=1)).date()  # the window is [start, end)
    if p.milestones:
        for step, title, title_en, day in w.milestones:
            send = _at(_send_day(min(day, due_day), w.due, p, calendar, tz), p.start, tz)
            context = _context(w, tz, step=step, step_title=title, step_title_en=title_en, day=day.isoformat())
            until = min(w.due, _at(day + timedelta(days=1), time(0), tz))  # useful until the step's day is over
            yield from _fan(w, "milestone", f"{w.id}#{step}", _at(day, p.start, tz), send, until, context)
    days: dict[date, int] = {}
    for n in sorted(p.due_before):  # two reminders on one morning are noise: the nearest one stays
        days.setdefault(_send_day(calendar.working_days_before(due_day, n), w.due, p, calendar, tz), n)
    for day, n in days.items():
        context = _context(w, tz, working_days_before=n)
        yield from _fan(w, "due", f"{w.id}#D-{n}", w.due, _at(day, p.start, tz), w.due, context)
    if w.state in OPEN_UNMET:
        send = max(
            _at(calendar.working_days_before(last_day, p.at_risk_days), p.start, tz),
            next_opening(w.window_start, p, calendar, tz),
        )  # not before the window opens
        context = _context(w, tz, working_days_before=p.at_risk_days)
        yield from _fan(w, "at_risk", w.id, w.window_end, send, w.window_end, context)
    if p.overdue and w.state in CLOSED_UNMET:
        send = _at(_next_working_day(last_day, calendar), p.start, tz)
        yield from _fan(w, "overdue", w.id, w.window_end, send, send + OVERDUE_FOR, _context(w, tz), w.dha)


def _send_day(day: date, deadline: datetime, p: Policy, calendar: WorkCalendar, tz: tzinfo) -> date:
    """The working day at or before ``day`` whose start hour comes before
    ``deadline``: a reminder must not open after what it announces (an
    early-morning slot is reminded the working day before)."""
    day = calendar.on_or_before(day)
    while _at(day, p.start, tz) >= deadline:
        day = calendar.working_days_before(day, 1)
    return day


def _digests(items: list[Watched], now: datetime, calendar: WorkCalendar, tz: tzinfo) -> Iterator[Message]:
    """Each agency's weekly digest, on the day its week's digest is open at ``now``."""
    by_agency: dict[str, list[Watched]] = {}
    for w in sorted(items, key=lambda w: (w.id, w.lang)):
        by_agency.setdefault(w.agency, []).append(w)
    local = now.astimezone(tz).date()
    monday = local - timedelta(days=local.weekday())
    for agency, group in sorted(by_agency.items()):
        p = group[0].policy  # digest settings are the plan's, the same on all its occurrences
        if not p.digest_days:
            continue
        for week in (monday - timedelta(days=7), monday):  # last week's is useful until this week's goes
            send_at = _digest_at(week, p, calendar, tz)
            expires_at = _digest_at(week + timedelta(days=7), p, calendar, tz)
            if not send_at <= now < expires_at:
                continue
            context = _digest_context(group, agency, send_at, p.digest_days, tz)
            if not (context["occurrences"] or context["milestones"]):
                continue
            year, number, _ = week.isocalendar()
            context["week"] = f"{year}-W{number:02d}"
            recipients = {a.strip().lower(): w.lang for w in reversed(group) for a in w.recipients}
            for address, lang in sorted(recipients.items()):
                yield Message(
                    "digest",
                    f"{agency}@{context['week']}",
                    address,
                    _at(week, time(0), tz),
                    send_at,
                    expires_at,
                    lang,
                    (),
                    context,
                )


def _digest_at(week: date, p: Policy, calendar: WorkCalendar, tz: tzinfo) -> datetime:
    """When the digest of the week starting on Monday ``week`` goes: its
    weekday, or the next working day, at the start hour."""
    day = week + timedelta(days=p.digest_weekday)
    return _at(day if calendar.is_working_day(day) else _next_working_day(day, calendar), p.start, tz)


def _digest_context(group: list[Watched], agency: str, start: datetime, days: int, tz: tzinfo) -> dict[str, Any]:
    """What is due, and which milestones fall, in ``days`` days from ``start``."""
    until = start + timedelta(days=days)
    first, last = start.date(), until.date()
    seen: dict[str, Watched] = {}
    for w in group:
        if w.status != "cancelled":
            seen.setdefault(w.id, w)
    due = [w for w in seen.values() if start <= w.due < until]
    steps = [
        (day, w.id, step, title, title_en, w)
        for w in seen.values()
        if w.state not in MET
        for step, title, title_en, day in w.milestones
        if first <= day < last
    ]
    return {
        "tz": _zone(tz),
        "agency": agency,
        "from": start.isoformat(),
        "until": until.isoformat(),
        "occurrences": [
            {
                "id": w.id,
                "plan": w.plan,
                "obligation": w.obligation,
                "title": w.title,
                "title_en": w.title_en,
                "period": w.period,
                "number": w.number,
                "count": w.count,
                "due": _iso(w.due, tz),
                "slot": _iso(w.slot, tz),
                "state": w.state,
            }
            for w in sorted(due, key=lambda w: (w.due, w.id))
        ],
        "milestones": [
            {
                "occurrence": oid,
                "title": w.title,
                "title_en": w.title_en,
                "step": step,
                "step_title": title,
                "step_title_en": title_en,
                "day": day.isoformat(),
            }
            for day, oid, step, title, title_en, w in sorted(steps, key=lambda s: s[:3])
        ],
    }


def _fan(
    w: Watched,
    kind: str,
    about: str,
    announces: datetime,
    send_at: datetime,
    expires_at: datetime,
    context: dict[str, Any],
    cc: tuple[str, ...] = (),
) -> Iterator[Message]:
    """One message per recipient; nobody is copied on their own message."""
    for recipient in w.recipients:
        copied = tuple(a for a in cc if a.strip().lower() != recipient.strip().lower())
        yield Message(kind, about, recipient, announces, send_at, expires_at, w.lang, copied, context)


def _context(w: Watched, tz: tzinfo, **extra: object) -> dict[str, Any]:
    """What templates show, as JSON: moments in ISO form in the plan's zone."""
    return {
        "tz": _zone(tz),
        "occurrence": w.id,
        "plan": w.plan,
        "obligation": w.obligation,
        "agency": w.agency,
        "title": w.title,
        "title_en": w.title_en,
        "period": w.period,
        "number": w.number,
        "count": w.count,
        "due": _iso(w.due, tz),
        "slot": _iso(w.slot, tz),
        "window_start": _iso(w.window_start, tz),
        "window_end": _iso(w.window_end, tz),
        "state": w.state,
        **extra,
    }


def _next_working_day(day: date, calendar: WorkCalendar) -> date:
    day += timedelta(days=1)
    return day if calendar.is_working_day(day) else _next_working_day(day, calendar)


def _at(day: date, moment: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=tz)


def _iso(moment: datetime | None, tz: tzinfo) -> str | None:
    return moment.astimezone(tz).isoformat() if moment is not None else None


def _zone(tz: tzinfo) -> str:
    return getattr(tz, "key", None) or str(tz)
