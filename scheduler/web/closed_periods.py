"""The DHA's closed periods: the list with the kept files of each closing,
the form that closes a period (DHA users and administrators), and the kept
files served as they were closed, never recomputed."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from scheduler.bounds import FieldError
from scheduler.compliance.report_files import FORMATS
from scheduler.errors import N_, SchedulerError
from scheduler.i18n import gettext_for
from scheduler.store.closing import CLOSERS, close_period, closed_periods, closing_record, kept_file, seen_files
from scheduler.store.tables import ClosedPeriodRow
from scheduler.store.visibility import seen_province, visible_plans
from scheduler.web.auth import SessionUser
from scheduler.web.deps import Posted, Services, ServicesDep, form_post, signed_in

ROLES = CLOSERS
PAGE = "/dashboard/periods"
NO_CLOSING = N_("There is no such closed period.")
NO_KEPT_FILE = N_(
    "This closing kept no such file; say which plan with ?plan= ({plans}), or none for the consolidated report."
)
FILE_CHANGED = N_("The kept file no longer matches its SHA-256 {sha256}: see the ledger check.")
LABEL_LIMIT = 64  # the longest label a closing stores (closed_periods.label)

router = APIRouter(include_in_schema=False)
Overseer = Annotated[SessionUser, Depends(signed_in(*ROLES))]


def show(request: Request, services: Services, user: SessionUser, status: int = 200, **values) -> Response:
    with services.db.transaction() as s:
        visible = visible_plans(s, user.roles, user.agency)
        closings = [closing_record(r, services.store, "", visible) for r in closed_periods(s, visible)]
        own = seen_province(s, user.roles, user.agency)
    page = "closed_periods.html"
    return services.views.page(request, user, page, status, PAGE, closings=closings, own_province=own, **values)


@router.get(PAGE)
def periods_page(request: Request, user: Overseer, services: ServicesDep):
    return show(request, services, user)


@router.post(PAGE)
async def close(
    request: Request, posted: Annotated[Posted, Depends(form_post(*ROLES, back=PAGE))], services: ServicesDep
):
    """Close a period as the signed-in user: a DHA user for the province they
    see, a national user or an administrator for the one named ("" = every plan)."""
    user, form = posted
    _ = gettext_for(user.lang)
    label, cutoff = str(form.get("label", "")).strip(), bool(form.get("cutoff"))
    province = str(form.get("province", "")).strip()

    def write() -> int:
        for key, value in (("label", label), ("province", province)):
            if len(value) > LABEL_LIMIT:
                raise FieldError(key, N_("expected at most {limit} characters"), limit=LABEL_LIMIT)
        with services.db.transaction() as s:
            now, settings = services.clock.now(), services.settings
            return close_period(s, label, cutoff, province, user.email, now, settings).id

    try:
        closing = await run_in_threadpool(write)
    except SchedulerError as e:
        values = {"label": label, "cutoff": cutoff, "province": province}
        return await run_in_threadpool(show, request, services, user, 422, error=e.render(_), values=values)
    return services.views.redirect(request, f"{PAGE}?closed={closing}#closing-{closing}")


@router.get(PAGE + "/{closing_id}/report.{fmt}")
def kept_report(closing_id: int, fmt: str, request: Request, user: Overseer, services: ServicesDep, plan: str = ""):
    """The bytes kept at the closing, with the headers of today's report downloads."""
    _, views = gettext_for(user.lang), services.views
    with services.db.transaction() as s:
        row = s.get(ClosedPeriodRow, closing_id) if 0 < closing_id < 2**31 else None
        visible = visible_plans(s, user.roles, user.agency)
        if row is None or (visible is not None and not set(row.plans or []) & set(visible)):
            return views.refusal(request, user, 404, _(NO_CLOSING))  # one the person does not see: as if none
        files = seen_files(row, visible)
        chosen = plan[:100] or ("*" if "*" in files else next(iter(files)) if len(files) == 1 else "")
        if fmt not in FORMATS or fmt not in files.get(chosen, {}):
            return views.refusal(request, user, 404, _(NO_KEPT_FILE).format(plans=", ".join(files) or "-"))
        report = kept_file(row, chosen, fmt, services.store)
    if report is None or hashlib.sha256(report.body).hexdigest() != files[chosen][fmt]:
        return views.refusal(request, user, 409, _(FILE_CHANGED).format(sha256=files[chosen][fmt]))
    return views.sessions.finish(request, Response(report.body, media_type=report.media, headers=report.headers()))
