"""What the outbox shows, read only: the reminders owed or still pending
(for the policy), the backlog /healthz and the outbox page count, the
messages that will not go, and what the expiry summary lists."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.reminders.outbox import Message
from scheduler.store.outbox import EXPIRED, FAILED, PENDING, SUPERSEDED, T, claimable
from scheduler.store.tables import OutboxRow


def owed_due(session: Session, now: datetime) -> list[Message]:
    """Pending due reminders owed at ``now`` (few: what is not sent yet), as
    the policy reads them to pick the most urgent of an occurrence's."""
    rows = session.execute(
        select(T.c.kind, T.c.about, T.c.recipient, T.c.announces, T.c.send_at, T.c.expires_at, T.c.channel).where(
            T.c.state == PENDING, T.c.kind == "due", T.c.send_at <= now, T.c.expires_at > now
        )
    )
    return [
        Message(r.kind, r.about, r.recipient, r.announces, r.send_at, r.expires_at, channel=r.channel) for r in rows
    ]


def pending_reminders(session: Session) -> list[OutboxRow]:
    """Unsent reminders of any occurrence (few at any time): the policy says
    which of them are obsolete."""
    return list(
        session.scalars(
            select(OutboxRow).where(
                OutboxRow.state == PENDING, OutboxRow.kind.in_(("milestone", "due", "at_risk", "overdue"))
            )
        )
    )


def backlog(session: Session, now: datetime, real_now: datetime | None = None) -> dict:
    """What /healthz shows: what is due, every state's count, and how many
    messages expired unsent (ever, and in the last seven days)."""
    counts = dict(session.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state)).all())
    due = session.scalar(select(func.count()).select_from(OutboxRow).where(claimable(now, real_now)))
    oldest = session.scalar(select(func.min(OutboxRow.send_at)).where(claimable(now, real_now)))
    recent = session.scalar(
        select(func.count())
        .select_from(OutboxRow)
        .where(OutboxRow.state == EXPIRED, OutboxRow.expires_at > now - timedelta(days=7))
    )
    return {
        "due": due or 0,
        "by_state": counts,
        "oldest_due": oldest.isoformat() if oldest else None,
        "expired": {"total": counts.get(EXPIRED, 0), "last_7_days": recent or 0},
    }


UNSENT = (EXPIRED, SUPERSEDED, FAILED)  # what admins see: messages that did not and will not go


def unsent(session: Session, limit: int = 500) -> list[OutboxRow]:
    """Messages that will not go (expired, superseded, failed), newest expiry first."""
    return list(
        session.scalars(
            select(OutboxRow)
            .where(OutboxRow.state.in_(UNSENT))
            .order_by(OutboxRow.expires_at.desc(), OutboxRow.id.desc())
            .limit(limit)
        )
    )


def expired_between(session: Session, since: datetime, until: datetime) -> list[dict]:
    """The messages that expired unsent in ``(since, until]``, as the summary lists them."""
    rows = session.execute(
        select(T.c.kind, T.c.recipient, T.c.about, T.c.send_at, T.c.expires_at, T.c.last_error)
        .where(T.c.state == EXPIRED, T.c.expires_at > since, T.c.expires_at <= until, T.c.kind != "expiry")
        .order_by(T.c.expires_at, T.c.id)
    )
    return [
        {
            "kind": r.kind,
            "recipient": r.recipient,
            "about": r.about,
            "send_at": r.send_at.isoformat(),
            "expires_at": r.expires_at.isoformat(),
            "last_error": r.last_error[:200],
        }
        for r in rows
    ]


def last_summary(session: Session) -> datetime | None:
    """The cut-off of the newest expiry summary: the next one starts there."""
    return session.scalar(select(func.max(T.c.announces)).where(T.c.kind == "expiry"))
