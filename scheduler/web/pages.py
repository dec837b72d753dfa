"""Pages for people: "my work", an occurrence with its evidence and the
delivery form, recording against a period, evidence files, the language
switch. The form streams its files as the API does, and the same rules
(``recording.record_delivery``) judge what it sends."""

from __future__ import annotations

from functools import partial
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from scheduler.bounds import format_size, parse_id
from scheduler.errors import SchedulerError
from scheduler.evidence.deliveries import DeliveryError
from scheduler.feeds.ical import period_text, summary
from scheduler.i18n import gettext_for, pick
from scheduler.people.permissions import Actor, may_record
from scheduler.store.closed_periods import occurrence_marks
from scheduler.store.recording import NotFound, Refused, grants, record_delivery, refuse
from scheduler.store.recording import precheck as check_first
from scheduler.store.tables import AgencyRow, OccurrenceRow, PlanRow, UserRow
from scheduler.web import auth, proposal_view
from scheduler.web.api import evidence_from_form
from scheduler.web.auth import SessionUser
from scheduler.web.change_form import change_form
from scheduler.web.check_history import check_history
from scheduler.web.deps import (
    Answer,
    ClockDep,
    DatabaseDep,
    Person,
    Services,
    ServicesDep,
    SessionsDep,
    SettingsDep,
    StoreDep,
    ViewsDep,
    signed_in,
)
from scheduler.web.evidence_files import NO_FILE, file_response, opened
from scheduler.web.evidence_view import oversight
from scheduler.web.occurrence_view import (
    LABELS,
    actor_of,
    form_spec,
    my_work,
    occurrence_context,
    period_link,
    period_target,
    quota_text,
    statuses,
    window_quotas,
)
from scheduler.web.uploads import read_form
from scheduler.web.views import FORM_EXPIRED

router = APIRouter(include_in_schema=False)


def problem(error: SchedulerError, _) -> dict:
    """An error for the delivery form, near its field."""
    field = getattr(error, "field", None)
    return {"field": field, "label": _(LABELS[field]) if field in LABELS else "", "message": error.render(_)}


@router.get("/")
def start(request: Request, user: Person, views: ViewsDep):
    """Each role's own start page."""
    roles = set(user.roles)
    target = (
        "/me"
        if "producer" in roles and user.agency
        else "/dashboard"
        if "dha" in roles
        else "/admin"
        if "admin" in roles
        else "/calendar"
    )
    return views.redirect(request, target)


@router.get("/me")
def me(request: Request, user: Person, settings: SettingsDep, db: DatabaseDep, clock: ClockDep, views: ViewsDep):
    _ = gettext_for(user.lang)
    items, agency, found = [], "", {}
    if user.agency:
        with db.transaction() as s:
            items = my_work(s, user, clock.now(), settings.at_risk_days, _)
            row = s.scalar(select(AgencyRow).where(AgencyRow.code == user.agency).order_by(AgencyRow.plan_code))
            agency = pick(user.lang, row.name, row.name_en) if row else user.agency
            found = proposal_view.for_me(s, request, user, _)  # the harvest's proposals (issue 17)
    return views.page(request, user, "me.html", items=items, agency=agency, **found)


def show_occurrence(
    request: Request,
    services: Services,
    user: SessionUser,
    occurrence_id: str,
    status: int = 200,
    recorded: int | None = None,
    **values,
) -> Response:
    """The occurrence page, with the DHA's view; ``values`` are a form's
    (the delivery's or the excuse's) when it comes back with an error."""
    _, store, views = gettext_for(user.lang), services.store, services.views
    path = f"/o/{occurrence_id}"
    with services.db.transaction() as s:
        o = s.get(OccurrenceRow, occurrence_id)
        if o is None:
            return views.refusal(request, user, 404, path=path)
        context = occurrence_context(s, o, user, services.clock.now(), services.settings.at_risk_days, _, recorded)
        context.update(oversight(s, o, context["state"], user, store, _))  # the DHA's view
        context["change"] = change_form(o, user, context)  # move or skip (web/occurrence_changes.py)
        context.update(occurrence_marks(s, o, context["entries"], _))  # its period closed: later records marked
        context.update(check_history(s, o, services.clock.now(), user.lang))  # a portal's daily checks
        context.update(proposal_view.for_occurrence_page(s, request, o, user, _))  # the harvest's proposals
    return views.page(
        request, user, "occurrence.html", status, path, limit=format_size(store.limit), **values, **context
    )


