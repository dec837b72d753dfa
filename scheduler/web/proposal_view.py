"""What the pages show of proposals and of a record's source: on *Việc của
tôi* the agency's open proposals, on an occurrence page its proposals in
any state with who decided, and on a ledger entry where its proof came from
(an as-run file's rows, an article's URL and snapshot, a quarter's checks).
Plain values for ``templates/_proposals.html`` and ``occurrence.html``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import Request
from sqlalchemy.orm import Session

from scheduler.bounds import parse_id
from scheduler.errors import N_
from scheduler.evidence.deliveries import CHANNEL_FIELDS
from scheduler.harvest.proposals import CONFIRMED, OPEN, RECORDABLE, RECORDED, REJECTED, STATE_WORDS
from scheduler.people.permissions import may_record
from scheduler.plan.durations import format_duration
from scheduler.store.proposal_decisions import for_occurrence, open_for_agency, sees
from scheduler.store.recording import grants
from scheduler.store.tables import OccurrenceRow, PlanRow, ProposalRow
from scheduler.web.auth import SessionUser
from scheduler.web.occurrence_view import LABELS, actor_of
from scheduler.web.source_view import moment_text as _at
from scheduler.web.source_view import source_text

DECIDED = {
    CONFIRMED: N_("Confirmed by {who} at {at}, entry #{seq}"),
    RECORDED: N_("Recorded automatically by {who} at {at}, entry #{seq}"),
    REJECTED: N_("Rejected by {who} at {at}: {reason}"),
}
NOTICES = {
    CONFIRMED: N_("Proposal #{id} confirmed: entry #{seq} recorded."),
    REJECTED: N_("Proposal #{id} rejected."),
}
SHOWN = 50  # proposals a page lists at most


def _evidence_text(e: dict, tz: ZoneInfo, _) -> str:
    parts = []
    if e.get("moment"):
        label = LABELS["aired_at" if e.get("moment_kind") == "aired" else "published_at"]
        parts.append(f"{_(label)}: {_at(e['moment'], tz)}")
    if e.get("duration") is not None:
        parts.append(f"{_(LABELS['duration'])}: {format_duration(int(e['duration']))}")
    if e.get("title"):
        parts.append(str(e["title"]))
    return " · ".join(parts)


def proposal_view(session: Session, row: ProposalRow, user: SessionUser, zones: dict, _) -> dict:
    """One proposal as the list shows it, with its forms when the reader may decide."""
    if row.plan_code not in zones:
        plan = session.get(PlanRow, row.plan_code)
        zones[row.plan_code] = ZoneInfo(plan.timezone if plan else "Asia/Ho_Chi_Minh")
    tz = zones[row.plan_code]
    e = row.evidence or {}
    host = row.outlet
    if row.occurrence_id and (o := session.get(OccurrenceRow, row.occurrence_id)) is not None:
        host = o.agency_code
    may = row.state == OPEN and bool(
        may_record(actor_of(user), host, grants(session, row.plan_code, row.obligation_code))
    )
    decided = ""
    if row.state in DECIDED:
        decided = _(DECIDED[row.state]).format(
            who=row.decided_by, at=_at(row.decided_at, tz), seq=row.ledger_seq, reason=row.reason
        )
    url = str(e.get("url") or "")
    return {
        "id": row.id,
        "kind": _(row.kind),
        "state": row.state,
        "state_word": _(STATE_WORDS.get(row.state, row.state)),
        "occurrence": row.occurrence_id,
        "evidence": _evidence_text(e, tz, _),
        "url": url if url.lower().startswith(("https://", "http://")) else "",
        "source": source_text(row.source, tz, _),
        "detail": row.detail,
        "found_at": _at(row.found_at, tz),
        "decided": decided,
        "may_decide": may,
        "needs": [(n, _(LABELS[n])) for n in e.get("needs") or () if n in CHANNEL_FIELDS],
        "recordable": row.occurrence_id is not None and row.kind in RECORDABLE,
    }


def _notice(session: Session, request: Request, user: SessionUser, _) -> str:
    """The flash after a decision (``?proposal=ID``), read back from the database."""
    found = parse_id(request.query_params.get("proposal", ""))
    row = session.get(ProposalRow, found) if found else None
    if row is None or row.state not in NOTICES or not sees(session, actor_of(user), row):
        return ""
    return _(NOTICES[row.state]).format(id=row.id, seq=row.ledger_seq)


def for_me(session: Session, request: Request, user: SessionUser, _) -> dict:
    """The open proposals of the reader's agency, newest first (for /me)."""
    rows = open_for_agency(session, user.agency, SHOWN) if user.agency else []
    zones: dict = {}
    return {
        "proposals": [proposal_view(session, r, user, zones, _) for r in rows],
        "proposal_notice": _notice(session, request, user, _),
        "proposals_back": "/me",
    }


def for_occurrence_page(session: Session, request: Request, o: OccurrenceRow, user: SessionUser, _) -> dict:
    """An occurrence's proposals in any state, for those who may see them."""
    actor, zones = actor_of(user), {}
    rows = [r for r in for_occurrence(session, o.id) if sees(session, actor, r)]
    return {
        "proposals": [proposal_view(session, r, user, zones, _) for r in rows],
        "proposal_notice": _notice(session, request, user, _),
        "proposals_back": f"/o/{o.id}",
    }
