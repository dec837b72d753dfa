"""A playout system's REST API (LibreTime) read into as-run proposals.

The daemon's harvest job fetched the source's URL (``/api/v2/schedule`` with
a time range, the key from ``api_key_file`` sent by the fetcher); the
answer names files by id, so their titles are fetched here, one by one
through the same safe ``fetch``. The answer with those files beside it is
kept as the evidence file (``harvest asrun --format libretime-api`` reads it
again), and matching is the as-run file's (``store/harvest_asrun.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

from sqlalchemy.orm import Session

from scheduler.harvest.asrun_api import file_ids, schedule_items
from scheduler.harvest.proposals import Fetched, FetchFailed
from scheduler.plan.harvest_settings import AsrunLayout
from scheduler.settings import Settings
from scheduler.store.files import EvidenceStore
from scheduler.store.harvest_asrun import keep_file, layout_of, propose_items, read_items
from scheduler.store.tables import HarvestSourceRow

Fetch = Callable[[str], Fetched]
MAX_FILES = 500  # distinct files one answer may name (a day of music is ~300)


def _files(fetched: Fetched, ids: list[int], fetch: Fetch) -> dict[int, dict[str, Any]]:
    """Each named file's metadata (``/api/v2/files/{id}``); one that fails stays untitled."""
    found: dict[int, dict[str, Any]] = {}
    for file_id in ids[:MAX_FILES]:
        try:
            answer = fetch(urljoin(fetched.final_url or fetched.url, f"/api/v2/files/{file_id}"))
            value = json.loads(answer.body.decode("utf-8-sig"))
        except (FetchFailed, UnicodeDecodeError, ValueError):
            continue
        if isinstance(value, dict):
            found[file_id] = value
    return found


def process_playout(
    session: Session, source: HarvestSourceRow, fetched: Fetched, fetch: Fetch, store: EvidenceStore, settings: Settings
) -> int:
    """The new proposals one schedule answer makes (the caller commits)."""
    layout = layout_of(session, source.outlet)
    layout = AsrunLayout(**{**layout.__dict__, "format": "libretime-api"})
    name = f"libretime-{fetched.fetched_at:%Y%m%dT%H%M%S}.json"
    schedule = schedule_items(fetched.body, source.url, settings.harvest_max_bytes)
    files = _files(fetched, file_ids(schedule), fetch)
    items = read_items(session, source.outlet, fetched.body, source.url, layout, settings, files)
    # Kept with the files' metadata beside the schedule: the evidence reads the same without the instance.
    kept = json.dumps({"schedule": schedule, "files": list(files.values())}, ensure_ascii=False).encode("utf-8")
    file = keep_file(store, kept, name, "application/json")
    origin = {
        "type": "asrun",
        "name": name,
        "file_sha256": file["sha256"],
        "url": fetched.url,
        "fetched_at": fetched.fetched_at.isoformat(),
    }
    summary = propose_items(session, source.outlet, items, file, origin, fetched.fetched_at, settings)
    return int(summary["new"])
