"""One occurrence moved or skipped from its page (``POST /o/ID/changes``)
and from the API (``POST /api/occurrences/ID/changes``): the same rule
(``permissions.may_change``) and the same store function
(``store.web_exceptions.make_change``) behind both."""

from __future__ import annotations

import io
import zipfile
from functools import partial
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from scheduler.bounds import SHORT
from scheduler.errors import SchedulerError
from scheduler.i18n import gettext_for
from scheduler.store.recording import NotFound, Refused
from scheduler.store.tables import OccurrenceExceptionRow, OccurrenceRow
from scheduler.store.web_exception_files import NOTHING_TO_EXPORT, export_layers
from scheduler.store.web_exceptions import make_change
from scheduler.web.auth import SessionUser
from scheduler.web.bearer import Who
from scheduler.web.change_form import FIELDS
from scheduler.web.deps import ClockDep, DatabaseDep, Posted, ServicesDep, SettingsDep, form_post, signed_in
from scheduler.web.limits import ERRORS, Text
from scheduler.web.occurrence_view import actor_of
from scheduler.web.pages import show_occurrence

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)
Admin = Annotated[SessionUser, Depends(signed_in("admin", back="/admin/schedules"))]


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


@router.get("/admin/schedules/web-changes")
def export_download(request: Request, user: Admin, services: ServicesDep, plan: str = ""):
    """The live web exceptions as production files (``plan export``): one
    YAML file, or a .zip of one per plan and owner."""
    with services.db.transaction() as s:
        layers = export_layers(s, plan[:100] or None)
    if not layers:
        return services.views.refusal(request, user, 404, gettext_for(user.lang)(NOTHING_TO_EXPORT))
    if len(layers) == 1:
        plan_code, owner, text = layers[0]
        name, body, media = f"{plan_code}-{owner}-web.yaml", text.encode("utf-8"), "application/yaml; charset=utf-8"
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for plan_code, owner, text in layers:
                z.writestr(f"{plan_code}-{owner}-web.yaml", text)
        name, body, media = "web-changes.zip", buffer.getvalue(), "application/zip"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return services.views.sessions.finish(request, Response(body, media_type=media, headers=headers))
