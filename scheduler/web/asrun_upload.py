"""The as-run upload page, ``GET|POST /harvest/asrun``: a producer sends
their station's playout export (an administrator, any outlet's) and sees
what it proposes; confirming is on *Việc của tôi* and the occurrence pages.

The body streams through ``web/uploads.py`` at most the harvest size limit;
the file is read, matched and kept by ``store/harvest_asrun.py`` in one
transaction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from scheduler.bounds import format_size
from scheduler.errors import N_, SchedulerError
from scheduler.harvest.asrun_matching import OUTCOME_WORDS
from scheduler.i18n import gettext_for
from scheduler.plan.harvest_settings import ASRUN_FORMATS
from scheduler.store.harvest_asrun import harvest_asrun, layout_of
from scheduler.store.tables import AgencyRow
from scheduler.web.auth import SessionUser
from scheduler.web.deps import Services, ServicesDep, signed_in
from scheduler.web.uploads import OVERHEAD, read_form
from scheduler.web.views import FORM_EXPIRED

router = APIRouter(include_in_schema=False)
PATH = "/harvest/asrun"
Sender = Annotated[SessionUser, Depends(signed_in("producer", "admin", back=PATH))]
NOT_YOURS = N_("You may send the as-run log of your own agency only.")


def _outlets(services: Services, user: SessionUser) -> list[tuple[str, str]]:
    """The outlets this person may send a log for: their agency, or every one for an admin."""
    with services.db.transaction() as s:
        rows = s.scalars(select(AgencyRow).order_by(AgencyRow.code, AgencyRow.plan_code)).all()
    names = {r.code: r.name for r in rows}
    if "admin" in user.roles:
        return sorted(names.items())
    return [(user.agency, names.get(user.agency, user.agency))] if user.agency else []


def _show(request: Request, user: SessionUser, services: Services, status: int = 200, **values: Any) -> Response:
    outlets = _outlets(services, user)
    return services.views.page(
        request, user, "asrun_upload.html", status, PATH, outlets=outlets, formats=ASRUN_FORMATS,
        outcome_words=OUTCOME_WORDS, **values,
    )  # fmt: skip


@router.get(PATH)
def asrun_page(request: Request, user: Sender, services: ServicesDep):
    return _show(request, user, services)


def _harvest(services: Services, outlet: str, fmt: str, data: bytes, name: str) -> dict[str, Any]:
    with services.db.transaction() as s:
        layout = layout_of(s, outlet, fmt or None)
        return harvest_asrun(s, outlet, data, name, services.clock.now(), services.settings, layout, services.store)


@router.post(PATH)
async def asrun_upload(request: Request, user: Sender, services: ServicesDep):
    _ = gettext_for(user.lang)
    limit = services.settings.harvest_max_bytes
    try:
        form = await read_form(request, services.store, file_field="file", max_fields=6, max_body=limit + OVERHEAD)
    except SchedulerError as e:
        return await run_in_threadpool(_show, request, user, services, getattr(e, "status", 422), error=e.render(_))
    with form:  # the temporaries go when it closes: the store keeps the file by its hash
        values = {k: v[0] for k, v in form.fields.items() if v}
        if not services.views.csrf_ok(request, values):
            return services.views.refusal(request, user, 403, _(FORM_EXPIRED), PATH)
        outlet = values.get("outlet", "") or user.agency or ""
        if "admin" not in user.roles and outlet != user.agency:
            return services.views.refusal(request, user, 403, _(NOT_YOURS), PATH)
        fmt = values.get("format", "")
        if not form.pending:
            return await run_in_threadpool(
                _show, request, user, services, 422, error=_("Choose the as-run file to send."), chosen=values
            )
        pending = form.pending[0]
        if pending.file.size > limit:
            said = _("The file is larger than {size}.").format(size=format_size(limit))
            return await run_in_threadpool(_show, request, user, services, 413, error=said, chosen=values)
        data = pending.temporary.read_bytes()
        try:
            summary = await run_in_threadpool(_harvest, services, outlet, fmt, data, pending.file.name)
        except SchedulerError as e:
            return await run_in_threadpool(_show, request, user, services, 422, error=e.render(_), chosen=values)
    return await run_in_threadpool(_show, request, user, services, 200, summary=summary, chosen=values)
