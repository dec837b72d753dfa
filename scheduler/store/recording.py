"""Recording a delivery or an excuse: permissions, rules, the ledger entry,
the occurrence's new state and its feed items, all in one transaction.

The CLI and the API both come through here, so the same rules hold for
both, and a refusal writes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.errors import N_, SchedulerError
from scheduler.evidence.deliveries import (
    DeliveryError,
    Evidence,
    Target,
    choose_target,
    is_met,
    judge,
    occurrence_state,
)
from scheduler.people.permissions import Actor, Decision, may_excuse, may_record
from scheduler.plan.channels import from_definition
from scheduler.store import ledger as stored_ledger
from scheduler.store import webhook_events
from scheduler.store.closed_periods import closing_of_occurrence
from scheduler.store.feed_items import write_items
from scheduler.store.people import find_user
from scheduler.store.schedule import group_members
from scheduler.store.tables import ObligationRow, OccurrenceRow, PlanRow, UserRow

log = logging.getLogger("scheduler.recording")


class Refused(SchedulerError):
    """Not allowed (HTTP 403, or 404 where existence is private)."""

    def __init__(self, decision: Decision, status: int = 403):
        super().__init__(decision.reason, **(decision.params or {}))
        self.status = status


class NotFound(SchedulerError):
    status = 404


def actor_of(user: UserRow) -> Actor:
    return Actor(user.email, tuple(user.roles), user.agency_code, user.disabled, user.lang)


def actor_by_email(session: Session, email: str) -> Actor:
    user = find_user(session, email)
    if user is None:
        raise NotFound(N_("no user {email}"), email=email)
    return actor_of(user)


def _target(session: Session, row: OccurrenceRow) -> Target:
    """In the plan's time zone (the database keeps UTC), so messages read locally."""
    plan = session.get(PlanRow, row.plan_code)
    zone = ZoneInfo(plan.timezone)
    return Target(
        row.id,
        row.status,
        row.window_start.astimezone(zone),
        row.window_end.astimezone(zone),
        row.shown.get("min_duration"),
        tuple(row.shown.get("channels", [])),
        row.number,
        from_definition(plan.definition),
        row.shown.get("duration"),
        row.shown.get("duration_tolerance"),
        row.shown.get("max_duration"),
    )


def grants(session: Session, plan: str, obligation: str) -> tuple[str, ...]:
    """The agencies the schedule lets record for an obligation besides its host."""
    ob = session.get(ObligationRow, (plan, obligation))
    return tuple((ob.definition or {}).get("may_record") or ()) if ob else ()


def refuse(actor: Actor, action: str, what: str, decision: Decision, status: int = 403) -> Refused:
    """Every refusal is logged with who, what and why."""
    log.warning(
        "refused: %s may not %s %s: %s",
        actor.email,
        action,
        what,
        decision.reason.format(**(decision.params or {})),
        extra={"refusal": True},
    )
    return Refused(decision, status)


@dataclass(frozen=True)
class Recorded:
    seq: int
    occurrence: str
    state: str | None
    conforming: bool
    late: bool
    extra: bool
    reasons: tuple
    gaps: tuple
    after_closing: bool = False  # its occurrence's period was closed: "ghi nhận sau khi chốt"

    def as_json(self) -> dict:
        return asdict(self)


# What close_windows caches when a window closes with nothing recorded: not
# derived from the ledger, so verify accepts it where the ledger gives nothing
# and the window has closed.
MISSING = {"state": "missing"}


def cache_agrees(cached: object, expected: dict | None, closed: bool) -> bool:
    """Whether an occurrence's cached delivery is the one its entries give
    (``expected``, from ``delivery_of``); MISSING stands for no entries once
    the window has ``closed``."""
    return cached == expected or (expected is None and cached == MISSING and closed)


def delivery_of(rows, occurrence_id: str) -> dict | None:
    """The delivery state an occurrence caches, from its entries (rows with
    seq and content, in seq order); ``verify`` recomputes it to compare."""
    state = occurrence_state(stored_ledger.recorded(rows).get(occurrence_id, []))
    if not state.state:
        return None
    payload = next(stored_ledger.parse_content(r.content) for r in rows if r.seq == state.seq)["payload"]
    return {
        "state": state.state,
        "moment": state.moment.isoformat() if state.moment else None,
        "seq": state.seq,
        "note": state.note,
        "reasons": payload.get("reasons", []),
    }