@router.get("/o/{occurrence_id}")
def occurrence_page(occurrence_id: str, request: Request, user: Person, services: ServicesDep, recorded: str = ""):
    return show_occurrence(request, services, user, occurrence_id, recorded=parse_id(recorded), values=None, error=None)


def show_period(
    request: Request,
    services: Services,
    user: SessionUser,
    code: str,
    period: str,
    plan: str | None,
    status: int = 200,
    values=None,
    error=None,
) -> Response:
    """The form that records one delivery against a period (the window's next one owed)."""
    _, views = gettext_for(user.lang), services.views
    path = period_link(plan or "", code, period)
    now = services.clock.now()
    with services.db.transaction() as s:
        try:
            rows, o, extra = period_target(s, code, period, plan, actor_of(user).agency)
        except (DeliveryError, NotFound) as e:  # nothing owed, or every occurrence cancelled
            return views.refusal(request, user, 404, e.render(_), path)
        decision = may_record(actor_of(user), o.agency_code, grants(s, o.plan_code, o.obligation_code))
        if not decision:
            denied = refuse(actor_of(user), "record a delivery for", code, decision)
            return views.refusal(request, user, 403, denied.render(_), path)
        quota = window_quotas(s, rows, statuses(s, rows, now, services.settings.at_risk_days), now).get(
            (o.plan_code, o.obligation_code, o.period)
        )
        plan_row = s.get(PlanRow, o.plan_code)
        context = {
            "o": o,
            "extra": extra,
            "summary": summary(o.shown, user.lang, _, o.delivery, plan_row.timezone),
            "title": pick(user.lang, o.title, o.title_en),
            "heading": _("Record one for {period}").format(period=period_text(period, _)),
            "quota": quota_text(quota, now, _) if quota else "",
            "form": form_spec(o.shown, plan_row, user.lang, period_link(o.plan_code, code, period, "deliveries")),
        }
    return views.page(
        request,
        user,
        "deliver.html",
        status,
        period_link(o.plan_code, code, period),
        values=values,
        error=error,
        limit=format_size(services.store.limit),
        **context,
    )


@router.get("/obligations/{code}/deliver")
def period_page(
    code: str, request: Request, user: Person, services: ServicesDep, period: str = "", plan: str | None = None
):
    return show_period(request, services, user, code, period, plan)


def precheck(
    services: Services, actor: Actor, occurrence_id: str | None, obligation: str | None, plan: str | None
) -> ZoneInfo:
    """Refuse before a (large) body is read. The plan's zone, for the form's moments."""
    with services.db.transaction() as s:
        return ZoneInfo(s.get(PlanRow, check_first(s, actor, occurrence_id, obligation, plan)).timezone)


