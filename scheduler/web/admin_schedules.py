"""The schedules pages of the administration: upload files, see every
problem with its line (nothing is loaded), or a preview of what loading
would change; load; see what the load changed. Without JavaScript."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from scheduler.bounds import MAX_PLAN_DOCUMENT, format_size, parse_id
from scheduler.errors import Problem, ScheduleError
from scheduler.feeds.ical import summary
from scheduler.i18n import gettext_for, pick
from scheduler.store.tables import LoadRow
from scheduler.web.auth import SessionUser
from scheduler.web.deps import Services, ServicesDep, SettingsDep, signed_in
from scheduler.web.schedule_upload import (
    MAX_FILES,
    Upload,
    UploadError,
    UploadStore,
    check,
    limits,
    load,
    preview,
    problem_views,
    read_upload,
)
from scheduler.web.views import FORM_EXPIRED

log = logging.getLogger("scheduler.admin")
LISTED = 100  # occurrences listed per kind of change; the counts say how many in all
RECENT_LOADS = 20
KINDS = ("created", "revised", "cancelled")


def present(record: dict, lang: str, _) -> dict:
    """A plan's changes (``schedule_upload.describe``) as the page shows them."""
    tz = ZoneInfo(record["timezone"])

    def moment(iso: str | None) -> datetime | None:
        return datetime.fromisoformat(iso).astimezone(tz) if iso else None

    lists = {
        kind: [
            {
                "id": i["id"],
                "summary": summary(i["shown"], lang, _),
                "due": moment(i["due"]),
                "was_due": moment(i.get("was_due")),
            }
            for i in record[kind][:LISTED]
        ]
        for kind in KINDS
    }
    return {
        "plan": record["plan"],
        "title": pick(lang, record["title"], record["title_en"]),
        "source": record.get("source", ""),
        "load_id": record.get("load_id"),
        "counts": {**{kind: len(record[kind]) for kind in KINDS}, "unchanged": record["unchanged"]},
        "lists": lists,
        "more": {kind: max(0, len(record[kind]) - LISTED) for kind in KINDS},
        "warnings": [Problem(**w).render(_) for w in record.get("warnings", [])],
        "held": record.get("held", []),  # a closed period's occurrences the load left as they were
    }


BACK = "/admin/schedules"  # where every refusal of these pages returns, and sign-in leads back to
router = APIRouter(include_in_schema=False)
Admin = Annotated[SessionUser, Depends(signed_in("admin", back=BACK))]


async def upload_store(settings: SettingsDep) -> UploadStore:
    return UploadStore(settings)


UploadsDep = Annotated[UploadStore, Depends(upload_store)]


def show(request: Request, user: SessionUser, services: Services, status: int = 200, **values) -> Response:
    """The schedules page: recent loads, the limits, and what ``values`` add."""
    with services.db.transaction() as s:
        rows = list(s.scalars(select(LoadRow).order_by(LoadRow.id.desc()).limit(RECENT_LOADS)))
    loads = [
        {
            "id": r.id,
            "plan": r.plan_code,
            "at": r.loaded_at.astimezone(services.clock.tz),
            "source": r.source,
            "created": r.created,
            "revised": r.revised,
            "cancelled": r.cancelled,
            "unchanged": r.unchanged,
        }
        for r in rows
    ]
    return services.views.page(
        request,
        user,
        "admin_schedules.html",
        status,
        BACK,
        loads=loads,
        limits=limits(),
        document_size=format_size(MAX_PLAN_DOCUMENT),
        **values,
    )


def shown_problems(
    request: Request,
    user: SessionUser,
    services: Services,
    e: ScheduleError,
    uploads: list[Upload],
    names: list[str],
    _,
) -> Response:
    """Every problem of the files with its line; nothing is loaded."""
    texts = {u.name: u.data.decode("utf-8", errors="replace") for u in uploads}
    return show(request, user, services, getattr(e, "status", 422), names=names, problems=problem_views(e, texts, _))


@router.get("/admin/schedules")
def schedules_page(request: Request, user: Admin, services: ServicesDep):
    return show(request, user, services)


