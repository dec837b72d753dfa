"""The evidence ledger in the database: appended in the caller's transaction,
one writer at a time, never updated or deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Iterator, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..deliveries import Recorded
from ..errors import N_, SchedulerError
from ..ledger import GENESIS, Break, StoredEntry, canonical, entry_hash, parse_content
from .tables import CounterRow, EvidenceFileRow, LedgerRow

LEDGER_HEAD = "ledger_head"


def append(session: Session, kind: str, occurrence: str, recorded_at: datetime, recorded_by: str,
           payload: Mapping, supersedes: int | None = None) -> LedgerRow:
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
    text = canonical(seq, kind, occurrence, recorded_at, recorded_by, payload, supersedes, prev_hash)
    row = LedgerRow(seq=seq, occurrence_id=occurrence, kind=kind, recorded_at=recorded_at, recorded_by=recorded_by,
                    supersedes=supersedes, content=text, prev_hash=prev_hash, hash=entry_hash(text),
                    **projection(kind, payload))
    session.add(row)
    head.value = seq
    session.flush()
    return row


def projection(kind: str, payload: Mapping) -> dict:
    """The columns compliance queries read, derived from the entry's content."""
    moment = payload.get("moment")
    return {"moment": datetime.fromisoformat(moment) if moment else None,
            "conforming": kind == "excuse" or bool(payload.get("conforming")),
            "late": bool(payload.get("late")), "extra": bool(payload.get("extra"))}


def remember_files(session: Session, files: Iterable[Mapping], now: datetime) -> None:
    for f in files:
        if session.get(EvidenceFileRow, f["sha256"]) is None:
            session.add(EvidenceFileRow(sha256=f["sha256"], size=f["size"], type=f["type"], stored_at=now))
    session.flush()


def entries_of(session: Session, occurrence_ids: Iterable[str]) -> list[LedgerRow]:
    ids = list(occurrence_ids)
    return list(session.scalars(select(LedgerRow).where(LedgerRow.occurrence_id.in_(ids)).order_by(LedgerRow.seq)))


def recorded(rows: list[LedgerRow]) -> dict[str, list[Recorded]]:
    """Ledger rows as the rules read them, per occurrence, supersession applied."""
    superseded = {r.supersedes for r in rows if r.supersedes}
    found: dict[str, list[Recorded]] = {}
    for row in rows:
        p = parse_content(row.content)["payload"]
        moment = datetime.fromisoformat(p["moment"]) if p.get("moment") else None
        found.setdefault(row.occurrence_id, []).append(Recorded(
            seq=row.seq, kind=row.kind, occurrence=row.occurrence_id, moment=moment,
            conforming=bool(p.get("conforming", row.kind == "excuse")), late=bool(p.get("late")),
            extra=bool(p.get("extra")), superseded=row.seq in superseded,
            note=p.get("reason", "") if row.kind == "excuse" else ""))
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


def projection_break(session: Session) -> Break | None:
    """The first entry whose compliance columns disagree with its (hashed)
    content: reports read the columns, so they must say what the chain says."""
    query = select(LedgerRow.seq, LedgerRow.kind, LedgerRow.content, LedgerRow.moment, LedgerRow.conforming,
                   LedgerRow.late, LedgerRow.extra).order_by(LedgerRow.seq)
    for seq, kind, content, moment, conforming, late, extra in session.execute(query.execution_options(yield_per=1000)):
        try:
            expected = projection(kind, parse_content(content)["payload"])
        except SchedulerError:
            return Break(seq, N_("content is not a ledger entry in canonical form"), {})
        if expected != {"moment": moment, "conforming": conforming, "late": late, "extra": extra}:
            return Break(seq, N_("its compliance columns do not match its content"), {})
    return None
