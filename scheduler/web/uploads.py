"""Streaming multipart/form-data: evidence files go to the store as they arrive.

FastAPI and Starlette spool a whole upload before the handler runs, so a
route that takes evidence declares no ``File``/``Form`` parameters and calls
``read_form(request, store)`` itself. Each file is counted while the body
streams: at the first byte over the store's limit reading stops and nothing
of the request is kept. Files stay in the store's temporary area until the
route decides::

    try:
        form = await read_form(request, store)
    except UploadError as e:   # .status 400/413/415/422, .field names the form field
        ...
    with form:                 # leaving without commit() deletes the temporaries
        ...validate the delivery, may refuse it...
        form.commit()          # rename into outputs/evidence/, right before the
        transaction.commit()   # database commit

If the database commit then fails, the committed files stay: content-addressed
and unreferenced, they are harmless and a later upload of the same bytes reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from scheduler.bounds import format_size
from scheduler.errors import N_, SchedulerError
from scheduler.evidence.file_rules import PendingFile, StoredFile, TooLarge, TypeMismatch
from scheduler.store.files import EvidenceStore, EvidenceWriter

OVERHEAD = 1 << 20  # room for headers, boundaries and text fields around the files
MAX_HEADERS = 16 * 1024  # bytes of part headers


class UploadError(SchedulerError):
    """A form we refuse, with its HTTP status and (where known) the form field at fault."""

    def __init__(self, message: str, status: int, field: str | None = None, **params: object):
        super().__init__(message, **params)
        self.status = status
        self.field = field

    @classmethod
    def of(cls, error: SchedulerError, status: int, field: str) -> UploadError:
        return cls(error.message, status, field, **error.params)


def _malformed(field: str | None = None) -> UploadError:
    return UploadError(N_("the form data is malformed"), 400, field)


@dataclass
class Form:
    """Text fields and uploaded files, still uncommitted: commit() or discard()."""

    fields: dict[str, list[str]]
    pending: list[PendingFile]
    store: EvidenceStore = field(repr=False)
    state: str = "open"  # open, committed, discarded

    @property
    def files(self) -> list[StoredFile]:
        """The files in upload order (hash, size, sanitized name, trusted type)."""
        return [p.file for p in self.pending]

    def commit(self) -> list[StoredFile]:
        """Move every file to its content address; idempotent."""
        if self.state == "discarded":
            raise ValueError("commit of a discarded form")
        stored = [self.store.commit(p) for p in self.pending]
        self.state = "committed"
        return stored

    def discard(self) -> None:
        """Delete the temporaries of an uncommitted form; idempotent."""
        if self.state == "open":
            for p in self.pending:
                self.store.discard(p)
            self.state = "discarded"

    def __enter__(self) -> Form:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.discard()


@dataclass
class _Part:
    name: str
    filename: str | None = None
    declared: str | None = None
    text: bytearray = field(default_factory=bytearray)
    writer: EvidenceWriter | None = None


class _Reader:
    """The parser's callbacks. They only parse and count; file I/O is queued in
    `ops` and run in a worker thread after each chunk, so the event loop never blocks."""

    def __init__(self, store: EvidenceStore, file_field: str, max_fields: int, max_field_bytes: int):
        self.store, self.file_field = store, file_field
        self.max_fields, self.max_field_bytes = max_fields, max_field_bytes
        self.fields: dict[str, list[str]] = {}
        self.pending: list[PendingFile] = []
        self.parts: list[_Part] = []
        self.ops: list[tuple[str, _Part, bytes]] = []
        self.headers: dict[bytes, bytes] = {}
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.header_bytes = 0
        self.part: _Part | None = None
        self.ended = False

    def callbacks(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in (
                "on_part_begin",
                "on_part_data",
                "on_part_end",
                "on_header_field",
                "on_header_value",
                "on_header_end",
                "on_headers_finished",
                "on_end",
            )
        }

    def on_part_begin(self) -> None:
        self.headers, self.header_bytes, self.part = {}, 0, None

    def _header_bytes(self, n: int) -> None:
        self.header_bytes += n
        if self.header_bytes > MAX_HEADERS:
            raise _malformed()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_bytes(end - start)
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_bytes(end - start)
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_name).lower()] = bytes(self.header_value)
        self.header_name, self.header_value = bytearray(), bytearray()

    def on_headers_finished(self) -> None:
        _disposition, options = parse_options_header(self.headers.get(b"content-disposition"))
        try:
            name = options[b"name"].decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            raise _malformed() from None
        if sum(len(v) for v in self.fields.values()) + len(self.parts) >= self.max_fields:
            raise UploadError(N_("the form has more than {limit} fields"), 400, name, limit=self.max_fields)
        self.part = _Part(name)
        if b"filename" in options:
            if name != self.file_field:
                raise UploadError(N_('field "{name}" does not take files'), 400, name, name=name)
            raw = options[b"filename"]
            try:
                filename = raw.decode("utf-8")  # RFC 7578 §4.2: UTF-8 in filename="..."
            except UnicodeDecodeError:
                filename = raw.decode("latin-1")
            # Browsers (the HTML standard) escape only these three in a filename; a name
            # that really contains "%22" loses it, which sanitize_name would do anyway.
            for escaped, char in (("%22", '"'), ("%0D", "\r"), ("%0A", "\n")):
                filename = filename.replace(escaped, char)
            self.part.filename = filename
            declared = self.headers.get(b"content-type")
            self.part.declared = declared.decode("latin-1") if declared else None
            self.parts.append(self.part)
            self.ops.append(("open", self.part, b""))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        if part is None:
            raise _malformed()
        if part.filename is not None:
            self.ops.append(("write", part, bytes(data[start:end])))
            return
        part.text += data[start:end]
        if len(part.text) > self.max_field_bytes:
            raise UploadError(
                N_('field "{name}" is longer than {limit}'),
                413,
                part.name,
                name=part.name,
                limit=format_size(self.max_field_bytes),
            )

    def on_part_end(self) -> None:
        part, self.part = self.part, None
        if part is None:
            raise _malformed()
        if part.filename is not None:
            self.ops.append(("finish", part, b""))
            return
        try:
            self.fields.setdefault(part.name, []).append(part.text.decode("utf-8"))
        except UnicodeDecodeError:
            raise UploadError(N_('field "{name}" is not valid UTF-8'), 400, part.name, name=part.name) from None

    def on_end(self) -> None:
        self.ended = True

    def run_ops(self) -> None:
        """File I/O queued by the callbacks, in order (runs in a worker thread)."""
        ops, self.ops = self.ops, []
        for kind, part, data in ops:
            if kind == "open":
                part.writer = self.store.writer(part.filename or "", part.declared)
            elif kind == "write":
                part.writer.write(data)
            else:
                writer, part.writer = part.writer, None
                if part.filename == "" and writer.size == 0:
                    writer.abort()  # a file input left empty: browsers still send the part
                else:
                    self.pending.append(writer.finish())

    def abort(self) -> None:
        for part in self.parts:
            if part.writer is not None:
                part.writer.abort()
        for pending in self.pending:
            self.store.discard(pending)


async def _read_urlencoded(request: Request, store: EvidenceStore, max_fields: int, max_field_bytes: int) -> Form:
    """A form without files (what clients send when there is nothing to upload)."""
    limit = max_fields * max_field_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise UploadError(N_("the upload is larger than the limit of {limit}"), 413, limit=format_size(limit))
    fields: dict[str, list[str]] = {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=max_fields)
    except (UnicodeDecodeError, ValueError):
        raise _malformed() from None
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return Form(fields, [], store)


async def read_form(
    request: Request,
    store: EvidenceStore,
    file_field: str = "files",
    max_fields: int = 100,
    max_field_bytes: int = 64 * 1024,
    max_body: int | None = None,
) -> Form:
    """Parse the body as it streams; files in `file_field` go to the store's temporary area.

    `max_fields` counts every part, files included; the whole body may be at most
    `max_body` bytes (default: the store's limit plus 1 MiB of overhead).
    """
    shown = format_size(store.limit if max_body is None else max_body)
    max_body = store.limit + OVERHEAD if max_body is None else max_body
    content_type = request.headers.get("content-type", "")
    kind, params = parse_options_header(content_type)
    if kind == b"application/x-www-form-urlencoded":
        return await _read_urlencoded(request, store, max_fields, max_field_bytes)
    if kind != b"multipart/form-data":
        raise UploadError(N_('expected multipart/form-data, got "{type}"'), 415, type=content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise _malformed()
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise _malformed()
        if int(length) > max_body:  # refused before a byte of the body is read
            raise UploadError(N_("the upload is larger than the limit of {limit}"), 413, file_field, limit=shown)

    reader = _Reader(store, file_field, max_fields, max_field_bytes)
    parser = MultipartParser(boundary, reader.callbacks())
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            parser.write(chunk)
            if reader.ops:
                await run_in_threadpool(reader.run_ops)
            if total > max_body:
                raise UploadError(N_("the upload is larger than the limit of {limit}"), 413, file_field, limit=shown)
        parser.finalize()
        if not reader.ended:  # python-multipart does not notice a body cut short
            raise _malformed()
    except TooLarge as e:
        reader.abort()
        raise UploadError.of(e, 413, file_field) from None
    except TypeMismatch as e:
        reader.abort()
        raise UploadError.of(e, 422, file_field) from None
    except FormParserError:
        reader.abort()
        raise _malformed() from None
    except BaseException:
        reader.abort()
        raise
    return Form(reader.fields, reader.pending, store)
