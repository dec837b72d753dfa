"""Where a claimed outbox row of a chat channel or a webhook goes, looked
up when it is sent (a person who linked another chat meanwhile gets it
there), and marking an address the provider says is gone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from scheduler.store.notifier_links import ACTIVE, BLOCKED
from scheduler.store.notifier_tables import GroupChatRow, NotifierLinkRow
from scheduler.store.people_tables import UserRow
from scheduler.store.webhooks import endpoint_row, webhook_of

GROUP = "group:"


@dataclass(frozen=True)
class Target:
    """An address to send to, or why there is none (``missing``)."""

    address: str = ""
    secret_sealed: str = ""  # a webhook's signing secret, still sealed
    missing: str = ""


def target_of(session: Session, channel: str, recipient: str) -> Target:
    """A person's active link on ``channel``; a group chat (``group:ID``); a
    webhook (``webhook:ID``) and its sealed secret."""
    if channel == "webhook":
        hook = endpoint_row(session, webhook_of(recipient))
        if hook is None:
            return Target(missing=f"webhook {recipient} is unknown or removed")
        return Target(hook.url, hook.secret_sealed)
    number = _id(recipient, GROUP)
    if recipient.startswith(GROUP):
        group = session.get(GroupChatRow, number) if number is not None else None
        if group is None or group.channel != channel:
            return Target(missing=f"group chat {recipient} is unknown or removed")
        if group.state != ACTIVE:
            return Target(missing=f"group chat {recipient} is blocked: {group.last_error}")
        return Target(group.address)
    link = session.execute(
        select(NotifierLinkRow.address, NotifierLinkRow.state, NotifierLinkRow.last_error)
        .join(UserRow, UserRow.id == NotifierLinkRow.user_id)
        .where(func.lower(UserRow.email) == recipient.strip().lower(), NotifierLinkRow.channel == channel)
    ).first()
    if link is None:
        return Target(missing=f"{recipient} has no linked {channel} chat")
    if link.state != ACTIVE:
        return Target(missing=f"{recipient}'s {channel} chat is blocked: {link.last_error}")
    return Target(link.address)


def mark_unreachable(session: Session, channel: str, recipient: str, error: str, now: datetime) -> None:
    """The provider says the address is gone (bot blocked, OA unfollowed, chat
    deleted): the link or group chat is 'blocked' with why, for admins, and
    routing sends its person's next messages by email."""
    error = error[:2000]
    if recipient.startswith(GROUP):
        number = _id(recipient, GROUP)
        session.execute(
            update(GroupChatRow)
            .where(GroupChatRow.id == number, GroupChatRow.channel == channel)
            .values(state=BLOCKED, last_error=error)
        )
        return
    user = select(UserRow.id).where(func.lower(UserRow.email) == recipient.strip().lower()).scalar_subquery()
    session.execute(
        update(NotifierLinkRow)
        .where(NotifierLinkRow.user_id == user, NotifierLinkRow.channel == channel)
        .values(state=BLOCKED, last_error=error, changed_at=now)
    )


def _id(recipient: str, prefix: str) -> int | None:
    tail = recipient[len(prefix) :] if recipient.startswith(prefix) else ""
    return int(tail) if tail.isdigit() and len(tail) < 18 else None
