"""Pages for people: "my work", an occurrence with its evidence and the
delivery form, recording against a period, evidence files, the language
switch. The form streams its files as the API does, and the same rules
(``recording.record_delivery``) judge what it sends."""

from __future__ import annotations

from functools import partial
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from scheduler.bounds import format_size, parse_id
from scheduler.clock import Clock
from scheduler.errors import SchedulerError
from scheduler.evidence.deliveries import DeliveryError
from scheduler.feeds.ical import period_text, summary
from scheduler.i18n import gettext_for, pick
from scheduler.people.permissions import Actor, may_record
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.files import EvidenceStore
from scheduler.store.recording import NotFound, Refused, grants, record_delivery, refuse
from scheduler.store.recording import precheck as check_first
from scheduler.store.tables import AgencyRow, OccurrenceRow, PlanRow, UserRow
from scheduler.web import auth
from scheduler.web.api import evidence_from_form
from scheduler.web.evidence_files import NO_FILE, file_response, opened
from scheduler.web.evidence_view import oversight
from scheduler.web.occurrence_view import (LABELS, actor_of, form_spec, my_work, occurrence_context, period_link,
                                           period_target, quota_text, statuses, views)
from scheduler.web.uploads import read_form
from scheduler.web.views import FORM_EXPIRED, Views


