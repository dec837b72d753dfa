"""Webhook endpoints and the events they receive, through the outbox.

An admin registers an endpoint with the events it wants; its signing
secret is made here, shown once, and kept sealed (``sealer_of``). Each
event becomes one outbox row per subscribed endpoint, in the transaction
of what it tells (an event exists if and only if that committed): channel
"webhook", recipient "webhook:ID", kind the event, its message_id the
event's stable id (the ``webhook-id`` header, the same on every retry).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from scheduler.bounds import LIMITS, SHORT, FieldError
from scheduler.errors import N_, InputError
from scheduler.reminders.outbox import EVENTS, Message
from scheduler.reminders.webhook_signing import new_secret
from scheduler.sealing import Sealer
from scheduler.store.notifier_tables import WebhookRow
from scheduler.store.outbox import MESSAGE, PENDING, SENDING
from scheduler.store.tables import OutboxRow

TEST_EVENT = "webhook.test"  # sent by hand (`webhooks test`, the admin page), never subscribed to
LIFETIME = timedelta(days=3)  # an event not delivered in three days expires (and is listed)
MAX_WEBHOOKS = 100
T = OutboxRow.__table__


@dataclass(frozen=True)
class Endpoint:
    """Where a webhook row goes, with its opened secret (never logged)."""

    id: int
    url: str
    secret: str


def recipient(webhook_id: int) -> str:
    return f"webhook:{webhook_id}"


def webhook_of(recipient_: str) -> int | None:
    """The endpoint's id in a row's recipient "webhook:ID", or None."""
    head, _, tail = recipient_.partition(":")
    return int(tail) if head == "webhook" and tail.isascii() and tail.isdigit() else None


def vet_url(url: str) -> str:
    """An http(s) URL with a host, at most LIMITS["url"] characters. Where it
    may point (public addresses only unless NOTIFY_ALLOW) is checked when sent."""
    url = url.strip()
    if len(url) > LIMITS["url"]:
        raise FieldError("url", N_("{field}: at most {limit} characters"), field="url", limit=LIMITS["url"])
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise FieldError("url", N_("url: not an http:// or https:// address ({value})"), value=url[:100])
    return url


def vet_events(events: list[str] | str) -> list[str]:
    """Known event names, each once, in the order given."""
    names = [e.strip() for e in events.split(",")] if isinstance(events, str) else [e.strip() for e in events]
    names = list(dict.fromkeys(n for n in names if n))
    unknown = [n for n in names if n not in EVENTS]
    if unknown or not names:
        raise FieldError(
            "events",
            N_('events: unknown event "{value}" (accepted: {allowed})'),
            value=(unknown or [""])[0][:100],
            allowed=", ".join(EVENTS),
        )
    return names


def add(
    session: Session, sealer: Sealer, url: str, events: list[str] | str, description: str, by: str, now: datetime
) -> tuple[WebhookRow, str]:
    """Register an endpoint; returns it and its secret, the only time the secret is shown."""
    url, names = vet_url(url), vet_events(events)
    if len(description) > SHORT:
        raise FieldError("description", N_("{field}: at most {limit} characters"), field="description", limit=SHORT)
    if len(active(session)) >= MAX_WEBHOOKS:
        raise InputError(N_("at most {limit} webhooks"), limit=MAX_WEBHOOKS)
    secret = new_secret()
    row = WebhookRow(
        url=url,
        events=names,
        secret_sealed=sealer.seal(secret, now),
        description=description.strip(),
        created_at=now,
        created_by=by[: LIMITS["email"]],
    )
    session.add(row)
    session.flush()
    return row, secret


def active(session: Session) -> list[WebhookRow]:
    return list(session.scalars(select(WebhookRow).where(WebhookRow.removed_at.is_(None)).order_by(WebhookRow.id)))


def listed(session: Session, removed: bool = False) -> list[WebhookRow]:
    """Every endpoint (the removed ones too when asked), by id."""
    return active(session) if not removed else list(session.scalars(select(WebhookRow).order_by(WebhookRow.id)))


def remove(session: Session, webhook_id: int, now: datetime) -> WebhookRow:
    """Soft removal: its rows stay listed; pending ones are no longer sent."""
    row = session.get(WebhookRow, webhook_id)
    if row is None or row.removed_at is not None:
        raise InputError(N_("no webhook {id}"), id=webhook_id)
    row.removed_at = now
    return row


def endpoint_row(session: Session, webhook_id: int | None) -> WebhookRow | None:
    """The endpoint of "webhook:ID" rows, or None once it is removed (the row then fails for good)."""
    row = session.get(WebhookRow, webhook_id) if webhook_id is not None else None
    return row if row is not None and row.removed_at is None else None


def endpoint(session: Session, sealer: Sealer, webhook_id: int) -> Endpoint | None:
    row = endpoint_row(session, webhook_id)
    return Endpoint(row.id, row.url, sealer.open(row.secret_sealed)) if row is not None else None


def event_id(key: str) -> str:
    """The stable id of one event for one endpoint (its outbox key's digest)."""
    return "evt_" + hashlib.sha256(key.encode()).hexdigest()[:32]


def payload(event: str, id_: str, timestamp: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    """The body every endpoint receives (Standard Webhooks' shape)."""
    return {"type": event, "id": id_, "timestamp": timestamp.isoformat(), "data": dict(data)}


def body(context: Mapping[str, Any]) -> bytes:
    """The JSON sent: compact, UTF-8 (Vietnamese as is)."""
    return json.dumps(context, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def emit(
    session: Session,
    event: str,
    about: str,
    data: Mapping[str, Any],
    now: datetime,
    moment: datetime | None = None,
    only: int | None = None,
) -> int:
    """One outbox row per active endpoint subscribed to ``event`` (or endpoint
    ``only``), in the caller's transaction; ``moment`` (default ``now``) is what
    the event announces: the same (event, subject, moment) is emitted once.
    Returns how many rows are new."""
    moment = moment or now
    targets = [w for w in active(session) if (w.id == only if only is not None else event in (w.events or []))]
    rows = []
    for w in targets:
        m = Message(event, about, recipient(w.id), moment, now, now + LIFETIME, channel="webhook")
        id_ = event_id(m.key)
        rows.append(
            {
                "key": m.key,
                "kind": event,
                "about": about[:400],
                "recipient": m.recipient,
                "cc": [],
                "lang": "vi",
                "context": payload(event, id_, moment, data),
                "announces": moment,
                "send_at": now,
                "expires_at": now + LIFETIME,
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "message_id": id_,
                "last_error": "",
                "created_at": now,
                "channel": "webhook",
            }
        )
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(T).values(rows).on_conflict_do_nothing(index_elements=["key"]).returning(T.c.id)
    return len(session.execute(statement).all())


def subscribed(session: Session, event: str) -> bool:
    """Whether any endpoint wants ``event`` (callers skip building its data otherwise)."""
    return any(event in (w.events or []) for w in active(session))


def deliveries(session: Session, webhook_id: int, limit: int = 20) -> list:
    """The endpoint's most recent rows: what the admin page lists."""
    return list(
        session.execute(
            select(
                T.c.id, T.c.kind, T.c.state, T.c.attempts, T.c.last_error, T.c.message_id, T.c.created_at, T.c.sent_at
            )
            .where(T.c.channel == "webhook", T.c.recipient == recipient(webhook_id))
            .order_by(T.c.id.desc())
            .limit(limit)
        )
    )


def test_row(session: Session, webhook_id: int, data: Mapping[str, Any], now: datetime, owner: str, lease: timedelta):
    """A ``webhook.test`` row for one endpoint, claimed by ``owner`` at once
    (the notify job leaves it alone unless the lease runs out)."""
    about = f"test@{now.isoformat()}"
    emit(session, TEST_EVENT, about, data, now, only=webhook_id)
    key = Message(TEST_EVENT, about, recipient(webhook_id), now, now, now + LIFETIME, channel="webhook").key
    session.execute(update(T).where(T.c.key == key).values(state=SENDING, lease_owner=owner, lease_until=now + lease))
    return session.execute(select(*MESSAGE).where(T.c.key == key)).one()


def keep_status(session: Session | Connection, row_id: int, status: str) -> None:
    """The endpoint's last answer, kept on its row (a delivered row's too: the admin page shows it)."""
    session.execute(update(T).where(T.c.id == row_id).values(last_error=status[:2000]))
