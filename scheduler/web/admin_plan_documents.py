"""A plan document (.docx, .pdf, .txt, .md) uploaded on /admin/schedules:
the draft schedule file shown beside the source lines, its TODOs and
problems with their lines; the admin corrects the draft and sends it into
the existing check / preview / load steps. The document is read under the
limits of ``store.plan_documents``; the body is read at most one document's
size plus the form's fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from scheduler.bounds import FIRST_YEAR, LAST_YEAR, MAX_PLAN_DOCUMENT, format_size, parse_id
from scheduler.errors import N_, SchedulerError
from scheduler.i18n import gettext_for
from scheduler.plan.plan_import import import_plan
from scheduler.plan.source_text import SourceText
from scheduler.store.loaded_agencies import loaded_agencies
from scheduler.store.plan_documents import read_bytes
from scheduler.web.admin_schedules import BACK, Admin, UploadsDep, checked, show
from scheduler.web.deps import Services, ServicesDep
from scheduler.web.schedule_upload import MAX_FILE_BYTES, Upload, UploadError, clean_name
from scheduler.web.views import FORM_EXPIRED

router = APIRouter(include_in_schema=False)
MAX_FORM = MAX_PLAN_DOCUMENT + (64 << 10)  # the document, its part headers, the CSRF and year fields
_TODO = re.compile(r"#\s*TODO\b")


@dataclass
class Drafted:
    """What the importer made of the document, for the page."""

    yaml: str
    problems: list[tuple[int, str, str]]


def make_draft(source: SourceText, year: int | None, agencies: list[tuple[str, str, str]], _) -> Drafted:
    draft = import_plan(source, year, agencies, translate=_)
    return Drafted(draft.text, [(p.line, p.phrase, _(p.why)) for p in draft.problems])


async def read_form(request: Request) -> tuple[dict[str, str], Upload | None]:
    """The form's fields and its one document, reading at most ``MAX_FORM`` bytes."""
    too_large = UploadError(N_("The document is too large: at most {size}."), 413, size=format_size(MAX_PLAN_DOCUMENT))
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UploadError(N_("Send the document with the upload form."), 400)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM:
        raise too_large

    async def bounded():
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > MAX_FORM:
                raise too_large
            yield chunk

    parser = MultiPartParser(request.headers, bounded(), max_files=2, max_fields=5, max_part_size=MAX_FILE_BYTES)
    try:
        form = await parser.parse()
    except MultiPartException:
        raise UploadError(N_("The form could not be read; choose the document and send it again."), 400) from None
    fields: dict[str, str] = {}
    document = None
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if value.filename and document is None:
                    document = Upload(clean_name(value.filename), await value.read())
            else:
                fields[key] = value
    finally:
        await form.close()
    return fields, document


def drafted(request: Request, user, services: Services, document: Upload, year_text: str) -> Response:
    _ = gettext_for(user.lang)
    year = parse_id(year_text) if year_text.strip() else None
    if year_text.strip() and (year is None or not FIRST_YEAR <= year <= LAST_YEAR):
        return show(request, user, services, 422, error=_("Year: expected a year such as 2026."))
    try:
        source = read_bytes(document.data, document.name)
    except SchedulerError as e:
        return show(request, user, services, getattr(e, "status", 422), error=e.render(_))
    with services.db.transaction() as session:
        agencies = loaded_agencies(session)
    draft = make_draft(source, year, agencies, _)
    flagged = {line for line, _phrase, _why in draft.problems}
    return services.views.page(
        request,
        user,
        "admin_plan_document.html",
        200,
        BACK,
        source=source,
        flagged=flagged,
        draft=draft,
        draft_lines=[(bool(_TODO.search(line)), line) for line in draft.yaml.splitlines()],
        draft_name=Path(document.name).stem + ".yaml",
    )


@router.post("/admin/schedules/document")
async def document_upload(request: Request, user: Admin, services: ServicesDep):
    """A plan document: its lines beside the draft; nothing is checked or loaded yet."""
    _ = gettext_for(user.lang)
    try:
        fields, document = await read_form(request)
    except UploadError as e:
        return await run_in_threadpool(show, request, user, services, e.status, error=e.render(_))
    if not services.views.csrf_ok(request, fields):
        return services.views.refusal(request, user, 403, _(FORM_EXPIRED), BACK)
    if document is None:
        return await run_in_threadpool(
            show, request, user, services, 422, error=_("Choose a plan document (.docx, .pdf, .txt or .md).")
        )
    return await run_in_threadpool(drafted, request, user, services, document, fields.get("year", ""))


@router.post("/admin/schedules/draft")
async def draft_check(request: Request, user: Admin, services: ServicesDep, store: UploadsDep):
    """The draft as corrected in the text box, into the usual check (step 1)."""
    _ = gettext_for(user.lang)
    form = await request.form(max_files=0, max_fields=5, max_part_size=MAX_FILE_BYTES)
    if not services.views.csrf_ok(request, form):
        return services.views.refusal(request, user, 403, _(FORM_EXPIRED), BACK)
    name = clean_name(str(form.get("name", ""))) or "draft.yaml"
    if not name.lower().endswith((".yaml", ".yml")):
        name += ".yaml"
    text = str(form.get("yaml", "")).replace("\r\n", "\n")
    upload = Upload(name, text.encode("utf-8", errors="surrogatepass"))
    return await run_in_threadpool(checked, request, user, services, store, [upload])
