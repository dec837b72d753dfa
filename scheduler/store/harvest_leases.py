"""The lease on a host: one worker fetches from a host at a time, across
processes, so two workers never fetch the same source twice and an outlet's
server gets one request at a time. A lease runs out (a worker that died
frees its hosts); a worker renews it between sources.

Claiming is one guarded UPDATE (``lease_owner IS NULL OR lease_until <
now``): on PostgreSQL a second worker's UPDATE waits for the first and then
finds the row taken; on SQLite the first statement of the transaction is a
write (the driver begins a transaction at the first write), so the
transactions queue on the database's lock."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from scheduler.store.tables import HarvestHostRow, HarvestSourceRow

H, S = HarvestHostRow, HarvestSourceRow
MAX_SOURCES = 100  # of one host in one turn; the rest wait for the next


def _due(now: datetime, kinds: tuple[str, ...] | None):
    found = and_(S.active.is_(True), S.next_at <= now)
    return and_(found, S.kind.in_(kinds)) if kinds else found


def _free(now: datetime):
    return or_(H.lease_owner.is_(None), H.lease_until < now)


def claim_hosts(
    session: Session,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    kinds: tuple[str, ...] | None = None,
) -> list[str]:
    """Up to ``limit`` hosts with a source due now whose lease is free or ran
    out, now leased to ``owner`` until ``now + lease``. Commit right after."""
    missing = (
        select(S.host).where(_due(now, kinds), ~exists().where(H.host == S.host)).distinct().limit(max(limit, 1) * 10)
    )
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(H).from_select([H.host], missing).on_conflict_do_nothing(index_elements=[H.host]))
    wanted = (
        select(H.host)
        .where(_free(now), exists().where(S.host == H.host, _due(now, kinds)))
        .order_by(H.host)
        .limit(limit)
    )
    claimed = session.execute(
        update(H)
        .where(H.host.in_(wanted), _free(now))  # free again: PostgreSQL re-checks it after waiting
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(H.host)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed.scalars())


def renew(session: Session, owner: str, host: str, now: datetime, lease: timedelta) -> bool:
    """Keep the host a while longer; False when the lease was lost (ran out
    and another worker took it): stop fetching from it."""
    result = session.execute(
        update(H)
        .where(H.host == host, H.lease_owner == owner)
        .values(lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def due_sources(
    session: Session, host: str, now: datetime, kinds: tuple[str, ...] | None = None
) -> list[HarvestSourceRow]:
    """The host's sources due now, the longest waiting first."""
    return list(
        session.scalars(select(S).where(S.host == host, _due(now, kinds)).order_by(S.next_at, S.id).limit(MAX_SOURCES))
    )


def release(session: Session, owner: str, host: str, now: datetime) -> None:
    """Give the host back, noting when it was last asked."""
    session.execute(
        update(H)
        .where(H.host == host, H.lease_owner == owner)
        .values(lease_owner=None, lease_until=None, last_request_at=now)
        .execution_options(synchronize_session=False)
    )
