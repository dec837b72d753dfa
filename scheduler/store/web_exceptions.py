"""One occurrence moved or skipped from the web: checked as a file's
exception is (``production_fields.outside_window``), kept as an exception of
a production layer (``OccurrenceExceptionRow``), applied to the occurrence
(a new revision, its milestones counted again from the new due moment, its
calendar items rendered again under the same UID) and announced as a load's
changes are, all in the caller's one transaction."""

from __future__ import annotations

from datetime import datetime, time, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from scheduler.bounds import FieldError, check_text
from scheduler.errors import N_, InputError, SchedulerError
from scheduler.people.permissions import Actor, may_change
from scheduler.plan.occurrences import CANCELLED
from scheduler.plan.periods import Period, parse_moment
from scheduler.plan.production_fields import OUTSIDE_WINDOW, outside_window
from scheduler.plan.revisions import fingerprint
from scheduler.settings import Settings
from scheduler.store.closed_periods import refuse_if_closed
from scheduler.store.feed_items import write_items
from scheduler.store.loading import enqueue_notices
from scheduler.store.recording import NotFound, refuse
from scheduler.store.schedule import _milestones
from scheduler.store.tables import MilestoneRow, OccurrenceExceptionRow, OccurrenceRow, PlanRow
from scheduler.store.watch import calendar_of
from scheduler.store.web_exception_loads import applied, as_occurrence, live_exceptions

ACTIONS = ("move", "skip")


def _moment(key: str, text: str, tz: tzinfo, due_time: time, window: Period) -> datetime | None:
    if not text.strip():
        return None
    try:
        moment = parse_moment(text, tz, due_time)
    except SchedulerError as e:
        raise FieldError(key, e.message, **e.params) from None
    if (outside := outside_window(moment, window, tz)) is not None:
        raise FieldError(key, OUTSIDE_WINDOW, **outside)
    return moment


def make_change(
    session: Session,
    actor: Actor,
    occurrence_id: str,
    action: str,
    slot: str,
    due: str,
    reason: str,
    now: datetime,
    settings: Settings,
) -> OccurrenceExceptionRow:
    """Check, keep and apply one web exception; a live one on the same
    occurrence is replaced (what it moved is kept unless the new one says
    otherwise), so one exception per occurrence is ever live."""
    row = session.get(OccurrenceRow, occurrence_id)
    if row is None:
        raise NotFound(N_("no occurrence {id}"), id=occurrence_id)
    decision = may_change(actor, row.agency_code)
    if not decision:
        raise refuse(actor, "change", occurrence_id, decision)
    refuse_if_closed(session, row)
    if action not in ACTIONS:
        raise FieldError("action", N_('expected "move" or "skip", got "{value}"'), value=action[:40])
    reason = check_text("reason", reason.strip())
    if not reason:
        raise FieldError("reason", N_("give the reason for the change: it is shown with the occurrence"))
    plan = session.get(PlanRow, row.plan_code)
    tz, calendar = ZoneInfo(plan.timezone), calendar_of(plan)
    window = Period(row.window_start.astimezone(tz).date(), row.window_end.astimezone(tz).date(), row.period)
    due_time = time.fromisoformat((plan.definition or {}).get("due_time", "17:00"))
    before = next(reversed(live_exceptions(session, occurrence=row.id)), None)
    if row.status == CANCELLED and not (before and before.action == "skip"):
        raise InputError(
            N_("this occurrence is cancelled ({reason}); only one skipped from the web can be moved back"),
            reason=row.reason,
        )
    new_slot = new_due = None
    if action == "move":
        new_slot, new_due = _moment("slot", slot, tz, due_time, window), _moment("due", due, tz, due_time, window)
        if new_slot is None and new_due is None:
            raise FieldError("slot", N_('a move needs a new "slot" (air time) or "due" moment, or both'))
    if before is not None:  # what the earlier web change moved stays moved
        new_due = new_due or (None if new_slot else before.due)
        new_slot = new_slot or before.slot
        before.overridden_at, before.overridden_by = now, f"web: {actor.email}"
    ex = OccurrenceExceptionRow(
        plan_code=row.plan_code,
        occurrence_id=row.id,
        action=action,
        slot=new_slot,
        due=new_due,
        reason=reason,
        made_at=now,
        made_by=actor.email,
        overridden_by="",
    )
    session.add(ex)
    milestones = list(session.scalars(select(MilestoneRow).where(MilestoneRow.occurrence_id == row.id)))
    after = applied(as_occurrence(row, milestones, tz), ex, tz, calendar)
    shown = after.shown()
    if fingerprint(shown) != row.fingerprint:
        previous = {row.id: (row.due, row.slot, row.status)}
        if after.status == CANCELLED:
            row.cancelled_at = row.cancelled_at if row.status == CANCELLED else now
        else:
            row.cancelled_at = None
        row.due, row.slot, row.status, row.reason = after.due, after.slot, after.status, after.reason
        row.shown, row.fingerprint, row.revision, row.updated_at = shown, fingerprint(shown), row.revision + 1, now
        session.execute(delete(MilestoneRow).where(MilestoneRow.occurrence_id == row.id))
        session.add_all(_milestones(after))
        session.flush()
        write_items(session, [row.id], settings.base_url)
        enqueue_notices(session, previous, now, settings)
    session.flush()
    return ex
