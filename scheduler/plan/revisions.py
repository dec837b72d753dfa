"""Stored versus expanded occurrences: what a load creates, revises, cancels.

Nothing is ever deleted: an occurrence that leaves the schedule is cancelled
if its window is still open at ``now`` and kept as it was if it has closed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scheduler.errors import N_, Problem
from scheduler.plan.occurrences import CANCELLED, Occurrence

REMOVED_REASON = N_("removed from the schedule")


@dataclass(frozen=True)
class Stored:
    """What the database holds about one occurrence, enough to compare."""

    id: str
    fingerprint: str
    status: str
    revision: int
    window_end: datetime


@dataclass
class Changes:
    created: list[Occurrence] = field(default_factory=list)
    revised: list[tuple[Occurrence, int]] = field(default_factory=list)
    cancelled: list[tuple[str, int]] = field(default_factory=list)
    unchanged: int = 0
    previous: dict[str, Any] = field(default_factory=dict)  # id -> (due, slot, status) before this load, for notices
    # what the load says beside: the agency registry's, a web exception the files now override
    warnings: list[Problem] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # ids left as they were: their period is closed (kỳ đã chốt)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.revised or self.cancelled)


def fingerprint(shown: dict[str, Any]) -> str:
    """A digest of what is shown about an occurrence (``Occurrence.shown()``)."""
    text = json.dumps(shown, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def reconcile(stored: dict[str, Stored], expanded: list[Occurrence], now: datetime) -> Changes:
    """Compare, and say what to write. Revisions only ever rise."""
    changes = Changes()
    for occurrence in expanded:
        before = stored.get(occurrence.id)
        if before is None:
            changes.created.append(occurrence)
        elif before.fingerprint != fingerprint(occurrence.shown()):
            changes.revised.append((occurrence, before.revision + 1))
        else:
            changes.unchanged += 1
    current = {o.id for o in expanded}
    for before in stored.values():
        if before.id in current:
            continue
        if before.status == CANCELLED or before.window_end <= now:
            changes.unchanged += 1
        else:
            changes.cancelled.append((before.id, before.revision + 1))
    return changes


def as_cancelled(shown: dict[str, Any]) -> dict[str, Any]:
    """The shown fields of an occurrence cancelled because it left the schedule."""
    return {**shown, "status": CANCELLED, "reason": REMOVED_REASON}
