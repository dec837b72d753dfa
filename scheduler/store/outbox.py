"""The outbox in the database: insert-if-absent, claim with a lease, mark.

On PostgreSQL several senders claim rows with ``FOR UPDATE SKIP LOCKED``;
on SQLite one daemon is the single writer (the daemon refuses a second one).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..outbox import MAX_ATTEMPTS, Message, message_id, retry_at
from .tables import OutboxRow

PENDING, SENDING, SENT, FAILED, CANCELLED, EXPIRED = "pending", "sending", "sent", "failed", "cancelled", "expired"


def enqueue(session: Session, messages: Iterable[Message], now: datetime, domain: str) -> int:
    """Insert the messages not yet in the outbox; returns how many were new.
    The unique key makes this safe to repeat, from any number of processes."""
    rows = [{"key": m.key, "kind": m.kind, "about": m.about, "recipient": m.recipient.strip().lower(),
             "cc": list(m.cc), "lang": m.lang, "context": dict(m.context), "announces": m.announces,
             "send_at": m.send_at, "expires_at": m.expires_at, "state": PENDING, "attempts": 0,
             "next_attempt_at": m.send_at, "message_id": message_id(m.key, domain), "last_error": "",
             "created_at": now} for m in messages]
    if not rows:
        return 0
    table = OutboxRow.__table__
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    new = 0
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        statement = insert(table).values(chunk).on_conflict_do_nothing(index_elements=["key"])
        new += session.execute(statement).rowcount or 0
    return new


def claimable(now: datetime, real_now: datetime | None = None):
    """Due rows (by the service's clock, which replays may move) and rows
    whose lease ran out (by the real clock: leases measure whether a sender
    is still alive, whatever moment a replay acts at)."""
    return or_(and_(OutboxRow.state == PENDING, OutboxRow.next_attempt_at <= now, OutboxRow.expires_at > now),
               and_(OutboxRow.state == SENDING, OutboxRow.lease_until < (real_now or now)))


def claim(session: Session, owner: str, now: datetime, lease: timedelta, limit: int = 50,
          kinds: tuple[str, ...] | None = None, real_now: datetime | None = None) -> list[OutboxRow]:
    """Take up to ``limit`` rows due now (and rows whose lease ran out: in
    doubt), mark them sending under our lease. Commit right after."""
    real_now = real_now or now
    query = select(OutboxRow).where(claimable(now, real_now))
    if kinds:
        query = query.where(OutboxRow.kind.in_(kinds))
    query = query.order_by(OutboxRow.send_at, OutboxRow.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        if row.state == SENDING:
            row.last_error = (row.last_error + "; " if row.last_error else "") + "in doubt: resent with the same Message-ID"
        row.state, row.lease_owner, row.lease_until = SENDING, owner, real_now + lease
    session.flush()
    return rows


def mark_sent(session: Session, row_id: int, owner: str, now: datetime, refused: dict | None = None) -> None:
    session.execute(update(OutboxRow).where(OutboxRow.id == row_id, OutboxRow.lease_owner == owner).values(
        state=SENT, sent_at=now, lease_until=None, refused=refused or None))


def mark_retry(session: Session, row_id: int, owner: str, now: datetime, error: str) -> str:
    """A temporary failure: back off, or give up after MAX_ATTEMPTS."""
    row = session.get(OutboxRow, row_id)
    if row is None or row.lease_owner != owner:
        return ""
    row.attempts += 1
    row.last_error = error[:2000]
    row.lease_until = None
    if row.attempts >= MAX_ATTEMPTS:
        row.state = FAILED
    else:
        row.state, row.next_attempt_at = PENDING, retry_at(now, row.attempts)
    return row.state


def mark_failed(session: Session, row_id: int, owner: str, error: str) -> None:
    session.execute(update(OutboxRow).where(OutboxRow.id == row_id, OutboxRow.lease_owner == owner).values(
        state=FAILED, lease_until=None, last_error=error[:2000], attempts=OutboxRow.attempts + 1))


def release(session: Session, owner: str, ids: list[int]) -> None:
    """Give back rows claimed but not attempted (a graceful stop)."""
    if ids:
        session.execute(update(OutboxRow).where(OutboxRow.id.in_(ids), OutboxRow.lease_owner == owner,
                                                OutboxRow.state == SENDING).values(state=PENDING, lease_until=None))


def cancel(session: Session, keys: list[str], reason: str) -> int:
    if not keys:
        return 0
    result = session.execute(update(OutboxRow).where(OutboxRow.key.in_(keys), OutboxRow.state == PENDING)
                             .values(state=CANCELLED, last_error=reason))
    return result.rowcount or 0


def expire(session: Session, now: datetime) -> int:
    result = session.execute(update(OutboxRow).where(OutboxRow.state == PENDING, OutboxRow.expires_at <= now)
                             .values(state=EXPIRED))
    return result.rowcount or 0


def pending_reminders(session: Session) -> list[OutboxRow]:
    """Unsent reminders of any occurrence (few at any time): the policy says
    which of them are obsolete."""
    return list(session.scalars(select(OutboxRow).where(
        OutboxRow.state == PENDING, OutboxRow.kind.in_(("milestone", "due", "at_risk", "overdue")))))


def backlog(session: Session, now: datetime, real_now: datetime | None = None) -> dict:
    counts = dict(session.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state)).all())
    due = session.scalar(select(func.count()).select_from(OutboxRow).where(claimable(now, real_now)))
    oldest = session.scalar(select(func.min(OutboxRow.send_at)).where(claimable(now, real_now)))
    return {"due": due or 0, "by_state": counts, "oldest_due": oldest.isoformat() if oldest else None}


def as_message(row: OutboxRow) -> Message:
    return Message(row.kind, row.about, row.recipient, row.announces, row.send_at, row.expires_at, row.lang,
                   tuple(row.cc or ()), row.context or {})
