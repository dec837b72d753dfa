"""An outlet's feeds and sitemaps into article proposals (helper "articles")."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from scheduler.harvest.proposals import Fetched
from scheduler.settings import Settings
from scheduler.store.files import EvidenceStore
from scheduler.store.tables import HarvestSourceRow

Fetch = Callable[[str], Fetched]  # fetches one more URL (an article's page) the same safe way


def process_feed(
    session: Session, source: HarvestSourceRow, fetched: Fetched, fetch: Fetch, store: EvidenceStore, settings: Settings
) -> int:
    """A fetched RSS/Atom feed: new proposals made (kept by ``save_proposals``)."""
    raise NotImplementedError("helper articles")


def process_sitemap(
    session: Session, source: HarvestSourceRow, fetched: Fetched, fetch: Fetch, store: EvidenceStore, settings: Settings
) -> int:
    raise NotImplementedError("helper articles")
