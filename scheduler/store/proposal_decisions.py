"""A person's decision on a proposal (confirm: a delivery recorded from its
evidence, with its source in the hashed entry; reject: with a reason), an
outlet's automatic recording, and the lists the pages, API and CLI show.

Confirming goes through ``recording.record_delivery``: the same permission
and rules as typing the delivery, in the caller's one transaction, so a
refusal writes nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.bounds import SHORT as SHORT_TEXT
from scheduler.bounds import check_text
from scheduler.errors import N_, SchedulerError
from scheduler.evidence.deliveries import CHANNEL_FIELDS, DeliveryError, Evidence, FileRef
from scheduler.harvest.proposals import (
    CONFIRMED,
    OPEN,
    RECORDABLE,
    RECORDED,
    REJECTED,
    STATES,
    account_of,
)
from scheduler.i18n import gettext_for
from scheduler.people.permissions import Actor, may_record
from scheduler.plan.harvest_settings import OutletHarvest
from scheduler.store.harvest_sources import outlet_harvest
from scheduler.store.recording import NotFound, Recorded, grants, record_delivery, refuse
from scheduler.store.tables import OccurrenceRow, PlanRow, ProposalRow

MAX_LIST = 500  # rows a list gives at most
REASON_LIMIT = 1000
OVERSEERS = ("dha", "admin", "national")
MET_STATES = ("on_time", "late", "excused")  # a delivery state that counts (``compliance.status``)


class Conflict(DeliveryError):
    """Decided already, or its occurrence met already (HTTP 409)."""

    status = 409


def _find(session: Session, actor: Actor, proposal_id: int, lock: bool = False) -> ProposalRow:
    """The proposal, or 404: also to a producer of another agency (private)."""
    row = (
        session.get(ProposalRow, proposal_id, with_for_update=lock) if 0 < proposal_id < 2**31 else None
    )  # an id column holds 32 bits
    if row is None or not sees(session, actor, row):
        raise NotFound(N_("no proposal {id}"), id=proposal_id)
    return row


def sees(session: Session, actor: Actor, row: ProposalRow) -> bool:
    """The DHA, admins and national users see every proposal; others their agency's (or granted)."""
    if set(OVERSEERS) & set(actor.roles):
        return True
    return bool(actor.agency) and (
        actor.agency == row.outlet or actor.agency in grants(session, row.plan_code, row.obligation_code)
    )


def _undecided(session: Session, row: ProposalRow) -> None:
    if row.state == OPEN:
        return
    plan = session.get(PlanRow, row.plan_code)
    zone = ZoneInfo(plan.timezone if plan else "Asia/Ho_Chi_Minh")
    at = row.decided_at.astimezone(zone).strftime("%d/%m/%Y %H:%M") if row.decided_at else "-"
    messages = {
        CONFIRMED: N_("proposal {id} was already confirmed by {who} at {at}"),
        RECORDED: N_("proposal {id} was already recorded automatically by {who} at {at}"),
        REJECTED: N_("proposal {id} was already rejected by {who} at {at}"),
    }
    raise Conflict("proposal", messages[row.state], id=row.id, who=row.decided_by or "-", at=at)


def _allowed(session: Session, actor: Actor, row: ProposalRow, occurrence: OccurrenceRow | None) -> None:
    """Who may record for the occurrence decides on its proposals (403 otherwise)."""
    host = occurrence.agency_code if occurrence is not None else row.outlet
    decision = may_record(actor, host, grants(session, row.plan_code, row.obligation_code))
    if not decision:
        raise refuse(actor, "decide on proposal", str(row.id), decision)


def evidence_of(
    row: ProposalRow,
    occurrence: OccurrenceRow,
    fields: Mapping[str, str] | None = None,
    note: str = "",
    extra_files: Iterable[FileRef] = (),
) -> Evidence:
    """The delivery a proposal stands for; ``fields`` (issue_number, page …)
    complete what the harvest could not know, e.g. the print half."""
    e = row.evidence or {}
    given = {}
    for name, value in (fields or {}).items():
        if name not in CHANNEL_FIELDS:
            raise DeliveryError(name, N_("unknown field (allowed: {allowed})"), allowed=", ".join(CHANNEL_FIELDS))
        if str(value).strip():
            given[name] = check_text(name, str(value).strip(), SHORT_TEXT)
    try:
        moment = datetime.fromisoformat(str(e["moment"]))
    except (KeyError, ValueError):
        raise DeliveryError("proposal", N_("proposal {id} holds no moment to record"), id=row.id) from None
    files = tuple(FileRef(f["sha256"], int(f["size"]), f["name"], f["type"]) for f in e.get("files") or ())
    return Evidence(
        moment,
        str(e.get("moment_kind") or "aired"),
        int(e["duration"]) if e.get("duration") is not None else None,
        str(e.get("url") or ""),
        str(e.get("title") or ""),
        tuple(e.get("topics") or (occurrence.shown or {}).get("topics") or ()),
        check_text("note", note.strip()),
        {**{k: str(v) for k, v in (e.get("fields") or {}).items() if v}, **given},
        files + tuple(extra_files),
        None,
        {**(row.source or {}), "proposal": row.id},
    )


def _recordable(session: Session, row: ProposalRow) -> OccurrenceRow:
    """Its occurrence, when the proposal can become a delivery: a recordable
    kind, an occurrence, not met already (409, naming the entry that met it)."""
    occurrence = session.get(OccurrenceRow, row.occurrence_id) if row.occurrence_id else None
    if row.kind not in RECORDABLE or occurrence is None:
        raise DeliveryError(
            "proposal",
            N_('proposal {id} ("{kind}") is shown, not recorded: reject it, or record a delivery by hand'),
            id=row.id,
            kind=row.kind,
        )
    delivery = occurrence.delivery or {}
    if delivery.get("state") in MET_STATES:
        raise Conflict(
            "proposal",
            N_(
                "occurrence {occurrence} is already met (entry {seq}): reject proposal {id}, or record a "
                "correction by hand naming the entry it supersedes"
            ),
            occurrence=occurrence.id,
            seq=delivery.get("seq"),
            id=row.id,
        )
    return occurrence


