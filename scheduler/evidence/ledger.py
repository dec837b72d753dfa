"""The evidence ledger's pure core: entries chained by SHA-256, checked end to end.

Values in, values out: the database stores each entry's canonical text
verbatim, and anyone can recompute the chain and compare it with a signed
checkpoint (``checkpoints.py``) to show nothing was edited, removed or reordered.

>>> from dataclasses import replace
>>> at = datetime(2024, 3, 14, 19, 30, tzinfo=timezone(timedelta(hours=7)))
>>> first = make_entry(None, "delivery", "cchc-tv/2024-03#1", at, "btv@ptv.vn", {"files": []})
>>> second = make_entry(first, "excuse", "cchc-tv/2024-03#2", at, "snv@phutho.gov.vn",
...                     {"files": [], "reason": "Nghỉ lễ"})
>>> first.seq, first.prev_hash == GENESIS, second.prev_hash == first.hash
(1, True, True)
>>> rows = [stored(first), stored(second)]
>>> verify_chain(rows, lambda sha256: None) is None
True
>>> verify_chain([rows[0], replace(rows[1], hash="f" * 64)], lambda sha256: None).render()
'entry 2: content does not match its hash'
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone  # noqa: F401 (timedelta: the doctest)
from typing import Any

from scheduler.documents import parse_json
from scheduler.errors import N_, SchedulerError

GENESIS = "0" * 64
KINDS = ("delivery", "excuse", "closing")  # a closing belongs to no occurrence: "period:…"
FIELDS = ("seq", "kind", "occurrence", "recorded_at", "recorded_by", "payload", "supersedes", "prev_hash")
# The entry format written today, inside the hashed text so that a later
# version that adds fields still reads (and re-hashes) today's entries.
# Entries written before formats existed have no "format" field.
FORMAT = 1
FORMATS = (1,)
FILE_MISSING = N_("file {sha256} is missing")
FILE_MISMATCH = N_("file {sha256} does not match its hash")


@dataclass(frozen=True)
class Entry:
    """One appended fact; fields are as hashed (NFC text, UTC time)."""

    seq: int
    kind: str
    occurrence: str
    recorded_at: datetime
    recorded_by: str
    payload: Mapping[str, Any]
    supersedes: int | None
    prev_hash: str
    hash: str
    format: int | None = FORMAT


@dataclass(frozen=True)
class StoredEntry:
    """Exactly what a database row holds; verification trusts nothing else."""

    seq: int
    content: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Break:
    """The first place where the stored chain does not hold."""

    seq: int | None
    reason: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        text = gettext(self.reason).format(**self.params)
        return text if self.seq is None else gettext(N_("entry {seq}: {reason}")).format(seq=self.seq, reason=text)


def bad_value(where: str, expected: str, value: object) -> SchedulerError:
    found = type(value).__name__ if not isinstance(value, (str, int)) else repr(value)
    return SchedulerError(N_("{where}: expected {expected}, got {found}"), where=where, expected=expected, found=found)


def _plain(value: object, where: str) -> object:
    """A JSON-able copy with NFC text, or a SchedulerError naming the bad spot."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SchedulerError(N_("{where}: {value} is not a finite number"), where=where, value=repr(value))
        return value
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise bad_value(f"{where} key", "text", key)
            name = unicodedata.normalize("NFC", key)
            if name in out:
                raise SchedulerError(N_("{where}: key {key} appears twice once normalised"), where=where, key=name)
            out[name] = _plain(item, f"{where}.{name}")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise bad_value(where, "text, a number, true/false, null, a list or an object", value)


