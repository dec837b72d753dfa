"""The notify job: the outbox's rows for Telegram, Zalo and webhooks, sent
like mail (issue 19). It runs on the mail job's tick with its own claims:
each row once, under a lease, one attempt per claim, each result in its own
commit; a provider's ``retry_after`` is honoured; an address the provider
says is gone is marked blocked (admins see why) and not retried. Like SMTP
these APIs have no idempotency key: a worker that dies between the
provider's acceptance and our commit leaves the row 'sending', and it goes
once more when the lease runs out, never more."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from scheduler.clock import elapsed, system_now
from scheduler.daemon.runtime import DEFAULT_ZONE, WORKING_HOURS_KINDS, Runtime, lease
from scheduler.notifiers import telegram, webhooks, zalo
from scheduler.notifiers.chat import Delivery, Sender
from scheduler.notifiers.chat_text import chat_text
from scheduler.plan.reminder_policy import Policy
from scheduler.plan.workdays import WorkCalendar
from scheduler.reminders.outbox import (
    AT_ONCE_KINDS,
    CHAT_CHANNELS,
    Message,
    PermanentFailure,
    TemporaryFailure,
    Unreachable,
)
from scheduler.reminders.policy import within_hours
from scheduler.settings import Settings
from scheduler.store import outbox
from scheduler.store.database import Database
from scheduler.store.notifier_targets import mark_unreachable, target_of
from scheduler.store.provider_secrets import sealer_of
from scheduler.store.webhooks import keep_status

log = logging.getLogger("scheduler.notify")
SENDERS: dict[str, Callable[[Settings, Database], Sender | None]] = {
    "telegram": telegram.sender_for,
    "zalo": zalo.sender_for,
    "webhook": webhooks.sender_for,
}
UNLINKED = "sent by email instead"
RECHECK_SECONDS = 300.0


@dataclass(frozen=True)
class Unsendable:
    """A claimed row with nowhere to go, and why."""

    row_id: int
    message: Message
    why: str


def senders(rt: Runtime) -> dict[str, Sender]:
    """The configured channels' senders, made once per process (None from a
    factory: that channel is not configured and its rows wait). A channel not
    configured is asked again every RECHECK_SECONDS: the Zalo OA's first
    refresh token, stored with `zalo token` while the daemon runs, is picked up."""
    due = rt.senders_checked_at is not None and elapsed() - rt.senders_checked_at >= RECHECK_SECONDS
    if rt.senders is None or due:
        have = rt.senders or {}
        made = {channel: factory(rt.settings, rt.db) for channel, factory in SENDERS.items() if channel not in have}
        rt.senders = {**have, **{channel: sender for channel, sender in made.items() if sender is not None}}
        rt.senders_checked_at = elapsed()
    return rt.senders


def send_notifications(rt: Runtime, limit: int = 10, budget: float | None = None) -> dict:
    """Send what is due on the configured channels, batch after batch, for up
    to ``budget`` seconds (five ticks by default)."""
    deadline = elapsed() + (budget if budget is not None else max(1.0, 5 * rt.settings.tick_seconds))
    totals = {"sent": 0, "retried": 0, "failed": 0}
    ready = senders(rt)
    if not ready:
        return totals
    while True:
        result, attempted = _notify_batch(rt, ready, limit)
        for key in totals:
            totals[key] += result[key]
        if not attempted or rt.stop.is_set() or elapsed() >= deadline:
            return totals


def _notify_batch(rt: Runtime, ready: dict[str, Sender], limit: int) -> tuple[dict, int]:
    now = rt.clock.now()
    real_now = system_now(UTC)
    kinds = None if within_hours(now, Policy(), WorkCalendar(), DEFAULT_ZONE) else AT_ONCE_KINDS
    chats = tuple(c for c in CHAT_CHANNELS if c in ready)
    with rt.db.transaction() as s:
        rows = outbox.claim(s, rt.owner, now, lease(rt), limit, kinds, real_now, chats) if chats else []
        if "webhook" in ready:  # events go at any hour
            rows += outbox.claim(s, rt.owner, now, lease(rt), limit, None, real_now, ("webhook",))
        claimed = [_delivery(rt, s, r) for r in rows]
    counts = {"sent": 0, "retried": 0, "failed": 0}
    attempted: set[int] = set()
    try:
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for delivery in claimed:
                if rt.stop.is_set():
                    break
                moment, m = rt.clock.now(), delivery.message
                if m.channel != "webhook" and not _in_hours(m, moment):
                    continue  # in working hours, as mail; the lease returns it below
                attempted.add(delivery.row_id)
                if isinstance(delivery, Unsendable):
                    counts["failed"] += _undeliverable(rt, delivery)
                    continue
                try:
                    ready[m.channel].send(delivery, moment)
                except Exception as e:  # (a sender's bug must not leave the row in doubt)
                    counts[_failed(rt, delivery, e)] += 1
                    continue
                outbox.mark_sent(conn, delivery.row_id, rt.owner, rt.clock.now())
                if m.channel == "webhook":  # the endpoint's answer, shown on /admin/webhooks
                    keep_status(conn, delivery.row_id, getattr(ready[m.channel], "last_status", ""))
                counts["sent"] += 1
    finally:
        with rt.db.transaction() as s:
            outbox.release(s, rt.owner, [d.row_id for d in claimed if d.row_id not in attempted])
    return counts, len(attempted)


def _in_hours(m: Message, moment) -> bool:
    return m.kind not in WORKING_HOURS_KINDS or within_hours(
        moment, Policy(), WorkCalendar(), ZoneInfo(m.context.get("tz") or DEFAULT_ZONE.key)
    )


def _delivery(rt: Runtime, session, row) -> Delivery | Unsendable:
    """The row ready to send, or why it cannot go."""
    message = outbox.as_message(row)
    target = target_of(session, message.channel, message.recipient)
    if target.missing:
        return Unsendable(row.id, message, target.missing)
    try:
        secret = sealer_of(rt.settings).open(target.secret_sealed) if target.secret_sealed else ""
        text = "" if message.channel == "webhook" else chat_text(message, rt.settings.base_url)
    except Exception as e:  # (a secret sealed with a key no longer set; words that cannot be made)
        return Unsendable(row.id, message, f"{type(e).__name__}: {e}")
    return Delivery(row.id, message, row.message_id, target.address, text, secret)


def _undeliverable(rt: Runtime, row: Unsendable) -> int:
    """Nowhere to send it: failed, and a person's message whose chat is gone
    is sent by email instead (a reminder is never lost to an unlinked chat)."""
    row_id, message, why = row.row_id, row.message, row.why
    person = message.channel in CHAT_CHANNELS and "@" in message.recipient
    with rt.db.transaction() as s:
        if person:
            outbox.enqueue(s, [replace(message, channel="email")], rt.clock.now(), rt.domain, route=False)
            why = f"{why}; {UNLINKED}"
        outbox.mark_failed(s, row_id, rt.owner, why)
    log.warning("%s row %s not sent: %s", message.channel, row_id, why)
    return 1


def _failed(rt: Runtime, delivery: Delivery, error: Exception) -> str:
    """Back off (no sooner than the provider's ``retry_after``), or give up;
    an unreachable address is blocked in the same transaction."""
    m, now = delivery.message, rt.clock.now()
    with rt.db.transaction() as s:
        if isinstance(error, Unreachable):
            if m.channel != "webhook":
                mark_unreachable(s, m.channel, m.recipient, str(error), now)
            outbox.mark_failed(s, delivery.row_id, rt.owner, f"unreachable: {error}{_by_email(rt, s, m)}")
            log.error("%s %s: unreachable, blocked (%s)", m.channel, delivery.event_id, error)
            return "failed"
        if isinstance(error, PermanentFailure):
            outbox.mark_failed(s, delivery.row_id, rt.owner, f"{error}{_by_email(rt, s, m)}")
            log.error("%s %s: permanent failure, not retried (%s)", m.channel, delivery.event_id, error)
            return "failed"
        after = error.retry_after if isinstance(error, TemporaryFailure) else None
        not_before = now + timedelta(seconds=min(float(after), 86400.0)) if after else None
        text = str(error) if isinstance(error, TemporaryFailure) else f"{type(error).__name__}: {error}"
        outbox.mark_retry(s, delivery.row_id, rt.owner, now, text, not_before)
        log.warning("%s %s: temporary failure (%s)", m.channel, delivery.event_id, text)
        return "retried"


def _by_email(rt: Runtime, session, m: Message) -> str:
    """A person's chat message that cannot go (blocked, outside Zalo's
    window): its email twin is enqueued in the same transaction (same key
    as an email row already there: no double), so it is never lost."""
    if m.channel not in CHAT_CHANNELS or "@" not in m.recipient:
        return ""
    outbox.enqueue(session, [replace(m, channel="email")], rt.clock.now(), rt.domain, route=False)
    return f"; {UNLINKED}"


def close_senders(rt: Runtime) -> None:
    for sender in (rt.senders or {}).values():
        try:
            sender.close()
        except Exception:  # (stopping goes on)
            log.exception("closing the %s sender", sender.channel)