def _apply_state(session: Session, row: OccurrenceRow, now: datetime, base_url: str) -> None:
    """Recompute the occurrence's state from all its entries; a change raises
    its revision and reserializes its feed items."""
    delivery = delivery_of(stored_ledger.entries_of(session, [row.id]), row.id)
    if delivery != row.delivery:
        row.delivery, row.revision, row.updated_at = delivery, row.revision + 1, now
        session.flush()
        write_items(session, [row.id], base_url)


def _occurrence(session: Session, actor: Actor, occurrence_id: str) -> OccurrenceRow:
    row = session.get(OccurrenceRow, occurrence_id, with_for_update=True)
    if row is None:
        raise NotFound(N_("no occurrence {id}"), id=occurrence_id)
    return row


def precheck(
    session: Session, actor: Actor, occurrence_id: str | None, obligation: str | None, plan: str | None
) -> str:
    """Refuse before a (large) upload is read; ``record_delivery`` checks
    again in its own transaction. The code of the plan recorded against."""
    if occurrence_id is not None:
        row = session.get(OccurrenceRow, occurrence_id)
        if row is None:
            raise NotFound(N_("no occurrence {id}"), id=occurrence_id)
        keys = [(row.plan_code, row.obligation_code, row.agency_code)]
    else:
        query = select(ObligationRow).where(ObligationRow.code == obligation)
        keys = [
            (ob.plan_code, ob.code, host)
            for ob in session.scalars(query.where(ObligationRow.plan_code == plan) if plan else query)
            for host in group_members(session, ob.plan_code).get(ob.host, [ob.host])
        ]
        if not keys:
            raise NotFound(N_('no obligation "{code}"'), code=obligation)
    decisions = [may_record(actor, host, grants(session, p, ob)) for p, ob, host in keys]
    if not any(decisions):
        raise refuse(actor, "record a delivery for", occurrence_id or obligation, decisions[0])
    return keys[decisions.index(next(d for d in decisions if d))][0]


def record_delivery(
    session: Session,
    actor: Actor,
    evidence: Evidence,
    now: datetime,
    base_url: str,
    occurrence_id: str | None = None,
    obligation: str | None = None,
    period: str | None = None,
    plan: str | None = None,
) -> Recorded:
    """Against one occurrence, or against an obligation and period (the
    lowest-numbered open occurrence of that window; an extra when all are met)."""
    extra = False
    if occurrence_id is None:
        row, extra = _by_period(session, actor, obligation or "", period or "", plan)
    else:
        row = _occurrence(session, actor, occurrence_id)
    decision = may_record(actor, row.agency_code, grants(session, row.plan_code, row.obligation_code))
    if not decision:
        raise refuse(actor, "record a delivery for", row.id, decision)
    known = {t["code"] for t in (session.get(PlanRow, row.plan_code).definition.get("topics") or [])}
    unknown = [t for t in evidence.topics if t not in known]
    if unknown:
        raise DeliveryError(
            "topics",
            N_('unknown topic "{value}" (declared: {allowed})'),
            value=unknown[0],
            allowed=", ".join(sorted(known)) or "-",
        )
    siblings = _window(session, row)
    recorded = stored_ledger.recorded(stored_ledger.entries_of(session, [o.id for o in siblings]))
    open_sibling = next(
        (o.id for o in siblings if o.id != row.id and o.status != "cancelled" and not is_met(recorded.get(o.id, []))),
        None,
    )
    verdict = judge(_target(session, row), evidence, recorded.get(row.id, []), now, extra, open_sibling)
    payload = {
        "moment": evidence.moment.isoformat(),
        "moment_kind": evidence.moment_kind,
        "duration": evidence.duration,
        "url": evidence.url,
        "title": evidence.title,
        "topics": list(evidence.topics),
        "note": evidence.note,
        "fields": dict(evidence.fields),
        "files": [asdict(f) for f in evidence.files],
        "conforming": verdict.conforming,
        "late": verdict.late,
        "extra": extra,
        "reasons": [[m, p] for m, p in verdict.reasons],
        "gaps": list(verdict.gaps),
    }
    if evidence.source:  # a harvested record names where its proof came from (issue 17)
        payload["source"] = dict(evidence.source)
    stored_ledger.remember_files(session, payload["files"], now)
    entry = stored_ledger.append(session, "delivery", row.id, now, actor.email, payload, evidence.supersedes)
    _apply_state(session, row, now, base_url)
    webhook_events.delivery_recorded(session, row, entry.seq, actor.email, now, payload, base_url)  # issue 19
    return Recorded(
        entry.seq,
        row.id,
        (row.delivery or {}).get("state"),
        verdict.conforming,
        verdict.late,
        extra,
        verdict.reasons,
        verdict.gaps,
        closing_of_occurrence(session, row) is not None,
    )


