"""The bounds every input keeps: ids, years, durations and text. A value
outside them is refused with its field named before anything is computed or
stored, so no request or command fails deep inside (a 500, or a minute of work).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from scheduler.errors import N_, InputError

MAX_ID = 2**63 - 1  # a signed 64-bit integer: the widest id SQLite and PostgreSQL store
FIRST_YEAR, LAST_YEAR = 1900, 2199  # dates people may write (plans, deliveries, reports)
MAX_DURATION = timedelta(hours=24)  # an episode or an article's reading time, never more than a day
PLAN_REACH = 10  # years around a loaded plan that a compliance report may cover
MAX_BODY = 256 * 1024  # a JSON or urlencoded request body (files go through multipart uploads)
# A production file's harvest settings (plan/harvest_fields.py): an outlet publishes a few feeds;
# an obligation is named by a few title patterns. Each URL is at most LIMITS["url"] characters,
# each pattern or column name at most SHORT.
MAX_HARVEST_URLS = 50  # feeds, sitemaps or checks in one list
MAX_MATCH_PATTERNS = 50  # patterns in one list of a match

# Plan documents (.docx, .pdf, .txt, .md read by `plan import` and the upload page;
# scheduler/store/plan_documents). A real plan is 30-500 KiB; a .docx with pictures
# a few MiB. A .docx is a zip: its members are counted and their unpacked sizes and
# compression ratio checked from the zip directory before anything is inflated. A
# PDF is read in a child process with a memory and time ceiling, page by page, and
# stops at the page and text bounds.
MAX_PLAN_DOCUMENT = 20 * 2**20  # bytes of the file as uploaded
MAX_ZIP_MEMBERS = 2000  # a plan's .docx holds 10-60 parts
MAX_ZIP_UNPACKED = 200 * 2**20  # bytes once every member is inflated
MAX_ZIP_RATIO = 100  # unpacked / packed for a member over 1 MiB (XML packs ~10x; a bomb 1000x)
MAX_PDF_PAGES = 300  # a plan runs 3-30 pages
MAX_PLAN_CHARS = 2_000_000  # characters of text read from any plan document
PDF_SECONDS = 120  # wall time for reading one PDF
PDF_MEMORY = 1536 * 2**20  # address space of the child process reading a PDF

# Characters a text field may hold: a name or an email is short, a note or a reason is a paragraph.
SHORT, TEXT, LONG = 200, 2000, 10_000
LIMITS = {
    "email": 254,
    "name": SHORT,
    "user": 254,
    "by": 254,
    "title": TEXT,
    "url": TEXT,
    "note": LONG,
    "reason": LONG,
    "password": 1024,
    "again": 1024,
}


class FieldError(InputError):
    """A value out of bounds; ``field`` names the request part (HTTP 422, exit 1)."""

    status = 422

    def __init__(self, field_name: str, message: str, **params: object):
        super().__init__(message, **params)
        self.field = field_name


def parse_id(text: object) -> int | None:
    """A stored row's number written in ASCII digits, or None.

    >>> parse_id("42"), parse_id("²"), parse_id("18446744073709551616"), parse_id("-1")
    (42, None, None, None)
    """
    value = str(text)
    if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) > MAX_ID:
        return None
    return int(value)


def check_text(field_name: str, value: str, limit: int | None = None, label: str | None = None) -> str:
    """``value`` if it is at most ``limit`` characters (the field's usual
    limit by default) of real Unicode: a lone surrogate cannot be encoded, a NUL
    cannot be kept in PostgreSQL.
    The refusal names ``label`` (the field's name by default).

    >>> check_text("note", "ổn")
    'ổn'
    >>> check_text("name", "x" * 201)
    Traceback (most recent call last):
    scheduler.bounds.FieldError: name: at most 200 characters, got 201
    """
    limit = limit or LIMITS.get(field_name, TEXT)
    label = label or field_name
    if len(value) > limit:
        raise FieldError(
            field_name,
            N_("{field}: at most {limit} characters, got {count}"),
            field=label,
            limit=limit,
            count=len(value),
        )
    # NUL: PostgreSQL keeps none in text, nobody means one. A lone surrogate
    # cannot be encoded. U+FFFD is what a form reader makes of bytes that are
    # not UTF-8 (found by the outside probe): refused rather than kept as "�".
    at = next((i for i, c in enumerate(value) if c in "\x00\ufffd" or "\ud800" <= c <= "\udfff"), None)
    if at is not None:
        raise FieldError(
            field_name,
            N_("{field}: not text (a NUL, an unpaired surrogate or bytes that are not UTF-8) at character {at}"),
            field=label,
            at=at + 1,
        )
    return value


def check_args(values: dict[str, object]) -> None:
    """Every text a command line gives (``--reason``, an email...) within its bounds.

    >>> check_args({"reason": "x" * 10_001})
    Traceback (most recent call last):
    scheduler.bounds.FieldError: --reason: at most 10000 characters, got 10001
    """
    for name, value in values.items():
        label = "--" + name.replace("_", "-")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                check_text(name, item, label=label)
            elif isinstance(item, int) and not isinstance(item, bool) and not -MAX_ID <= item <= MAX_ID:
                raise FieldError(
                    name,
                    N_("{field}: expected a number of at most {limit}, got {value}"),
                    field=label,
                    limit=MAX_ID,
                    value=item,
                )


def plan_reach(first: date, last: date) -> tuple[date, date]:
    """The days a report about a plan running ``[first, last]`` may cover."""
    return (date(max(first.year - PLAN_REACH, FIRST_YEAR), 1, 1), date(min(last.year + PLAN_REACH, LAST_YEAR), 12, 31))


UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", re.IGNORECASE)


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
        size = int(Decimal(match.group(1)) * unit) if match and unit else 0
    except InvalidOperation:
        size = 0
    if size < 1:
        raise InputError(N_('expected a size such as "2GiB", "500MiB", "10MB" or "1024", got "{value}"'), value=text)
    return size