def checked(
    request: Request, user: SessionUser, services: Services, store: UploadStore, uploads: list[Upload]
) -> Response:
    _ = gettext_for(user.lang)
    names = [u.name for u in uploads]
    try:
        schedules, digests = check(uploads)
    except UploadError as e:
        return show(request, user, services, e.status, error=e.render(_), names=names)
    except ScheduleError as e:
        return shown_problems(request, user, services, e, uploads, names, _)
    for upload in uploads:
        store.put(upload)
    plans, after = preview(services.db, services.settings, schedules, digests, services.clock.now())
    return show(
        request,
        user,
        services,
        names=names,
        after=after,
        files=[(u.sha256, u.name) for u in uploads],
        warnings=[w.render(_) for w in schedules.warnings]
        + [Problem(**w).render(_) for p in plans for w in p.get("warnings", [])],  # found while loading
        plans=[present({**p, "warnings": []}, user.lang, _) for p in plans],  # (listed once, above)
    )


@router.post("/admin/schedules/check")
async def check_upload(request: Request, user: Admin, services: ServicesDep, store: UploadsDep):
    """Step 1: read and check; nothing in the database changes."""
    _ = gettext_for(user.lang)
    try:
        fields, uploads = await read_upload(request)
    except UploadError as e:
        return await run_in_threadpool(show, request, user, services, e.status, error=e.render(_))
    if not services.views.csrf_ok(request, {"csrf": (fields.get("csrf") or [""])[0]}):
        return services.views.refusal(request, user, 403, _(FORM_EXPIRED), BACK)
    return await run_in_threadpool(checked, request, user, services, store, uploads)


def loaded(request: Request, user: SessionUser, services: Services, store: UploadStore, form) -> Response:
    _, views = gettext_for(user.lang), services.views
    if not views.csrf_ok(request, form):
        return views.refusal(request, user, 403, _(FORM_EXPIRED), BACK)
    hashes, names, after = form.getlist("sha256"), form.getlist("name"), str(form.get("after", ""))
    if not hashes or len(hashes) != len(names) or len(hashes) > MAX_FILES or parse_id(after) is None:
        return show(request, user, services, 400, error=_("The form is incomplete; upload the files again."))
    uploads: list[Upload] = []
    try:
        uploads = [store.get(str(h), str(n)) for h, n in zip(hashes, names)]
        schedules, digests = check(uploads)
        records = load(services.db, services.settings, store, schedules, digests, services.clock.now(), parse_id(after))
    except UploadError as e:
        return show(request, user, services, e.status, error=e.render(_), names=names)
    except ScheduleError as e:  # the rules changed since the check: the files are shown as they are
        return shown_problems(request, user, services, e, uploads, names, _)
    for r in records:
        log.info(
            "%s loaded %s from %s: %d new, %d revised, %d cancelled, %d unchanged",
            user.email,
            r["plan"],
            r["source"],
            len(r["created"]),
            len(r["revised"]),
            len(r["cancelled"]),
            r["unchanged"],
        )
    return views.redirect(request, "/admin/schedules/loads/" + ",".join(str(r["load_id"]) for r in records))


@router.post("/admin/schedules/load")
async def load_upload(request: Request, user: Admin, services: ServicesDep, store: UploadsDep):
    """Step 2: load the checked files in one transaction, then show what changed."""
    form = await request.form()
    return await run_in_threadpool(loaded, request, user, services, store, form)


@router.get("/admin/schedules/loads/{ids}")
def load_page(ids: str, request: Request, user: Admin, services: ServicesDep, store: UploadsDep):
    """What one load (``12``) or the loads of one upload (``12,13``) changed."""
    _, views = gettext_for(user.lang), services.views
    wanted = ids.split(",")
    if len(wanted) > MAX_FILES or not all(parse_id(i) for i in wanted):
        return views.refusal(request, user, 404)
    with services.db.transaction() as s:
        rows = [s.get(LoadRow, parse_id(i)) for i in wanted]
    if not all(rows):
        return views.refusal(request, user, 404)
    loads = []
    for row in rows:
        record = store.result(row.id)
        loads.append(
            {
                "id": row.id,
                "plan": row.plan_code,
                "source": row.source,
                "at": row.loaded_at.astimezone(services.clock.tz),
                "counts": {
                    "created": row.created,
                    "revised": row.revised,
                    "cancelled": row.cancelled,
                    "unchanged": row.unchanged,
                },
                "changes": present(record, user.lang, _) if record else None,
            }
        )
    return views.page(request, user, "admin_schedule_load.html", loads=loads)
