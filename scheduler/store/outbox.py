"""The outbox in the database: insert-if-absent, keep each message's bytes
once built, claim with a lease, mark (what it shows, read only: ``outbox_views``).

On PostgreSQL several senders claim rows with ``FOR UPDATE SKIP LOCKED``;
on SQLite one daemon is the single writer (the daemon refuses a second one).
Claiming and marking are Core statements on the table: they run once per
message, and the ORM's unit of work would cost more than the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Connection, Select, and_, bindparam, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from scheduler.reminders.outbox import SECRET_KINDS, Message, message_id, retry_at
from scheduler.store.notifier_choices import routed
from scheduler.store.tables import OutboxRow

PENDING, SENDING, SENT, FAILED, CANCELLED, EXPIRED = "pending", "sending", "sent", "failed", "cancelled", "expired"
SUPERSEDED = "superseded"  # a more urgent reminder of the same occurrence went instead
IN_DOUBT = "in doubt: resent with the same Message-ID"
T = OutboxRow.__table__
# what sending needs of a row: its Message, Message-ID and bytes (absent for a row not built yet)
MESSAGE = (
    T.c.id,
    T.c.kind,
    T.c.about,
    T.c.recipient,
    T.c.announces,
    T.c.send_at,
    T.c.expires_at,
    T.c.lang,
    T.c.cc,
    T.c.context,
    T.c.message_id,
    T.c.state,
    T.c.mime,
    T.c.channel,
)


def enqueue(session: Session, messages: Iterable[Message], now: datetime, domain: str, route: bool = True) -> int:
    """Insert the messages not yet in the outbox; returns how many were new.
    The unique key makes this safe to repeat, from any number of processes.
    Each is first routed to the channels its recipient chose (and its
    agency's group chats): ``store.notifier_choices``; not with
    ``route=False`` (a chat message's email twin must stay an email)."""
    rows = [
        {
            "key": m.key,
            "kind": m.kind,
            "about": m.about,
            "recipient": m.recipient.strip().lower(),
            "cc": list(m.cc),
            "lang": m.lang,
            "context": dict(m.context),
            "announces": m.announces,
            "send_at": m.send_at,
            "expires_at": m.expires_at,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": m.send_at,
            "message_id": message_id(m.key, domain),
            "last_error": "",
            "created_at": now,
            "channel": m.channel,
        }
        for m in (routed(session, messages) if route else messages)
    ]
    if not rows:
        return 0
    table = OutboxRow.__table__
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    new = 0
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        # RETURNING counts what was inserted on every driver (a multi-row INSERT's rowcount is -1 on some)
        statement = insert(table).values(chunk).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id)
        new += len(session.execute(statement).all())
    return new


def unbuilt(session: Session, after: int = 0, limit: int = 100) -> list[Row]:
    """Pending email rows without their bytes, by id after ``after``: a caller
    that cannot build one (it fails when sent) moves past it. Chat and
    webhook rows have no bytes: their words are made when they are sent."""
    return list(
        session.execute(
            select(*MESSAGE)
            .where(T.c.state == PENDING, T.c.mime.is_(None), T.c.id > after, T.c.channel == "email")
            .order_by(T.c.id)
            .limit(limit)
        )
    )


_KEEP = (
    update(T)
    .where(T.c.id == bindparam("row_id"), T.c.state == PENDING, T.c.mime.is_(None))
    .values(mime=bindparam("bytes", type_=T.c.mime.type))
)


def keep(session: Session, built: dict[int, bytes]) -> int:
    """Keep the bytes built for pending rows (a row claimed meanwhile is built by its sender)."""
    if not built:
        return 0
    return session.execute(_KEEP, [{"row_id": i, "bytes": b} for i, b in built.items()]).rowcount or 0


_KEEP_CLAIMED = (
    update(T)
    .where(
        T.c.id == bindparam("row_id"), T.c.state == SENDING, T.c.lease_owner == bindparam("owner"), T.c.mime.is_(None)
    )
    .values(mime=bindparam("bytes", type_=T.c.mime.type))
)


def keep_claimed(session: Session, owner: str, built: dict[int, bytes]) -> int:
    """Keep the bytes of rows we have just claimed unbuilt, in the claim's own
    transaction: if we die after sending, the in-doubt resend is these bytes."""
    if not built:
        return 0
    return (
        session.execute(_KEEP_CLAIMED, [{"row_id": i, "owner": owner, "bytes": b} for i, b in built.items()]).rowcount
        or 0
    )


def claimable(now: datetime, real_now: datetime | None = None):
    """Due rows (by the service's clock, which replays may move) and rows
    whose lease ran out (by the real clock: leases measure whether a sender
    is still alive, whatever moment a replay acts at)."""
    return or_(
        and_(T.c.state == PENDING, T.c.next_attempt_at <= now, T.c.expires_at > now),
        and_(T.c.state == SENDING, T.c.lease_until < (real_now or now)),
    )


def claim(
    session: Session,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int = 50,
    kinds: tuple[str, ...] | None = None,
    real_now: datetime | None = None,
    channels: tuple[str, ...] = ("email",),
) -> list[Row]:
    """Take up to ``limit`` rows of ``channels`` due now (and rows whose lease
    ran out: in doubt), first by send_at, mark them sending under our lease.
    Commit right after. Mail and the other channels are sent by separate
    jobs, each claiming its own rows."""
    real_now = real_now or now
    due, doubtful = _claimable(session.get_bind().dialect.name == "postgresql", bool(kinds))
    values = {"now": now, "real_now": real_now, "limit": limit, "kinds": list(kinds or ()), "channels": list(channels)}
    found = session.execute(due, values).all() + session.execute(doubtful, values).all()
    rows = sorted(found, key=lambda r: (r.send_at, r.id))[:limit]
    doubt = [r.id for r in rows if r.state == SENDING]
    if doubt:
        session.execute(
            update(T)
            .where(T.c.id.in_(doubt))
            .values(last_error=case((T.c.last_error == "", IN_DOUBT), else_=T.c.last_error + "; " + IN_DOUBT))
        )
    if rows:
        session.execute(_CLAIM, {"ids": [r.id for r in rows], "owner": owner, "until": real_now + lease})
    return rows


@lru_cache(maxsize=4)
def _claimable(postgresql: bool, of_kinds: bool) -> tuple[Select, Select]:
    """The two halves of ``claimable``, built once: apart, each walks
    ix_outbox_due in order and stops at the limit (OR'ed, SQLite would sort
    every pending row, bytes and all, for each batch)."""
    moment = T.c.next_attempt_at.type
    halves = []
    for where in (
        and_(
            T.c.state == PENDING,
            T.c.next_attempt_at <= bindparam("now", type_=moment),
            T.c.expires_at > bindparam("now", type_=moment),
        ),
        and_(T.c.state == SENDING, T.c.lease_until < bindparam("real_now", type_=moment)),
    ):
        query = select(*MESSAGE).where(where, T.c.channel.in_(bindparam("channels", expanding=True)))
        if of_kinds:
            query = query.where(T.c.kind.in_(bindparam("kinds", expanding=True)))
        query = query.order_by(T.c.send_at, T.c.id).limit(bindparam("limit"))
        halves.append(query.with_for_update(skip_locked=True) if postgresql else query)
    return halves[0], halves[1]


_CLAIM = (
    update(T)
    .where(T.c.id.in_(bindparam("ids", expanding=True)))
    .values(state=SENDING, lease_owner=bindparam("owner"), lease_until=bindparam("until", type_=T.c.lease_until.type))
)
_SENT = (
    update(T)
    .where(T.c.id == bindparam("row_id"), T.c.lease_owner == bindparam("owner"))
    .values(
        state=SENT,
        sent_at=bindparam("at", type_=T.c.sent_at.type),
        lease_until=None,
        refused=bindparam("refused", type_=T.c.refused.type),
    )
)


_SENT_CLEARED = _SENT.values(mime=None, context={})


def mark_sent(
    db: Session | Connection, row_id: int, owner: str, now: datetime, refused: dict | None = None, secret: bool = False
) -> None:
    """One UPDATE by primary key, under our lease: on the sender's autocommit
    connection, its own durable transaction. A ``secret`` message's words and
    bytes go in the same statement: sent, its link is no longer kept."""
    db.execute(
        _SENT_CLEARED if secret else _SENT, {"row_id": row_id, "owner": owner, "at": now, "refused": refused or None}
    )


def mark_retry(
    db: Session | Connection, row_id: int, owner: str, now: datetime, error: str, not_before: datetime | None = None
) -> str:
    """A temporary failure: back off and try again while the message is still
    useful; once its lifetime is over it expires (listed, counted, summarized),
    however many attempts that took (a server answering 451 all day). A
    provider's own ``retry_after`` is ``not_before``: no attempt before it."""
    attempts = db.execute(select(T.c.attempts).where(T.c.id == row_id, T.c.lease_owner == owner)).scalar()
    if attempts is None:
        return ""
    db.execute(
        update(T)
        .where(T.c.id == row_id, T.c.lease_owner == owner)
        .values(
            state=PENDING,
            attempts=attempts + 1,
            last_error=error[:2000],
            lease_until=None,
            next_attempt_at=max(retry_at(now, attempts + 1), not_before or now),
        )
    )
    return PENDING


def mark_failed(db: Session | Connection, row_id: int, owner: str, error: str, secret: bool = False) -> None:
    """Refused for good; a ``secret`` message's words and bytes go with it."""
    cleared = {"mime": None, "context": {}} if secret else {}
    db.execute(
        update(T)
        .where(T.c.id == row_id, T.c.lease_owner == owner)
        .values(state=FAILED, lease_until=None, last_error=error[:2000], attempts=T.c.attempts + 1, **cleared)
    )


def release(session: Session, owner: str, ids: list[int]) -> None:
    """Give back rows claimed but not attempted (a graceful stop)."""
    if ids:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(ids), OutboxRow.lease_owner == owner, OutboxRow.state == SENDING)
            .values(state=PENDING, lease_until=None)
        )


