"""Expansion: a plan in, the exact list of owed occurrences out.

Quota semantics: an obligation's periods tile its span; each period owes
``quota`` occurrences that share the period's window; compliance is judged
against the window, and the due moment only plans production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from scheduler.errors import N_
from scheduler.plan.cadence import Window
from scheduler.plan.durations import Length
from scheduler.plan.groups import hosts, is_group
from scheduler.plan.milestones import Milestone, milestones_of, template_for
from scheduler.plan.model import Obligation, Plan
from scheduler.plan.periods import Period
from scheduler.plan.workdays import WorkCalendar

SCHEDULED, CANCELLED = N_("scheduled"), N_("cancelled")  # stored as is, shown translated


@dataclass(frozen=True)
class Occurrence:
    """One owed deliverable."""

    id: str
    plan: str
    obligation: str
    agency: str
    period: str
    number: int
    count: int  # how many the window owes: "số 2" only means something when it is more than 1
    window: Period
    window_start: datetime
    window_end: datetime
    due: datetime
    slot: datetime | None
    title: str
    title_en: str
    channels: tuple[str, ...]
    coordinators: tuple[str, ...]
    coordination: str
    topics: tuple[str, ...]
    audiences: tuple[str, ...]
    min_duration: int | None  # seconds
    status: str = SCHEDULED
    reason: str = ""
    milestones: tuple[Milestone, ...] = ()
    member: str = ""  # the group member it was created for (plan/groups.py); "" when the host is no group
    name: str = ""  # a named deadline's name ("Báo cáo 6 tháng")
    name_en: str = ""
    length: tuple[tuple[str, int], ...] = ()  # the plan's stated length, seconds: duration, tolerance, maximum

    @property
    def label(self) -> str:
        return f"{self.period} #{self.number}"

    def shown(self) -> dict[str, Any]:
        """Everything a person is shown about it; a change here is a new revision
        (so a deadline's name is in it only when there is one: unnamed
        occurrences keep the fingerprint they were stored with)."""
        named = {"name": self.name, "name_en": self.name_en} if self.name or self.name_en else {}
        return {
            "agency": self.agency,
            "title": self.title,
            "title_en": self.title_en,
            "period": self.period,
            "number": self.number,
            "count": self.count,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "due": self.due.isoformat(),
            "slot": self.slot.isoformat() if self.slot else None,
            "channels": list(self.channels),
            "coordinators": list(self.coordinators),
            "coordination": self.coordination,
            "topics": list(self.topics),
            "audiences": list(self.audiences),
            "min_duration": self.min_duration,
            "status": self.status,
            "reason": self.reason,
            "milestones": [[m.step, m.title, m.title_en, m.day.isoformat()] for m in self.milestones],
            **named,
            **dict(self.length),  # only when the plan states them: files of before keep their revisions
        }


def occurrence_id(plan: str, obligation: str, period: str, number: int, member: str = "") -> str:
    """Stable and URL-safe: feeds, links and evidence point at it. A group's
    member is in it: fixed when created, whatever later happens to the host."""
    if member:
        return f"{plan}.{obligation}.{member}.{period}.{number}"
    return f"{plan}.{obligation}.{period}.{number}"


def spread_due_days(window: Period, count: int, calendar: WorkCalendar) -> list[date]:
    """Spread ``count`` due days evenly over a window, each on the last
    working day at or before its share: for 2 a month, mid-month and the
    month's last working day.

    >>> from scheduler.plan.workdays import WorkCalendar
    >>> march = Period(date(2024, 3, 1), date(2024, 4, 1), "2024-03")
    >>> spread_due_days(march, 2, WorkCalendar())
    [datetime.date(2024, 3, 15), datetime.date(2024, 3, 29)]
    """
    length = (window.end - window.start).days
    days = []
    for i in range(1, count + 1):
        share = window.start + timedelta(days=max(0, length * i // count - 1))
        days.append(calendar.on_or_before(share, floor=window.start))
    return days


def planned_slots(obligation: Obligation, plan: Plan) -> list[datetime]:
    return obligation.slots.slots(plan.period, plan.tz) if obligation.slots else []


def slot_mismatches(obligation: Obligation, plan: Plan) -> list[tuple[str, int, int]]:
    """Windows whose planned slot count differs from what they owe:
    ``(period, slots, owed)``. Worth a warning, not an error."""
    if not obligation.slots:
        return []
    slots = planned_slots(obligation, plan)
    found = []
    for w in obligation.cadence.windows(plan.period, plan.tz, plan.calendar):
        n = sum(1 for s in slots if w.period.contains(s.date()))
        if n != w.count:
            found.append((w.period.label, n, w.count))
    return found


def _local(day: date, at: time, plan: Plan) -> datetime:
    return datetime.combine(day, at, tzinfo=plan.tz)


def _seconds(length: timedelta | None) -> int | None:
    return int(length.total_seconds()) if length else None


def stated_length(obligation: Obligation) -> tuple[tuple[str, int], ...]:
    """The nominal length, tolerance and maximum a plan states, as shown keys."""
    found = (
        ("duration", obligation.duration),
        ("duration_tolerance", obligation.duration_tolerance),
        ("max_duration", obligation.max_duration),
    )
    return tuple((k, int(v.total_seconds())) for k, v in found if v is not None)


def expand_obligation(plan: Plan, obligation: Obligation) -> list[Occurrence]:
    """What the obligation owes; hosted by a group, what each member owes
    (in the group's order; nothing while it has no members)."""
    if not is_group(plan, obligation.host):
        return _owed(plan, obligation, obligation.host, "")
    return [o for member in hosts(plan, obligation.host) for o in _owed(plan, obligation, member, member)]


def _owed(plan: Plan, obligation: Obligation, agency: str, member: str) -> list[Occurrence]:
    calendar = plan.calendar
    windows: list[Window] = obligation.cadence.windows(plan.period, plan.tz, calendar)
    slots = planned_slots(obligation, plan)
    steps = template_for(obligation, plan.channels)
    adjustments = {(a.period, a.number): a for a in obligation.adjustments if not a.member}
    adjustments.update({(a.period, a.number): a for a in obligation.adjustments if member and a.member == member})
    found = []
    for window in windows:
        in_window = list(window.slots) or [s for s in slots if window.period.contains(s.date())]
        spread = spread_due_days(window.period, window.count, calendar)
        for n in range(1, window.count + 1):
            slot = in_window[n - 1] if n <= len(in_window) else None
            due = slot or _local(spread[n - 1], plan.due_time, plan)
            status, reason = SCHEDULED, ""
            adjustment = adjustments.get((window.period.label, n))
            if adjustment:
                reason = adjustment.reason
                if adjustment.action == "skip":
                    status = CANCELLED
                else:
                    slot = adjustment.slot or slot
                    due = adjustment.due or adjustment.slot or due
            oid = occurrence_id(plan.code, obligation.code, window.period.label, n, member)
            found.append(
                Occurrence(
                    id=oid,
                    plan=plan.code,
                    obligation=obligation.code,
                    agency=agency,
                    period=window.period.label,
                    number=n,
                    count=window.count,
                    window=window.period,
                    window_start=_local(window.period.start, time(0), plan),
                    window_end=_local(window.period.end, time(0), plan),
                    due=due,
                    slot=slot,
                    title=obligation.title,
                    title_en=obligation.title_en,
                    channels=obligation.channels,
                    coordinators=obligation.coordinators,
                    coordination=obligation.coordination,
                    topics=obligation.topics,
                    audiences=obligation.audiences,
                    min_duration=_seconds(
                        Length(obligation.min_duration, obligation.duration, obligation.duration_tolerance).minimum
                    ),
                    status=status,
                    reason=reason,
                    milestones=milestones_of(oid, due.date(), steps, calendar),
                    member=member,
                    name=window.name,
                    name_en=window.name_en,
                    length=stated_length(obligation),
                )
            )
    return found


def expand(plan: Plan) -> list[Occurrence]:
    """Every occurrence of the plan, in a stable order (obligation, window, number)."""
    return [o for ob in plan.obligations for o in expand_obligation(plan, ob)]


def known_periods(plan: Plan, obligation: Obligation) -> dict[str, int]:
    """Period label -> occurrences owed, to check exceptions against."""
    return {w.period.label: w.count for w in obligation.cadence.windows(plan.period, plan.tz, plan.calendar)}
