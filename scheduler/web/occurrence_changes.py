"""One occurrence moved or skipped from its page (``POST /o/ID/changes``)
and from the API (``POST /api/occurrences/ID/changes``): the same rule
(``permissions.may_change``) and the same store function
(``store.web_exceptions.make_change``) behind both."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from scheduler.bounds import SHORT
from scheduler.errors import SchedulerError
from scheduler.i18n import gettext_for
from scheduler.store.recording import NotFound, Refused
from scheduler.store.tables import OccurrenceExceptionRow, OccurrenceRow
from scheduler.store.web_exceptions import make_change
from scheduler.web.bearer import Who
from scheduler.web.change_form import FIELDS
from scheduler.web.deps import ClockDep, DatabaseDep, Posted, ServicesDep, SettingsDep, form_post
from scheduler.web.limits import ERRORS, Text
from scheduler.web.occurrence_view import actor_of
from scheduler.web.pages import show_occurrence

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)


@router.post("/o/{occurrence_id}/changes")
async def change(
    occurrence_id: str,
    request: Request,
    posted: Annotated[Posted, Depends(form_post(back="/o/{occurrence_id}"))],
    services: ServicesDep,
):
    """Move or skip from the page; an error shows the page again with the
    form's values and the field at fault."""
    user, form = posted
    _, back = gettext_for(user.lang), f"/o/{occurrence_id}"
    values = {k: str(form.get(k, "")) for k in FIELDS}

    def write():
        with services.db.transaction() as s:
            make_change(
                s,
                actor_of(user),
                occurrence_id,
                values["action"],
                values["slot"],
                values["due"],
                values["reason"],
                services.clock.now(),
                services.settings,
            )

    try:
        await run_in_threadpool(write)
    except (Refused, NotFound) as e:
        return services.views.refusal(request, user, e.status, e.render(_), back)
    except SchedulerError as e:  # a field out of its bounds, a moment outside the window, no reason
        field = getattr(e, "field", None)
        error = {"field": field, "label": _(FIELDS[field]) if field in FIELDS else "", "message": e.render(_)}
        return await run_in_threadpool(
            partial(show_occurrence, request, services, user, occurrence_id, 422, change_values=values),
            change_error=error,
        )
    return services.views.redirect(request, f"/o/{quote(occurrence_id)}#change")


class Change(BaseModel):
    action: Literal["move", "skip"]
    reason: Text("reason")
    slot: Text("slot", SHORT) = ""
    due: Text("due", SHORT) = ""


def as_json(ex: OccurrenceExceptionRow, row: OccurrenceRow) -> dict:
    return {
        "id": ex.id,
        "occurrence": row.id,
        "action": ex.action,
        "reason": ex.reason,
        "made_by": ex.made_by,
        "made_at": ex.made_at.isoformat(),
        "status": row.status,
        "revision": row.revision,
        "due": row.due.isoformat(),
        "slot": row.slot.isoformat() if row.slot else None,
    }


@api_router.post(
    "/occurrences/{occurrence_id}/changes",
    status_code=201,
    summary="Move or skip one occurrence, with a reason (admin, or a producer or editor of its agency)",
)
def change_api(occurrence_id: str, body: Change, actor: Who, db: DatabaseDep, clock: ClockDep, settings: SettingsDep):
    with db.transaction() as s:
        ex = make_change(s, actor, occurrence_id, body.action, body.slot, body.due, body.reason, clock.now(), settings)
        answer = as_json(ex, s.get(OccurrenceRow, occurrence_id))
    return JSONResponse(answer, status_code=201)