def confirm(
    session: Session,
    actor: Actor,
    proposal_id: int,
    now: datetime,
    base_url: str,
    fields: Mapping[str, str] | None = None,
    note: str = "",
    extra_files: Iterable[FileRef] = (),
) -> Recorded:
    """Record the proposal as ``actor``'s delivery and mark it confirmed."""
    row = _find(session, actor, proposal_id, lock=True)
    _undecided(session, row)
    occurrence = session.get(OccurrenceRow, row.occurrence_id) if row.occurrence_id else None
    _allowed(session, actor, row, occurrence)
    occurrence = _recordable(session, row)
    evidence = evidence_of(row, occurrence, fields, note, extra_files)
    result = record_delivery(session, actor, evidence, now, base_url, occurrence_id=occurrence.id)
    row.state, row.decided_by, row.decided_at, row.ledger_seq = CONFIRMED, actor.email, now, result.seq
    session.flush()
    return result


def reject(session: Session, actor: Actor, proposal_id: int, reason: str, now: datetime) -> ProposalRow:
    """Kept with its reason; nothing goes into the ledger."""
    row = _find(session, actor, proposal_id, lock=True)
    _undecided(session, row)
    occurrence = session.get(OccurrenceRow, row.occurrence_id) if row.occurrence_id else None
    _allowed(session, actor, row, occurrence)
    reason = check_text("reason", (reason or "").strip(), REASON_LIMIT)
    if not reason:
        raise DeliveryError("reason", N_("give the reason for rejecting the proposal"))
    row.state, row.decided_by, row.decided_at, row.reason = REJECTED, actor.email, now, reason
    session.flush()
    return row


def auto_record(session: Session, rows: Iterable[ProposalRow], now: datetime, base_url: str) -> list[ProposalRow]:
    """Record, as the outlet's harvesting account, the recordable proposals of
    outlets set to ``auto_record: true``. One that cannot be recorded (its
    occurrence met, a moment out of its window) stays open with the reason in
    its detail. Every check that refuses runs before anything is written."""
    settings: dict[tuple[str, str], OutletHarvest | None] = {}
    recorded = []
    for row in rows:
        key = (row.plan_code, row.outlet)
        if key not in settings:
            settings[key] = outlet_harvest(session, row.outlet, row.plan_code)
        harvest = settings[key]
        if harvest is None or not harvest.auto_record or row.state != OPEN or row.kind not in RECORDABLE:
            continue
        account = account_of(row.outlet, harvest.account)
        actor = Actor(account, ("producer",), row.outlet, False, "vi")
        try:
            occurrence = _recordable(session, row)
            result = record_delivery(
                session, actor, evidence_of(row, occurrence), now, base_url, occurrence_id=occurrence.id
            )
        except SchedulerError as e:
            reason = e.render(gettext_for("vi"))
            row.detail = (row.detail + " · " if row.detail else "") + reason
            continue
        row.state, row.decided_by, row.decided_at, row.ledger_seq = RECORDED, account, now, result.seq
        recorded.append(row)
    session.flush()
    return recorded


def _newest(query, limit: int):
    return query.order_by(ProposalRow.found_at.desc(), ProposalRow.id.desc()).limit(max(1, min(limit, MAX_LIST)))


def open_for_agency(session: Session, agency: str, limit: int = 100) -> list[ProposalRow]:
    """The open proposals an agency decides on, newest first."""
    return list(
        session.scalars(
            _newest(select(ProposalRow).where(ProposalRow.state == OPEN, ProposalRow.outlet == agency), limit)
        )
    )


def for_occurrence(session: Session, occurrence_id: str) -> list[ProposalRow]:
    """Every proposal about one occurrence, any state, in the order found."""
    query = select(ProposalRow).where(ProposalRow.occurrence_id == occurrence_id)
    return list(session.scalars(query.order_by(ProposalRow.found_at, ProposalRow.id).limit(MAX_LIST)))


def list_proposals(
    session: Session,
    outlet: str | None = None,
    state: str | None = None,
    plan: str | None = None,
    limit: int = 100,
    plans: Iterable[str] | None = None,
) -> list[ProposalRow]:
    """Proposals newest first, narrowed by outlet, state, plan and (``plans``)
    the plans a person sees."""
    if state and state not in STATES:
        raise DeliveryError(
            "state", N_('unknown state "{value}" (known: {allowed})'), value=state, allowed=", ".join(STATES)
        )
    query = select(ProposalRow)
    if outlet:
        query = query.where(ProposalRow.outlet == outlet)
    if state:
        query = query.where(ProposalRow.state == state)
    if plan:
        query = query.where(ProposalRow.plan_code == plan)
    if plans is not None:
        query = query.where(ProposalRow.plan_code.in_(list(plans)))
    return list(session.scalars(_newest(query, limit)))


def as_json(row: ProposalRow) -> dict:
    """A proposal as the API and ``proposals list --format json`` give it."""
    return {
        "id": row.id,
        "kind": row.kind,
        "state": row.state,
        "outlet": row.outlet,
        "plan": row.plan_code,
        "obligation": row.obligation_code,
        "occurrence": row.occurrence_id,
        "evidence": row.evidence,
        "source": row.source,
        "detail": row.detail,
        "found_at": row.found_at.isoformat(),
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "decided_by": row.decided_by,
        "reason": row.reason,
        "ledger_seq": row.ledger_seq,
    }
