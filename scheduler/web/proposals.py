"""Deciding on proposals: one click to confirm (a delivery recorded from the
proposal's evidence, ``store.proposal_decisions.confirm``), a reason to
reject, from *Việc của tôi* and the occurrence page (forms, CSRF) and from
the API (``/api/proposals``, bearer tokens). The same store functions judge
both; an error names its field."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from scheduler.bounds import SHORT, parse_id
from scheduler.errors import N_, SchedulerError
from scheduler.evidence.deliveries import CHANNEL_FIELDS
from scheduler.i18n import gettext_for
from scheduler.people.permissions import Actor, Decision
from scheduler.store.closed_periods import AFTER_CLOSING
from scheduler.store.proposal_decisions import MAX_LIST, as_json, confirm, list_proposals, reject
from scheduler.store.recording import NotFound, Refused, refuse
from scheduler.store.visibility import visible_plans
from scheduler.web import auth
from scheduler.web.bearer import Who
from scheduler.web.deps import DatabaseDep, Posted, ServicesDep, form_post
from scheduler.web.limits import ERRORS, ErrorBody, Id, Text
from scheduler.web.occurrence_view import actor_of

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)
OVERSEERS = {"dha", "admin", "national"}
CONFLICT = {409: {"model": ErrorBody, "description": "Decided already, or its occurrence is met already"}}


def _back(form) -> str:
    """Where the form came from (/me or the occurrence page): a path on this site only."""
    return auth.safe_next(str(form.get("next", "") or "/me"))


def _flash(back: str, proposal_id: int) -> str:
    path, _sep, _query = back.partition("?")
    return f"{path}?{urlencode({'proposal': proposal_id})}#proposal-{proposal_id}"


async def _decide(request: Request, services, user, proposal_id: str, back: str, write):
    """Run ``write(session, actor, id, now)``; refusals as pages, success back with the flash."""
    _ = gettext_for(user.lang)
    number = parse_id(proposal_id)
    if number is None:
        return services.views.refusal(request, user, 404, _(N_("no proposal {id}")).format(id=proposal_id[:40]), back)

    def run():
        with services.db.transaction() as s:
            write(s, actor_of(user), number, services.clock.now())

    try:
        await run_in_threadpool(run)
    except (Refused, NotFound) as e:
        return services.views.refusal(request, user, e.status, e.render(_), back)
    except SchedulerError as e:  # decided already (409), no reason (422), a field out of bounds
        field = getattr(e, "field", None)
        message = e.render(_) + (f" ({field})" if field and field != "proposal" else "")
        return services.views.refusal(request, user, getattr(e, "status", 422), message, back)
    return services.views.redirect(request, _flash(back, number))


@router.post("/proposals/{proposal_id}/confirm")
async def confirm_page(
    proposal_id: str,
    request: Request,
    posted: Annotated[Posted, Depends(form_post(back="/me"))],
    services: ServicesDep,
):
    user, form = posted
    back = _back(form)
    fields = {name: str(form.get(name, "")) for name in CHANNEL_FIELDS if form.get(name)}
    note = str(form.get("note", ""))

    def write(s, actor, number, now):
        confirm(s, actor, number, now, services.settings.base_url, fields, note)

    return await _decide(request, services, user, proposal_id, back, write)


@router.post("/proposals/{proposal_id}/reject")
async def reject_page(
    proposal_id: str,
    request: Request,
    posted: Annotated[Posted, Depends(form_post(back="/me"))],
    services: ServicesDep,
):
    user, form = posted
    reason = str(form.get("reason", ""))

    def write(s, actor, number, now):
        reject(s, actor, number, reason, now)

    return await _decide(request, services, user, proposal_id, _back(form), write)


class Confirmation(BaseModel):
    fields: dict[Text("name", SHORT), Text("page", SHORT)] = {}
    note: Text("note") = ""


class Rejection(BaseModel):
    reason: Text("reason", 1000)


def _narrowed(s, actor: Actor, outlet: str | None) -> tuple[str | None, list[str] | None]:
    """The outlet and plans a reader may list: the DHA and admins those of
    the plans they see; anyone else their own agency's only."""
    if OVERSEERS & set(actor.roles):
        return outlet, visible_plans(s, actor.roles, actor.agency)
    if not actor.agency or (outlet and outlet != actor.agency):
        decision = Decision(
            False,
            N_("{email} may only see the proposals of their own agency ({agency})"),
            {"email": actor.email, "agency": actor.agency or "-"},
        )
        raise refuse(actor, "list the proposals of", outlet or "every agency", decision)
    return actor.agency, None


@api_router.get("/proposals", summary="Proposals, the newest first (producers: their agency's; DHA, admin: all seen)")
def list_api(
    actor: Who,
    db: DatabaseDep,
    state: str | None = Query(None, max_length=16),
    outlet: str | None = Query(None, max_length=100),
    plan: str | None = Query(None, max_length=100),
    limit: int = Query(100, ge=1, le=MAX_LIST),
):
    with db.transaction() as s:
        outlet, plans = _narrowed(s, actor, outlet)
        return [as_json(r) for r in list_proposals(s, outlet, state or None, plan, limit, plans)]


@api_router.post(
    "/proposals/{proposal_id}/confirm",
    status_code=201,
    responses=CONFLICT,
    summary="Confirm a proposal: its evidence recorded as your delivery, its source in the ledger entry",
)
def confirm_api(proposal_id: Id, actor: Who, services: ServicesDep, body: Confirmation | None = None):
    body = body or Confirmation()
    with services.db.transaction() as s:
        result = confirm(
            s, actor, proposal_id, services.clock.now(), services.settings.base_url, body.fields, body.note
        )
    answer = result.as_json()
    _ = gettext_for(actor.lang)
    answer["reasons"] = [_(m).format(**p) for m, p in result.reasons]
    answer["gaps"] = [_(g) for g in result.gaps]
    if result.after_closing:
        answer["note"] = _(AFTER_CLOSING)
    return JSONResponse(answer, status_code=201)


@api_router.post("/proposals/{proposal_id}/reject", responses=CONFLICT, summary="Reject a proposal, with a reason")
def reject_api(proposal_id: Id, body: Rejection, actor: Who, services: ServicesDep):
    with services.db.transaction() as s:
        return as_json(reject(s, actor, proposal_id, body.reason, services.clock.now()))
