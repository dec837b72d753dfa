"""Loading plans into the database: write validated plans and enqueue the
notices of what moved or was cancelled, in the caller's one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from scheduler.plan.model import Plan
from scheduler.plan.occurrences import expand
from scheduler.plan.revisions import Changes
from scheduler.settings import Settings
from scheduler.store import webhook_events
from scheduler.store.feed_items import Progress
from scheduler.store.harvest_sources import sync_sources
from scheduler.store.registry import backfill
from scheduler.store.schedule import save_plan
from scheduler.store.web_exception_loads import keep_web_exceptions


def save_schedules(
    session: Session,
    plans: Iterable[Plan],
    digests: Mapping[str, str],
    now: datetime,
    settings: Settings,
    progress: Progress | None = None,
) -> list[tuple[Plan, Changes]]:
    """Write already-validated plans and enqueue the notices of what moved or
    was cancelled, all in the caller's transaction; what changed, per plan.
    The command line and the upload page both load through here. ``digests``
    maps each plan's source to the SHA-256 of its file; ``progress`` hears
    how far each plan's calendar items are (a terminal's progress bar)."""
    backfill(session, now)  # plans loaded before the agency registry existed
    expanded = [(plan, *keep_web_exceptions(session, plan, expand(plan), now)) for plan in plans]
    results = []
    for plan, occurrences, warnings in expanded:  # the web's exceptions kept, or the files win and say so
        changes = save_plan(session, plan, occurrences, now, digests.get(plan.source, ""), settings.base_url, progress)
        sync_sources(session, plan, now)  # the feeds, sitemaps, playout APIs and checks the daemon reads
        changes.warnings += warnings
        results.append((plan, changes))
    for _plan, changes in results:
        enqueue_notices(session, changes.previous, now, settings)
    webhook_events.plan_loaded(session, results, digests, now)  # issue 19: in the load's transaction
    return results


def enqueue_notices(session: Session, previous: dict, now: datetime, settings: Settings) -> int:
    """Tell the people of each moved or cancelled occurrence, in the load's
    own transaction (the outbox sends it once)."""
    from dataclasses import replace
    from urllib.parse import urlparse

    from scheduler.reminders.policy import notices
    from scheduler.store.outbox import enqueue
    from scheduler.store.watch import calendar_of, watched, zone

    messages = []
    for plan, items in watched(session, now, settings.report_agency, ids=list(previous)).values():
        for after in items:
            due, slot, status = previous[after.id]
            before = replace(after, due=due, slot=slot, status=status)
            messages += notices(before, after, now, calendar_of(plan), zone(plan))
    return enqueue(session, messages, now, urlparse(settings.base_url).hostname or "localhost")
