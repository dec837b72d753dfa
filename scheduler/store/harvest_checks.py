"""Daily checks of the pages a continuous obligation keeps up, their history,
the host's warning the day one fails, and the window's attestation proposal
(helper "portal")."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from scheduler.harvest.proposals import Fetched
from scheduler.settings import Settings
from scheduler.store.files import EvidenceStore
from scheduler.store.tables import HarvestFetchRow, HarvestSourceRow

Fetch = Callable[[str], Fetched]


def process_check(
    session: Session,
    source: HarvestSourceRow,
    fetched: Fetched | None,
    error: str,
    fetch: Fetch,
    store: EvidenceStore,
    settings: Settings,
) -> HarvestFetchRow:
    """One check done (``fetched`` None and ``error`` set when nothing answered):
    its history row, the warning when it fails, the attestation when due."""
    raise NotImplementedError("helper portal")
