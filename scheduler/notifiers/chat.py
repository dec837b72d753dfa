"""What every channel besides email is given to send, and what it answers.

The daemon claims an outbox row of a chat channel or a webhook, finds
where it goes (a person's linked chat, a group chat, an endpoint and its
opened secret) and hands a ``Delivery`` to that channel's ``Sender``. A
sender makes one attempt: it returns when the provider accepted the
message, raises ``TemporaryFailure`` (with the provider's ``retry_after``
when it gave one), ``PermanentFailure``, or ``Unreachable`` when the address
itself is gone (blocked, unfollowed). Like SMTP, these APIs have no
idempotency key: a crash between their acceptance and our commit sends it
once more when the lease runs out, never more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from scheduler.reminders.outbox import Message


@dataclass(frozen=True)
class Delivery:
    """One claimed outbox row, ready for its channel."""

    row_id: int
    message: Message
    event_id: str  # the row's stable id (its Message-ID): the same on a resend
    address: str  # a chat id, a follower id, or a webhook's URL
    text: str = ""  # a chat's short text, Vietnamese first, with the occurrence's link
    secret: str = ""  # a webhook's opened signing secret (never logged)


class Sender(Protocol):
    channel: str

    def send(self, delivery: Delivery, now: datetime) -> None: ...  # one attempt; raises on failure

    def close(self) -> None: ...
