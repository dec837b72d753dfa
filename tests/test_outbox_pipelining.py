"""Issue 18: a message's "sent" mark is committed on a second connection
while the next message goes. Each mark is still its own durable commit; at
most two rows are ever in doubt, and a crash resends each of them once,
with its own Message-ID. Over SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes

from sqlalchemy import create_engine, func, select, update

import scheduler.daemon.jobs as jobs
from scheduler.store import outbox
from scheduler.store.tables import OutboxRow
from test_outbox_bytes import enqueue, letters, rows, runtime, smtp_server


class Watching:
    """Before each send, counts (on a connection of its own) the rows the
    server already has that are not marked sent yet: in doubt if we died now."""

    def __init__(self, mailer, db_url: str, dies_at: int | None = None):
        self.mailer, self.dies_at, self.sends = mailer, dies_at, 0
        self.engine = create_engine(db_url)
        self.in_doubt: list[int] = []

    def send(self, mail, moment):
        with self.engine.connect() as conn:
            marked = conn.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.state == "sent"))
        self.in_doubt.append(self.sends - marked + 1)  # accepted but not marked, and this one once accepted
        refused = self.mailer.send(mail, moment)
        self.sends += 1
        if self.sends == self.dies_at:
            raise KeyboardInterrupt  # the process dies after the server accepted it
        return refused

    def close(self):
        self.mailer.close()
        self.engine.dispose()


def test_at_most_two_rows_are_in_doubt_and_every_mark_lands(database, db_url, tmp_path):
    with smtp_server() as (controller, handler):
        rt = runtime(database, db_url, tmp_path, controller.port)
        enqueue(database, letters(25))
        watching = Watching(rt.mailer, db_url)
        rt.mailer = watching
        assert jobs.send_outbox(rt, limit=10) == {"sent": 25, "retried": 0, "failed": 0}
        rt.mailer.close()
    assert len(handler.received) == 25
    assert max(watching.in_doubt) <= 2  # the one going, and at most one whose mark is being committed
    assert all(r.state == "sent" and r.sent_at is not None for r in rows(database))


def test_a_crash_while_a_mark_is_pending_resends_each_row_once_with_its_id(database, db_url, tmp_path, monkeypatch):
    with smtp_server() as (controller, handler):
        rt = runtime(database, db_url, tmp_path, controller.port)
        enqueue(database, letters(6))
        third = sorted(r.id for r in rows(database))[2]
        mark_sent = outbox.mark_sent

        def lost_with_the_process(db, row_id, *args):  # the 3rd mark never reaches the disk
            if row_id != third:
                mark_sent(db, row_id, *args)

        monkeypatch.setattr(outbox, "mark_sent", lost_with_the_process)
        real = rt.mailer
        rt.mailer = Watching(real, db_url, dies_at=4)
        try:
            jobs.send_outbox(rt, limit=10)
            raise AssertionError("the mailer should have died")
        except KeyboardInterrupt:
            pass
        monkeypatch.setattr(outbox, "mark_sent", mark_sent)
        states = [r.state for r in sorted(rows(database), key=lambda r: r.id)]
        assert states == ["sent", "sent", "sending", "sending", "pending", "pending"]  # two in doubt, no more
        with database.transaction() as s:  # their lease runs out
            s.execute(
                update(OutboxRow)
                .where(OutboxRow.state == "sending")
                .values(lease_until=datetime(2024, 1, 1, tzinfo=UTC))
            )
        rt.mailer = real
        assert jobs.send_outbox(rt, limit=10)["sent"] == 4  # the two in doubt and the two never sent
        rt.mailer.close()
    ids = Counter(message_from_bytes(content)["Message-ID"] for _, _, content in handler.received)
    assert len(ids) == 6 and sorted(ids.values()) == [1, 1, 1, 1, 2, 2]  # two in doubt, each resent once
    assert all(r.state == "sent" for r in rows(database))