def cancel(session: Session, keys: list[str], reason: str) -> int:
    if not keys:
        return 0
    result = session.execute(
        update(OutboxRow)
        .where(OutboxRow.key.in_(keys), OutboxRow.state == PENDING)
        .values(state=CANCELLED, last_error=reason)
    )
    return result.rowcount or 0


def supersede(session: Session, replaced: list[tuple[Message, str]]) -> int:
    """Mark pending rows superseded, each with the reminder that goes instead.
    Rows are found by what the key is made of, not by the key: a row read
    back has its moments in UTC, while its key was made in the plan's zone."""
    done = 0
    for m, by in replaced:
        done += (
            session.execute(
                update(T)
                .where(
                    T.c.kind == m.kind,
                    T.c.about == m.about,
                    T.c.recipient == m.recipient.strip().lower(),
                    T.c.announces == bindparam("announces", m.announces, type_=T.c.announces.type),
                    T.c.state == PENDING,
                    T.c.channel == m.channel,
                )
                .values(state=SUPERSEDED, last_error=f"superseded by {by}")
            ).rowcount
            or 0
        )
    return done


def expire(session: Session, now: datetime) -> int:
    """Pending rows whose lifetime is over become 'expired'; a secret one
    (a password link) loses its words and bytes in the same statement."""
    stale = and_(T.c.state == PENDING, T.c.expires_at <= now)
    done = (
        session.execute(
            update(T).where(stale, T.c.kind.in_(SECRET_KINDS)).values(state=EXPIRED, mime=None, context={})
        ).rowcount
        or 0
    )
    return done + (session.execute(update(T).where(stale).values(state=EXPIRED)).rowcount or 0)


def as_message(row: OutboxRow | Row) -> Message:
    return Message(
        row.kind,
        row.about,
        row.recipient,
        row.announces,
        row.send_at,
        row.expires_at,
        row.lang,
        tuple(row.cc or ()),
        row.context or {},
        getattr(row, "channel", "email"),
    )
