"""What admins see and change of the chat notifiers: every link and group
chat (blocked ones first, with the provider's word on why), a person's
Zalo follower id or Telegram chat id set or cleared by hand, a group chat
removed, and the chat rows of the outbox that failed or are retrying."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.orm import Session

from scheduler.errors import N_, SchedulerError
from scheduler.reminders.outbox import CHAT_CHANNELS
from scheduler.store.notifier_links import ACTIVE, BLOCKED
from scheduler.store.notifier_tables import GroupChatRow, NotifierLinkRow
from scheduler.store.people_tables import UserRow
from scheduler.store.tables import OutboxRow

ADDRESS = re.compile(r"^-?[A-Za-z0-9_.:@-]{1,100}$")  # a Telegram chat id, a Zalo follower id


class NotifierError(SchedulerError):
    pass


@dataclass(frozen=True)
class Link:
    email: str
    name: str
    channel: str
    address: str
    label: str
    state: str
    last_error: str
    linked_at: datetime
    linked_by: str


def links(session: Session, user_id: int | None = None) -> list[Link]:
    """Every person's links (or one person's), blocked first, then by email."""
    query = (
        select(UserRow.email, UserRow.name, NotifierLinkRow)
        .join(NotifierLinkRow, NotifierLinkRow.user_id == UserRow.id)
        .order_by(case((NotifierLinkRow.state == BLOCKED, 0), else_=1), UserRow.email, NotifierLinkRow.channel)
    )
    if user_id is not None:
        query = query.where(UserRow.id == user_id)
    return [
        Link(email, name, r.channel, r.address, r.label, r.state, r.last_error, r.linked_at, r.linked_by)
        for email, name, r in session.execute(query)
    ]


def group_chats(session: Session, agency_code: str | None = None) -> list[GroupChatRow]:
    """Every group chat (or one agency's), blocked first."""
    query = select(GroupChatRow).order_by(
        case((GroupChatRow.state == BLOCKED, 0), else_=1), GroupChatRow.agency_code, GroupChatRow.id
    )
    if agency_code is not None:
        query = query.where(GroupChatRow.agency_code == agency_code)
    return list(session.scalars(query))


def set_link(session: Session, email: str, channel: str, address: str, by: str, now: datetime) -> None:
    """An admin sets a person's chat address (a Zalo follower id read in the
    OA's manager, a Telegram chat id): active again, whoever set it before."""
    user = _user(session, email)
    _channel(channel)
    address = address.strip()
    if not ADDRESS.match(address):
        raise NotifierError(
            N_("ADDRESS: {value} is not a chat id; accepted: up to 100 letters, digits and - _ . : @"),
            value=address[:40],
        )
    link = session.scalars(
        select(NotifierLinkRow).where(NotifierLinkRow.user_id == user.id, NotifierLinkRow.channel == channel)
    ).first()
    if link is None:
        link = NotifierLinkRow(user_id=user.id, channel=channel, linked_at=now)
        session.add(link)
    link.address, link.state, link.last_error, link.label = address, ACTIVE, "", link.label or ""
    link.linked_at = link.changed_at = now
    link.linked_by = by[:320]


def unlink(session: Session, user_id: int, channel: str) -> bool:
    """Remove a person's link; their choices stay, and what would have gone
    there goes by email until they link again."""
    _channel(channel)
    done = session.execute(
        delete(NotifierLinkRow).where(NotifierLinkRow.user_id == user_id, NotifierLinkRow.channel == channel)
    )
    return bool(done.rowcount)


def unlink_email(session: Session, email: str, channel: str) -> bool:
    return unlink(session, _user(session, email).id, channel)


def remove_group(session: Session, group_id: int) -> bool:
    return bool(session.execute(delete(GroupChatRow).where(GroupChatRow.id == group_id)).rowcount)


def chat_rows_in_trouble(session: Session, limit: int = 200) -> list[OutboxRow]:
    """Chat and webhook rows that failed or wait to be retried, newest first."""
    return list(
        session.scalars(
            select(OutboxRow)
            .where(
                OutboxRow.channel != "email",
                or_(OutboxRow.state == "failed", (OutboxRow.state == "pending") & (OutboxRow.attempts > 0)),
            )
            .order_by(OutboxRow.id.desc())
            .limit(limit)
        )
    )


def _user(session: Session, email: str) -> UserRow:
    user = session.scalars(select(UserRow).where(func.lower(UserRow.email) == email.strip().lower())).first()
    if user is None:
        raise NotifierError(N_("EMAIL: nobody signs in as {value}"), value=email[:320])
    return user


def _channel(channel: str) -> None:
    if channel not in CHAT_CHANNELS:
        raise NotifierError(
            N_("CHANNEL: {value} is not a chat channel; accepted: {accepted}"),
            value=channel[:40],
            accepted=", ".join(CHAT_CHANNELS),
        )
