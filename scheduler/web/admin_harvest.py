"""The harvest as administrators steer it: every source the daemon reads
(``/admin/harvest``, filtered by outlet, kind and state, a page at a time),
a source's fetch history with "read at the next pass" and pause/resume
(forms, CSRF); and the same lists on the API for administrators and the DHA,
so a broken feed or portal check shows where people look."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from scheduler.bounds import MAX_ID, parse_id
from scheduler.errors import N_, SchedulerError
from scheduler.i18n import gettext_for
from scheduler.people.permissions import Actor, Decision
from scheduler.store import harvest_views as hv
from scheduler.store.recording import NotFound, refuse
from scheduler.store.tables import HarvestSourceRow
from scheduler.web.auth import SessionUser
from scheduler.web.bearer import Who
from scheduler.web.deps import ClockDep, DatabaseDep, Posted, ServicesDep, ViewsDep, form_post, signed_in
from scheduler.web.limits import ERRORS, Id

PAGE = "/admin/harvest"
PER_PAGE = 50
DONE = {
    "fetch-now": N_("It will be read at the harvest's next pass (within a minute)."),
    "paused": N_("Paused: the daemon does not read it, even after the files are loaded again."),
    "resumed": N_("Resumed: it is read again."),
}
router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)
Admin = Annotated[SessionUser, Depends(signed_in("admin"))]
SourceForm = Annotated[Posted, Depends(form_post("admin", back=PAGE + "/{source_id}"))]


def _filters(request: Request) -> tuple[dict[str, str], int]:
    """The list's filters and page from the query, each bounded and named when refused."""
    q = request.query_params
    found = {k: q.get(k, "").strip() for k in ("outlet", "kind", "state")}
    if len(found["outlet"]) > 100:
        raise hv.BadQuery("outlet", N_("at most {limit} characters"), limit=100)
    hv.check_filters(found["kind"] or None, found["state"] or None)
    page = parse_id(q.get("page", "1") or "1")
    if page is None or not 1 <= page <= 10_000:
        raise hv.BadQuery("page", N_("a page number from 1 to {limit}"), limit=10_000)
    return found, page


def _source_view(view: hv.SourceView, clock, _) -> dict:
    r = view.row
    return {
        "id": r.id,
        "kind": r.kind,
        "kind_words": _(hv.KIND_WORDS.get(r.kind, r.kind)),
        "outlet": r.outlet,
        "plan": r.plan_code,
        "obligation": r.obligation_code,
        "url": r.url,
        "active": r.active,
        "state": view.state,
        "state_words": _(hv.STATE_WORDS[view.state]),
        "next_at": r.next_at.astimezone(clock.tz),
        "last_at": r.last_at.astimezone(clock.tz) if r.last_at else None,
        "last_ok": r.last_ok,
        "last_error": view.last_error,
        "failures": r.failures,
    }


def _refused(request: Request, views, user: SessionUser, e: SchedulerError, back: str) -> Response:
    _ = gettext_for(user.lang)
    field = getattr(e, "field", None)
    message = e.render(_) + (f" ({field})" if field else "")
    return views.refusal(request, user, getattr(e, "status", 422), message, back)


@router.get(PAGE)
def sources_page(request: Request, user: Admin, db: DatabaseDep, clock: ClockDep, views: ViewsDep):
    _ = gettext_for(user.lang)
    try:
        filters, page = _filters(request)
    except hv.BadQuery as e:
        return _refused(request, views, user, e, PAGE)
    with db.transaction() as s:
        found, total = hv.list_sources(
            s, filters["outlet"] or None, filters["kind"] or None, filters["state"] or None,
            (page - 1) * PER_PAGE, PER_PAGE,
        )  # fmt: skip
        rows = [_source_view(v, clock, _) for v in found]
        outlets = sorted(set(s.scalars(select(HarvestSourceRow.outlet).distinct())))
    pages = max(1, -(-total // PER_PAGE))

    def link(number: int) -> str:
        return PAGE + "?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": number})

    return views.page(
        request, user, "admin_harvest.html", sources=rows, total=total, filters=filters, outlets=outlets,
        kinds=[(k, _(w)) for k, w in hv.KIND_WORDS.items()], states=[(k, _(w)) for k, w in hv.STATE_WORDS.items()],
        page=page, pages=pages, previous=link(page - 1) if page > 1 else None,
        next=link(page + 1) if page < pages else None,
    )  # fmt: skip


