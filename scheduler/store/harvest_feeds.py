"""An outlet's feeds and sitemaps into article proposals (issue 17): read the
fetched feed (``harvest/articles.py``), match its articles against what the
outlet owes (``harvest/article_matching.py``), keep a snapshot of each new
article's page in the evidence store, and save the proposals, all in the
caller's transaction.

An article already proposed (its key known) is never fetched again; a page
that cannot be fetched still gives its proposal, without a snapshot, the
failure said in its detail. At most ``MAX_SNAPSHOTS`` pages are fetched per
run: the articles beyond wait for the next run (they are not saved yet, so
they are found again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.errors import N_, SchedulerError
from scheduler.harvest.article_matching import propose_articles
from scheduler.harvest.articles import Article, FeedError, Reading, read_feed, read_sitemap
from scheduler.harvest.proposals import ARTICLE, OPEN, Fetched, Proposal
from scheduler.i18n import gettext_for
from scheduler.settings import Settings
from scheduler.store.files import EvidenceStore
from scheduler.store.proposals import owed_of, save_proposals
from scheduler.store.tables import HarvestSourceRow, PlanRow, ProposalRow

Fetch = Callable[[str], Fetched]  # fetches one more URL (an article's page) the same safe way

MAX_SNAPSHOTS = 50  # article pages fetched per run
MAX_CHILD_SITEMAPS = 5  # of a sitemap index, the most recently changed; an index inside is not followed
LATE_REACH = timedelta(days=92)  # an article may be late for a window that ended this long before it
DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
log = logging.getLogger(__name__)


def process_feed(
    session: Session, source: HarvestSourceRow, fetched: Fetched, fetch: Fetch, store: EvidenceStore, settings: Settings
) -> int:
    """A fetched RSS/Atom feed: new proposals made (kept by ``save_proposals``).
    Raises ``FeedError`` (naming the URL) when the feed cannot be read."""
    reading = read_feed(fetched.body, source.url, _zone(session, source), settings.harvest_max_bytes)
    _say(source.url, reading)
    return _propose(session, source, reading.articles, "feed", fetched.fetched_at, fetch, store, settings)


def process_sitemap(
    session: Session, source: HarvestSourceRow, fetched: Fetched, fetch: Fetch, store: EvidenceStore, settings: Settings
) -> int:
    """A fetched sitemap, or a sitemap index and its most recently changed
    children (one level: an index listed in an index is not followed). A
    child that fails to fetch or read is passed over: the others still count."""
    zone = _zone(session, source)
    limit = settings.harvest_max_bytes
    reading = read_sitemap(fetched.body, source.url, zone, limit)
    _say(source.url, reading)
    articles = list(reading.articles)
    newest_first = sorted(reading.children, key=lambda c: c[1] or datetime.min.replace(tzinfo=zone), reverse=True)
    for url, _lastmod in newest_first[:MAX_CHILD_SITEMAPS]:
        try:
            child = read_sitemap(fetch(url).body, url, zone, limit)
        except SchedulerError as e:
            log.warning("harvest: sitemap %s of %s passed over: %s", url, source.url, e)
            continue
        _say(url, child)
        articles += child.articles
    return _propose(session, source, articles, "sitemap", fetched.fetched_at, fetch, store, settings)


def _propose(
    session: Session,
    source: HarvestSourceRow,
    articles: Sequence[Article],
    kind: str,
    fetched_at: datetime,
    fetch: Fetch,
    store: EvidenceStore,
    settings: Settings,
) -> int:
    if not articles:
        return 0
    now = fetched_at
    start = min(a.published for a in articles) - LATE_REACH
    end = max(a.published for a in articles) + timedelta(seconds=1)
    owed = [  # a source is named by one plan's layer (``store/harvest_sources.py``): that plan's duty
        o for o in owed_of(session, source.outlet, start, end) if not source.plan_code or o.plan == source.plan_code
    ]
    taken = session.scalars(
        select(ProposalRow.occurrence_id).where(
            ProposalRow.outlet == source.outlet, ProposalRow.kind == ARTICLE, ProposalRow.state == OPEN
        )
    ).all()
    proposals = propose_articles(
        articles, owed, source.outlet, now, fetched_at, source.url, source_type=kind, taken=[t for t in taken if t]
    )
    keys = [p.key for p in proposals]
    known = set(session.scalars(select(ProposalRow.key).where(ProposalRow.key.in_(keys)))) if keys else set()
    new, fetched_pages = [], 0
    for p in proposals:
        if p.key in known:
            continue  # proposed before: its page is not fetched again
        if p.kind == ARTICLE:
            if fetched_pages >= MAX_SNAPSHOTS:
                continue  # found again next run, with its snapshot then
            fetched_pages += 1
            p = _with_snapshot(p, fetch, store)
        new.append(p)
    return len(save_proposals(session, new, now, settings.base_url))


def _say(url: str, reading: Reading) -> None:
    """What an operator may want to know of a feed read anyway: entries without a date, a complaint."""
    if reading.undated:
        log.info("harvest: %s: %d entries without a date skipped", url, reading.undated)
    if reading.note:
        log.info("harvest: %s read despite: %s", url, reading.note)
    if reading.children:
        log.debug("harvest: %s is a sitemap index of %d sitemaps", url, len(reading.children))


def _with_snapshot(proposal: Proposal, fetch: Fetch, store: EvidenceStore) -> Proposal:
    """The proposal with its page kept by SHA-256 as its evidence file, or
    with why the page could not be kept."""
    url = str(proposal.evidence["url"])
    try:
        page = fetch(url)
        if page.status >= 400:
            raise FeedError(N_("the page answered HTTP {status}"), status=page.status)
        ref = _keep(store, page, _name(proposal))
    except SchedulerError as e:
        why = e.render(gettext_for("vi"))
        return replace(proposal, detail=f"{proposal.detail}; không lưu được trang: {why}")
    evidence = {**proposal.evidence, "files": [ref]}
    source = {**proposal.source, "fetched_at": page.fetched_at.isoformat(), "snapshot_sha256": ref["sha256"]}
    if page.final_url and page.final_url != url:
        source["final_url"] = page.final_url
    return replace(proposal, evidence=evidence, source=source)


def _keep(store: EvidenceStore, page: Fetched, name: str) -> dict[str, Any]:
    """The page's bytes in the evidence store (stored once however often fetched)."""
    writer = store.writer(name, page.content_type or "text/html")
    writer.write(page.body)  # refuses beyond the evidence limit (TooLarge)
    pending = writer.finish()  # checks the content against its declared type (TypeMismatch)
    stored = store.commit(pending)
    return {"sha256": stored.sha256, "size": stored.size, "name": stored.name, "type": stored.type}


def _name(proposal: Proposal) -> str:
    return f"bai-viet-{str(proposal.evidence['moment'])[:10]}.html"


def _zone(session: Session, source: HarvestSourceRow) -> ZoneInfo:
    plan = session.get(PlanRow, source.plan_code) if source.plan_code else None
    return ZoneInfo(plan.timezone if plan is not None else DEFAULT_ZONE)