async def deliver(
    request: Request,
    services: Services,
    user: SessionUser,
    back: str,
    rerender,
    occurrence_id: str | None = None,
    obligation: str | None = None,
    period: str | None = None,
    plan: str | None = None,
) -> Response:
    """Record a delivery from the form: refused before its files stream in,
    its CSRF token checked once they have, the form again with its values
    on an error; ``rerender(status, values=, error=)`` shows it."""
    _, actor, views = gettext_for(user.lang), actor_of(user), services.views
    try:
        tz = await run_in_threadpool(precheck, services, actor, occurrence_id, obligation, plan)
        form = await read_form(request, services.store)
    except (Refused, NotFound) as e:
        return views.refusal(request, user, e.status, e.render(_), back)
    except SchedulerError as e:  # the upload itself (too large, a type that lies, malformed)
        return await run_in_threadpool(partial(rerender, getattr(e, "status", 422), values=None, error=problem(e, _)))
    with form:  # leaving without commit() deletes the uploaded temporaries
        token = (form.fields.pop("csrf", None) or [""])[0]
        if not auth.check_csrf(services.sessions, request, token):
            return views.refusal(request, user, 403, _(FORM_EXPIRED), back)
        values = {k: v[0] for k, v in form.fields.items() if v}
        values["topics"] = form.fields.get("topics", [])

        def write():
            evidence = evidence_from_form(form.fields, form.files, tz)
            with services.db.transaction() as s:
                result = record_delivery(
                    s,
                    actor,
                    evidence,
                    services.clock.now(),
                    services.settings.base_url,
                    occurrence_id,
                    obligation,
                    period,
                    plan,
                )
                form.commit()  # files reach their final names just before the database commits
                return result

        try:
            result = await run_in_threadpool(write)
        except (Refused, NotFound) as e:  # recording.refuse has logged a refusal
            return views.refusal(request, user, e.status, e.render(_), back)
        except SchedulerError as e:
            return await run_in_threadpool(partial(rerender, 422, values=values, error=problem(e, _)))
    return views.redirect(request, f"/o/{quote(result.occurrence)}?recorded={result.seq}")


def period_sender(
    request: Request, code: str, views: ViewsDep, period: str = "", plan: str | None = None
) -> SessionUser:
    """``signed_in()`` for a delivery against a period: sign-in returns to the period's page."""
    found = views.gate(request, (), period_link(plan or "", code, period))
    if isinstance(found, Response):
        raise Answer(found)
    return found


@router.post("/o/{occurrence_id}/deliveries")
async def deliver_occurrence(
    occurrence_id: str,
    request: Request,
    services: ServicesDep,
    user: Annotated[SessionUser, Depends(signed_in(back="/o/{occurrence_id}"))],
):
    return await deliver(
        request,
        services,
        user,
        f"/o/{occurrence_id}",
        partial(show_occurrence, request, services, user, occurrence_id),
        occurrence_id=occurrence_id,
    )


@router.post("/obligations/{code}/deliveries")
async def deliver_period(
    code: str,
    request: Request,
    services: ServicesDep,
    user: Annotated[SessionUser, Depends(period_sender)],
    period: str = "",
    plan: str | None = None,
):
    return await deliver(
        request,
        services,
        user,
        period_link(plan or "", code, period),
        partial(show_period, request, services, user, code, period, plan),
        obligation=code,
        period=period,
        plan=plan,
    )


@router.get("/files/{seq}/{sha256}")
def evidence_file(
    seq: str, sha256: str, request: Request, user: Person, db: DatabaseDep, store: StoreDep, views: ViewsDep
):
    try:
        if parse_id(seq) is None:
            raise NotFound(NO_FILE)
        with db.transaction() as s:
            found = opened(s, store, actor_of(user), parse_id(seq), sha256)
    except (NotFound, Refused) as e:
        return views.refusal(request, user, e.status, e.render(gettext_for(user.lang)))
    return views.sessions.finish(request, file_response(store, found))


@router.post("/lang")
async def switch_language(request: Request, db: DatabaseDep, clock: ClockDep, sessions: SessionsDep, views: ViewsDep):
    """The form is read first: where to go back to is in it, for sign-in too."""
    form = await request.form()
    user = await run_in_threadpool(sessions.user, request)
    target = auth.safe_next(str(form.get("next", "/me")))
    if user is None:
        return views.to_login(request, target)
    if not auth.check_csrf(sessions, request, str(form.get("csrf", ""))):
        return views.refusal(request, user, 403, gettext_for(user.lang)(FORM_EXPIRED))
    if (lang := str(form.get("lang", ""))) in ("vi", "en"):

        def save():
            with db.transaction() as s:
                row = s.get(UserRow, user.id)
                row.lang, row.updated_at = lang, clock.now()

        await run_in_threadpool(save)
    return sessions.finish(request, RedirectResponse(target, status_code=303))
