"""The schedules pages of the administration: upload files, see every
problem with its line (nothing is loaded), or a preview of what loading
would change; load; see what the load changed. Without JavaScript."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from scheduler.bounds import parse_id
from scheduler.clock import Clock
from scheduler.errors import ScheduleError
from scheduler.feeds.ical import summary
from scheduler.i18n import gettext_for, pick
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.tables import LoadRow
from scheduler.web.auth import SessionUser
from scheduler.web.schedule_upload import MAX_FILES, UploadError, UploadStore, Upload, check, limits, load, preview, problem_views, read_upload
from scheduler.web.views import FORM_EXPIRED, Views

log = logging.getLogger("scheduler.admin")
LISTED = 100  # occurrences listed per kind of change; the counts say how many in all
RECENT_LOADS = 20
KINDS = ("created", "revised", "cancelled")


def present(record: dict, lang: str, _) -> dict:
    """A plan's changes (``schedule_upload.describe``) as the page shows them."""
    tz = ZoneInfo(record["timezone"])

    def moment(iso: str | None) -> datetime | None:
        return datetime.fromisoformat(iso).astimezone(tz) if iso else None

    lists = {kind: [{"id": i["id"], "summary": summary(i["shown"], lang, _), "due": moment(i["due"]),
                     "was_due": moment(i.get("was_due"))} for i in record[kind][:LISTED]] for kind in KINDS}
    return {"plan": record["plan"], "title": pick(lang, record["title"], record["title_en"]),
            "source": record.get("source", ""), "load_id": record.get("load_id"),
            "counts": {**{kind: len(record[kind]) for kind in KINDS}, "unchanged": record["unchanged"]},
            "lists": lists, "more": {kind: max(0, len(record[kind]) - LISTED) for kind in KINDS}}


def schedule_routes(router: APIRouter, settings: Settings, db: Database, clock: Clock, views: Views) -> None:
    store = UploadStore(settings)
    back = "/admin/schedules"

    def show(request: Request, user: SessionUser, status: int = 200, **values) -> Response:
        with db.transaction() as s:
            rows = list(s.scalars(select(LoadRow).order_by(LoadRow.id.desc()).limit(RECENT_LOADS)))
        loads = [{"id": r.id, "plan": r.plan_code, "at": r.loaded_at.astimezone(clock.tz), "source": r.source,
                  "created": r.created, "revised": r.revised, "cancelled": r.cancelled, "unchanged": r.unchanged}
                 for r in rows]
        return views.page(request, user, "admin_schedules.html", status, back, loads=loads, limits=limits(),
                          **values)

    def admin(request: Request) -> SessionUser | Response:
        return views.gate(request, ("admin",), back)

    @router.get("/admin/schedules")
    def schedules_page(request: Request):
        user = admin(request)
        return show(request, user) if isinstance(user, SessionUser) else user

    def checked(request: Request, user: SessionUser, uploads: list[Upload]) -> Response:
        _ = gettext_for(user.lang)
        names = [u.name for u in uploads]
        try:
            schedules, digests = check(uploads)
        except UploadError as e:
            return show(request, user, e.status, error=e.render(_), names=names)
        except ScheduleError as e:
            texts = {u.name: u.data.decode("utf-8", errors="replace") for u in uploads}
            return show(request, user, getattr(e, "status", 422), names=names,
                        problems=problem_views(e, texts, _))
        for upload in uploads:
            store.put(upload)
        plans, after = preview(db, settings, schedules, digests, clock.now())
        return show(request, user, names=names, after=after, files=[(u.sha256, u.name) for u in uploads],
                    warnings=[w.render(_) for w in schedules.warnings],
                    plans=[present(p, user.lang, _) for p in plans])

    @router.post("/admin/schedules/check")
    async def check_upload(request: Request):
        """Step 1: read and check; nothing in the database changes."""
        user = await run_in_threadpool(admin, request)
        if not isinstance(user, SessionUser):
            return user
        _ = gettext_for(user.lang)
        try:
            fields, uploads = await read_upload(request)
        except UploadError as e:
            return await run_in_threadpool(show, request, user, e.status, error=e.render(_))
        if not views.csrf_ok(request, {"csrf": (fields.get("csrf") or [""])[0]}):
            return views.refusal(request, user, 403, _(FORM_EXPIRED), back)
        return await run_in_threadpool(checked, request, user, uploads)

    def loaded(request: Request, user: SessionUser, form) -> Response:
        _ = gettext_for(user.lang)
        if not views.csrf_ok(request, form):
            return views.refusal(request, user, 403, _(FORM_EXPIRED), back)
        hashes, names, after = form.getlist("sha256"), form.getlist("name"), str(form.get("after", ""))
        if not hashes or len(hashes) != len(names) or len(hashes) > MAX_FILES or parse_id(after) is None:
            return show(request, user, 400, error=_("The form is incomplete; upload the files again."))
        uploads: list[Upload] = []
        try:
            uploads = [store.get(str(h), str(n)) for h, n in zip(hashes, names)]
            schedules, digests = check(uploads)
            records = load(db, settings, store, schedules, digests, clock.now(), parse_id(after))
        except UploadError as e:
            return show(request, user, e.status, error=e.render(_), names=names)
        except ScheduleError as e:  # the rules changed since the check: the files are shown as they are
            texts = {u.name: u.data.decode("utf-8", errors="replace") for u in uploads}
            return show(request, user, getattr(e, "status", 422), names=names, problems=problem_views(e, texts, _))
        for r in records:
            log.info("%s loaded %s from %s: %d new, %d revised, %d cancelled, %d unchanged", user.email, r["plan"],
                     r["source"], len(r["created"]), len(r["revised"]), len(r["cancelled"]), r["unchanged"])
        return views.redirect(request, "/admin/schedules/loads/" + ",".join(str(r["load_id"]) for r in records))

    @router.post("/admin/schedules/load")
    async def load_upload(request: Request):
        """Step 2: load the checked files in one transaction, then show what changed."""
        user = await run_in_threadpool(admin, request)
        if not isinstance(user, SessionUser):
            return user
        form = await request.form()
        return await run_in_threadpool(loaded, request, user, form)

    @router.get("/admin/schedules/loads/{ids}")
    def load_page(ids: str, request: Request):
        """What one load (``12``) or the loads of one upload (``12,13``) changed."""
        user = admin(request)
        if not isinstance(user, SessionUser):
            return user
        _ = gettext_for(user.lang)
        wanted = ids.split(",")
        if len(wanted) > MAX_FILES or not all(parse_id(i) for i in wanted):
            return views.refusal(request, user, 404)
        with db.transaction() as s:
            rows = [s.get(LoadRow, parse_id(i)) for i in wanted]
        if not all(rows):
            return views.refusal(request, user, 404)
        loads = []
        for row in rows:
            record = store.result(row.id)
            loads.append({"id": row.id, "plan": row.plan_code, "source": row.source,
                          "at": row.loaded_at.astimezone(clock.tz),
                          "counts": {"created": row.created, "revised": row.revised, "cancelled": row.cancelled,
                                     "unchanged": row.unchanged},
                          "changes": present(record, user.lang, _) if record else None})
        return views.page(request, user, "admin_schedule_load.html", loads=loads)
