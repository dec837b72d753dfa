"""What the Telegram poller keeps: who polls (a lease), where it stopped
(the next update's id), and what it heard of chats (a person who blocked
the bot, a group that removed it or became a supergroup).

One poller at a time across processes and machines: Telegram answers 409
Conflict to a second getUpdates. The lease is a ``harvest_hosts`` row of
its own name (the harvester leases a host only when it has a source there,
and no source has this name), claimed by one guarded UPDATE as the
harvester's. The offset is a named counter advanced only forward, in the
transaction that acts on the update: an update is acted on once even if
two pollers ever read it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from scheduler.store.notifier_links import ACTIVE, BLOCKED, block_address
from scheduler.store.notifier_tables import GroupChatRow, NotifierLinkRow
from scheduler.store.tables import CounterRow, HarvestHostRow

LEASE_NAME = "telegram:getUpdates"  # not a host name: no harvest source can have it
OFFSET = "telegram_update_offset"
SEEN_DAY = "telegram_update_day"  # the day (ordinal) of the last update acted on
RESET_DAYS = 6  # Telegram numbers updates at random after a week without any
CHANNEL = "telegram"
H = HarvestHostRow


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def claim_poll(session: Session, owner: str, now: datetime, lease: timedelta) -> bool:
    """The poller's lease for ``owner`` until ``now + lease`` (also when it
    already holds it); False while another holds it. Commit right after."""
    session.execute(_insert(session)(H).values(host=LEASE_NAME).on_conflict_do_nothing(index_elements=[H.host]))
    claimed = session.execute(
        update(H)
        .where(H.host == LEASE_NAME, or_(H.lease_owner.is_(None), H.lease_until < now, H.lease_owner == owner))
        .values(lease_owner=owner, lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def release_poll(session: Session, owner: str, now: datetime) -> None:
    session.execute(
        update(H)
        .where(H.host == LEASE_NAME, H.lease_owner == owner)
        .values(lease_owner=None, lease_until=None, last_request_at=now)
        .execution_options(synchronize_session=False)
    )


def offset(session: Session, now: datetime) -> tuple[int, int]:
    """(the offset to ask getUpdates with, the one kept: what ``advance``
    moves from). The first is the second, or 0 (whatever Telegram has not
    had confirmed) once no update came for RESET_DAYS: Telegram then numbers
    the next update at random, maybe below ours, and every update we acted
    on was confirmed by a later getUpdates long since."""
    insert = _insert(session)
    for name in (OFFSET, SEEN_DAY):
        session.execute(insert(CounterRow).values(name=name, value=0).on_conflict_do_nothing(index_elements=["name"]))
    value = session.get(CounterRow, OFFSET, populate_existing=True)
    seen = session.get(CounterRow, SEEN_DAY, populate_existing=True)
    kept = value.value if value else 0
    if seen is None or _day(now) - seen.value >= RESET_DAYS:
        return 0, kept
    return kept, kept


def advance(session: Session, owner: str, held: int, update_id: int, now: datetime, lease: timedelta) -> bool:
    """Past ``update_id``, with the lease renewed: True when this poller is
    the one to act on it (in this same transaction). The offset moves only
    from ``held``, the one this poller asked with or last set: False when
    another moved it (the update was acted on) or the lease was lost."""
    renewed = session.execute(
        update(H)
        .where(H.host == LEASE_NAME, H.lease_owner == owner)
        .values(lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    if not renewed.rowcount:  # type: ignore[attr-defined]
        return False
    moved = session.execute(
        update(CounterRow)
        .where(CounterRow.name == OFFSET, CounterRow.value == held)
        .values(value=update_id + 1)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(
        update(CounterRow)
        .where(CounterRow.name == SEEN_DAY)
        .values(value=_day(now))
        .execution_options(synchronize_session=False)
    )
    return True


def _day(now: datetime) -> int:
    return now.toordinal()


def block(session: Session, address: str, why: str, now: datetime) -> int:
    """The person's link or the group chat at ``address`` can no longer be
    reached (the bot was blocked, kicked or left): blocked, shown to admins."""
    return block_address(session, CHANNEL, address, why, now)


def reopen(session: Session, address: str, now: datetime) -> int:
    """The bot is back in the chat (unblocked, added again): a link that was
    blocked is active again; one that was never blocked is left as it is."""
    found = session.execute(
        update(NotifierLinkRow)
        .where(NotifierLinkRow.channel == CHANNEL, NotifierLinkRow.address == address, NotifierLinkRow.state == BLOCKED)
        .values(state=ACTIVE, last_error="", changed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return (
        found
        + session.execute(  # type: ignore[attr-defined]
            update(GroupChatRow)
            .where(GroupChatRow.channel == CHANNEL, GroupChatRow.address == address, GroupChatRow.state == BLOCKED)
            .values(state=ACTIVE, last_error="")
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def move(session: Session, old: str, new: str) -> int:
    """A group became a supergroup: its chat id changed from ``old`` to
    ``new``. The group's row follows it (unless ``new`` is linked already)."""
    if not old or not new or old == new:
        return 0
    taken = select(GroupChatRow.id).where(GroupChatRow.channel == CHANNEL, GroupChatRow.address == new)
    if session.scalars(taken).first() is not None:
        return 0
    return session.execute(  # type: ignore[attr-defined]
        update(GroupChatRow)
        .where(GroupChatRow.channel == CHANNEL, GroupChatRow.address == old)
        .values(address=new)
        .execution_options(synchronize_session=False)
    ).rowcount
