"""The change form on an occurrence's page (move or skip, with a reason),
shown to those ``permissions.may_change`` allows; its POST is in
``occurrence_changes``."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from scheduler.errors import N_
from scheduler.people.permissions import may_change
from scheduler.store.tables import OccurrenceRow
from scheduler.web.auth import SessionUser
from scheduler.web.occurrence_view import actor_of

FIELDS = {"action": N_("Change"), "slot": N_("New air slot"), "due": N_("New due moment"), "reason": N_("Reason")}


def _local(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M") if moment else ""


def change_form(o: OccurrenceRow, user: SessionUser, context: dict) -> dict | None:
    """The form for those who may move or skip this occurrence, with its first
    values (the slot as it is, in the plan's zone; the due moment empty, so
    that it follows a new slot unless one is given); nothing for others."""
    if not may_change(actor_of(user), o.agency_code):
        return None
    return {
        "action": f"/o/{quote(o.id)}/changes",
        "cancelled": o.status == "cancelled",
        "values": {"action": "move", "slot": _local(context.get("slot")), "due": ""},  # an empty due follows the slot
    }
