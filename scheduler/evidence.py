"""The evidence store: files under their SHA-256 in OUTPUTS_DIR/evidence.

A file is streamed into a temporary in ``root/tmp/`` (counted against the
size limit as it arrives, its type checked against its first bytes), then
committed by a rename to ``root/ab/cd/<sha256>``: stored once however often
uploaded, and never a partial file under a final name. Serve a file back with
``content_disposition(name)`` and ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

import filetype

from .errors import N_, InputError, SchedulerError

OCTET = "application/octet-stream"
HEAD_BYTES = 8192  # what filetype.guess looks at
SHA256 = re.compile(r"[0-9a-f]{64}")
MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
# Names browsers and phones send for the types filetype reports (its names on the right).
ALIASES = {
    "audio/mp3": "audio/mpeg", "audio/mpeg3": "audio/mpeg", "audio/x-mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg", "audio/x-m4a": "audio/mp4", "audio/m4a": "audio/mp4",
    "audio/wav": "audio/x-wav", "audio/wave": "audio/x-wav", "audio/vnd.wave": "audio/x-wav",
    "audio/flac": "audio/x-flac", "audio/aiff": "audio/x-aiff", "audio/x-aac": "audio/aac",
    "audio/x-midi": "audio/midi", "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png", "image/x-bmp": "image/bmp", "image/x-ms-bmp": "image/bmp",
    "image/vnd.microsoft.icon": "image/x-icon", "video/avi": "video/x-msvideo",
    "video/msvideo": "video/x-msvideo", "video/flv": "video/x-flv",
    "application/x-zip-compressed": "application/zip", "application/x-zip": "application/zip",
    "application/x-gzip": "application/gzip", "application/vnd.rar": "application/x-rar-compressed",
    "text/rtf": "application/rtf",
}
# Declared types of content filetype cannot recognise that we still accept, stored as
# application/octet-stream: text-like formats, and Windows browsers' name for a .csv file.
TEXT_LIKE = {"application/json", "application/xml", "application/csv", "application/x-csv",
             "application/vnd.ms-excel"}
# The types a file is ever sent with (served_type): pictures, sound, video, documents, archives
# and plain text, none of which a browser runs. Anything else goes out as application/octet-stream:
# HTML, SVG, XML, XHTML, every JavaScript alias, Flash, and types no one thought of.
SAFE_TYPES = frozenset({
    "text/plain", "text/csv",
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff", "image/avif", "image/heic",
    "image/apng", "image/x-icon",
    "audio/aac", "audio/amr", "audio/midi", "audio/mp4", "audio/mpeg", "audio/ogg", "audio/x-aiff",
    "audio/x-flac", "audio/x-wav",
    "video/3gpp", "video/mp4", "video/mpeg", "video/quicktime", "video/webm", "video/x-flv", "video/x-m4v",
    "video/x-matroska", "video/x-ms-wmv", "video/x-msvideo",
    "application/pdf", "application/rtf", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint", "application/vnd.oasis.opendocument.presentation",
    "application/vnd.oasis.opendocument.spreadsheet", "application/vnd.oasis.opendocument.text",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/zip", "application/gzip", "application/x-7z-compressed", "application/x-rar-compressed",
    "application/x-tar", OCTET,
})
SAFE_TEXT = {"text/plain", "text/csv"}
UNSAFE_CHARS = set('<>:"/\\|?*')
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME = 150
UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
         "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", re.IGNORECASE)


class TooLarge(SchedulerError):
    def __init__(self, name: str, limit: int):
        super().__init__(N_('file "{name}" is larger than the limit of {limit}'), name=name,
                         limit=format_size(limit))


class TypeMismatch(SchedulerError):
    def __init__(self, name: str, declared: str, detected: str):
        super().__init__(N_('file "{name}" is declared as {declared} but its content is {detected}'),
                         name=name, declared=declared, detected=detected)


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    name: str  # the sanitized original name: metadata only, never a path
    type: str  # the content type we trust (detected, not declared)


@dataclass(frozen=True)
class PendingFile:
    """A finished upload still in the temporary area: commit or discard it."""

    file: StoredFile
    temporary: Path


class EvidenceStore:
    def __init__(self, root: Path, limit: int):
        self.root = Path(root)
        self.limit = limit
        self.tmp = self.root / "tmp"

    def writer(self, name: str, declared_type: str | None) -> "EvidenceWriter":
        """Begin a streamed file; the caller must finish() or abort() it."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        return EvidenceWriter(self, sanitize_name(name), declared_type)

    def path(self, sha256: str) -> Path:
        if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
            raise ValueError(f"expected a SHA-256 of 64 lowercase hex digits, got {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def commit(self, pending: PendingFile) -> StoredFile:
        """Rename into the content address; idempotent; a file already there is kept."""
        final = self.path(pending.file.sha256)
        if not pending.temporary.exists():
            if final.is_file():
                return pending.file  # committed before
            raise FileNotFoundError(pending.temporary)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.is_file() and final.stat().st_size == pending.file.size:
            pending.temporary.unlink(missing_ok=True)  # stored once: same hash, same bytes
        else:
            os.replace(pending.temporary, final)
            _fsync_dir(final.parent)
        return pending.file

    def discard(self, pending: PendingFile) -> None:
        pending.temporary.unlink(missing_ok=True)

    def rehash(self, sha256: str) -> str | None:
        """None if the file still hashes to its name, else a message id taking {sha256}.

        A malformed hash (from a damaged ledger) names no file: it is reported missing."""
        try:
            path = self.path(sha256)
        except ValueError:
            return N_("file {sha256} is missing")
        if not path.is_file():
            return N_("file {sha256} is missing")
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return None if digest.hexdigest() == sha256 else N_("file {sha256} does not match its hash")

    def sweep(self, before: float) -> int:
        """Delete temporaries left by a crash, last written before `before` (a POSIX time)."""
        removed = 0
        for path in self.tmp.glob("*") if self.tmp.is_dir() else ():
            if path.is_file() and path.stat().st_mtime < before:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


class EvidenceWriter:
    """One file on its way in: counted, hashed, and kept in the temporary area."""

    def __init__(self, store: EvidenceStore, name: str, declared_type: str | None):
        self.store = store
        self.name = name
        self.declared_type = declared_type
        self.size = 0
        self._hash = hashlib.sha256()
        self._head = bytearray()
        fd, tmp = tempfile.mkstemp(dir=store.tmp, prefix="upload-", suffix=".part")
        self.temporary = Path(tmp)
        self._file = os.fdopen(fd, "wb")
        self._done = False

    def write(self, chunk: bytes) -> None:
        """Refuses (and deletes the temporary) before the limit's worth is exceeded on disk."""
        if self._done:
            raise ValueError("write to a finished or aborted evidence file")
        if self.size + len(chunk) > self.store.limit:
            self.abort()
            raise TooLarge(self.name, self.store.limit)
        self._file.write(chunk)
        self.size += len(chunk)
        self._hash.update(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[:HEAD_BYTES - len(self._head)]

    def finish(self) -> PendingFile:
        """Flush to disk and check the type; the temporary then belongs to the PendingFile."""
        if self._done:
            raise ValueError("finish of a finished or aborted evidence file")
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            kind = trusted_type(self.name, self.declared_type, bytes(self._head))
        except BaseException:
            self.abort()
            raise
        self._done = True
        return PendingFile(StoredFile(self._hash.hexdigest(), self.size, self.name, kind), self.temporary)

    def abort(self) -> None:
        """Delete the temporary of an unfinished file; idempotent, a no-op after finish()."""
        if self._done:
            return
        self._done = True
        self._file.close()
        self.temporary.unlink(missing_ok=True)

    def __enter__(self) -> "EvidenceWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def trusted_type(name: str, declared: str | None, head: bytes) -> str:
    """The type to store: what the content is, checked against what was declared.

    >>> trusted_type("a.png", "image/png", b"\\x89PNG\\r\\n\\x1a\\n" + bytes(24))
    'image/png'
    >>> trusted_type("a.csv", "text/csv; charset=utf-8", b"a,b")
    'text/csv'
    """
    declared = (declared or "").split(";")[0].strip().lower()
    if declared == OCTET or not MEDIA_TYPE.fullmatch(declared):
        declared = ""  # not declared, or nothing we could trust or show
    kind = filetype.guess(head) if head else None
    detected = kind.mime if kind is not None and kind.mime != OCTET else None
    if detected:
        if declared and ALIASES.get(declared, declared) != detected:
            raise TypeMismatch(name, declared, detected)
        return detected
    if not declared or declared in TEXT_LIKE:
        return OCTET
    if declared.startswith("text/"):
        return declared if declared in SAFE_TEXT else "text/plain"  # text/html, text/javascript, …: shown as text
    raise TypeMismatch(name, declared, OCTET)


def served_type(recorded: str | None) -> str:
    """The type a file is sent with: the recorded one when it is on the safe
    list, otherwise application/octet-stream. Decided when it is sent, not
    only when stored: files recorded earlier may carry any type.

    >>> served_type("video/mp4"), served_type("image/svg+xml"), served_type("Text/JavaScript; charset=x")
    ('video/mp4', 'application/octet-stream', 'application/octet-stream')
    """
    kind = (recorded or "").split(";")[0].strip().lower()
    return kind if kind in SAFE_TYPES else OCTET


def sanitize_name(name: str) -> str:
    """The base name, safe on Windows and Unix, kept only as metadata.

    >>> sanitize_name("../../etc/passwd"), sanitize_name("C:\\\\x\\\\Báo cáo.pdf"), sanitize_name("..")
    ('passwd', 'Báo cáo.pdf', 'evidence')
    """
    base = unicodedata.normalize("NFC", re.split(r"[/\\]", name or "")[-1])
    kept = "".join(" " if _is_space(ch) else ch for ch in base
                   if _is_space(ch) or (ch not in UNSAFE_CHARS and not unicodedata.category(ch).startswith("C")))
    text = " ".join(kept.split()).lstrip(". ").rstrip(". ")
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        if dot and stem and len(ext) <= 16:
            text = stem[:MAX_NAME - len(ext) - 1].rstrip(". ") + "." + ext
        else:
            text = text[:MAX_NAME].rstrip(". ")
    if text.split(".")[0].upper() in RESERVED:
        text = "_" + text
    return text or "evidence"


def _is_space(ch: str) -> bool:
    """Tabs, newlines and Unicode spaces; not the other control characters str.isspace() admits."""
    return ch in "\t\n\r\v\f" or (ch.isspace() and not unicodedata.category(ch).startswith("C"))


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c) and 32 <= ord(c) < 127 and c not in '"\\%')
    return " ".join(text.split()).strip(". ")


