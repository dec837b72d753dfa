"""The JSON API: recording deliveries and excuses, reading occurrences and
evidence, verifying the ledger, and compliance reports (``api_people``
administers people). Every request names its user with ``Authorization: Bearer``.
"""

import logging
from datetime import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from scheduler.bounds import LIMITS, MAX_ID, SHORT, TEXT, check_text, parse_id
from scheduler.compliance.report_files import FORMATS
from scheduler.compliance.status import report_period
from scheduler.errors import N_, SchedulerError
from scheduler.evidence.deliveries import CHANNEL_FIELDS, DeliveryError, Evidence, FileRef
from scheduler.evidence.ledger import parse_content
from scheduler.i18n import gettext_for
from scheduler.people.permissions import Actor, may_report
from scheduler.plan.durations import parse_duration
from scheduler.plan.periods import parse_moment
from scheduler.store import ledger as stored_ledger
from scheduler.store.closed_periods import AFTER_CLOSING
from scheduler.store.compliance import Scope
from scheduler.store.database import Database
from scheduler.store.known_codes import check_codes, check_period
from scheduler.store.recording import NotFound, precheck, record_delivery, record_excuse, refuse
from scheduler.store.reporting import period_report, report_file
from scheduler.store.tables import OccurrenceRow
from scheduler.store.visibility import visible_selection
from scheduler.web import ledger_check
from scheduler.web.bearer import Who
from scheduler.web.deps import ClockDep, DatabaseDep, Services, ServicesDep, SettingsDep, StoreDep
from scheduler.web.evidence_files import file_response, opened
from scheduler.web.limits import ERRORS, ErrorBody, Id, Text
from scheduler.web.uploads import Form, read_form

log = logging.getLogger("scheduler.api")
KNOWN_FIELDS = {"aired_at", "published_at", "duration", "url", "title", "topics", "note", "supersedes", *CHANNEL_FIELDS}


class Excuse(BaseModel):
    reason: Text("reason")
    supersedes: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None


def _delivery_form() -> dict:
    """The multipart body ``read_form`` streams, declared for clients (and the fuzz test)."""
    text = {name: {"type": "string", "maxLength": LIMITS.get(name, TEXT)} for name in sorted(KNOWN_FIELDS)}
    text["files"] = {"type": "array", "items": {"type": "string", "format": "binary"}}
    schema = {"type": "object", "properties": text}
    return {
        "requestBody": {
            "content": {
                "multipart/form-data": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            }
        }
    }


DELIVERY_FORM = _delivery_form()
# Answers only some operations give, declared where they happen (the outside probe found them undeclared).
RECORDING = {
    409: {
        "model": ErrorBody,
        "description": "Ledger time only moves forward: the last entry was recorded later than now",
    }
}
FILE = {
    200: {"content": {"*/*": {}}, "description": "The bytes"},
    206: {"content": {"*/*": {}}, "description": "The part a Range header asked for"},
    416: {"description": "The Range header asks for bytes the file does not have"},
}
REPORT_TYPES = {
    200: {"content": {media: {} for media, _ext in FORMATS.values()}, "description": "The report in the format asked"}
}


def _one(fields: dict[str, list[str]], name: str) -> str:
    values = fields.get(name) or [""]
    if len(values) > 1:
        raise DeliveryError(name, N_("give {field} once"), field=name)
    return check_text(name, values[0].strip())


