"""What each webhook event says (its ``data``), built from the rows of the
action that emits it, in that action's transaction; the five emitting
places call one function here each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.reminders.outbox import Message
from scheduler.reminders.policy import occurrence_of
from scheduler.store.tables import ClosedPeriodRow, OccurrenceRow, PlanRow
from scheduler.store.webhooks import emit, subscribed

# the daemon's reminder kinds that are also events
REMINDER_EVENTS = {"at_risk": "occurrence.at_risk", "overdue": "occurrence.missed"}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def occurrence_data(row: OccurrenceRow, base_url: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "plan": row.plan_code,
        "agency": row.agency_code,
        "obligation": row.obligation_code,
        "title": row.title,
        "window": {"start": _iso(row.window_start), "end": _iso(row.window_end)},
        "due": _iso(row.due),
        "status": (row.delivery or {}).get("state") or row.status,
        "link": f"{base_url.rstrip('/')}/o/{quote(row.id)}",
    }


def delivery_recorded(
    session: Session, row: OccurrenceRow, seq: int, by: str, at: datetime, evidence: Mapping[str, Any], base_url: str
) -> int:
    """A ledger entry of a delivery: its occurrence and a summary of its evidence."""
    if not subscribed(session, "delivery.recorded"):
        return 0
    summary = {k: evidence.get(k) for k in ("moment", "url", "title", "conforming", "late", "extra")}
    summary["files"] = len(evidence.get("files") or [])
    data = {
        "occurrence": occurrence_data(row, base_url),
        "entry": {"seq": seq, "recorded_by": by, "at": at.isoformat(), "evidence": summary},
    }
    return emit(session, "delivery.recorded", f"{row.id}#{seq}", data, at)


def period_closed(session: Session, closed: ClosedPeriodRow) -> int:
    """One event per plan the closing covers (a receiver follows its plans)."""
    if not subscribed(session, "period.closed"):
        return 0
    new = 0
    for plan in closed.plans or []:
        data = {
            "plan": plan,
            "label": closed.label,
            "cutoff": closed.cutoff,
            "province": closed.province,
            "first_day": closed.first_day.isoformat(),
            "last_day": closed.last_day.isoformat(),
            "closed_by": closed.closed_by,
            "ledger_seq": closed.ledger_seq,
        }
        new += emit(session, "period.closed", f"{plan}@{closed.label}", data, closed.closed_at)
    return new


def plan_loaded(session: Session, results: Iterable[tuple[Any, Any]], digests: Mapping[str, str], now: datetime) -> int:
    """One event per plan a load wrote (``save_schedules``' results)."""
    if not subscribed(session, "plan.loaded"):
        return 0
    new = 0
    for plan, changes in results:
        row = session.get(PlanRow, plan.code)
        total = session.scalar(select(func.count()).where(OccurrenceRow.plan_code == plan.code))
        data = {
            "code": plan.code,
            "title": row.title if row else "",
            "digest": digests.get(plan.source, ""),
            "counts": {
                "occurrences": total or 0,
                "created": len(changes.created),
                "revised": len(changes.revised),
                "cancelled": len(changes.cancelled),
                "unchanged": changes.unchanged,
            },
        }
        new += emit(session, "plan.loaded", plan.code, data, now, moment=now)
    return new


def reminders(session: Session, messages: Iterable[Message], now: datetime, base_url: str) -> int:
    """``occurrence.at_risk`` and ``occurrence.missed`` where the daemon plans
    those reminders: once per occurrence and moment (the key dedups)."""
    wanted = {k: e for k, e in REMINDER_EVENTS.items() if subscribed(session, e)}
    seen = {(wanted[m.kind], occurrence_of(m.about), m.announces) for m in messages if m.kind in wanted}
    new = 0
    for event, occurrence, moment in sorted(seen, key=lambda s: (s[0], s[1], s[2].isoformat())):
        row = session.get(OccurrenceRow, occurrence)
        if row is not None:
            new += emit(session, event, occurrence, {"occurrence": occurrence_data(row, base_url)}, now, moment)
    return new
