"""Marking messages sent while the next one goes (issue 18).

Each message's "sent" mark is still one UPDATE in its own durable commit,
never a batch of marks in one commit. It runs on a second connection, in a
thread of its own, while the sender's thread makes the next message's SMTP
transaction: the fsync and the server's replies overlap instead of adding up.
At most one mark is pending: before the next mark, a failure's mark, a new
claim or the end of the run, the pending one is waited for. So a crash
leaves at most two rows in doubt (the message whose mark was being
committed and the one being sent); each is resent once, with its own
Message-ID, when its lease runs out.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import Connection, Engine

from scheduler.store import outbox


class Marks:
    """One worker thread and its autocommit connection, opened, used and
    closed in that thread only (a SQLite connection stays in its thread)."""

    def __init__(self, engine: Engine, owner: str):
        self.engine, self.owner = engine, owner
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-marks")
        self._pending: Future | None = None
        self._conn: Connection | None = None

    def sent(self, row_id: int, at: datetime, refused: dict | None, secret: bool) -> None:
        """Commit this mark in the background, once the previous one is durable."""
        self.wait()
        self._pending = self._pool.submit(self._mark, row_id, at, refused, secret)

    def wait(self) -> None:
        """Until the pending mark is committed; its error, if any, is raised here."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for the pending mark, then close the connection in its thread."""
        try:
            self.wait()
        finally:
            self._pool.submit(self._close).result()
            self._pool.shutdown()

    def __enter__(self) -> Marks:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _mark(self, row_id: int, at: datetime, refused: dict | None, secret: bool) -> None:
        if self._conn is None:
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        outbox.mark_sent(self._conn, row_id, self.owner, at, refused, secret)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
