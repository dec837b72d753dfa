"""One check of the whole ledger, the same for the CLI, the API and the page:
the chain and its files, time moving forward, every column against the
hashed content, the cached delivery states, and a signed checkpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlalchemy.orm import Session

from scheduler.errors import N_, SchedulerError
from scheduler.evidence.checkpoints import Checkpoint, check_checkpoint, key_id
from scheduler.evidence.ledger import Break, StoredEntry, parse_content, recorded_moment, verify_chain
from scheduler.store import ledger as stored_ledger
from scheduler.store.files import EvidenceStore
from scheduler.store.recording import cache_agrees, delivery_of

LIMIT = 100  # problems reported at most: enough to see the damage, bounded for a page
DELIVERY_MISMATCH = N_("occurrence {id}: column {column} does not match the ledger")


@dataclass(frozen=True)
class Audit:
    entries: int
    head: str | None
    problems: list[Break] = field(default_factory=list)
    checkpoint: Checkpoint | None = None
    checkpoint_source: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self, _: Callable[[str], str]) -> list[str]:
        return [p.render(_) for p in self.problems]

    def as_json(self, _: Callable[[str], str]) -> dict:
        """The API's answer (and the page's values): every problem with its
        entry and column, the first one also as before."""
        first = self.problems[0] if self.problems else None
        cp = self.checkpoint
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "first_bad_entry": first.seq if first else None,
            "problem": first.render(_) if first else None,
            "problems": [
                {
                    "seq": p.seq,
                    "column": p.params.get("column"),
                    "occurrence": p.params.get("id"),
                    "problem": p.render(_),
                }
                for p in self.problems
            ],
            "checkpoint": {
                "count": cp.count,
                "head": cp.head,
                "at": cp.at.isoformat(),
                "source": self.checkpoint_source,
            }
            if cp
            else None,
        }


def backward_steps(rows: Iterable[StoredEntry], tz: tzinfo, limit: int = 100) -> list[Break]:
    """Entries recorded before the entry they follow (ledger time only moves
    forward); entries whose content does not parse are ``verify_chain``'s."""
    found, previous = [], None
    for row in rows:
        try:
            at = recorded_moment(parse_content(row.content))
        except (SchedulerError, TypeError, ValueError):
            previous = None
            continue
        if previous is not None and at < previous[1] and len(found) < limit:
            found.append(
                Break(
                    row.seq,
                    N_("recorded before entry {prev} ({at} < {prev_at})"),
                    {
                        "prev": previous[0],
                        "at": f"{at.astimezone(tz):%d/%m/%Y %H:%M:%S}",
                        "prev_at": f"{previous[1].astimezone(tz):%d/%m/%Y %H:%M:%S}",
                    },
                )
            )
        previous = (row.seq, at)
    return found


def _delivery_breaks(session: Session, rows, now: datetime, limit: int) -> list[Break]:
    """Each occurrence's cached delivery against the state its entries give
    (or "missing", which the daemon caches once the window has closed with
    nothing recorded)."""
    groups: dict[str, list] = {}
    for row in rows:
        try:
            groups.setdefault(parse_content(row.content)["occurrence"], []).append(row)
        except SchedulerError:
            continue
    found = []
    for oid, cached, window_end in stored_ledger.cached_deliveries(session):
        try:
            expected = delivery_of(groups.get(oid, []), oid)
        except (SchedulerError, KeyError, TypeError, ValueError):
            continue  # an entry that does not parse: verify_chain names it
        closed = isinstance(window_end, datetime) and window_end <= now
        if not cache_agrees(cached, expected, closed):
            found.append(Break(None, DELIVERY_MISMATCH, {"id": oid, "column": "occurrences.delivery"}))
            if len(found) >= limit:
                break
    return found


def _earlier_breaks(earlier: Sequence[Checkpoint], newest: Checkpoint, public_key, rows, found) -> list[Break]:
    """Older checkpoints by today's key that the chain no longer extends."""
    if not earlier or public_key is None:
        return []
    try:
        key = public_key()
    except SchedulerError:
        return []  # no key: the newest checkpoint's own check said so
    problems = []
    for cp in earlier:
        if cp is newest or cp.key_id != key_id(key):
            continue
        broken = check_checkpoint(cp, key, rows)
        if broken and broken not in found and broken not in problems:
            problems.append(broken)
    return problems


def audit(
    session: Session,
    store: EvidenceStore,
    now: datetime,
    checkpoint: Checkpoint | None = None,
    public_key: Callable[[], bytes] | None = None,
    source: str = "",
    limit: int = LIMIT,
    earlier: Sequence[Checkpoint] = (),
) -> Audit:
    """Everything that is wrong with the ledger as of ``now``, at most ``limit``
    problems (times shown in ``now``'s zone). ``public_key`` is called only when there is a checkpoint to check.

    ``earlier`` are older kept checkpoints: each one signed with today's key
    must hold too, so a tail removed and then signed over by a newer
    checkpoint is still caught (ones signed with a former key are passed
    over: only ``verify --checkpoint`` with that key's file can check them)."""
    rows = list(stored_ledger.stored_entries(session))
    problems: list[Break] = []
    broken = verify_chain(rows, store.rehash)
    if broken:
        problems.append(broken)
    problems += backward_steps(rows, now.tzinfo, limit)
    problems += stored_ledger.column_breaks(session, limit)
    problems += stored_ledger.file_row_breaks(session, rows, limit)
    problems += _delivery_breaks(session, rows, now, limit)
    if checkpoint is not None:
        try:
            cp_break = check_checkpoint(checkpoint, public_key() if public_key else None, rows)
        except SchedulerError as e:
            cp_break = Break(None, e.message, e.params)
        signed = [cp_break] if cp_break else []
        signed += _earlier_breaks(earlier, checkpoint, public_key, rows, signed)
        problems = signed + problems  # what a signature proves comes first
    return Audit(len(rows), rows[-1].hash if rows else None, problems[:limit], checkpoint, source)
