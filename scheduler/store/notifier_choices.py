"""Which channels each person chose per kind of message, and what routing
needs of the recipients of a batch (their choices, their active links, the
group chats of their agencies), loaded in a few queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from scheduler.errors import N_, SchedulerError
from scheduler.reminders.outbox import CHAT_CHANNELS, PREFERENCES, Message
from scheduler.reminders.routing import Group, Reach, agencies_of, route
from scheduler.store.notifier_links import ACTIVE
from scheduler.store.notifier_tables import GroupChatRow, NotifierChoiceRow, NotifierLinkRow
from scheduler.store.people_tables import UserRow

PERSON_CHANNELS = ("email", *CHAT_CHANNELS)
_CHUNK = 500


class ChoiceError(SchedulerError):
    pass


def choices_of(session: Session, user_id: int) -> dict[str, tuple[str, ...]]:
    """Every preference group with its channels (email where nothing was chosen)."""
    found = {
        r.kind: tuple(r.channels)
        for r in session.scalars(select(NotifierChoiceRow).where(NotifierChoiceRow.user_id == user_id))
    }
    return {group: found.get(group, ("email",)) for group in PREFERENCES}


def set_choice(session: Session, user_id: int, group: str, channels: Sequence[str]) -> None:
    """Keep one group's channels; email alone removes the row (the default).
    Email may be left out only when another channel the person linked and
    can be reached on is kept, so a reminder always has somewhere to go."""
    if group not in PREFERENCES:
        raise ChoiceError(
            N_("unknown kind of message {value}; accepted: {accepted}"),
            value=group[:40],
            accepted=", ".join(PREFERENCES),
        )
    wanted = [c for c in PERSON_CHANNELS if c in set(channels)]
    unknown = sorted(set(channels) - set(PERSON_CHANNELS))
    if unknown:
        raise ChoiceError(
            N_("unknown channel {value}; accepted: {accepted}"),
            value=unknown[0][:40],
            accepted=", ".join(PERSON_CHANNELS),
        )
    linked = active_links(session, user_id)
    if "email" not in wanted and not any(c in linked for c in wanted):
        raise ChoiceError(N_("keep email or a linked chat for {value}: a reminder must reach you"), value=group)
    session.execute(
        delete(NotifierChoiceRow).where(NotifierChoiceRow.user_id == user_id, NotifierChoiceRow.kind == group)
    )
    if wanted != ["email"]:
        session.add(NotifierChoiceRow(user_id=user_id, kind=group, channels=wanted))


def active_links(session: Session, user_id: int) -> set[str]:
    return set(
        session.scalars(
            select(NotifierLinkRow.channel).where(NotifierLinkRow.user_id == user_id, NotifierLinkRow.state == ACTIVE)
        )
    )


def reach_of(session: Session, emails: Iterable[str]) -> dict[str, Reach]:
    """The routing facts of the people among ``emails`` who chose anything
    (one query per 500 addresses for choices, one for their links)."""
    wanted = sorted({e.strip().lower() for e in emails})
    choices: dict[str, dict[str, tuple[str, ...]]] = {}
    users: dict[int, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = session.execute(
            select(UserRow.id, func.lower(UserRow.email), NotifierChoiceRow.kind, NotifierChoiceRow.channels)
            .join(NotifierChoiceRow, NotifierChoiceRow.user_id == UserRow.id)
            .where(func.lower(UserRow.email).in_(chunk), UserRow.disabled.is_(False))
        )
        for user_id, email, kind, channels in rows:
            users[user_id] = email
            choices.setdefault(email, {})[kind] = tuple(channels or ())
    linked: dict[str, set[str]] = {}
    ids = sorted(users)
    for start in range(0, len(ids), _CHUNK):
        for user_id, channel in session.execute(
            select(NotifierLinkRow.user_id, NotifierLinkRow.channel).where(
                NotifierLinkRow.user_id.in_(ids[start : start + _CHUNK]), NotifierLinkRow.state == ACTIVE
            )
        ):
            linked.setdefault(users[user_id], set()).add(channel)
    return {email: Reach(c, frozenset(linked.get(email, ()))) for email, c in choices.items()}


def groups_of(session: Session, agencies: Iterable[str]) -> list[Group]:
    """The active group chats of these agencies."""
    wanted = sorted(set(agencies))
    if not wanted:
        return []
    return [
        Group(r.id, r.agency_code, r.channel, tuple(r.kinds or ()))
        for r in session.scalars(
            select(GroupChatRow).where(GroupChatRow.agency_code.in_(wanted), GroupChatRow.state == ACTIVE)
        )
    ]


def routed(session: Session, messages: Iterable[Message]) -> list[Message]:
    """The messages as the outbox keeps them: one per chosen channel, plus
    the group chats' copies (``reminders.routing``)."""
    messages = list(messages)
    emails = [m.recipient for m in messages if m.channel == "email"]
    if not emails:
        return messages
    return route(messages, reach_of(session, emails), groups_of(session, agencies_of(messages)))
