"""The evidence ledger in the database: appended in the caller's transaction,
one writer at a time, never updated or deleted."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Text, func, select, type_coerce
from sqlalchemy.orm import Session

from scheduler.documents import parse_json
from scheduler.errors import N_, SchedulerError
from scheduler.evidence.deliveries import DeliveryError, Recorded
from scheduler.evidence.ledger import GENESIS, Break, StoredEntry, canonical, entry_hash, parse_content, recorded_moment
from scheduler.store.tables import CounterRow, EvidenceFileRow, LedgerRow, OccurrenceRow

LEDGER_HEAD = "ledger_head"
LEDGER_TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # the users' time zone, for messages about ledger time
COLUMN_MISMATCH = N_("column {column} does not match its content")


class BackInTime(DeliveryError):
    """A new entry would be recorded before the last one (HTTP 409)."""

    status = 409


def append(
    session: Session,
    kind: str,
    occurrence: str,
    recorded_at: datetime,
    recorded_by: str,
    payload: Mapping,
    supersedes: int | None = None,
) -> LedgerRow:
    """The next entry, chained to the head. The head counter's row lock makes
    concurrent writers (several processes on PostgreSQL) take turns."""
    head = session.get(CounterRow, LEDGER_HEAD, with_for_update=True)
    if head is None:
        head = CounterRow(name=LEDGER_HEAD, value=0)
        session.add(head)
        session.flush()
    last = session.get(LedgerRow, head.value) if head.value else None
    seq = head.value + 1
    prev_hash = last.hash if last else GENESIS
    if last is not None:
        last_at = recorded_moment(parse_content(last.content))
        if recorded_at < last_at:
            raise BackInTime(
                "recorded_at",
                N_("ledger time only moves forward: entry {seq} was recorded at {at}, later than {now}"),
                seq=last.seq,
                **_moments(at=last_at, now=recorded_at),
            )
    text = canonical(seq, kind, occurrence, recorded_at, recorded_by, payload, supersedes, prev_hash)
    row = LedgerRow(
        seq=seq,
        occurrence_id=occurrence,
        kind=kind,
        recorded_at=recorded_at,
        recorded_by=recorded_by,
        supersedes=supersedes,
        content=text,
        prev_hash=prev_hash,
        hash=entry_hash(text),
        **projection(kind, payload),
    )
    session.add(row)
    head.value = seq
    session.flush()
    return row


def _moments(**moments: datetime) -> dict[str, str]:
    """dd/mm/yyyy HH:MM in the users' zone, with seconds when minutes do not tell them apart."""
    shown = {k: f"{v.astimezone(LEDGER_TZ):%d/%m/%Y %H:%M}" for k, v in moments.items()}
    if len(set(shown.values())) < len(shown):
        shown = {k: f"{v.astimezone(LEDGER_TZ):%d/%m/%Y %H:%M:%S}" for k, v in moments.items()}
    return shown


def projection(kind: str, payload: Mapping) -> dict:
    """The columns compliance queries read, derived from the entry's content."""
    moment = payload.get("moment")
    return {
        "moment": datetime.fromisoformat(moment) if moment else None,
        "conforming": kind == "excuse" or bool(payload.get("conforming")),
        "late": bool(payload.get("late")),
        "extra": bool(payload.get("extra")),
    }


def remember_files(session: Session, files: Iterable[Mapping], now: datetime) -> None:
    for f in files:
        if session.get(EvidenceFileRow, f["sha256"]) is None:
            session.add(EvidenceFileRow(sha256=f["sha256"], size=f["size"], type=f["type"], stored_at=now))
    session.flush()


def entries_of(session: Session, occurrence_ids: Iterable[str]) -> list[LedgerRow]:
    ids = list(occurrence_ids)
    return list(session.scalars(select(LedgerRow).where(LedgerRow.occurrence_id.in_(ids)).order_by(LedgerRow.seq)))


def recorded(rows: Iterable[LedgerRow | StoredEntry]) -> dict[str, list[Recorded]]:
    """Ledger rows as the rules read them, per occurrence, supersession
    applied: everything from the hashed content, nothing from other columns."""
    docs = [(row.seq, parse_content(row.content)) for row in rows]
    superseded = {d["supersedes"] for _, d in docs if d["supersedes"]}
    found: dict[str, list[Recorded]] = {}
    for seq, doc in docs:
        p, kind = doc["payload"], doc["kind"]
        moment = datetime.fromisoformat(p["moment"]) if p.get("moment") else None
        found.setdefault(doc["occurrence"], []).append(
            Recorded(
                seq=seq,
                kind=kind,
                occurrence=doc["occurrence"],
                moment=moment,
                conforming=bool(p.get("conforming", kind == "excuse")),
                late=bool(p.get("late")),
                extra=bool(p.get("extra")),
                superseded=seq in superseded,
                note=p.get("reason", "") if kind == "excuse" else "",
            )
        )
    return found


def stored_entries(session: Session) -> Iterator[StoredEntry]:
    """Every row in seq order, streamed: a ledger may be long."""
    query = select(LedgerRow.seq, LedgerRow.content, LedgerRow.prev_hash, LedgerRow.hash).order_by(LedgerRow.seq)
    for seq, content, prev_hash, digest in session.execute(query.execution_options(yield_per=1000)):
        yield StoredEntry(seq, content, prev_hash, digest)


