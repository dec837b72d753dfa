"""Proposals in the database: what the harvesters need to know of what an
outlet owes (``owed_of``), and keeping what they propose (``save_proposals``,
once per key). Confirming and rejecting are ``store/proposal_decisions.py``'s."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.harvest.proposals import OPEN, Owed, Proposal
from scheduler.plan.harvest_settings import checks_from, match_from
from scheduler.store.proposal_decisions import MET_STATES, auto_record
from scheduler.store.tables import ObligationRow, OccurrenceRow, PlanRow, ProposalRow


def owed_of(session: Session, outlet: str, start: datetime, end: datetime) -> list[Owed]:
    """Every occurrence ``outlet`` owes whose window meets [start, end), in
    window order, with its obligation's ``match`` and ``checks``."""
    rows = session.scalars(
        select(OccurrenceRow)
        .where(OccurrenceRow.agency_code == outlet, OccurrenceRow.window_end > start, OccurrenceRow.window_start < end)
        .order_by(OccurrenceRow.window_start, OccurrenceRow.obligation_code, OccurrenceRow.number)
    ).all()
    obligations = {
        (o.plan_code, o.code): o
        for o in session.scalars(select(ObligationRow).where(ObligationRow.plan_code.in_({r.plan_code for r in rows})))
    }
    zones = {p.code: ZoneInfo(p.timezone) for p in session.scalars(select(PlanRow))}
    found = []
    for r in rows:
        zone = zones[r.plan_code]
        ob = obligations.get((r.plan_code, r.obligation_code))
        definition = ob.definition if ob else {}
        shown = r.shown or {}
        found.append(
            Owed(
                id=r.id,
                plan=r.plan_code,
                obligation=r.obligation_code,
                outlet=r.agency_code,
                period=r.period,
                number=r.number,
                window_start=r.window_start.astimezone(zone),
                window_end=r.window_end.astimezone(zone),
                due=r.due.astimezone(zone),
                slot=r.slot.astimezone(zone) if r.slot else None,
                channels=tuple(shown.get("channels") or ()),
                match=match_from(definition.get("match")),
                checks=checks_from(definition.get("checks")),
                min_duration=shown.get("min_duration"),
                duration=shown.get("duration"),
                tolerance=shown.get("duration_tolerance"),
                status=r.status,
                met=(r.delivery or {}).get("state") in MET_STATES,
                continuous=bool(ob and ob.cadence.startswith("continuous")),
            )
        )
    return found


def save_proposals(session: Session, proposals: Iterable[Proposal], now: datetime, base_url: str) -> list[ProposalRow]:
    """Keep the proposals not kept before (same key: the same thing harvested
    again) and return the new rows, in the caller's transaction; an outlet
    set to ``auto_record: true`` has its recordable ones recorded at once
    (``proposal_decisions.auto_record``: state "recorded", or still open with why not)."""
    proposals = list(proposals)
    keys = [p.key for p in proposals]
    known = set(session.scalars(select(ProposalRow.key).where(ProposalRow.key.in_(keys)))) if keys else set()
    new = []
    for p in proposals:
        if p.key in known:
            continue
        known.add(p.key)
        row = ProposalRow(
            key=p.key,
            kind=p.kind,
            outlet=p.outlet,
            plan_code=p.plan,
            obligation_code=p.obligation,
            occurrence_id=p.occurrence,
            evidence=dict(p.evidence),
            source=dict(p.source),
            detail=p.detail,
            state=OPEN,
            found_at=p.found_at or now,
            decided_by="",
            reason="",
        )
        session.add(row)
        new.append(row)
    session.flush()
    auto_record(session, new, now, base_url)
    return new
