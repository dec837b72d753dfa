"""What the DHA and administrators see on an occurrence page besides the
history: each ledger entry's hash and its files' SHA-256, whether the entry
and its files still verify, and the excuse form (``oversight``)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from urllib.parse import quote

from sqlalchemy.orm import Session

from scheduler.bounds import format_size
from scheduler.errors import N_, SchedulerError
from scheduler.evidence.ledger import FILE_MISSING, GENESIS, Break, StoredEntry, check_entry, parse_content
from scheduler.people.permissions import Actor, may_excuse
from scheduler.store import ledger as stored_ledger
from scheduler.store.files import EvidenceStore
from scheduler.store.tables import LedgerRow, OccurrenceRow
from scheduler.web.auth import SessionUser

OVERSEERS = ("dha", "admin")
FILE_OK = N_("The file on disk matches its hash.")
FILE_GONE = N_("The file is missing from the evidence store.")
FILE_CHANGED = N_("The file on disk no longer matches its hash.")
NOTHING_TO_EXCUSE = ("on_time", "excused", "cancelled")


class Rehashes:
    """``store.rehash`` remembered per file state on disk (inode, size, change
    time): an evidence file may be gigabytes, and a page is viewed often. A
    write to the file changes its change time, so it is hashed again."""

    def __init__(self, size: int = 512):
        self.size, self.lock, self.known = size, threading.Lock(), OrderedDict()

    def check(self, store: EvidenceStore, sha256: str) -> str | None:
        try:
            path = store.path(sha256)
            st = os.stat(path)
        except (ValueError, OSError):
            return store.rehash(sha256)  # a malformed hash or no file: rehash says which
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        with self.lock:
            if key in self.known:
                self.known.move_to_end(key)
                return self.known[key]
        found = store.rehash(sha256)
        with self.lock:
            self.known[key] = found
            while len(self.known) > self.size:
                self.known.popitem(last=False)
        return found


REHASHES = Rehashes()


def entry_audit(session: Session, row: LedgerRow, store: EvidenceStore, _) -> dict:
    """One entry checked on its own: its content against its hash and canonical
    form, its link to the entry before, its compliance columns, its files on disk.
    The same rules as ``ledger.verify_chain``, for one entry."""
    problems = []
    previous = stored_ledger.entry(session, row.seq - 1) if row.seq > 1 else None
    if row.seq > 1 and previous is None:
        problems.append(_("Entry #{seq}, which this one follows, is missing from the ledger.").format(seq=row.seq - 1))
    expected = previous.hash if previous else GENESIS if row.seq == 1 else row.prev_hash
    found = check_entry(StoredEntry(row.seq, row.content, row.prev_hash, row.hash), row.seq, expected)
    if isinstance(found, Break):
        problems.append(_(found.reason).format(**found.params))
    try:
        payload = parse_content(row.content)["payload"]
    except SchedulerError:
        payload = {}
    if not isinstance(found, Break):
        expected = stored_ledger.expected_columns(found)
        problems += [
            _(stored_ledger.COLUMN_MISMATCH).format(column=c)
            for c in stored_ledger.COLUMNS
            if getattr(row, c) != expected[c]
        ]
    files = []
    for f in payload.get("files", []) if isinstance(payload.get("files"), list) else []:
        state = REHASHES.check(store, f.get("sha256", ""))
        files.append(
            {
                "name": f.get("name", ""),
                "type": f.get("type", ""),
                "sha256": f.get("sha256", ""),
                "size": format_size(int(f.get("size") or 0)),
                "bytes": f.get("size"),
                "href": f"/files/{row.seq}/{f.get('sha256', '')}",
                "ok": state is None,
                "state": _(FILE_OK if state is None else FILE_GONE if state == FILE_MISSING else FILE_CHANGED),
            }
        )
    problems += [f"{f['name']}: {f['state']}" for f in files if not f["ok"]]
    return {"hash": row.hash, "prev_hash": row.prev_hash, "ok": not problems, "problems": problems, "files": files}


def excuse_form(o: OccurrenceRow, state: str, user: SessionUser, _) -> dict | None:
    """The excuse form for the DHA, or why this DHA user may not excuse it;
    nothing for others, or when there is nothing to excuse."""
    if "dha" not in user.roles or o.status == "cancelled" or state in NOTHING_TO_EXCUSE:
        return None
    decision = may_excuse(Actor(user.email, tuple(user.roles), user.agency, False, user.lang), o.agency_code)
    if not decision:
        return {"allowed": False, "refusal": _(decision.reason).format(**(decision.params or {}))}
    return {"allowed": True, "action": f"/o/{quote(o.id)}/excuses"}


def oversight(session: Session, o: OccurrenceRow, state: str, user: SessionUser, store: EvidenceStore, _) -> dict:
    """What ``occurrence.html`` adds for the DHA and administrators."""
    if not set(OVERSEERS) & set(user.roles):
        return {"audit": None, "excuse": None}
    rows = stored_ledger.entries_of(session, [o.id])
    return {"audit": {r.seq: entry_audit(session, r, store, _) for r in rows}, "excuse": excuse_form(o, state, user, _)}
