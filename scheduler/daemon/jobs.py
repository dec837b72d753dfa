"""The daemon's jobs: thin, importable, idempotent. Each reads the clock once,
loads values, calls the pure core, writes in short transactions. All state
that matters is in our tables, so a lost or doubled tick loses nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Text, cast, or_, select

from scheduler.clock import elapsed, system_now
from scheduler.daemon.harvest_jobs import harvest
from scheduler.daemon.marking import Marks
from scheduler.daemon.notify_jobs import send_notifications
from scheduler.daemon.runtime import (  # shared with the notify job  # noqa: F401  (jobs.runtime, as callers know it)
    DEFAULT_ZONE,
    WORKING_HOURS_KINDS,
    Runtime,
    lease,
    runtime,
    smtp_config,
)
from scheduler.daemon.telegram_updates import telegram_updates
from scheduler.notifiers.letter import compose, kept, letter
from scheduler.plan.reminder_policy import Policy
from scheduler.plan.workdays import WorkCalendar
from scheduler.reminders import expiry
from scheduler.reminders.outbox import AT_ONCE_KINDS, SECRET_KINDS, Message, PermanentFailure, TemporaryFailure
from scheduler.reminders.policy import obsolete, occurrence_of, owed, superseded, within_hours
from scheduler.store import outbox, outbox_views, webhook_events
from scheduler.store.feed_items import current_change, write_items
from scheduler.store.recording import MISSING
from scheduler.store.tables import OccurrenceRow, PlanRow
from scheduler.store.watch import admin_addresses, calendar_of, dha_addresses, watched, zone

log = logging.getLogger("scheduler.jobs")


def plan_reminders(rt: Runtime) -> dict:
    """Put every message owed now into the outbox (once: insert-if-absent);
    cancel those that no longer should go; expire the stale."""
    now = rt.clock.now()
    new = cancelled = 0
    with rt.db.transaction() as s:
        for plan, items in watched(s, now, rt.settings.report_agency).values():
            calendar, tz = calendar_of(plan), zone(plan)
            messages = owed(items, now, calendar, tz)
            new += outbox.enqueue(s, messages, now, rt.domain)
            new += webhook_events.reminders(s, messages, now, rt.settings.base_url)  # issue 19
            by_id = {w.id: w for w in items}
            # stored keys by the key of the row read back (its moments in UTC, a milestone's key in the plan's zone)
            rows = [r for r in outbox_views.pending_reminders(s) if occurrence_of(r.about) in by_id]
            pending = [outbox.as_message(r) for r in rows]
            stored = {m.key: r.key for m, r in zip(pending, rows)}
            cancelled += outbox.cancel(s, [stored[k] for k in obsolete(pending, by_id)], "no longer owed")
        replaced = outbox.supersede(
            s, superseded([outbox.as_message(r) for r in outbox_views.pending_reminders(s)], now)
        )
        expired = outbox.expire(s, now)
        new += _summarize_expiry(rt, s, now)
    return {"new": new, "cancelled": cancelled, "superseded": replaced, "expired": expired, "built": build_outbox(rt)}


def _summarize_expiry(rt: Runtime, session, now: datetime) -> int:
    """Once a day, tell administrators which messages expired unsent since
    the last summary (the first one looks back a week)."""
    until = expiry.day_start(now, DEFAULT_ZONE)
    since = outbox_views.last_summary(session) or until - timedelta(days=7)
    if since >= until:
        return 0
    found = outbox_views.expired_between(session, since, until)
    messages = expiry.summary(found, admin_addresses(session), since, until, now, WorkCalendar(), DEFAULT_ZONE)
    return outbox.enqueue(session, messages, now, rt.domain)


def build_outbox(rt: Runtime, batch: int = 100) -> int:
    """Compose and build, once, the pending messages that have no bytes yet
    (planned here, by the web or by ``load``), outside any transaction, and
    keep each batch's bytes in one short one: sending then only dates them."""
    built = after = 0
    while not rt.stop.is_set():
        with rt.db.transaction() as s:
            rows = outbox.unbuilt(s, after, batch)
        done = {}
        for row in rows:
            try:
                done[row.id] = letter(
                    compose(outbox.as_message(row), row.message_id, rt.settings.mail_from, rt.settings.base_url)
                ).data
            except PermanentFailure:
                pass  # left unbuilt: its sender tries once more and records why it cannot go
        if done:
            with rt.db.transaction() as s:
                built += outbox.keep(s, done)
        if len(rows) < batch:
            break
        after = rows[-1].id
    return built