@router.get(PAGE + "/{source_id}")
def source_page(source_id: str, request: Request, user: Admin, db: DatabaseDep, clock: ClockDep, views: ViewsDep):
    _ = gettext_for(user.lang)
    number = parse_id(source_id)
    try:
        if number is None:
            raise NotFound(N_("no harvest source {id}"), id=source_id[:40])
        with db.transaction() as s:
            view = hv.source(s, number)
            source = _source_view(view, clock, _)
            rows = hv.fetches_of(s, number)
            fetches = [{**hv.fetch_json(f, clock.tz), "at": f.at.astimezone(clock.tz)} for f in rows]
    except SchedulerError as e:
        return _refused(request, views, user, e, PAGE)
    what = request.query_params.get("done", "")
    notice = _(DONE[what]) if what in DONE else ""
    return views.page(request, user, "admin_harvest_source.html", source=source, fetches=fetches, notice=notice)


def _act(source_id: str, request: Request, posted: Posted, services, write, what: str) -> Response:
    back = f"{PAGE}/{source_id[:40]}"
    number = parse_id(source_id)
    try:
        if number is None:
            raise NotFound(N_("no harvest source {id}"), id=source_id[:40])
        with services.db.transaction() as s:
            write(s, number, services.clock.now())
    except SchedulerError as e:
        return _refused(request, services.views, posted.user, e, back)
    return services.views.redirect(request, f"{PAGE}/{number}?done={what}")


@router.post(PAGE + "/{source_id}/fetch-now")
def fetch_now(source_id: str, request: Request, posted: SourceForm, services: ServicesDep):
    return _act(source_id, request, posted, services, hv.fetch_now, "fetch-now")


@router.post(PAGE + "/{source_id}/pause")
def pause(source_id: str, request: Request, posted: SourceForm, services: ServicesDep):
    return _act(source_id, request, posted, services, lambda s, n, now: hv.set_paused(s, n, True, now), "paused")


@router.post(PAGE + "/{source_id}/resume")
def resume(source_id: str, request: Request, posted: SourceForm, services: ServicesDep):
    return _act(source_id, request, posted, services, lambda s, n, now: hv.set_paused(s, n, False, now), "resumed")


# The API: administrators and the DHA read; nobody steers from here.


def _overseer(actor: Actor) -> None:
    if not actor.disabled and {"admin", "dha"} & set(actor.roles):
        return
    decision = Decision(False, N_("{email} is neither an administrator nor the DHA"), {"email": actor.email})
    raise refuse(actor, "see", "the harvest sources", decision)


@api_router.get("/harvest/sources", summary="The sources the harvest reads, with their state and last error")
def sources_api(
    actor: Who,
    db: DatabaseDep,
    clock: ClockDep,
    outlet: str | None = Query(None, max_length=100),
    kind: str | None = Query(None, max_length=16),
    state: str | None = Query(None, max_length=16),
    limit: int = Query(100, ge=1, le=hv.MAX_SOURCES),
    offset: int = Query(0, ge=0, le=MAX_ID),
):
    _overseer(actor)
    with db.transaction() as s:
        found, total = hv.list_sources(s, outlet or None, kind or None, state or None, offset, limit)
        return {"total": total, "offset": offset, "sources": [hv.source_json(v, clock.tz) for v in found]}


@api_router.get("/harvest/sources/{source_id}/fetches", summary="A source's latest reads, the newest first")
def fetches_api(
    source_id: Id,
    actor: Who,
    db: DatabaseDep,
    clock: ClockDep,
    limit: int = Query(100, ge=1, le=hv.MAX_FETCHES),
):
    _overseer(actor)
    with db.transaction() as s:
        view = hv.source(s, source_id)
        fetches = [hv.fetch_json(f, clock.tz) for f in hv.fetches_of(s, source_id, limit)]
        return {"source": hv.source_json(view, clock.tz), "fetches": fetches}