def content_disposition(name: str) -> str:
    """An attachment header with an ASCII fallback and the UTF-8 name (RFC 6266, RFC 5987).

    >>> content_disposition("Phóng sự tháng 3.mp4")
    'attachment; filename="Phong su thang 3.mp4"; filename*=UTF-8\\'\\'Ph%C3%B3ng%20s%E1%BB%B1%20th%C3%A1ng%203.mp4'
    """
    name = sanitize_name(name)
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    fallback = (_ascii(stem) or "evidence") + ("." + _ascii(ext) if _ascii(ext) else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='!#$&+^`|')}"


def format_size(size: int) -> str:
    """
    >>> format_size(2 * 2**30), format_size(1536 * 2**10), format_size(1000)
    ('2 GiB', '1.5 MiB', '1000 B')
    """
    for unit, factor in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor:
            return f"{size // factor} {unit}" if size % factor == 0 else f"{size / factor:.1f} {unit}"
    return f"{size} B"


def parse_size(text: str) -> int:
    """Bytes from a size setting.

    >>> parse_size("2GiB"), parse_size("500MiB"), parse_size("10MB"), parse_size("1024")
    (2147483648, 524288000, 10000000, 1024)
    """
    match = SIZE.fullmatch(text or "")
    unit = UNITS.get((match.group(2) or "b").lower()) if match else None
    try:
        size = int(Decimal(match.group(1)) * unit) if unit else 0
    except InvalidOperation:
        size = 0
    if size < 1:
        raise InputError(N_('expected a size such as "2GiB", "500MiB", "10MB" or "1024", got "{value}"'),
                         value=text)
    return size


def _fsync_dir(path: Path) -> None:
    """Make a rename durable; not every platform can open a directory."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