def send_outbox(rt: Runtime, limit: int = 10, budget: float | None = None) -> dict:
    """Send what is due, batch after batch, for up to ``budget`` seconds (five
    ticks by default): each message once, each result in its own commit."""
    deadline = elapsed() + (budget if budget is not None else max(1.0, 5 * rt.settings.tick_seconds))
    totals = {"sent": 0, "retried": 0, "failed": 0}
    with rt.db.transaction() as s:  # after an outage, before planning runs again: the most urgent reminder only
        now = rt.clock.now()
        outbox.supersede(s, superseded(outbox_views.owed_due(s, now), now))
    with Marks(rt.db.engine, rt.owner) as marks:  # each mark committed while the next message goes
        while True:
            result, attempted = _send_batch(rt, limit, marks)
            for key in totals:
                totals[key] += result[key]
            if not attempted or rt.stop.is_set() or elapsed() >= deadline:
                return totals


def _send_batch(rt: Runtime, limit: int, marks: Marks) -> tuple[dict, int]:
    """Claim up to ``limit`` due rows and send them; outside working hours only
    what may go at any time (``AT_ONCE_KINDS``)."""
    now = rt.clock.now()
    sent = retried = failed = 0
    kinds = None if within_hours(now, Policy(), WorkCalendar(), DEFAULT_ZONE) else AT_ONCE_KINDS
    with rt.db.transaction() as s:
        rows = outbox.claim(s, rt.owner, now, lease(rt), limit, kinds=kinds, real_now=system_now(UTC))
        claimed = [(r.id, outbox.as_message(r), r.message_id, r.mime) for r in rows]
        claimed = _built_when_claimed(rt, s, claimed)
    attempted: set[int] = set()
    try:
        for row_id, message, mid, mime in claimed:
            if rt.stop.is_set():
                break
            moment = rt.clock.now()  # the message's Date
            # public holidays and make-up days only: a plan's own moved days are not consulted here
            if message.kind in WORKING_HOURS_KINDS and not within_hours(moment, Policy(), WorkCalendar(), _tz(message)):
                continue  # reminders go out in working hours; the lease returns it below
            attempted.add(row_id)
            result = _send_one(rt, message, mid, mime, moment)
            if isinstance(result, (TemporaryFailure, PermanentFailure)):
                marks.wait()  # one writer at a time, and the previous mark durable first
                again, gave_up = _mark_failure(rt, row_id, mid, result, message.kind in SECRET_KINDS)
                retried, failed = retried + again, failed + gave_up
            else:  # its own durable commit, on the marks' connection, while the next message goes
                marks.sent(row_id, rt.clock.now(), result, message.kind in SECRET_KINDS)
                sent += 1
    finally:
        marks.wait()  # durable before the next claim: never more than two rows in doubt
        with rt.db.transaction() as s:
            outbox.release(s, rt.owner, [c[0] for c in claimed if c[0] not in attempted])
    return {"sent": sent, "retried": retried, "failed": failed}, len(attempted)


def _built_when_claimed(rt: Runtime, session, claimed: list[tuple]) -> list[tuple]:
    """Rows claimed before their bytes were kept are built now and their
    bytes kept in the claim's transaction, before anything is sent: a resend
    in doubt then sends the same bytes (a build draws new MIME boundaries).
    One that cannot be built stays without bytes: its send fails and says why."""
    built = {}
    for row_id, message, mid, mime in claimed:
        if mime is None:
            try:
                built[row_id] = letter(compose(message, mid, rt.settings.mail_from, rt.settings.base_url)).data
            except PermanentFailure:
                pass
    outbox.keep_claimed(session, rt.owner, built)
    return [(row_id, message, mid, built.get(row_id, mime)) for row_id, message, mid, mime in claimed]


def _mark_failure(rt: Runtime, row_id: int, mid: str, error: Exception, secret: bool) -> tuple[int, int]:
    """(retried, failed): a temporary failure backs off, a permanent one is final."""
    with rt.db.transaction() as s:
        if isinstance(error, TemporaryFailure):
            state = outbox.mark_retry(s, row_id, rt.owner, rt.clock.now(), str(error))
            log.warning("mail %s: temporary failure (%s)", mid, error)
            return int(state == outbox.PENDING), int(state == outbox.FAILED)
        outbox.mark_failed(s, row_id, rt.owner, str(error), secret)
        log.error("mail %s: permanent failure, not retried (%s)", mid, error)
        return 0, 1


def _send_one(rt: Runtime, message: Message, mid: str, mime: bytes | None, moment: datetime):
    """The bytes built when it was planned (or claimed), dated and sent as they
    are; a row without them could not be built: building again says why."""
    try:
        mail = (
            kept(message, mid, mime, rt.settings.mail_from)
            if mime is not None
            else letter(compose(message, mid, rt.settings.mail_from, rt.settings.base_url))
        )
        return rt.mailer.send(mail, moment) or None
    except (TemporaryFailure, PermanentFailure) as e:
        return e


def _tz(message: Message) -> ZoneInfo:
    return ZoneInfo(message.context.get("tz") or "Asia/Ho_Chi_Minh")


