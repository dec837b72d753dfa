"""A plan's reminder settings (the ``reminder_policy`` of a plan file or of
one obligation), read and checked when the plan loads so a typo fails there
with its line. What these settings owe, and when, is
``scheduler.reminders.policy``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import time
from typing import Any

from scheduler.errors import N_, SchedulerError


@dataclass(frozen=True)
class Policy:
    """When reminders go out, for a plan or one of its obligations.

    >>> p = Policy.from_mapping({"due_before": [1, 3], "hours": "07:30-16:30"})
    >>> p.due_before, p.start, p.end
    ((3, 1), datetime.time(7, 30), datetime.time(16, 30))
    >>> Policy.from_mapping({"at_risk_days": 2}, p).due_before
    (3, 1)
    """

    due_before: tuple[int, ...] = (7, 1, 0)  # working days before the due day; 0 = on the due day
    milestones: bool = True
    at_risk_days: int = 3  # working days before the window's last day
    overdue: bool = True
    digest_weekday: int = 0  # Monday
    digest_days: int = 14  # 0: no digest
    start: time = time(8, 0)  # working hours, in the plan's zone
    end: time = time(17, 0)

    @classmethod
    def from_mapping(cls, data: object, base: Policy | None = None) -> Policy:
        """``base`` with the fields ``data`` sets (a plan's defaults, then an
        obligation's overrides), each checked so a typo fails the load."""
        base = base or cls()
        if data is None:
            return base
        if not isinstance(data, Mapping):
            raise SchedulerError(N_('reminder_policy: expected a mapping, got "{found}"'), found=data)
        unknown = sorted(str(k) for k in data if k not in _READERS)
        if unknown:
            raise SchedulerError(
                N_('reminder_policy: unknown field "{found}"; expected one of {expected}'),
                found=unknown[0],
                expected=", ".join(_READERS),
            )
        changes: dict[str, Any] = {}
        for key, value in data.items():
            changes.update(_READERS[key](key, value))
        return replace(base, **changes)


Reader = Callable[[str, object], dict[str, Any]]  # a field's value, checked, as changes to a Policy
MAX_DAYS = 60  # a typo such as 700 must fail the load, not plan reminders for years


def _whole(value: object, most: int = MAX_DAYS) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most


def _days_list(key: str, value: object) -> dict[str, Any]:
    if not isinstance(value, (list, tuple)) or not all(_whole(v) for v in value):
        raise SchedulerError(
            N_(
                "reminder_policy.{key}: expected a list of whole numbers of working days "
                'from 0 to {most}, got "{found}"'
            ),
            key=key,
            most=MAX_DAYS,
            found=value,
        )
    return {key: tuple(sorted(set(value), reverse=True))}


def _flag(key: str, value: object) -> dict[str, Any]:
    if not isinstance(value, bool):
        raise SchedulerError(N_('reminder_policy.{key}: expected true or false, got "{found}"'), key=key, found=value)
    return {key: value}


def _number(most: int) -> Reader:
    def read(key: str, value: object) -> dict[str, Any]:
        if not _whole(value, most):
            raise SchedulerError(
                N_('reminder_policy.{key}: expected a whole number from 0 to {most}, got "{found}"'),
                key=key,
                most=most,
                found=value,
            )
        return {key: value}

    return read


def _hours(key: str, value: object) -> dict[str, Any]:
    start: time | None
    end: time | None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in str(value).split("-"))
    except ValueError:
        start = end = None
    if not isinstance(value, str) or start is None or end is None or start.tzinfo or end.tzinfo or not start < end:
        raise SchedulerError(
            N_('reminder_policy.hours: expected "HH:MM-HH:MM" with the start before the end, got "{found}"'),
            found=value,
        )
    return {"start": start, "end": end}


_READERS: dict[str, Reader] = {
    "due_before": _days_list,
    "milestones": _flag,
    "at_risk_days": _number(MAX_DAYS),
    "overdue": _flag,
    "digest_weekday": _number(6),
    "digest_days": _number(MAX_DAYS),
    "hours": _hours,
}
