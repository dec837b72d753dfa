"""What the Zalo channel keeps besides the notifier tables: when each
follower last wrote to the Official Account (a consultation message is
only allowed within a window after it), and the OA's two rotating tokens
with the lock that keeps two processes from spending one single-use
refresh token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from scheduler.reminders.outbox import TemporaryFailure
from scheduler.sealing import Sealer
from scheduler.store.notifier_links import block_address
from scheduler.store.notifier_tables import ProviderSecretRow, ZaloFollowerRow
from scheduler.store.provider_secrets import keep_secret, read_secret

ACCESS, REFRESH = "zalo_access_token", "zalo_refresh_token"


@dataclass(frozen=True)
class Tokens:
    access: str
    access_expires_at: datetime | None
    refresh: str


def _follower(session: Session, address: str, now: datetime) -> ZaloFollowerRow:
    row = session.get(ZaloFollowerRow, address)
    if row is None:
        row = ZaloFollowerRow(address=address, following=True, changed_at=now)
        session.add(row)
    return row


def note_interaction(session: Session, address: str, now: datetime) -> None:
    """The follower wrote to the OA (or followed it): the window opens again."""
    row = _follower(session, address, now)
    row.following, row.last_interaction_at, row.changed_at = True, now, now


def note_unfollow(session: Session, address: str, now: datetime, reason: str) -> int:
    """The follower left the OA: their link is blocked (shown to admins);
    the number of links blocked."""
    row = _follower(session, address, now)
    row.following, row.changed_at = False, now
    return int(block_links(session, address, now, reason))


def block_links(session: Session, address: str, now: datetime, reason: str) -> int:
    return block_address(session, "zalo", address, reason, now)


def last_interaction(session: Session, address: str) -> datetime | None:
    row = session.get(ZaloFollowerRow, address)
    return row.last_interaction_at if row is not None else None


def read_tokens(session: Session, sealer: Sealer) -> Tokens | None:
    """The stored tokens (no access token yet: empty); None without a refresh token."""
    refresh = read_secret(session, sealer, REFRESH)
    if refresh is None:
        return None
    access = read_secret(session, sealer, ACCESS)
    return Tokens(access.value if access else "", access.expires_at if access else None, refresh.value)


def lock_tokens(session: Session) -> bool:
    """Take the tokens' lock for the rest of the caller's transaction: an
    UPDATE of the refresh token's row, which on PostgreSQL locks that row
    and on SQLite takes the database's write lock, so a second process
    waits here and then reads what the first one stored. False when no
    refresh token is stored. Must be the transaction's first statement."""
    try:
        touched = session.execute(
            update(ProviderSecretRow)
            .where(ProviderSecretRow.name == REFRESH)
            .values(updated_at=ProviderSecretRow.updated_at)
        ).rowcount  # type: ignore[attr-defined]
    except OperationalError:  # SQLite's busy_timeout ran out while another process refreshed
        raise TemporaryFailure("Zalo: another process is refreshing the OA's tokens", retry_after=30.0) from None
    return bool(touched)


def keep_tokens(
    session: Session,
    sealer: Sealer,
    *,
    access: str,
    access_expires_at: datetime,
    refresh: str,
    refresh_expires_at: datetime | None,
    now: datetime,
) -> None:
    """Both tokens, sealed, in the caller's transaction: the new single-use
    refresh token is never stored apart from the access token it came with."""
    keep_secret(session, sealer, ACCESS, access, access_expires_at, now)
    keep_secret(session, sealer, REFRESH, refresh, refresh_expires_at, now)


def keep_first_refresh_token(session: Session, sealer: Sealer, refresh: str, now: datetime) -> None:
    """An admin's first refresh token (from the OA's authorisation): any old
    access token goes, so the next send refreshes with it."""
    keep_secret(session, sealer, REFRESH, refresh, None, now)
    old = session.get(ProviderSecretRow, ACCESS)
    if old is not None:
        session.delete(old)
