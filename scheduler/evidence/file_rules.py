"""What an evidence file may be: its trusted type (checked against its first
bytes), a safe name, and how it is served back (``content_disposition`` with
``X-Content-Type-Options: nosniff``). Pure: the bytes on disk are the
evidence store's (``scheduler.store.files``)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import filetype  # type: ignore[import-untyped]  # filetype ships no types and has no stubs

from scheduler.bounds import format_size
from scheduler.errors import N_, SchedulerError

OCTET = "application/octet-stream"
HEAD_BYTES = 8192  # what filetype.guess looks at
SHA256 = re.compile(r"[0-9a-f]{64}")
MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
# Names browsers and phones send for the types filetype reports (its names on the right).
ALIASES = {
    "audio/mp3": "audio/mpeg",
    "audio/mpeg3": "audio/mpeg",
    "audio/x-mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/wav": "audio/x-wav",
    "audio/wave": "audio/x-wav",
    "audio/vnd.wave": "audio/x-wav",
    "audio/flac": "audio/x-flac",
    "audio/aiff": "audio/x-aiff",
    "audio/x-aac": "audio/aac",
    "audio/x-midi": "audio/midi",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/x-bmp": "image/bmp",
    "image/x-ms-bmp": "image/bmp",
    "image/vnd.microsoft.icon": "image/x-icon",
    "video/avi": "video/x-msvideo",
    "video/msvideo": "video/x-msvideo",
    "video/flv": "video/x-flv",
    "application/x-zip-compressed": "application/zip",
    "application/x-zip": "application/zip",
    "application/x-gzip": "application/gzip",
    "application/vnd.rar": "application/x-rar-compressed",
    "text/rtf": "application/rtf",
}
# Declared types of content filetype cannot recognise that we still accept, stored as
# application/octet-stream: text-like formats, and Windows browsers' name for a .csv file.
TEXT_LIKE = {"application/json", "application/xml", "application/csv", "application/x-csv", "application/vnd.ms-excel"}
# The types a file is ever sent with (served_type): pictures, sound, video, documents, archives
# and plain text, none of which a browser runs. Anything else goes out as application/octet-stream:
# HTML, SVG, XML, XHTML, every JavaScript alias, Flash, and types no one thought of.
SAFE_TYPES = frozenset(
    {
        "text/plain",
        "text/csv",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/tiff",
        "image/avif",
        "image/heic",
        "image/apng",
        "image/x-icon",
        "audio/aac",
        "audio/amr",
        "audio/midi",
        "audio/mp4",
        "audio/mpeg",
        "audio/ogg",
        "audio/x-aiff",
        "audio/x-flac",
        "audio/x-wav",
        "video/3gpp",
        "video/mp4",
        "video/mpeg",
        "video/quicktime",
        "video/webm",
        "video/x-flv",
        "video/x-m4v",
        "video/x-matroska",
        "video/x-ms-wmv",
        "video/x-msvideo",
        "application/pdf",
        "application/rtf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/zip",
        "application/gzip",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/x-tar",
        OCTET,
    }
)
SAFE_TEXT = {"text/plain", "text/csv"}
UNSAFE_CHARS = set('<>:"/\\|?*')
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME = 150


class TooLarge(SchedulerError):
    def __init__(self, name: str, limit: int):
        super().__init__(N_('file "{name}" is larger than the limit of {limit}'), name=name, limit=format_size(limit))


class TypeMismatch(SchedulerError):
    def __init__(self, name: str, declared: str, detected: str):
        super().__init__(
            N_('file "{name}" is declared as {declared} but its content is {detected}'),
            name=name,
            declared=declared,
            detected=detected,
        )


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
    detected: str | None = kind.mime if kind is not None and kind.mime != OCTET else None
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
    kept = "".join(
        " " if _is_space(ch) else ch
        for ch in base
        if _is_space(ch) or (ch not in UNSAFE_CHARS and not unicodedata.category(ch).startswith("C"))
    )
    text = " ".join(kept.split()).lstrip(". ").rstrip(". ")
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        if dot and stem and len(ext) <= 16:
            text = stem[: MAX_NAME - len(ext) - 1].rstrip(". ") + "." + ext
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
