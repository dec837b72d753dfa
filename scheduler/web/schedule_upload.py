"""Schedule files an administrator uploads: read with a size limit, decoded
as UTF-8, checked by the rules ``main.py load`` uses, kept content-addressed
under OUTPUTS_DIR/schedules/uploads/, previewed by a load that is rolled
back, then loaded for real through ``commands.save_schedules``.

What each load changed (the lists, not only the counts of the ``loads``
table) is kept as OUTPUTS_DIR/schedules/loads/<load id>.json for its page.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from scheduler.bounds import format_size
from scheduler.documents import MAX_DOCUMENT_BYTES, decode_document
from scheduler.errors import N_, Problem, ScheduleError, SchedulerError
from scheduler.plan.model import Plan
from scheduler.plan.production import Schedules, read_texts
from scheduler.plan.revisions import Changes
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.files import atomic_write
from scheduler.store.loading import save_schedules
from scheduler.store.succession import apply_successions
from scheduler.store.tables import LoadRow, OccurrenceRow

# A plan file and the outlets' production files, each at most the limit of
# every document (documents.py says why), refused before it is held in memory.
MAX_FILES = 5
MAX_FILE_BYTES = MAX_DOCUMENT_BYTES
MAX_BODY = MAX_FILES * MAX_FILE_BYTES + (64 << 10)  # the files, their part headers, the CSRF field
CONTEXT_LINES = 2  # lines shown either side of a problem's line
SHA256 = re.compile(r"^[0-9a-f]{64}$")
SHOWN_KEYS = ("title", "title_en", "period", "number", "count", "min_duration", "status", "channels")


class UploadError(SchedulerError):
    """The upload as a whole is refused (too large, not a form, no file); nothing was read or loaded."""

    def __init__(self, message: str, status: int, **params: object):
        super().__init__(message, **params)
        self.status = status


class FileProblems(ScheduleError):
    """Problems of named files before their contents are read as schedules."""

    def __init__(self, problems: list[Problem], status: int):
        super().__init__(problems)
        self.status = status


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the name it came with (used as the source in
    messages) and its bytes."""

    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def limits() -> dict:
    return {"count": MAX_FILES, "size": format_size(MAX_FILE_BYTES)}


def clean_name(raw: str) -> str:
    """The file's own name, without any folder a browser may send."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name[:200]


def check_names(uploads: list[Upload]) -> None:
    if not uploads:
        raise UploadError(N_("Choose at least one schedule file (.yaml)."), 422)
    if len(uploads) > MAX_FILES:
        raise UploadError(N_("Upload at most {count} files at once."), 413, count=MAX_FILES)
    problems, seen = [], set()
    for u in uploads:
        if not u.name.lower().endswith((".yaml", ".yml")):
            problems.append(Problem(u.name or "?", None, "", N_("only schedule files (.yaml, .yml) can be uploaded")))
        elif u.name in seen:
            problems.append(Problem(u.name, None, "", N_("two files have this name; give each file its own name")))
        seen.add(u.name)
    if problems:
        raise FileProblems(problems, 422)
    big = [
        Problem(u.name, None, "", N_("the file is larger than {size}"), {"size": format_size(MAX_FILE_BYTES)})
        for u in uploads
        if len(u.data) > MAX_FILE_BYTES
    ]
    if big:
        raise FileProblems(big, 413)


async def read_upload(request: Request) -> tuple[dict[str, list[str]], list[Upload]]:
    """The form's text fields and its files, reading at most ``MAX_BODY`` bytes."""
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        raise UploadError(N_("Send the files with the upload form."), 400)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise UploadError(N_("The upload is too large: at most {count} files of {size} each."), 413, **limits())

    async def bounded():
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > MAX_BODY:
                raise UploadError(N_("The upload is too large: at most {count} files of {size} each."), 413, **limits())
            yield chunk

    parser = MultiPartParser(request.headers, bounded(), max_files=MAX_FILES * 4, max_fields=20)
    try:
        form = await parser.parse()
    except MultiPartException:
        raise UploadError(N_("The form could not be read; choose the files and send it again."), 400) from None
    fields: dict[str, list[str]] = {}
    uploads = []
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                if value.filename or data:  # a browser sends an empty part for an empty file input
                    uploads.append(Upload(clean_name(value.filename or ""), data))
            else:
                fields.setdefault(key, []).append(value)
    finally:
        await form.close()
    return fields, uploads


def decode(uploads: list[Upload]) -> list[tuple[str, str]]:
    """``(name, text)`` pairs; every file that is not UTF-8 or holds control
    characters is named, with the line (``documents.decode_document``)."""
    texts, problems = [], []
    for u in uploads:
        try:
            texts.append((u.name, decode_document(u.name, u.data)))
        except ScheduleError as e:
            problems += e.problems
    if problems:
        raise FileProblems(problems, 422)
    return texts


def check(uploads: list[Upload]) -> tuple[Schedules, dict[str, str]]:
    """Everything ``main.py load`` checks, with the uploaded names as sources;
    raises a ScheduleError listing every problem. The schedules and the SHA-256 of each file."""
    check_names(uploads)
    schedules = read_texts(decode(uploads))
    if not schedules.plans:
        raise UploadError(N_("These files hold no plan: upload the plan file together with its production files."), 422)
    return schedules, {u.name: u.sha256 for u in uploads}


