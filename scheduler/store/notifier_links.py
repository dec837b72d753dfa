"""Linking a chat to a person or a team with a one-time code: the profile
page makes a code (only its SHA-256 is kept), the person sends it to the
bot (``/start CODE``) or to the Zalo OA, the poller or webhook that hears
it redeems it here, in its own transaction."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scheduler.reminders.outbox import PREFERENCES
from scheduler.store.notifier_tables import GroupChatRow, LinkCodeRow, NotifierLinkRow

CODE_LIFETIME = timedelta(minutes=30)
ACTIVE, BLOCKED = "active", "blocked"


@dataclass(frozen=True)
class Linked:
    """What a redeemed code linked: a person (user_id) or a team (agency_code)."""

    channel: str
    address: str
    user_id: int | None = None
    agency_code: str | None = None


def code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()


def new_link_code(
    session: Session, channel: str, now: datetime, *, user_id: int | None = None, agency_code: str | None = None
) -> str:
    """A fresh code for a person (``user_id``) or a team (``agency_code``),
    valid for CODE_LIFETIME; shown once, only its hash kept. Letters and
    digits only: it fits Telegram's ``start`` parameter and is typed into Zalo."""
    if (user_id is None) == (agency_code is None):
        raise ValueError("a link code is for a person or for a team")
    code = secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
    session.add(
        LinkCodeRow(
            code_sha256=code_hash(code),
            channel=channel,
            user_id=user_id,
            agency_code=agency_code,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    return code


def redeem(session: Session, channel: str, code: str, address: str, label: str, now: datetime) -> Linked | None:
    """Link ``address`` with the code's person or team; None when the code is
    unknown, used, expired or for another channel (the caller answers the
    chat in words). A person has one address per channel: a new one
    replaces the old and is active again."""
    row = session.get(LinkCodeRow, code_hash(code))
    if row is None or row.used_at is not None or row.expires_at <= now or row.channel != channel:
        return None
    claimed = session.execute(
        update(LinkCodeRow)
        .where(LinkCodeRow.code_sha256 == row.code_sha256, LinkCodeRow.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if not claimed:
        return None  # redeemed meanwhile by another poller
    if row.user_id is not None:
        link = session.scalars(
            select(NotifierLinkRow).where(NotifierLinkRow.user_id == row.user_id, NotifierLinkRow.channel == channel)
        ).first()
        if link is None:
            link = NotifierLinkRow(user_id=row.user_id, channel=channel, linked_at=now)
            session.add(link)
        link.address, link.label, link.state, link.last_error = address, label[:200], ACTIVE, ""
        link.linked_at = link.changed_at = now
        link.linked_by = "self"
        return Linked(channel, address, user_id=row.user_id)
    group = session.scalars(
        select(GroupChatRow).where(GroupChatRow.channel == channel, GroupChatRow.address == address)
    ).first()
    if group is None:
        group = GroupChatRow(channel=channel, address=address, kinds=[k for k in PREFERENCES if k != "digest"])
        session.add(group)
    group.agency_code, group.label, group.state, group.last_error = row.agency_code or "", label[:200], ACTIVE, ""
    group.linked_at, group.linked_by = now, "self"
    return Linked(channel, address, agency_code=row.agency_code)


def block_address(session: Session, channel: str, address: str, why: str, now: datetime) -> int:
    """The chat at ``address`` on ``channel`` can no longer be reached (the
    bot blocked or kicked, the OA unfollowed): the person's link and the
    group chat there are blocked with why, for admins; how many."""
    found = session.execute(
        update(NotifierLinkRow)
        .where(NotifierLinkRow.channel == channel, NotifierLinkRow.address == address)
        .values(state=BLOCKED, last_error=why[:500], changed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return (
        int(found)
        + int(
            session.execute(  # type: ignore[attr-defined]
                update(GroupChatRow)
                .where(GroupChatRow.channel == channel, GroupChatRow.address == address)
                .values(state=BLOCKED, last_error=why[:500])
                .execution_options(synchronize_session=False)
            ).rowcount
        )
    )