def head(session: Session) -> tuple[int, str]:
    row = session.scalar(select(LedgerRow).order_by(LedgerRow.seq.desc()).limit(1))
    count = session.scalar(select(func.count()).select_from(LedgerRow))
    return count, (row.hash if row else GENESIS)


def entry(session: Session, seq: int) -> LedgerRow | None:
    return session.get(LedgerRow, seq)


def expected_columns(doc: Mapping) -> dict:
    """Every column of a ledger row besides the chain's, as its content says."""
    return {
        "occurrence_id": doc["occurrence"],
        "kind": doc["kind"],
        "recorded_at": recorded_moment(doc),
        "recorded_by": doc["recorded_by"],
        "supersedes": doc["supersedes"],
        **projection(doc["kind"], doc["payload"]),
    }


COLUMNS = ("occurrence_id", "kind", "recorded_at", "recorded_by", "supersedes", "moment", "conforming", "late", "extra")


def column_breaks(session: Session, limit: int = 100) -> list[Break]:
    """Every (entry, column) whose value disagrees with the entry's hashed
    content: queries and pages read the columns, so they must say what the
    chain says. Entries whose content does not parse are ``verify_chain``'s."""
    columns = [getattr(LedgerRow, c) for c in COLUMNS]
    dialect = session.get_bind().dialect
    # The stored values as the driver gives them, converted here one by one: a
    # date someone wrote as "garbage" (SQLite stores any text) is a mismatch
    # to name, not a ValueError that stopped verify (found by the outside probe).
    query = select(LedgerRow.seq, LedgerRow.content, *(type_coerce(c, Text) for c in columns)).order_by(LedgerRow.seq)
    found: list[Break] = []
    for seq, content, *raw in session.execute(query.execution_options(yield_per=1000)):
        try:
            expected = expected_columns(parse_content(content))
        except (SchedulerError, KeyError, TypeError, ValueError):
            continue
        for column, value in zip(COLUMNS, (_stored(dialect, c, r) for c, r in zip(columns, raw))):
            if value != expected[column]:
                found.append(Break(seq, COLUMN_MISMATCH, {"column": column}))
                if len(found) >= limit:
                    return found
    return found


_UNREADABLE = object()  # a stored value its column's type cannot read: equal to nothing


def _stored(dialect, column, raw):
    process = column.type.dialect_impl(dialect).result_processor(dialect, None)
    try:
        return process(raw) if process is not None and raw is not None else raw
    except (ValueError, TypeError, OverflowError):
        return _UNREADABLE


def file_row_breaks(session: Session, rows: Iterable[StoredEntry], limit: int = 100) -> list[Break]:
    """evidence_files rows against the files the entries list: the first
    entry that lists a file says its size and type."""
    first: dict[str, tuple[int, Mapping]] = {}
    for row in rows:
        try:
            files = parse_content(row.content)["payload"].get("files")
        except SchedulerError:
            continue
        for f in files if isinstance(files, list) else []:
            if isinstance(f, dict) and isinstance(f.get("sha256"), str):
                first.setdefault(f["sha256"], (row.seq, f))
    found: list[Break] = []
    hashes, seen = sorted(first), set()
    for start in range(0, len(hashes), 500):
        for file_row in session.scalars(
            select(EvidenceFileRow)
            .where(EvidenceFileRow.sha256.in_(hashes[start : start + 500]))
            .order_by(EvidenceFileRow.sha256)
        ):
            seen.add(file_row.sha256)
            seq, f = first[file_row.sha256]
            for column in ("size", "type"):
                if getattr(file_row, column) != f.get(column):
                    found.append(
                        Break(
                            seq,
                            N_("file {sha256}: column {column} does not match its content"),
                            {"sha256": file_row.sha256, "column": f"evidence_files.{column}"},
                        )
                    )
            if len(found) >= limit:
                return found[:limit]
    for sha256 in hashes:
        if sha256 not in seen and len(found) < limit:
            found.append(
                Break(
                    first[sha256][0],
                    N_("file {sha256}: its evidence_files row is missing"),
                    {"sha256": sha256, "column": "evidence_files.sha256"},
                )
            )
    return found


def cached_deliveries(session: Session) -> Iterator[tuple[str, object, object]]:
    """(id, delivery, window end) of every occurrence, streamed: what pages
    and feeds show of the ledger, cached on the occurrence. A stored value
    that cannot be read comes as ``_UNREADABLE`` (equal to nothing)."""
    dialect = session.get_bind().dialect
    query = select(
        OccurrenceRow.id, type_coerce(OccurrenceRow.delivery, Text), type_coerce(OccurrenceRow.window_end, Text)
    ).order_by(OccurrenceRow.id)
    for oid, raw, raw_end in session.execute(query.execution_options(yield_per=1000)):
        end = _stored(dialect, OccurrenceRow.window_end, raw_end)
        if not isinstance(raw, str):  # PostgreSQL's driver decodes JSON itself
            yield oid, raw, end
            continue
        try:  # SQLite keeps any text: "not json" is a mismatch to name, not a stopped verify
            yield oid, parse_json(raw) if raw else None, end
        except ValueError:
            yield oid, _UNREADABLE, end