def excerpt(text: str, line: int | None) -> list[dict]:
    """The lines around ``line`` (1-based), numbered, the line itself marked."""
    if not line:
        return []
    lines = [t.removesuffix("\r") for t in text.split("\n")]  # line breaks as YAML 1.2 counts them
    first, last = max(1, line - CONTEXT_LINES), min(len(lines), line + CONTEXT_LINES)
    return [{"number": n, "text": lines[n - 1], "here": n == line} for n in range(first, last + 1)]


def problem_views(error: ScheduleError, texts: dict[str, str], _) -> list[dict]:
    """Each problem as the command line prints it, with the lines of the file around it."""
    return [
        {"text": p.render(_), "source": p.source, "line": p.line, "excerpt": excerpt(texts.get(p.source, ""), p.line)}
        for p in error.problems
    ]


class UploadStore:
    """Uploaded schedule files by their SHA-256, written atomically."""

    def __init__(self, settings: Settings):
        self.uploads = Path(settings.outputs_dir) / "schedules" / "uploads"
        self.loads = Path(settings.outputs_dir) / "schedules" / "loads"

    def put(self, upload: Upload) -> str:
        path = self.uploads / f"{upload.sha256}.yaml"
        if not path.exists():
            atomic_write(path, upload.data)
        return upload.sha256

    def get(self, sha256: str, name: str) -> Upload:
        """The file checked earlier; refused when unknown or no longer what was checked."""
        path = self.uploads / f"{sha256}.yaml"
        if not SHA256.match(sha256) or not path.is_file():
            raise UploadError(
                N_("{name} is not among the checked files; upload it and check it again."), 409, name=name
            )
        upload = Upload(clean_name(name), path.read_bytes())
        if upload.sha256 != sha256:
            raise UploadError(N_("{name} changed since it was checked; upload it and check it again."), 409, name=name)
        return upload

    def keep_result(self, record: dict) -> None:
        atomic_write(
            self.loads / f"{record['load_id']}.json",
            json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8"),
        )

    def result(self, load_id: int) -> dict | None:
        path = self.loads / f"{load_id}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _item(occurrence_id: str, shown: dict, due: datetime, was_due: datetime | None = None) -> dict:
    return {
        "id": occurrence_id,
        "shown": {k: shown.get(k) for k in SHOWN_KEYS},
        "due": due.isoformat(),
        "was_due": was_due.isoformat() if was_due and was_due != due else None,
    }


def _problem(p: Problem) -> dict:
    """A warning as JSON, rendered in the reader's language when shown (``Problem(**d)``)."""
    return {"source": p.source, "line": p.line, "where": p.where, "message": p.message, "params": dict(p.params)}


def describe(session: Session, plan: Plan, changes: Changes) -> dict:
    """What a load did to one plan, as JSON: counts and the occurrences by kind of change."""
    cancelled = []
    for oid, _revision in changes.cancelled:
        row = session.get(OccurrenceRow, oid)
        cancelled.append(_item(oid, row.shown, row.due))
    return {
        "plan": plan.code,
        "title": plan.title,
        "title_en": plan.title_en,
        "timezone": plan.timezone,
        "source": plan.source,
        "unchanged": changes.unchanged,
        # the agency registry's (store/registry.py); a web exception the files now override
        "warnings": [_problem(w) for w in changes.warnings],
        "created": [_item(o.id, o.shown(), o.due) for o in changes.created],
        "revised": [
            _item(o.id, o.shown(), o.due, changes.previous.get(o.id, (None,))[0]) for o, _revision in changes.revised
        ],
        "cancelled": cancelled,
        "held": list(changes.held),  # left as they were: their period is closed (kỳ đã chốt)
    }


def latest_load(session: Session) -> int:
    """The newest load's id (0 when nothing was ever loaded): a preview holds only until the next load."""
    return session.scalar(select(func.max(LoadRow.id))) or 0


class _RolledBack(Exception):
    def __init__(self, value):
        self.value = value


def preview(
    db: Database, settings: Settings, schedules: Schedules, digests: dict[str, str], now: datetime
) -> tuple[list[dict], int]:
    """What loading would change, found by loading in a transaction that is
    then rolled back: the same code as the real load, so the same answer."""
    try:
        with db.transaction() as s:
            after = latest_load(s)
            results = save_schedules(s, schedules.plans, digests, now, settings)
            raise _RolledBack([describe(s, plan, changes) for plan, changes in results])
    except _RolledBack as done:
        return done.value, after


def load(
    db: Database,
    settings: Settings,
    store: UploadStore,
    schedules: Schedules,
    digests: dict[str, str],
    now: datetime,
    after: int,
) -> list[dict]:
    """Load in one transaction, as ``main.py load`` does (notices included);
    refused when another load came between the preview and now."""
    with db.transaction() as s:
        if latest_load(s) != after:
            raise UploadError(
                N_(
                    "The schedules were loaded again since this preview; check the files again "
                    "to see what loading them would change now."
                ),
                409,
            )
        records = []
        for plan, changes in save_schedules(s, schedules.plans, digests, now, settings):
            record = describe(s, plan, changes)
            record["load_id"] = s.scalar(select(func.max(LoadRow.id)).where(LoadRow.plan_code == plan.code))
            records.append(record)
        apply_successions(s, schedules.successions, "upload", now, settings)  # a "successions:" file, once
    for record in records:  # after the commit: a result file always belongs to a load that happened
        store.keep_result(record)
    return records