def evidence_from_form(fields: dict[str, list[str]], files, tz) -> Evidence:
    """Form fields into Evidence; each problem names its field."""
    for name in fields:
        if name not in KNOWN_FIELDS:
            raise DeliveryError(name, N_("unknown field (allowed: {allowed})"), allowed=", ".join(sorted(KNOWN_FIELDS)))
    aired, published = _one(fields, "aired_at"), _one(fields, "published_at")
    if bool(aired) == bool(published):
        raise DeliveryError(
            "aired_at", N_("give the moment the evidence proves: aired_at or published_at, one of them")
        )
    where = "aired_at" if aired else "published_at"
    try:
        moment = parse_moment(aired or published, tz)
    except SchedulerError as e:
        raise DeliveryError(where, e.message, **e.params) from None
    duration = None
    if _one(fields, "duration"):
        try:
            duration = int(parse_duration(_one(fields, "duration")).total_seconds())
        except SchedulerError as e:
            raise DeliveryError("duration", e.message, **e.params) from None
    supersedes = _one(fields, "supersedes")
    if supersedes and not parse_id(supersedes):
        raise DeliveryError("supersedes", N_('expected the number of a ledger entry, got "{value}"'), value=supersedes)
    topics = tuple(
        check_text("topics", t.strip(), SHORT) for v in fields.get("topics", []) for t in v.split(",") if t.strip()
    )
    return Evidence(
        moment,
        "aired" if aired else "published",
        duration,
        _one(fields, "url"),
        _one(fields, "title"),
        topics,
        _one(fields, "note"),
        {f: _one(fields, f) for f in CHANNEL_FIELDS if _one(fields, f)},
        tuple(FileRef(f.sha256, f.size, f.name, f.type) for f in files),
        parse_id(supersedes) if supersedes else None,
    )


def entry_json(row, superseded: set[int]) -> dict:
    content = parse_content(row.content)
    payload = content["payload"]
    return {
        "seq": row.seq,
        "kind": row.kind,
        "occurrence": row.occurrence_id,
        "recorded_at": content["recorded_at"],
        "recorded_by": row.recorded_by,
        "supersedes": row.supersedes,
        "superseded": row.seq in superseded,
        "hash": row.hash,
        "payload": payload,
        "files": [{**f, "href": f"/api/ledger/{row.seq}/files/{f['sha256']}"} for f in payload.get("files", [])],
    }


router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)


def precheck_record(
    db: Database, actor: Actor, occurrence_id: str | None, obligation: str | None, plan: str | None
) -> None:
    """Refuse before a (large) body is read; the transaction checks again."""
    with db.transaction() as s:
        precheck(s, actor, occurrence_id, obligation, plan)


async def deliver(
    request: Request,
    services: Services,
    actor: Actor,
    occurrence_id: str | None = None,
    obligation: str | None = None,
    period: str | None = None,
    plan: str | None = None,
):
    db, clock = services.db, services.clock
    await run_in_threadpool(precheck_record, db, actor, occurrence_id, obligation, plan)
    form: Form = await read_form(request, services.store)
    with form:
        evidence = evidence_from_form(form.fields, form.files, clock.tz)

        def write():
            with db.transaction() as s:
                result = record_delivery(
                    s, actor, evidence, clock.now(), services.settings.base_url, occurrence_id, obligation, period, plan
                )
                form.commit()  # files reach their final names just before the database commits
                return result

        result = await run_in_threadpool(write)
    body = result.as_json()
    _ = gettext_for(actor.lang)
    body["reasons"] = [_(m).format(**p) for m, p in result.reasons]
    body["gaps"] = [_(g) for g in result.gaps]
    if result.after_closing:  # its period was closed: counted apart, "ghi nhận sau khi chốt"
        body["note"] = _(AFTER_CLOSING)
    return JSONResponse(body, status_code=201)


@router.post(
    "/occurrences/{occurrence_id}/deliveries",
    status_code=201,
    openapi_extra=DELIVERY_FORM,
    responses=RECORDING,
    summary="Record a delivery (multipart: aired_at|published_at, duration, url, ..., files)",
)
async def deliver_occurrence(occurrence_id: str, request: Request, actor: Who, services: ServicesDep):
    return await deliver(request, services, actor, occurrence_id=occurrence_id)


@router.post(
    "/obligations/{code}/deliveries",
    status_code=201,
    openapi_extra=DELIVERY_FORM,
    responses=RECORDING,
    summary="Record a delivery against the lowest-numbered open occurrence of a period",
)
async def deliver_period(
    code: str, request: Request, actor: Who, services: ServicesDep, period: str = Query(...), plan: str | None = None
):
    return await deliver(request, services, actor, obligation=code, period=period, plan=plan)


