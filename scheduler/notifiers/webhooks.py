"""The webhooks channel: one signed POST per attempt (issue 19).

The body is the event's JSON as planned (compact, UTF-8); the headers are
Standard Webhooks' three (``reminders.webhook_signing``), signed anew at
each attempt with its own timestamp, the event id unchanged. What the
endpoint answers decides: 2xx delivered; 410 Gone, the endpoint says it is
gone (Unreachable: shown to admins, not retried); 429 or 503 with
Retry-After, when it says; any other 4xx refused for good; 5xx, a timeout
or a dropped connection, later with backoff.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from scheduler import __version__
from scheduler.errors import N_, InputError
from scheduler.fetching.posting import Answer, post
from scheduler.harvest.proposals import FetchFailed
from scheduler.notifiers.chat import Delivery, Sender
from scheduler.reminders.outbox import PermanentFailure, TemporaryFailure, Unreachable
from scheduler.reminders.webhook_signing import headers
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.outbox import as_message, mark_failed, mark_sent
from scheduler.store.provider_secrets import sealer_of
from scheduler.store.webhooks import body, endpoint, keep_status, test_row

USER_AGENT = f"LichTuyenTruyen-Webhooks/{__version__}"
SHOWN = 200  # characters of an answer kept as the row's last status
PRIVATE = N_(
    "{url}: {host} is at {address}, a private, loopback or reserved address; webhooks go to public "
    "addresses only (NOTIFY_ALLOW lists the allowed exceptions)"
)


def retry_after(value: str, now: datetime) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), or None.

    >>> from datetime import UTC
    >>> now = datetime(2024, 3, 1, tzinfo=UTC)
    >>> retry_after("120", now), retry_after("Fri, 01 Mar 2024 00:01:00 GMT", now), retry_after("soon", now)
    (120.0, 60.0, None)
    """
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


def status_of(answer: Answer) -> str:
    """What the row keeps of an answer: its status and the first characters."""
    text = answer.body[: SHOWN * 4].decode("utf-8", "replace")[:SHOWN]
    return f"HTTP {answer.status} {answer.reason}: {text}".strip().rstrip(":")


class WebhookSender:
    """Sends one webhook row per ``send``; ``last_status`` is its last answer."""

    channel = "webhook"

    def __init__(self, allow: tuple, timeout: float):
        self.allow, self.timeout = allow, timeout
        self.last_status = ""

    def attempt(self, delivery: Delivery, now: datetime) -> Answer:
        """One POST, the answer whatever its status (``webhooks test`` prints it)."""
        sent = body(delivery.message.context)
        signed = headers(delivery.secret, delivery.event_id, int(now.timestamp()), sent)
        return post(
            delivery.address,
            sent,
            headers={**signed, "Content-Type": "application/json; charset=utf-8"},
            timeout=self.timeout,
            allow=self.allow,
            user_agent=USER_AGENT,
        )

    def send(self, delivery: Delivery, now: datetime) -> None:
        try:
            answer = self.attempt(delivery, now)
        except FetchFailed as e:
            self.last_status = e.render()
            if "private, loopback or reserved" in e.message:  # where it points is refused, every time
                self.last_status = PRIVATE.format(**e.params)  # vet's own words speak of the harvester
                raise PermanentFailure(self.last_status) from None
            raise TemporaryFailure(self.last_status) from None
        self.last_status = status_of(answer)
        if 200 <= answer.status < 300:
            return
        if answer.status == 410:
            raise Unreachable(f"{self.last_status} (the endpoint is gone: disabled)")
        if answer.status in (429, 503):
            wait = retry_after(answer.headers.get("retry-after", ""), now)
            raise TemporaryFailure(self.last_status, retry_after=wait)
        if 400 <= answer.status < 500:
            raise PermanentFailure(self.last_status)
        raise TemporaryFailure(self.last_status)  # 5xx, or a 1xx/3xx that did not deliver

    def close(self) -> None:
        pass


def sender_for(settings: Settings, db: Database) -> Sender | None:
    """Always a sender: a webhook needs nothing configured but its endpoint."""
    return WebhookSender(settings.notify_allow, settings.notify_timeout)


def send_test(db: Database, settings: Settings, webhook_id: int, now: datetime) -> tuple[bool, str]:
    """Send ``webhook.test`` to one endpoint now, synchronously: (delivered,
    its answer). The attempt is listed with the endpoint's deliveries; it is
    not retried (whoever asked sees the answer), but a crash mid-send leaves
    it to the notify job, as any row in doubt."""
    sealer = sealer_of(settings)
    owner = f"webhooks-test-{webhook_id}-{now.timestamp()}"
    with db.transaction() as s:
        target = endpoint(s, sealer, webhook_id)
        if target is None:
            raise InputError(N_("no webhook {id}"), id=webhook_id)
        data = {"webhook": webhook_id, "message": "Thử webhook / webhook test"}
        row = test_row(s, webhook_id, data, now, owner, timedelta(seconds=settings.notify_timeout + 60))
    delivery = Delivery(row.id, as_message(row), row.message_id, target.url, secret=target.secret)
    sender = WebhookSender(settings.notify_allow, settings.notify_timeout)
    try:
        sender.send(delivery, now)
        delivered = True
    except (TemporaryFailure, PermanentFailure):
        delivered = False
    with db.transaction() as s:
        if delivered:
            mark_sent(s, row.id, owner, now)
        else:
            mark_failed(s, row.id, owner, sender.last_status)
        keep_status(s, row.id, sender.last_status)
    return delivered, sender.last_status