def record_excuse(
    session: Session,
    actor: Actor,
    occurrence_id: str,
    reason: str,
    now: datetime,
    base_url: str,
    supersedes: int | None = None,
) -> Recorded:
    row = _occurrence(session, actor, occurrence_id)
    decision = may_excuse(actor, row.agency_code)
    if not decision:
        raise refuse(actor, "excuse", row.id, decision)
    if not reason.strip():
        raise DeliveryError("reason", N_("give the reason for the excuse"))
    if row.status == "cancelled":
        raise DeliveryError(
            "occurrence", N_("occurrence {id} is cancelled; nothing can be delivered for it"), id=row.id
        )
    if supersedes is not None:
        mine = {e.seq: e for e in stored_ledger.recorded(stored_ledger.entries_of(session, [row.id])).get(row.id, [])}
        if supersedes not in mine or mine[supersedes].superseded:
            raise DeliveryError(
                "supersedes", N_("entry {seq} is not an active entry of occurrence {id}"), seq=supersedes, id=row.id
            )
    entry = stored_ledger.append(session, "excuse", row.id, now, actor.email, {"reason": reason.strip()}, supersedes)
    _apply_state(session, row, now, base_url)
    after = closing_of_occurrence(session, row) is not None
    return Recorded(entry.seq, row.id, (row.delivery or {}).get("state"), True, False, False, (), (), after)


def _window(session: Session, row: OccurrenceRow) -> list[OccurrenceRow]:
    return list(
        session.scalars(
            select(OccurrenceRow)
            .where(
                OccurrenceRow.plan_code == row.plan_code,
                OccurrenceRow.obligation_code == row.obligation_code,
                OccurrenceRow.period == row.period,
                OccurrenceRow.member == row.member,  # a group's members owe apart
            )
            .order_by(OccurrenceRow.number)
        )
    )


def own_member(rows: list[OccurrenceRow], agency: str | None) -> list[OccurrenceRow]:
    """A window of a group's obligation holds every member's occurrences:
    keep those of the agency recording, when it is one of them."""
    if len({r.member for r in rows}) > 1:
        return [r for r in rows if r.agency_code == agency] or rows
    return rows


def _by_period(
    session: Session, actor: Actor, obligation: str, period: str, plan: str | None
) -> tuple[OccurrenceRow, bool]:
    query = select(OccurrenceRow).where(OccurrenceRow.obligation_code == obligation, OccurrenceRow.period == period)
    if plan:
        query = query.where(OccurrenceRow.plan_code == plan)
    rows = list(session.scalars(query.order_by(OccurrenceRow.number)))
    rows = own_member(rows, actor.agency)
    if not rows:
        raise DeliveryError(
            "period",
            N_('obligation "{obligation}" owes nothing in period "{period}"'),
            obligation=obligation,
            period=period,
        )
    if len({r.plan_code for r in rows}) > 1:
        raise DeliveryError(
            "plan", N_('obligation "{obligation}" exists in several plans; say which with plan'), obligation=obligation
        )
    recorded = stored_ledger.recorded(stored_ledger.entries_of(session, [r.id for r in rows]))
    target, extra = choose_target([(_target(session, r), recorded.get(r.id, [])) for r in rows])
    return next(r for r in rows if r.id == target.id), extra
