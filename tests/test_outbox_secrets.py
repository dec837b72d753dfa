"""A password link's token is in the outbox only until the message is sent
or can no longer be: afterwards no column of any table holds it, whether it
was sent, refused for good, or expired while the SMTP server said 451."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

import scheduler.daemon.jobs as jobs
from scheduler.clock import Clock
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.tables import Base, OutboxRow, UserRow
from scheduler.web.auth import LINK_VALID, new_password_link

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 3, 14, 21, 0, tzinfo=TZ)  # a password link goes at any hour
EMAIL = "bientap@daiptth.phutho.example"
TOKEN = re.compile(r"/password/set/([A-Za-z0-9_-]{20,})")


def runtime(database: Database, db_url: str, tmp_path, smtp, now: datetime) -> jobs.Runtime:
    env = {
        "OUTPUTS_DIR": str(tmp_path / "outputs"),
        "DATABASE_URL": db_url,
        "BASE_URL": "https://lich.phutho.example",
        **smtp.env,
    }
    return jobs.runtime(Settings.load(env=env), database, Clock(TZ, now))


def dump(database: Database) -> str:
    """Every column of every table, as text (bytes as Latin-1, so any ASCII token shows)."""
    parts = []
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                parts.extend(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
    return "\n".join(parts)


def ask_for_a_link(database: Database, rt: jobs.Runtime) -> str:
    with database.transaction() as s:
        user = UserRow(email=EMAIL, name="Biên tập", roles=["editor"], created_at=NOW, updated_at=NOW)
        s.add(user)
        s.flush()
        new_password_link(s, user, NOW, rt.settings)
    [token] = TOKEN.findall(dump(database))  # while it waits, the row has it (the test could fail)
    return token


def test_a_sent_link_is_kept_nowhere_in_the_database(database, db_url, tmp_path, smtp):
    rt = runtime(database, db_url, tmp_path, smtp, NOW)
    token = ask_for_a_link(database, rt)
    jobs.build_outbox(rt)
    assert token in dump(database)  # its bytes are built: still there, so a resend is the same
    assert jobs.send_outbox(rt)["sent"] == 1
    rt.mailer.close()
    [mail] = smtp.handler.received
    assert token in mail.message.get_body(("plain",)).get_content()  # the person got it
    assert token not in dump(database)
    with database.transaction() as s:
        [row] = s.scalars(select(OutboxRow))
    assert row.state == "sent" and row.mime is None and row.context == {}


def test_a_refused_link_is_kept_nowhere_in_the_database(database, db_url, tmp_path, smtp):
    smtp.handler.refuse.add(EMAIL)
    rt = runtime(database, db_url, tmp_path, smtp, NOW)
    token = ask_for_a_link(database, rt)
    assert jobs.send_outbox(rt)["failed"] == 1  # built when claimed, refused with 550
    rt.mailer.close()
    assert token not in dump(database)


def test_a_link_that_expired_unsent_is_kept_nowhere_in_the_database(database, db_url, tmp_path, smtp):
    smtp.handler.busy_until = float("inf")  # 451 to everything
    rt = runtime(database, db_url, tmp_path, smtp, NOW)
    token = ask_for_a_link(database, rt)
    assert jobs.send_outbox(rt)["retried"] == 1
    rt.mailer.close()
    assert token in dump(database)  # pending, to be tried again: kept
    later = runtime(database, db_url, tmp_path, smtp, NOW + LINK_VALID + timedelta(minutes=1))
    assert jobs.plan_reminders(later)["expired"] == 1
    assert token not in dump(database)
    with database.transaction() as s:
        [row] = s.scalars(select(OutboxRow))
    assert row.state == "expired" and "451" in row.last_error