def pages_router(settings: Settings, db: Database, clock: Clock, store: EvidenceStore,
                 sessions: auth.Sessions) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    shared = Views(settings, sessions)
    page, refusal, to_login = shared.page, shared.refusal, shared.to_login

    def problem(error: SchedulerError, _) -> dict:
        field = getattr(error, "field", None)
        return {"field": field, "label": _(LABELS[field]) if field in LABELS else "", "message": error.render(_)}

    @router.get("/")
    def start(request: Request):
        """Each role's own start page."""
        user = sessions.user(request)
        if user is None:
            return to_login(request)
        roles = set(user.roles)
        target = ("/me" if "producer" in roles and user.agency else "/dashboard" if "dha" in roles
                  else "/admin" if "admin" in roles else "/calendar")
        return shared.redirect(request, target)

    @router.get("/me")
    def me(request: Request):
        user = sessions.user(request)
        if user is None:
            return to_login(request)
        _ = gettext_for(user.lang)
        items, agency = [], ""
        if user.agency:
            with db.transaction() as s:
                items = my_work(s, user, clock.now(), settings.at_risk_days, _)
                row = s.scalar(select(AgencyRow).where(AgencyRow.code == user.agency).order_by(AgencyRow.plan_code))
                agency = pick(user.lang, row.name, row.name_en) if row else user.agency
        return page(request, user, "me.html", items=items, agency=agency)

    def show_occurrence(request: Request, occurrence_id: str, user, status: int = 200, values=None, error=None,
                        recorded: int | None = None) -> Response:
        _ = gettext_for(user.lang)
        path = f"/o/{occurrence_id}"
        with db.transaction() as s:
            o = s.get(OccurrenceRow, occurrence_id)
            if o is None:
                return refusal(request, user, 404, path=path)
            context = occurrence_context(s, o, user, clock.now(), settings.at_risk_days, _, recorded)
            context.update(oversight(s, o, context["state"], user, store, _))  # the DHA's view
        return page(request, user, "occurrence.html", status, path, values=values, error=error,
                    limit=format_size(store.limit), **context)

    @router.get("/o/{occurrence_id}")
    def occurrence_page(occurrence_id: str, request: Request):
        user = sessions.user(request)
        if user is None:
            return to_login(request)
        recorded = request.query_params.get("recorded", "")
        return show_occurrence(request, occurrence_id, user, recorded=parse_id(recorded))

    def show_period(request: Request, code: str, period: str, plan: str | None, user, status: int = 200,
                    values=None, error=None) -> Response:
        _ = gettext_for(user.lang)
        path = period_link(plan or "", code, period)
        now = clock.now()
        with db.transaction() as s:
            try:
                rows, o, extra = period_target(s, code, period, plan)
            except (DeliveryError, NotFound) as e:  # nothing owed, or every occurrence cancelled
                return refusal(request, user, 404, e.render(_), path)
            decision = may_record(actor_of(user), o.agency_code, grants(s, o.plan_code, o.obligation_code))
            if not decision:
                denied = refuse(actor_of(user), "record a delivery for", code, decision)
                return refusal(request, user, 403, denied.render(_), path)
            quota = views(s, rows, statuses(s, rows, now, settings.at_risk_days), now).get(
                (o.plan_code, o.obligation_code, o.period))
            plan_row = s.get(PlanRow, o.plan_code)
            context = {"o": o, "extra": extra, "summary": summary(o.shown, user.lang, _, o.delivery, plan_row.timezone),
                       "title": pick(user.lang, o.title, o.title_en),
                       "heading": _("Record one for {period}").format(period=period_text(period, _)),
                       "quota": quota_text(quota, now, _) if quota else "",
                       "form": form_spec(o.shown, plan_row, user.lang,
                                         period_link(o.plan_code, code, period, "deliveries"))}
        return page(request, user, "deliver.html", status, period_link(o.plan_code, code, period), values=values,
                    error=error, limit=format_size(store.limit), **context)

    @router.get("/obligations/{code}/deliver")
    def period_page(code: str, request: Request, period: str = "", plan: str | None = None):
        user = sessions.user(request)
        if user is None:
            return to_login(request)
        return show_period(request, code, period, plan, user)

    def precheck(actor: Actor, occurrence_id: str | None, obligation: str | None, plan: str | None) -> ZoneInfo:
        """Refuse before a (large) body is read. The plan's zone, for the form's moments."""
        with db.transaction() as s:
            return ZoneInfo(s.get(PlanRow, check_first(s, actor, occurrence_id, obligation, plan)).timezone)

    async def deliver(request: Request, back: str, rerender, occurrence_id: str | None = None,
                      obligation: str | None = None, period: str | None = None, plan: str | None = None):
        user = await run_in_threadpool(sessions.user, request)
        if user is None:
            return to_login(request, back)
        _, actor = gettext_for(user.lang), actor_of(user)
        try:
            tz = await run_in_threadpool(precheck, actor, occurrence_id, obligation, plan)
            form = await read_form(request, store)
        except (Refused, NotFound) as e:
            return refusal(request, user, e.status, e.render(_), back)
        except SchedulerError as e:  # the upload itself (too large, a type that lies, malformed)
            return await run_in_threadpool(rerender, user, getattr(e, "status", 422), None, problem(e, _))
        with form:  # leaving without commit() deletes the uploaded temporaries
            token = (form.fields.pop("csrf", None) or [""])[0]
            if not auth.check_csrf(sessions, request, token):
                return refusal(request, user, 403, _(FORM_EXPIRED), back)
            values = {k: v[0] for k, v in form.fields.items() if v}
            values["topics"] = form.fields.get("topics", [])

            def write():
                evidence = evidence_from_form(form.fields, form.files, tz)
                with db.transaction() as s:
                    result = record_delivery(s, actor, evidence, clock.now(), settings.base_url, occurrence_id,
                                             obligation, period, plan)
                    form.commit()  # files reach their final names just before the database commits
                    return result

            try:
                result = await run_in_threadpool(write)
            except (Refused, NotFound) as e:  # recording.refuse has logged a refusal
                return refusal(request, user, e.status, e.render(_), back)
            except SchedulerError as e:
                return await run_in_threadpool(rerender, user, 422, values, problem(e, _))
        return sessions.finish(request, RedirectResponse(f"/o/{quote(result.occurrence)}?recorded={result.seq}",
                                                         status_code=303))

    @router.post("/o/{occurrence_id}/deliveries")
    async def deliver_occurrence(occurrence_id: str, request: Request):
        return await deliver(request, f"/o/{occurrence_id}", partial(show_occurrence, request, occurrence_id),
                             occurrence_id=occurrence_id)

    @router.post("/obligations/{code}/deliveries")
    async def deliver_period(code: str, request: Request, period: str = "", plan: str | None = None):
        return await deliver(request, period_link(plan or "", code, period), partial(show_period, request, code,
                             period, plan), obligation=code, period=period, plan=plan)

    @router.get("/files/{seq}/{sha256}")
    def evidence_file(seq: str, sha256: str, request: Request):
        user = sessions.user(request)
        if user is None:
            return to_login(request)
        try:
            if parse_id(seq) is None:
                raise NotFound(NO_FILE)
            with db.transaction() as s:
                found = opened(s, store, actor_of(user), parse_id(seq), sha256)
        except (NotFound, Refused) as e:
            return refusal(request, user, e.status, e.render(gettext_for(user.lang)))
        return sessions.finish(request, file_response(store, found))

    @router.post("/lang")
    async def switch_language(request: Request):
        form = await request.form()
        user = await run_in_threadpool(sessions.user, request)
        target = auth.safe_next(str(form.get("next", "/me")))
        if user is None:
            return to_login(request, target)
        if not auth.check_csrf(sessions, request, str(form.get("csrf", ""))):
            return refusal(request, user, 403, gettext_for(user.lang)(FORM_EXPIRED))
        if (lang := str(form.get("lang", ""))) in ("vi", "en"):
            def save():
                with db.transaction() as s:
                    row = s.get(UserRow, user.id)
                    row.lang, row.updated_at = lang, clock.now()
            await run_in_threadpool(save)
        return sessions.finish(request, RedirectResponse(target, status_code=303))

    return router
