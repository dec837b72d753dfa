"""Occurrences and milestones written by plain Core statements, a chunk at a
time (``executemany``): a load of thousands of occurrences builds no ORM
object per row and makes no round trip per row (issue 18)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from scheduler.plan.occurrences import CANCELLED, Occurrence
from scheduler.plan.revisions import fingerprint
from scheduler.store.tables import MilestoneRow, OccurrenceRow

CHUNK = 500  # ids per IN list: well under SQLite's and PostgreSQL's parameter limits


def occurrence_values(
    o: Occurrence,
    revision: int,
    created_at: datetime,
    now: datetime,
    cancelled_at: datetime | None,
    delivery: dict | None = None,
) -> dict:
    """The columns of one occurrence row as a load writes it."""
    shown = o.shown()
    return dict(
        id=o.id,
        plan_code=o.plan,
        obligation_code=o.obligation,
        agency_code=o.agency,
        member=o.member,
        period=o.period,
        number=o.number,
        title=o.title,
        title_en=o.title_en,
        window_start=o.window_start,
        window_end=o.window_end,
        due=o.due,
        slot=o.slot,
        status=o.status,
        reason=o.reason,
        revision=revision,
        fingerprint=fingerprint(shown),
        shown=shown,
        created_at=created_at,
        updated_at=now,
        cancelled_at=cancelled_at,
        delivery=delivery,
    )


def insert_occurrences(session: Session, created: Sequence[Occurrence], now: datetime) -> None:
    """New occurrences, revision 1, in the order given."""
    rows = [occurrence_values(o, 1, now, now, now if o.status == CANCELLED else None) for o in created]
    if rows:
        session.execute(insert(OccurrenceRow.__table__), rows)


def replace_milestones(session: Session, cleared: Sequence[str], occurrences: Iterable[Occurrence]) -> None:
    """Drop the milestones of the ``cleared`` occurrences (the revised ones),
    then write those of ``occurrences`` (created and revised), in order."""
    for start in range(0, len(cleared), CHUNK):  # ORM-enabled: drops them from the session too, as before
        session.execute(delete(MilestoneRow).where(MilestoneRow.occurrence_id.in_(cleared[start : start + CHUNK])))
    rows = [
        dict(occurrence_id=o.id, step=m.step, title=m.title, title_en=m.title_en, day=m.day, offset=m.offset)
        for o in occurrences
        for m in o.milestones
    ]
    if rows:
        session.execute(insert(MilestoneRow.__table__), rows)
