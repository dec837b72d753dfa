"""A playout system's REST API (LibreTime) read into as-run proposals (helper "asrun")."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from scheduler.harvest.proposals import Fetched
from scheduler.settings import Settings
from scheduler.store.files import EvidenceStore
from scheduler.store.tables import HarvestSourceRow

Fetch = Callable[[str], Fetched]


def process_playout(
    session: Session, source: HarvestSourceRow, fetched: Fetched, fetch: Fetch, store: EvidenceStore, settings: Settings
) -> int:
    raise NotImplementedError("helper asrun")