@router.post(
    "/occurrences/{occurrence_id}/excuses", status_code=201, summary="Excuse an occurrence (DHA)", responses=RECORDING
)
def excuse(occurrence_id: str, body: Excuse, actor: Who, db: DatabaseDep, clock: ClockDep, settings: SettingsDep):
    with db.transaction() as s:
        result = record_excuse(s, actor, occurrence_id, body.reason, clock.now(), settings.base_url, body.supersedes)
    return JSONResponse(result.as_json(), status_code=201)


@router.get("/occurrences/{occurrence_id}", summary="An occurrence with its ledger entries")
def occurrence(occurrence_id: str, actor: Who, db: DatabaseDep, clock: ClockDep):
    with db.transaction() as s:
        row = s.get(OccurrenceRow, occurrence_id)
        if row is None:
            raise NotFound(N_("no occurrence {id}"), id=occurrence_id)
        rows = stored_ledger.entries_of(s, [occurrence_id])
        superseded = {r.supersedes for r in rows if r.supersedes}
        return {
            "id": row.id,
            "plan": row.plan_code,
            "obligation": row.obligation_code,
            "agency": row.agency_code,
            "period": row.period,
            "number": row.number,
            "status": row.status,
            "revision": row.revision,
            "window_start": row.window_start.astimezone(clock.tz).isoformat(),
            "window_end": row.window_end.astimezone(clock.tz).isoformat(),
            "delivery": row.delivery,
            "entries": [entry_json(r, superseded) for r in rows],
        }


@router.get(
    "/ledger/{seq}/files/{sha256}",
    responses=FILE,
    summary="An evidence file, as recorded in an entry (DHA, admin, the recording agencies)",
)
def evidence_file(seq: Id, sha256: str, actor: Who, db: DatabaseDep, store: StoreDep):
    with db.transaction() as s:
        found = opened(s, store, actor, seq, sha256)
    return file_response(store, found)


@router.get(
    "/ledger/verify",
    summary="Recompute the ledger's chain, re-hash its files, compare every column "
    "with the hashed content and check the latest kept checkpoint",
)
def verify(actor: Who, services: ServicesDep):
    s = services
    return ledger_check.check(s.settings, s.db, s.store, s.clock.now(), None).as_json(gettext_for(actor.lang))


@router.post(
    "/ledger/verify",
    summary='The same check against an uploaded checkpoint (JSON {"checkpoint": '
    'TEXT}, a multipart file "checkpoint", or the file itself; 16 KiB)',
)
async def verify_against(request: Request, actor: Who, services: ServicesDep):
    s = services
    upload = await ledger_check.uploaded(request)
    result = await run_in_threadpool(ledger_check.check, s.settings, s.db, s.store, s.clock.now(), upload)
    return result.as_json(gettext_for(actor.lang))


@router.get(
    "/compliance", summary="Compliance summary (DHA, admin; a producer for their own agency)", responses=REPORT_TYPES
)
def compliance(
    actor: Who,
    services: ServicesDep,
    period: str,
    plan: str | None = None,
    agency: str | None = None,
    obligation: str | None = None,
    province: str | None = None,
    format: str = "json",
    cutoff: bool = False,
    as_of: str | None = None,
):
    if agency is None and "producer" in actor.roles and not {"dha", "admin", "national"} & set(actor.roles):
        agency = actor.agency  # a producer sees their own agency
    decision = may_report(actor, agency)
    if not decision:
        raise refuse(actor, "see the compliance of", agency or "every agency", decision)
    settings, clock = services.settings, services.clock
    moment = clock.now()
    if as_of:
        try:
            moment = parse_moment(as_of, clock.tz, time(23, 59, 59))
        except SchedulerError as e:
            raise DeliveryError("as_of", e.message, **e.params) from None
    with services.db.transaction() as s:
        plans = visible_selection(s, actor, plan, province)  # 404 for a plan or province not theirs
        check_codes(s, "", plan=plan, agency=agency, obligation=obligation)  # 422 at the parameter, codes listed
        check_period(s, report_period(period, cutoff), "")
        document = period_report(
            s,
            period,
            cutoff,
            moment,
            Scope(plan, agency, obligation),
            settings.at_risk_days,
            settings.report_agency,
            actor.lang,
            plans,
        )
    report = report_file(document, format, settings.base_url)
    return Response(report.body, media_type=report.media, headers=report.headers())
