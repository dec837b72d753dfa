"""Evidence files as the pages and the API serve them: found through the
ledger entry that recorded them, opened only for those ``may_open_evidence``
allows, sent so that a browser never runs them."""

from __future__ import annotations

from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from scheduler.errors import N_
from scheduler.evidence.file_rules import content_disposition, served_type
from scheduler.evidence.ledger import parse_content
from scheduler.people.permissions import Actor, may_open_evidence
from scheduler.store import ledger as stored_ledger
from scheduler.store.files import EvidenceStore
from scheduler.store.recording import NotFound, grants, refuse
from scheduler.store.tables import OccurrenceRow

NO_FILE = N_("There is no such file.")


def opened(session: Session, store: EvidenceStore, actor: Actor, seq: int, sha256: str) -> dict:
    """The file's record in entry ``seq``; NotFound when the entry, the
    file or its bytes are not there, Refused when ``actor`` may not open it."""
    row = stored_ledger.entry(session, seq)
    files = parse_content(row.content)["payload"].get("files", []) if row else []
    found = next((f for f in files if isinstance(f, dict) and f.get("sha256") == sha256), None)
    if found is None or not store.exists(sha256):
        raise NotFound(NO_FILE)
    o = session.get(OccurrenceRow, row.occurrence_id)
    if o is None:  # a closing's kept reports: served by /dashboard/periods, not as evidence
        raise NotFound(NO_FILE)
    decision = may_open_evidence(actor, o.agency_code, grants(session, o.plan_code, o.obligation_code))
    if not decision:
        raise refuse(actor, "open evidence of", o.id, decision)
    return found


def file_response(store: EvidenceStore, found: dict) -> FileResponse:
    """The bytes as an attachment under their recorded name and a type no
    browser runs (``served_type``); never sniffed, never a page of this site."""
    return FileResponse(
        store.path(found["sha256"]),
        media_type=served_type(found.get("type")),
        headers={
            "Content-Disposition": content_disposition(found["name"]),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private",
            "Content-Security-Policy": "sandbox",
        },
    )
