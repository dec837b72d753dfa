"""An outlet's as-run log into proposals, in the caller's transaction: the
file is read with the outlet's configured layout (or the header's words),
kept in the evidence store by its SHA-256 (it is the evidence), matched to
what the outlet owes, and each proposal kept once (``save_proposals``).

Used by ``harvest asrun`` (cli/harvest.py), the upload page
(web/asrun_upload.py) and the LibreTime API processor (harvest_playout.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.errors import N_, InputError
from scheduler.evidence.ledger import parse_content
from scheduler.harvest.asrun import AiredItem, read_asrun
from scheduler.harvest.asrun_api import read_libretime_api
from scheduler.harvest.asrun_matching import match_asrun
from scheduler.harvest.proposals import Owed
from scheduler.plan.harvest_settings import ASRUN_FORMATS, AsrunLayout
from scheduler.settings import Settings
from scheduler.store import ledger as stored_ledger
from scheduler.store.files import EvidenceStore
from scheduler.store.harvest_sources import outlet_harvest
from scheduler.store.known_codes import UNKNOWN
from scheduler.store.proposals import owed_of, save_proposals
from scheduler.store.tables import AgencyRow, PlanRow

REACH = timedelta(days=62)  # owed occurrences read around the log: the window before may take a late airing
TYPES = {"libretime-api": "application/json"}


def _zone(session: Session, outlet: str, layout: AsrunLayout) -> ZoneInfo:
    name = layout.timezone
    if not name:
        plans = session.scalars(select(PlanRow.timezone).join(AgencyRow, AgencyRow.plan_code == PlanRow.code)
                                .where(AgencyRow.code == outlet)).all()  # fmt: skip
        name = plans[0] if plans else "Asia/Ho_Chi_Minh"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(N_('timezone: "{value}" is not a time zone'), value=name) from None


def check_outlet(session: Session, outlet: str) -> None:
    """An outlet no loaded plan names is an error listing the known agencies."""
    if session.scalar(select(AgencyRow.code).where(AgencyRow.code == outlet).limit(1)) is None:
        known = ", ".join(sorted(set(session.scalars(select(AgencyRow.code))))) or "-"
        raise InputError(UNKNOWN["agency"], flag="--outlet", value=outlet, allowed=known)


def layout_of(session: Session, outlet: str, format: str | None = None) -> AsrunLayout:
    """The outlet's configured layout, its format replaced when one is given."""
    configured = outlet_harvest(session, outlet)
    layout = configured.asrun if configured and configured.asrun else AsrunLayout()
    if format:
        if format not in ASRUN_FORMATS:
            raise InputError(N_('--format: "{value}" is not one of {allowed}'), value=format,
                             allowed=", ".join(ASRUN_FORMATS))  # fmt: skip
        layout = AsrunLayout(**{**layout.__dict__, "format": format})
    return layout


def read_items(
    session: Session, outlet: str, data: bytes, name: str, layout: AsrunLayout, settings: Settings,
    files: Mapping[int, Mapping[str, Any]] | None = None,
) -> list[AiredItem]:  # fmt: skip
    tz = _zone(session, outlet, layout)
    if layout.format == "libretime-api":
        return read_libretime_api(data, name, tz, files, limit=settings.harvest_max_bytes)
    return read_asrun(data, name, layout, tz, limit=settings.harvest_max_bytes)


def keep_file(store: EvidenceStore, data: bytes, name: str, kind: str) -> dict[str, Any]:
    """The log in the evidence store by its SHA-256 (the same bytes stored once)."""
    with store.writer(name, kind) as writer:
        writer.write(data)
        pending = writer.finish()
    stored = store.commit(pending)
    return {"sha256": stored.sha256, "size": stored.size, "name": stored.name, "type": stored.type}


def with_titles(session: Session, owed: list[Owed]) -> list[Owed]:
    """Each met occurrence with its recorded delivery's title: the same
    episode airing again is a rerun, not a second delivery."""
    met = [o.id for o in owed if o.met]
    titles: dict[str, str] = {}
    for row in stored_ledger.entries_of(session, met) if met else ():
        doc = parse_content(row.content)
        if doc["kind"] == "delivery" and doc["payload"].get("title"):
            titles[doc["occurrence"]] = str(doc["payload"]["title"])
    return [replace(o, delivered_title=titles[o.id]) if o.id in titles else o for o in owed]


def propose_items(
    session: Session, outlet: str, items: Sequence[AiredItem], file: Mapping[str, Any], source: Mapping[str, Any],
    now: datetime, settings: Settings,
) -> dict[str, Any]:  # fmt: skip
    """Match the items against what the outlet owes around them and keep the new proposals."""
    if items:
        first, last = min(i.start for i in items), max(i.end for i in items)
        owed = with_titles(session, owed_of(session, outlet, first - REACH, last + timedelta(days=1)))
    else:
        owed = []
    matching = match_asrun(items, owed, outlet, source, now, files=[file])
    new = save_proposals(session, matching.proposals, now, settings.base_url)
    new_keys = {row.key for row in new}
    return {
        "outlet": outlet,
        "file": dict(file),
        "items": len(items),
        "outcomes": dict(Counter(o.kind for o in matching.outcomes)),
        "proposals": [
            {
                "id": next((r.id for r in new if r.key == p.key), None),
                "new": p.key in new_keys,
                "kind": p.kind,
                "obligation": p.obligation,
                "occurrence": p.occurrence,
                "moment": p.evidence.get("moment"),
                "title": p.evidence.get("title", ""),
                "detail": p.detail,
                "rows": list(p.source.get("rows") or ()),
            }
            for p in matching.proposals
        ],
        "new": len(new),
    }


def harvest_asrun(
    session: Session,
    outlet: str,
    data: bytes,
    name: str,
    now: datetime,
    settings: Settings,
    layout: AsrunLayout | None = None,
    store: EvidenceStore | None = None,
) -> dict[str, Any]:
    """One as-run file into proposals (the caller commits): a summary of what
    it found, each proposal with its id when it is new."""
    check_outlet(session, outlet)
    layout = layout or layout_of(session, outlet)
    items = read_items(session, outlet, data, name, layout, settings)
    store = store or EvidenceStore(settings.outputs_dir / "evidence", settings.evidence_limit)
    file = keep_file(store, data, name, TYPES.get(layout.format, "text/csv"))
    source = {"type": "asrun", "name": file["name"], "file_sha256": file["sha256"]}
    return propose_items(session, outlet, items, file, source, now, settings)
