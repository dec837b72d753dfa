"""The outbox, pure: what a message owed to someone is, its unique key, its
Message-ID, and how a failed send is retried.

Every message becomes a row with a unique key before anything is sent, so it
goes out once however often it is planned, across restarts and processes.
The key says what it is about and the moment it announces, never its
wording: editing a title does not resend a reminder; a moved due date makes
a new one.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

KINDS = (
    *("milestone", "due", "at_risk", "overdue", "digest", "moved", "cancelled", "report", "password", "expiry"),
    "succession",
    "check_failed",
)
# Kinds whose words carry a secret (a password link's one-time token): their
# row keeps it only until it is sent or can no longer be (see store.outbox.clear).
SECRET_KINDS = ("password",)
# Kinds sent at any hour: a password link, and a portal check that failed
# (a public page down is fixed when someone reads of it, the day it fails).
AT_ONCE_KINDS = ("password", "check_failed")
# Where a message can go (issue 19): email, a person's or a team's chat, an endpoint of ours.
CHANNELS = ("email", "telegram", "zalo", "webhook")
CHAT_CHANNELS = ("telegram", "zalo")
# What a person chooses channels for: each kind of message belongs to one group
# (a password link is email only, and never routed elsewhere).
PREFERENCES: dict[str, tuple[str, ...]] = {
    "due": ("milestone", "due"),
    "at_risk": ("at_risk",),
    "overdue": ("overdue",),
    "digest": ("digest",),
    "notices": ("moved", "cancelled", "report", "expiry", "succession", "check_failed"),
}
# The events a webhook may ask for (issue 19): an outbox row of channel
# "webhook" has one of them as its kind.
EVENTS = ("occurrence.at_risk", "occurrence.missed", "delivery.recorded", "period.closed", "plan.loaded")
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)


@dataclass(frozen=True)
class Message:
    """One email owed to one recipient."""

    kind: str
    about: str  # an occurrence id, "occurrence#step", "agency@2024-W10", "plan@2024-03", ...
    recipient: str
    announces: datetime  # the moment it is about (due, milestone day, window end, week start)
    send_at: datetime  # not before (the start of a working day in the plan's zone)
    expires_at: datetime  # not after: a reminder for a moment long gone is noise
    lang: str = "vi"
    cc: tuple[str, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)  # what the template shows (JSON-able)
    # email; or a person's chat (recipient: their email), a group chat
    # (recipient "group:ID"), a webhook (recipient "webhook:ID", kind an EVENT)
    channel: str = "email"

    @property
    def key(self) -> str:
        return message_key(self.kind, self.about, self.recipient, self.announces, self.channel)


def message_key(kind: str, about: str, recipient: str, announces: datetime, channel: str = "email") -> str:
    """Unique per (kind, subject, recipient, announced moment, channel); an
    email's key is as it always was, so rows planned before channels existed
    are still found.

    >>> from datetime import timezone
    >>> message_key("due", "p.o.2024-03.1", "A@X.vn", datetime(2024, 3, 15, 10, tzinfo=timezone.utc))
    'due|p.o.2024-03.1|a@x.vn|2024-03-15T10:00:00+00:00'
    >>> message_key("due", "p.o.2024-03.1", "a@x.vn", datetime(2024, 3, 15, 10, tzinfo=timezone.utc), "zalo")
    'zalo:due|p.o.2024-03.1|a@x.vn|2024-03-15T10:00:00+00:00'
    """
    key = f"{kind}|{about}|{recipient.strip().lower()}|{announces.isoformat()}"
    return key if channel == "email" else f"{channel}:{key}"


def message_id(key: str, domain: str) -> str:
    """The same Message-ID every time this message is (re)sent, so a message
    whose fate a crash left unknown shows once in mail clients."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def retry_at(now: datetime, attempts: int, rng: random.Random | None = None) -> datetime:
    """Capped exponential backoff with full jitter after ``attempts`` failures.

    >>> now = datetime(2024, 1, 1)
    >>> retry_at(now, 1, random.Random(1)) - now <= timedelta(minutes=1)
    True
    """
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))
    fraction = (rng or random.Random()).random()
    return now + timedelta(seconds=max(1.0, ceiling.total_seconds() * fraction))


class TemporaryFailure(Exception):
    """Try again later: a 4xx reply, a timeout, a refused or dropped connection.
    ``retry_after`` (seconds) is the provider's own word on when (a 429's
    retry_after, a Retry-After header): honoured instead of our backoff when longer."""

    def __init__(self, *args: object, retry_after: float | None = None):
        super().__init__(*args)
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """Do not try again: a 5xx reply, every recipient refused."""


class Unreachable(PermanentFailure):
    """The address itself is gone (the bot blocked, the OA unfollowed, the
    chat deleted): not retried, and the link is marked so admins see it."""