def instant_text(value: object, where: str) -> str:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise bad_value(where, "a date and time with a time zone", value)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def whole_number(value: object, where: str, least: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise bad_value(where, f"a whole number from {least}", value)
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise bad_value(where, "text", value)
    return unicodedata.normalize("NFC", value)


def hex_digits(value: object, where: str, digits: int) -> str:
    if not (isinstance(value, str) and re.fullmatch(f"[0-9a-f]{{{digits}}}", value)):
        raise bad_value(where, f"{digits} lowercase hex digits", value)
    return value


def canonical(
    seq: object,
    kind: object,
    occurrence: object,
    recorded_at: object,
    recorded_by: object,
    payload: object,
    supersedes: object,
    prev_hash: object,
    format: int | None = FORMAT,
) -> str:
    """The one text an entry hashes to; stored verbatim so anyone can re-hash it.
    ``format=None`` writes the legacy form (no "format" field)."""
    if format is not None and format not in FORMATS:
        raise _unknown_format(format)
    if not isinstance(payload, Mapping):
        raise bad_value("payload", "an object", payload)
    document = {
        "seq": whole_number(seq, "seq", 1),
        "kind": _text(kind, "kind"),
        "occurrence": _text(occurrence, "occurrence"),
        "recorded_at": instant_text(recorded_at, "recorded_at"),
        "recorded_by": _text(recorded_by, "recorded_by"),
        "payload": _plain(payload, "payload"),
        "supersedes": None if supersedes is None else whole_number(supersedes, "supersedes", 1),
        "prev_hash": _text(prev_hash, "prev_hash"),
    }
    if format is not None:
        document["format"] = format
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class UnknownFormat(SchedulerError):
    """An entry written by a later version: say so rather than "not canonical"."""


def _unknown_format(value: object) -> SchedulerError:
    return UnknownFormat(
        N_("ledger entry format {format} is not known (this version reads formats {known})"),
        format=repr(value),
        known=", ".join(map(str, FORMATS)),
    )


def entry_hash(canonical_text: str) -> str:
    return hashlib.sha256(canonical_text.encode("utf-8")).hexdigest()


def make_entry(
    prev: Entry | None,
    kind: str,
    occurrence: str,
    recorded_at: datetime,
    recorded_by: str,
    payload: object,
    supersedes: int | None = None,
) -> Entry:
    """The entry after ``prev``; a payload without "files" gets an empty list."""
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    if kind not in KINDS:
        raise bad_value("kind", " or ".join(KINDS), kind)
    if supersedes is not None and (whole_number(supersedes, "supersedes", 1) >= seq):
        raise SchedulerError(
            N_("entry {seq} cannot supersede entry {supersedes}: only an earlier entry can"),
            seq=seq,
            supersedes=supersedes,
        )
    if not isinstance(payload, Mapping):
        raise bad_value("payload", "an object", payload)
    text = canonical(seq, kind, occurrence, recorded_at, recorded_by, {"files": [], **payload}, supersedes, prev_hash)
    doc = json.loads(text)
    files = doc["payload"]["files"]
    if not isinstance(files, list):
        raise bad_value("payload.files", "a list of files", files)
    for i, f in enumerate(files):
        where = f"payload.files[{i}]"
        if not isinstance(f, dict):
            raise bad_value(where, "an object with sha256, size, name and type", f)
        hex_digits(f.get("sha256"), f"{where}.sha256", 64)
        whole_number(f.get("size"), f"{where}.size", 0)
        _text(f.get("name"), f"{where}.name")
        _text(f.get("type"), f"{where}.type")
    return Entry(
        seq,
        doc["kind"],
        doc["occurrence"],
        datetime.fromisoformat(doc["recorded_at"]),
        doc["recorded_by"],
        doc["payload"],
        supersedes,
        prev_hash,
        entry_hash(text),
        FORMAT,
    )


def stored(entry: Entry) -> StoredEntry:
    """The row to insert for ``entry``."""
    text = canonical(
        entry.seq,
        entry.kind,
        entry.occurrence,
        entry.recorded_at,
        entry.recorded_by,
        entry.payload,
        entry.supersedes,
        entry.prev_hash,
        format=entry.format,
    )
    return StoredEntry(entry.seq, text, entry.prev_hash, entry.hash)


def file_hashes(entry: Entry) -> list[str]:
    return [f["sha256"] for f in entry.payload.get("files", [])]


def parse_content(content: str) -> dict[str, Any]:
    """A stored canonical text back to its fields (recorded_at stays ISO text)."""
    try:
        doc = parse_json(content)
    except ValueError as e:
        raise SchedulerError(N_("ledger entry is not valid JSON: {error}"), error=str(e)) from None
    if not isinstance(doc, dict) or set(doc) - {"format"} != set(FIELDS):
        raise bad_value("ledger entry", "an object with " + ", ".join(FIELDS), doc)
    if "format" in doc and (isinstance(doc["format"], bool) or doc["format"] not in FORMATS):
        raise _unknown_format(doc["format"])
    return doc


def recorded_moment(doc: Mapping[str, Any]) -> datetime:
    """An entry's recorded_at as a UTC instant (a parsed content keeps ISO text)."""
    at = doc["recorded_at"]
    return (at if isinstance(at, datetime) else datetime.fromisoformat(at)).astimezone(UTC)


def check_entry(row: StoredEntry, expected_seq: int, expected_prev: str) -> Break | dict[str, Any]:
    """The row's Break, else its parsed content: one link of the chain, as
    ``verify_chain`` checks it and the occurrence page shows it."""
    if row.seq != expected_seq:
        return Break(
            row.seq,
            N_("sequence jumps from {a} to {b} (entries removed or reordered)"),
            {"a": expected_seq - 1, "b": row.seq},
        )
    if row.hash != entry_hash(row.content):
        return Break(row.seq, N_("content does not match its hash"))
    if row.prev_hash != expected_prev:
        if expected_seq == 1:
            return Break(row.seq, N_("the first entry does not start from the genesis hash"))
        return Break(row.seq, N_("previous hash does not match entry {prev}"), {"prev": expected_seq - 1})
    try:
        doc = parse_content(row.content)
        doc["recorded_at"] = datetime.fromisoformat(doc["recorded_at"])
        in_form = canonical(**{"format": None, **doc}) == row.content
    except UnknownFormat as e:
        return Break(row.seq, e.message, e.params)
    except (SchedulerError, TypeError, ValueError):
        in_form = False
    if not in_form:
        return Break(row.seq, N_("content is not a ledger entry in canonical form"))
    for name in ("seq", "prev_hash"):
        if doc[name] != getattr(row, name):
            return Break(row.seq, N_("content's {field} does not match its row"), {"field": name})
    return doc


def verify_chain(rows: Iterable[StoredEntry], file_check: Callable[[str], str | None]) -> Break | None:
    """The first Break in rows (ordered by seq), or None when every link and file holds."""
    prev_hash = GENESIS
    for expected_seq, row in enumerate(rows, 1):
        doc = check_entry(row, expected_seq, prev_hash)
        if isinstance(doc, Break):
            return doc
        files = doc["payload"].get("files")
        for sha256 in [f.get("sha256") for f in files if isinstance(f, dict)] if isinstance(files, list) else []:
            reason = file_check(sha256) if isinstance(sha256, str) else None
            if reason:
                return Break(row.seq, reason, {"sha256": sha256})
        prev_hash = row.hash
    return None
