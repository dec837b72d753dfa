"""The ledger check as the API and the dashboard run it: against the latest
kept checkpoint, or one the reader uploads (bounded: a checkpoint is small)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_form
from starlette.requests import Request

from scheduler.documents import parse_json
from scheduler.errors import N_, SchedulerError
from scheduler.evidence.checkpoints import public_key_of
from scheduler.evidence.ledger import Break
from scheduler.settings import Settings
from scheduler.store import checkpoints
from scheduler.store.checkpoints import key_bytes
from scheduler.store.database import Database
from scheduler.store.files import EvidenceStore
from scheduler.store.ledger_audit import Audit, audit

FIELD = "checkpoint"
BODY_LIMIT = 2 * checkpoints.UPLOAD_LIMIT  # a checkpoint with room for a form's boundaries and headers


class BadCheckpoint(SchedulerError):
    """An uploaded checkpoint the check cannot use (HTTP 413 or 422, naming the field)."""

    def __init__(self, message: str, status: int = 422, **params: object):
        super().__init__(message, **params)
        self.status, self.field = status, FIELD


async def uploaded(request: Request) -> bytes | None:
    """The checkpoint in a request's body: JSON ``{"checkpoint": TEXT}``, a
    multipart file or field ``checkpoint``, or the file itself; None if empty."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_LIMIT:
            raise BadCheckpoint(N_("the request is larger than the limit of {limit} bytes"), 413, limit=BODY_LIMIT)
    if not body.strip():
        return None
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        found: dict[bytes, bytes] = {}

        def on_file(f):
            f.file_object.seek(0)
            found[f.field_name] = f.file_object.read()

        try:
            headers = {"Content-Type": request.headers["content-type"], "Content-Length": str(len(body))}
            parse_form(
                headers, io.BytesIO(bytes(body)), lambda f: found.__setitem__(f.field_name, f.value or b""), on_file
            )
        except (FormParserError, ValueError):
            raise BadCheckpoint(N_("the form cannot be read")) from None
        return found.get(FIELD.encode()) or None
    if kind == "application/json":
        try:
            doc = parse_json(bytes(body))
        except ValueError as e:
            raise BadCheckpoint(N_("checkpoint is not valid JSON: {error}"), error=str(e)) from None
        if isinstance(doc, dict) and FIELD in doc:
            if not isinstance(doc[FIELD], str):
                raise BadCheckpoint(N_("give the checkpoint's text as a string"))
            return doc[FIELD].encode("utf-8")
    return bytes(body)


def check(settings: Settings, db: Database, store: EvidenceStore, now: datetime, upload: bytes | None) -> Audit:
    """The whole check, in a worker thread: the uploaded checkpoint if any,
    else the latest kept one (none kept yet: the chain and columns alone),
    and every earlier kept one signed with today's key."""
    if upload is not None:
        try:
            cp, source = checkpoints.read(upload, FIELD), FIELD
        except SchedulerError as e:  # answered 422 naming the field, in the reader's language
            e.status, e.field = 422, FIELD
            raise
    try:
        found = checkpoints.kept(settings.outputs_dir)
    except SchedulerError as e:  # a kept file that is not a checkpoint (any more) is itself a finding
        with db.transaction() as s:
            result = audit(s, store, now)
        return replace(
            result,
            problems=[Break(None, N_("a kept checkpoint cannot be used: {problem}"), {"problem": e.render()})]
            + result.problems,
        )
    earlier = [c for _path, c in found]
    if upload is None:
        cp, source = (found[-1][1], found[-1][0].name) if found else (None, "")
    with db.transaction() as s:
        return audit(
            s, store, now, cp, lambda: public_key_of(key_bytes(settings, None, create=False)), source, earlier=earlier
        )
