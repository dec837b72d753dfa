"""Which channels a message goes to, pure: messages in, messages out.

A message planned for a person (by email) becomes one per channel that
person chose for its kind of message; a channel they have not linked, or
whose link is blocked, falls back to email for that message, so a reminder
is never lost to a missing link. A reminder about an occurrence also goes,
once, to each active group chat of the occurrence's agency that takes its
kind, however many people of the agency get it. A message already meant
for one channel (a webhook's event, a chat message built by its caller) is
left as it is, and a password link is email only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from scheduler.reminders.outbox import CHAT_CHANNELS, PREFERENCES, Message

# The kinds a team's group chat may get: reminders about one occurrence.
GROUP_KINDS = ("milestone", "due", "at_risk", "overdue")
_GROUP_OF = {kind: group for group, kinds in PREFERENCES.items() for kind in kinds}


@dataclass(frozen=True)
class Reach:
    """What routing knows of one person: the channels chosen per preference
    group (absent: email only) and the chat channels linked and active."""

    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    linked: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Group:
    """An agency's group chat and the preference groups it takes."""

    id: int
    agency: str
    channel: str
    kinds: tuple[str, ...]
    active: bool = True


def preference_of(kind: str) -> str | None:
    """The preference group of a kind of message (None: email only).

    >>> preference_of("milestone"), preference_of("password")
    ('due', None)
    """
    return _GROUP_OF.get(kind)


def channels_for(message: Message, reach: Reach | None) -> tuple[str, ...]:
    """The channels this person's message goes to, email first when it goes
    there; an unusable choice falls back to email; a message copied to
    others keeps its email (the copy is theirs).

    >>> channels_for(Message("due", "o", "a@x.vn", *[None] * 3), Reach({"due": ("zalo",)}, frozenset({"zalo"})))
    ('zalo',)
    >>> channels_for(Message("due", "o", "a@x.vn", *[None] * 3), Reach({"due": ("zalo",)}))
    ('email',)
    """
    group = preference_of(message.kind)
    if reach is None or group is None or group not in reach.choices:
        return ("email",)
    chosen = []
    for channel in reach.choices[group]:
        usable = channel in CHAT_CHANNELS and channel in reach.linked
        chosen.append(channel if usable else "email")
    if message.cc or not chosen:
        chosen.append("email")
    found = dict.fromkeys(chosen)
    return tuple(c for c in ("email", *CHAT_CHANNELS) if c in found)


def route(messages: Iterable[Message], people: Mapping[str, Reach], groups: Iterable[Group]) -> list[Message]:
    """Each email message as one message per chosen channel (the recipient
    stays the person's email: their link is looked up when it is sent), plus
    one per group chat of the occurrence's agency; each key once, in order.
    ``people`` is keyed by lower-case email."""
    by_agency: dict[str, list[Group]] = {}
    for g in groups:
        if g.active and g.channel in CHAT_CHANNELS:
            by_agency.setdefault(g.agency, []).append(g)
    out: dict[str, Message] = {}
    for m in messages:
        if m.channel != "email" or preference_of(m.kind) is None:
            out.setdefault(m.key, m)
            continue
        for channel in channels_for(m, people.get(m.recipient.strip().lower())):
            routed = m if channel == "email" else replace(m, channel=channel, cc=())
            out.setdefault(routed.key, routed)
        for g in _groups_of(m, by_agency):
            shared = replace(m, recipient=f"group:{g.id}", channel=g.channel, cc=(), lang="vi")
            out.setdefault(shared.key, shared)
    return list(out.values())


def _groups_of(m: Message, by_agency: Mapping[str, list[Group]]) -> list[Group]:
    if m.kind not in GROUP_KINDS or not m.context.get("occurrence"):
        return []
    group = preference_of(m.kind)
    return [g for g in by_agency.get(str(m.context.get("agency") or ""), []) if group in g.kinds]


def agencies_of(messages: Iterable[Message]) -> set[str]:
    """The agencies whose group chats routing these messages may need."""
    return {
        str(m.context["agency"])
        for m in messages
        if m.kind in GROUP_KINDS and m.channel == "email" and m.context.get("agency") and m.context.get("occurrence")
    }