def close_windows(rt: Runtime) -> dict:
    """Windows that closed with nothing recorded become "missing" (a new
    revision, so feeds show it); the overdue notices follow from the policy."""
    now = rt.clock.now()
    with rt.db.transaction() as s:
        rows = list(
            s.scalars(
                select(OccurrenceRow)
                .where(
                    OccurrenceRow.window_end <= now,
                    OccurrenceRow.status == "scheduled",
                    _nothing_recorded(OccurrenceRow.delivery),
                )
                .limit(1000)
            )
        )
        for row in rows:
            row.delivery, row.revision, row.updated_at = dict(MISSING), row.revision + 1, now
        s.flush()
        write_items(s, [r.id for r in rows], rt.settings.base_url)
    return {"missing": len(rows)}


def _nothing_recorded(column):
    """SQL NULL or JSON ``null``: an occurrence stored with ``delivery=None``
    holds the JSON null (the column's default), which ``IS NULL`` misses."""
    return or_(column.is_(None), cast(column, Text) == "null")


def refresh_feeds(rt: Runtime) -> dict:
    """Re-export the static feeds when anything they show changed."""
    from scheduler.store.feed_export import export_feeds

    with rt.db.transaction() as s:
        change = current_change(s)
    if change == rt.last_feed_change:
        return {"exported": False}
    export_feeds(rt.db, rt.settings)
    rt.last_feed_change = change
    return {"exported": True}


def periodic_reports(rt: Runtime) -> dict:
    """Write the reports due today (``report_periods.drafts_due``: after each
    month and quarter, or at the plan's consolidated reporting row) into
    outputs/reports/ and mail them with a fresh ledger checkpoint."""
    from scheduler.compliance.report_files import render
    from scheduler.daemon.report_periods import drafts_due
    from scheduler.store.compliance import Scope
    from scheduler.store.files import atomic_write
    from scheduler.store.reporting import compliance_report

    now = rt.clock.now()
    queued = 0
    with rt.db.transaction() as s:
        plans = list(s.scalars(select(PlanRow)))
        for plan in plans:
            tz, calendar = zone(plan), calendar_of(plan)
            local = now.astimezone(tz)
            for draft in drafts_due(s, plan, local, calendar, rt.settings.report_grace_days, rt.settings.report_agency):
                period, label, name = draft.period, draft.period.label, draft.name
                document = compliance_report(
                    s,
                    plan.code,
                    period,
                    now,
                    Scope(plan.code),
                    rt.settings.at_risk_days,
                    draft.issuer,
                    "vi",
                    rt.settings.signer_titles if draft.titled else None,
                )
                if draft.recipients:
                    document["document"]["recipients"] = list(draft.recipients)
                folder = rt.settings.outputs_dir / "reports"
                for fmt in ("html", "xlsx"):
                    body, _, extension = render(document, fmt, rt.settings.base_url)
                    atomic_write(folder / f"{name}.{extension}", body)
                checkpoint = _checkpoint(rt, s, now)
                announces = datetime.combine(period.end, datetime.min.time(), tzinfo=tz)  # the cut-off: one mail
                messages = [
                    Message(
                        "report",
                        draft.about,
                        address,
                        announces,
                        now,
                        now + timedelta(days=30),
                        "vi",
                        (),
                        {
                            "plan": plan.code,
                            "period": label,
                            "totals": document["totals"],
                            "file": f"{name}.html",
                            "path": str(folder / f"{name}.html"),
                            "as_of": now.isoformat(),
                            "checkpoint": checkpoint,
                            "tz": plan.timezone,
                        },
                    )
                    for address in dha_addresses(s, plan.code, draft.issuer)
                ]
                queued += outbox.enqueue(s, messages, now, rt.domain)
    return {"queued": queued, "built": build_outbox(rt) if queued else 0}  # with the report as written now


def _checkpoint(rt: Runtime, session, now: datetime) -> str:
    from scheduler.store import ledger as stored_ledger
    from scheduler.store.checkpoints import key_bytes, sign_and_keep

    count, head = stored_ledger.head(session)
    return sign_and_keep(rt.settings.outputs_dir, key_bytes(rt.settings, log.warning), count, head, now).to_text()


JOBS: dict[str, Callable[[Runtime], dict]] = {
    "plan_reminders": plan_reminders,
    "send_outbox": send_outbox,
    "send_notifications": send_notifications,  # Telegram, Zalo, webhooks (daemon/notify_jobs.py)
    "close_windows": close_windows,
    "periodic_reports": periodic_reports,
    "refresh_feeds": refresh_feeds,
    "harvest": harvest,  # daemon/harvest_jobs.py
    "telegram_updates": telegram_updates,  # daemon/telegram_updates.py: links chats (issue 19)
}


def run(job_id: str, rt: Runtime) -> dict:
    """Run one job and remember how it went, for /healthz."""
    started = rt.clock.now()
    try:
        result = JOBS[job_id](rt)
        rt.history[job_id] = {"last_run": started.isoformat(), "ok": True, "result": result}
        return result
    except Exception as e:  # a job failure is logged and shown, and the next tick tries again
        log.exception("job %s failed", job_id)
        rt.history[job_id] = {"last_run": started.isoformat(), "ok": False, "error": type(e).__name__}
        raise
