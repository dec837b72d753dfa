"""The daemon's harvest job: read the outlets' feeds, sitemaps, playout APIs
and checked pages that are due, host by host under a lease, and hand each
answer to its processor.

Short transactions: claim the hosts; per source, fetch outside any
transaction, then one transaction processes the answer, keeps its history
row and says when to read the source again. Feeds, sitemaps and playout
APIs are read every HARVEST_FEED_MINUTES (twice as long after each failure
in a row, at most a day); a page is checked once a day at 07:00 in its
plan's zone, and a failed check again an hour later.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler.clock import elapsed
from scheduler.daemon.runtime import Runtime
from scheduler.errors import N_, SchedulerError
from scheduler.fetching.client import Limits, fetch, limits_of
from scheduler.harvest.proposals import Fetched, FetchFailed
from scheduler.i18n import gettext_for
from scheduler.store import harvest_leases
from scheduler.store.files import EvidenceStore
from scheduler.store.harvest_checks import process_check
from scheduler.store.harvest_feeds import process_feed, process_sitemap
from scheduler.store.harvest_playout import process_playout
from scheduler.store.tables import HarvestFetchRow, HarvestSourceRow, PlanRow

log = logging.getLogger("scheduler.harvest")
KINDS = ("feed", "sitemap", "playout", "check")
# kind -> its processor (tests put their own here): feed, sitemap and playout
# take (session, source, fetched, fetch, store, settings) and give the number of
# proposals made; check takes (session, source, fetched, error, fetch, store,
# settings) and gives its own history row.
PROCESSORS: dict[str, Callable[..., Any]] = {
    "feed": process_feed,
    "sitemap": process_sitemap,
    "playout": process_playout,
    "check": process_check,
}
HOSTS_PER_CLAIM = 10
CHECK_AT = day_time(7, 0)  # local time of the daily check
CHECK_RETRY = timedelta(hours=1)
MAX_BACKOFF = timedelta(days=1)
DEFAULT_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_KEY_BYTES = 4096


def lease(rt: Runtime) -> timedelta:
    """Long enough for one source (its fetch and the pages its processor
    fetches); renewed before each source."""
    return timedelta(seconds=max(300.0, 30 * (rt.settings.harvest_timeout + rt.settings.harvest_pause)))


def harvest(
    rt: Runtime, only: tuple[str, ...] | None = None, budget: float | None = None, seen: list[dict] | None = None
) -> dict[str, Any]:
    """One pass: every due source of every host this worker can lease, for up
    to ``budget`` seconds (ten ticks by default); ``only`` some kinds. Each
    source read goes into ``seen`` (kind, url, outcome, found, error)."""
    deadline = elapsed() + (budget if budget is not None else max(60.0, 10 * rt.settings.tick_seconds))
    limits = limits_of(rt.settings)
    store = EvidenceStore(rt.settings.outputs_dir / "evidence", rt.settings.evidence_limit)
    totals: Counter[str] = Counter()
    done: set[str] = set()
    while not rt.stop.is_set() and elapsed() < deadline:
        with rt.db.transaction() as s:
            hosts = harvest_leases.claim_hosts(s, rt.owner, rt.clock.now(), lease(rt), HOSTS_PER_CLAIM, only)
        fresh = [h for h in hosts if h not in done]
        for host in hosts:
            try:
                if host in fresh and not rt.stop.is_set() and elapsed() < deadline:
                    _host(rt, host, only, limits, store, deadline, totals, seen)
            finally:
                with rt.db.transaction() as s:
                    harvest_leases.release(s, rt.owner, host, rt.clock.now())
        done.update(hosts)
        if not fresh:
            break
    totals["hosts"] = len(done)
    return dict(totals)


def _host(rt: Runtime, host: str, only, limits: Limits, store, deadline: float, totals: Counter[str], seen) -> None:
    with rt.db.transaction() as s:
        ids = [r.id for r in harvest_leases.due_sources(s, host, rt.clock.now(), only)]
    for source_id in ids:
        if rt.stop.is_set() or elapsed() >= deadline:
            return
        now = rt.clock.now()  # the source's one reading of the clock
        with rt.db.transaction() as s:
            held = harvest_leases.renew(s, rt.owner, host, now, lease(rt))
        line = source(rt, host, source_id, now, limits, store) if held else {"outcome": "lost"}
        outcome = line["outcome"]
        totals[outcome] += 1
        if seen is not None and outcome != "lost":
            seen.append(line)
        if outcome == "lost":
            log.warning("harvest: lost the lease on %s; another worker goes on", host)
            return


class _Lost(Exception):
    """The host's lease went to another worker, or another worker read the
    source meanwhile: this one records nothing."""


def source(rt: Runtime, host: str, source_id: int, now: datetime, limits: Limits, store: EvidenceStore) -> dict:
    """Fetch one source and process it. The outcome: "fetched", "unchanged"
    (304), "failed", or "lost" (nothing recorded: see ``_Lost``; or the
    service stops)."""
    _ = gettext_for(rt.settings.lang)
    with rt.db.transaction() as s:
        row = s.get(HarvestSourceRow, source_id)
        if row is None or not row.active or row.next_at > now:
            return {"outcome": "lost"}
        kind, url, config = row.kind, row.url, dict(row.config or {})
        etag, modified = ("", "") if kind == "check" else (row.etag, row.last_modified)
    fetched: Fetched | None = None
    error, status = "", None
    try:
        fetched = fetch(
            url,
            now=now,
            limits=limits,
            etag=etag,
            last_modified=modified,
            headers=_credentials(kind, config),
            stop=rt.stop,
        )
    except FetchFailed as e:
        if rt.stop.is_set():  # the service stops: not the source's failure, the next run reads it
            return {"outcome": "lost"}
        error, status = e.render(_), e.params.get("status")
        log.warning("harvest %s: %s", kind, e.render())  # the message names the URL

    def more(address: str) -> Fetched:  # a page the processor needs (an article's snapshot)
        return fetch(address, now=now, limits=limits, stop=rt.stop)

    try:
        with rt.db.transaction() as s:
            row = _opened(rt, s, host, source_id, now)
            ok, found = _process(s, row, fetched, error, status, more, store, rt, now)
            reschedule(row, now, ok, rt.settings.harvest_feed_minutes, _zone(s, row.plan_code))
            _closed(rt, s, host, now)
    except _Lost:
        return {"outcome": "lost"}
    except Exception as e:  # a processor's failure is this source's, not the pass's: kept, retried later
        if isinstance(e, SchedulerError):  # a feed that is not XML, a file too large: its own words
            log.warning("harvest %s %s: %s", kind, url, e.render())
            reason = e.render(_)
        else:
            log.exception("harvest %s %s: processing failed", kind, url)
            reason = _("processing the answer failed ({reason})").format(reason=type(e).__name__)
        try:
            with rt.db.transaction() as s:
                row = _opened(rt, s, host, source_id, now)
                _history(s, row, now, False, fetched.status if fetched else status, reason, fetched)
                reschedule(row, now, False, rt.settings.harvest_feed_minutes, _zone(s, row.plan_code))
                _closed(rt, s, host, now)
        except _Lost:
            return {"outcome": "lost"}
        return {"outcome": "failed", "kind": kind, "url": url, "found": 0, "error": reason}
    outcome = "failed" if not ok else "unchanged" if fetched is not None and fetched.status == 304 else "fetched"
    return {"outcome": outcome, "kind": kind, "url": url, "found": found, "error": error}


def _renews_first(s) -> bool:
    """PostgreSQL: renewing first locks the host's row until the commit, so
    no claim can take it meanwhile. SQLite: the first write takes the whole
    database's lock, which the processor's page fetches would then hold;
    there the renewal is the last statement, and a lost lease rolls back."""
    return s.get_bind().dialect.name == "postgresql"


def _opened(rt: Runtime, s, host: str, source_id: int, now: datetime) -> HarvestSourceRow:
    """The source, still due and its host still held, or _Lost."""
    if _renews_first(s) and not harvest_leases.renew(s, rt.owner, host, now, lease(rt)):
        raise _Lost
    row = s.get(HarvestSourceRow, source_id)
    if row is None or not row.active or row.next_at > now:  # read by another worker meanwhile
        raise _Lost
    return row


def _closed(rt: Runtime, s, host: str, now: datetime) -> None:
    if not _renews_first(s) and not harvest_leases.renew(s, rt.owner, host, now, lease(rt)):
        raise _Lost


def _process(s, row: HarvestSourceRow, fetched, error, status, more, store, rt: Runtime, now) -> tuple[bool, int]:
    """The processor's work and the history row: whether it went well, and
    the proposals it made."""
    if row.kind == "check":  # keeps its own history row, failed or not
        kept = PROCESSORS["check"](s, row, fetched, error, more, store, rt.settings, now=now)
        return bool(kept.ok), int(kept.found or 0)
    if fetched is None:
        _history(s, row, now, False, status, error, None)
        return False, 0
    if fetched.status == 304:
        _history(s, row, now, True, 304, "", fetched)
        return True, 0
    found = int(PROCESSORS[row.kind](s, row, fetched, more, store, rt.settings))
    row.etag, row.last_modified = fetched.etag, fetched.last_modified
    _history(s, row, now, True, fetched.status, "", fetched, found)
    return True, found


def _history(s, row, now, ok, status, error, fetched: Fetched | None, found: int = 0) -> None:
    s.add(
        HarvestFetchRow(
            source_id=row.id,
            at=now,
            ok=ok,
            status=status,
            error=error,
            size=len(fetched.body) if fetched else 0,
            found=found,
            detail={"final_url": fetched.final_url} if fetched else {},
        )
    )


def reschedule(row: HarvestSourceRow, now: datetime, ok: bool, minutes: int, tz: ZoneInfo) -> None:
    """When to read the source again (see the module's docstring)."""
    row.last_at, row.last_ok = now, ok
    row.failures = 0 if ok else (row.failures or 0) + 1
    if row.kind == "check":
        local = now.astimezone(tz)
        tomorrow = datetime.combine(local.date() + timedelta(days=1), CHECK_AT, tzinfo=tz)
        retry = now + CHECK_RETRY
        row.next_at = retry if not ok and retry.astimezone(tz).date() == local.date() else tomorrow
        return
    every = timedelta(minutes=minutes)
    row.next_at = now + (every if ok else min(every * 2 ** min(row.failures, 20), MAX_BACKOFF))


def _zone(s, plan_code: str) -> ZoneInfo:
    plan = s.get(PlanRow, plan_code) if plan_code else None
    try:
        return ZoneInfo(plan.timezone) if plan and plan.timezone else DEFAULT_ZONE
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_ZONE


def _credentials(kind: str, config: dict[str, Any]) -> dict[str, str] | None:
    """A LibreTime API key, read from its file at each fetch (never stored,
    never logged), sent as LibreTime expects."""
    path = str(config.get("api_key_file") or "") if kind == "playout" else ""
    if not path:
        return None
    try:
        with Path(path).open("rb") as f:
            key = f.read(MAX_KEY_BYTES).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        raise FetchFailed(N_("cannot read the API key file {path} ({reason})"), path=path, reason=reason) from None
    if not key or any(c in key for c in "\r\n"):
        raise FetchFailed(N_("the API key file {path} holds no key on one line"), path=path)
    return {"Authorization": f"Api-Key {key}"}
