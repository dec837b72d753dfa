"""Sessions kept on the server, in the caller's transaction: the cookie
carries a random id, the database only its SHA-256, so signing out, a
disabled user or a quiet hour ends a session whoever holds the cookie."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from scheduler.store.tables import SessionRow

LIFETIME = timedelta(days=14)  # however busy, a session ends 14 days after sign-in
SEEN_EVERY = timedelta(minutes=1)  # last-seen is written at most this often, not on every request


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start(session: Session, user_id: int, now: datetime) -> str:
    """A new session for ``user_id``; returns the id for the cookie (shown
    only there). The user's sessions older than 14 days, over by now, are removed."""
    session.execute(delete(SessionRow).where(SessionRow.user_id == user_id, SessionRow.created_at < now - LIFETIME))
    sid = secrets.token_urlsafe(32)
    session.add(SessionRow(id_sha256=_digest(sid), user_id=user_id, created_at=now, seen_at=now))
    return sid


def alive(session: Session, sid: str, user_id: int, now: datetime, idle: timedelta) -> bool:
    """Whether ``sid`` is a running session of ``user_id`` at ``now``: not
    ended, used within ``idle``, younger than 14 days. A live one is marked
    seen (at most once a minute); one found idle is ended."""
    row = session.get(SessionRow, _digest(sid)) if isinstance(sid, str) and sid else None
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return False
    if row.seen_at <= now - idle or row.created_at <= now - LIFETIME:
        row.ended_at = now
        return False
    if now - row.seen_at >= SEEN_EVERY:
        row.seen_at = now
    return True


def end(session: Session, sid: str, now: datetime) -> None:
    if isinstance(sid, str) and sid:
        session.execute(
            update(SessionRow)
            .where(SessionRow.id_sha256 == _digest(sid), SessionRow.ended_at.is_(None))
            .values(ended_at=now)
        )
