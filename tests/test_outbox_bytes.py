"""Each message is built once, when it is planned, and its bytes kept in the
outbox row; sending dates them and sends them as they are, over SQLite and
PostgreSQL and a real SMTP server: the same Message-ID and bytes when a
message in doubt goes again, rows from before migration 0007 built when sent,
one commit per message under the sender's lease."""

from __future__ import annotations

import re
import socket
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller
from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, text, update

import scheduler.daemon.jobs as jobs
from scheduler.clock import Clock
from scheduler.notifiers.letter import UNSTAMPED, compose, kept, letter, stamp
from scheduler.notifiers.mail import FileMailer, SmtpConfig, SmtpMailer
from scheduler.reminders.outbox import Message, message_id
from scheduler.settings import Settings
from scheduler.store import outbox
from scheduler.store.database import MIGRATIONS, Database, create
from scheduler.store.tables import OutboxRow

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 3, 14, 9, 0, tzinfo=TZ)  # a Thursday, in working hours
SENDER = "Lịch tuyên truyền <lich@phutho.example>"
DATE = re.compile(rb"^Date: ([^\r\n]*)\r\n", re.M)


class Recorder:
    """Keeps each message's envelope and exact bytes; refuses the addresses in
    ``refuse``; with ``watch``, notes at each DATA how many rows another
    connection sees marked sent (committed)."""

    def __init__(self):
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse: set[str] = set()
        self.watch: Database | None = None
        self.sent_before: list[int] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.watch is not None:
            with self.watch.engine.connect() as connection:
                self.sent_before.append(
                    connection.execute(
                        select(func.count()).select_from(OutboxRow).where(OutboxRow.state == "sent")
                    ).scalar()
                )
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@contextmanager
def smtp_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def runtime(database: Database, db_url: str, tmp_path, port: int | None) -> jobs.Runtime:
    env = {
        "OUTPUTS_DIR": str(tmp_path / "outputs"),
        "DATABASE_URL": db_url,
        "MAIL_FROM": SENDER,
        "BASE_URL": "https://lich.phutho.example",
    }
    if port is not None:
        env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_SECURITY="none")
    return jobs.runtime(Settings.load(env=env), database, Clock(TZ, NOW))


def letters(count: int, cc: tuple[str, ...] = ()) -> list[Message]:
    """Password links: they may go at any hour, so a test never waits for working hours."""
    return [
        Message(
            "password",
            f"user-{i}",
            f"user{i}@phutho.example",
            NOW,
            NOW,
            NOW + timedelta(days=1),
            "vi",
            cc,
            {"link": f"https://lich.phutho.example/reset/{i}"},
        )
        for i in range(count)
    ]


def enqueue(database: Database, messages: list[Message]) -> None:
    with database.transaction() as s:
        outbox.enqueue(s, messages, NOW, "lich.phutho.example")


def rows(database: Database) -> list[OutboxRow]:
    with database.transaction() as s:
        return list(s.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def undated(data: bytes) -> bytes:
    return DATE.sub(b"Date: -\r\n", data, count=1)


def dated_when_sent(data: bytes) -> bool:
    """Dated by the service's clock, which started at NOW (a replay's --now) and runs on."""
    moment = parsedate_to_datetime(DATE.search(data).group(1).decode()).replace(tzinfo=UTC)  # "-0000": UTC
    return timedelta(0) <= moment - NOW < timedelta(minutes=5)


# -- the bytes ------------------------------------------------------------------------------------


def test_stamp_replaces_only_the_date_of_the_header_block():
    data = b"Content-Type: text/plain\r\nDate: " + UNSTAMPED.encode() + b"\r\nSubject: x\r\n\r\nDate: in the body\r\n"
    stamped = stamp(data, datetime(2024, 3, 14, 9, 30, tzinfo=TZ))
    assert stamped == data.replace(UNSTAMPED.encode(), b"Thu, 14 Mar 2024 02:30:00 -0000")
    assert stamp(stamped, NOW).endswith(b"\r\n\r\nDate: in the body\r\n")  # stamped again: still one Date
    assert stamp(b"Subject: x\r\n\r\nbody", NOW) == b"Date: Thu, 14 Mar 2024 02:00:00 -0000\r\nSubject: x\r\n\r\nbody"


def test_a_kept_letter_has_the_envelope_build_gives():
    message = letters(1, cc=("dha@sonoivu.example",))[0]
    mid = message_id(message.key, "lich.phutho.example")
    built = letter(compose(message, mid, SENDER, "https://lich.phutho.example"))
    again = kept(message, mid, built.data, SENDER)
    assert again == built
    assert built.sender == "lich@phutho.example" and built.recipients == ("user0@phutho.example", "dha@sonoivu.example")
    assert DATE.search(built.data).group(1) == UNSTAMPED.encode()


def test_the_eml_file_holds_the_bytes_smtp_sends(tmp_path):
    message = letters(1)[0]
    built = letter(compose(message, message_id(message.key, "x.example"), SENDER, "https://x.example"))
    FileMailer(tmp_path).send(built, NOW)
    with smtp_server() as (controller, handler):
        mailer = SmtpMailer(SmtpConfig("127.0.0.1", controller.port, "none", timeout=5))
        mailer.send(built, NOW)
        mailer.close()
    [path] = tmp_path.iterdir()
    assert path.read_bytes() == handler.received[0][2] == stamp(built.data, NOW)


# -- through the outbox ---------------------------------------------------------------------------


def test_planned_messages_are_built_once_and_sent_as_built(database, db_url, tmp_path, monkeypatch):
    with smtp_server() as (controller, handler):
        rt = runtime(database, db_url, tmp_path, controller.port)
        enqueue(database, letters(12))
        assert jobs.build_outbox(rt, batch=5) == 12  # several batches
        assert jobs.build_outbox(rt) == 0  # nothing left to build
        stored = {r.message_id: r.mime for r in rows(database)}
        assert all(stored.values())

        def no_building(*args, **kwargs):
            raise AssertionError("a message with kept bytes was composed again")

        monkeypatch.setattr(jobs, "compose", no_building)
        handler.watch = Database(db_url)
        try:
            assert jobs.send_outbox(rt, limit=5) == {"sent": 12, "retried": 0, "failed": 0}
        finally:
            handler.watch.close()
        rt.mailer.close()
    # each marked sent in its own commit, at the latest while the next goes (issue 18: at most two in doubt)
    assert all(i - 1 <= seen <= i for i, seen in enumerate(handler.sent_before)), handler.sent_before
    assert len(handler.received) == 12
    for mail_from, rcpt_tos, content in handler.received:
        mid = message_from_bytes(content, policy=policy.default)["Message-ID"]
        assert undated(content) == undated(stored[mid])  # the kept bytes, only their Date stamped
        assert dated_when_sent(content)
        assert mail_from == "lich@phutho.example" and len(rcpt_tos) == 1
    assert all(r.state == "sent" and r.sent_at for r in rows(database))


def test_a_row_without_bytes_is_built_when_claimed(database, db_url, tmp_path):
    with smtp_server() as (controller, handler):
        rt = runtime(database, db_url, tmp_path, controller.port)
        enqueue(database, letters(2, cc=("dha@sonoivu.example",)))  # by the web, say: not built yet
        assert jobs.send_outbox(rt) == {"sent": 2, "retried": 0, "failed": 0}
        rt.mailer.close()
    assert [r.mime for r in rows(database)] == [None, None]  # a password link's bytes are dropped once sent
    assert [r[1] for r in handler.received] == [
        ["user0@phutho.example", "dha@sonoivu.example"],
        ["user1@phutho.example", "dha@sonoivu.example"],
    ]
    got = message_from_bytes(handler.received[0][2], policy=policy.default)
    assert got["Subject"] and "reset/0" in got.get_body(("plain",)).get_content()


def test_a_message_in_doubt_goes_again_with_the_same_id_and_bytes(database, db_url, tmp_path):
    with smtp_server() as (controller, handler):
        rt = runtime(database, db_url, tmp_path, controller.port)
        enqueue(database, letters(1))
        jobs.build_outbox(rt)
        with database.transaction() as s:  # a sender claimed it, and died before marking it
            [claimed] = outbox.claim(s, "dead:1", NOW, timedelta(seconds=5), real_now=datetime.now(UTC))
        jobs.send_outbox(rt)
        assert handler.received == []  # its lease still runs
        with database.transaction() as s:
            s.execute(update(OutboxRow).values(lease_until=datetime(2024, 1, 1, tzinfo=UTC)))
        assert jobs.send_outbox(rt)["sent"] == 1
        rt.mailer.close()
    [row] = rows(database)
    assert row.state == "sent" and row.lease_owner == rt.owner and "in doubt" in row.last_error
    content = handler.received[0][2]
    assert message_from_bytes(content)["Message-ID"] == claimed.message_id == row.message_id
    assert undated(content) == undated(claimed.mime)


def test_marking_sent_needs_our_lease(database):
    enqueue(database, letters(1))
    with database.transaction() as s:
        [row] = outbox.claim(s, "worker:1", NOW, timedelta(minutes=1))
    with database.transaction() as s:
        outbox.mark_sent(s, row.id, "worker:2", NOW)  # a lease that is not ours: nothing
    assert rows(database)[0].state == "sending"
    with database.transaction() as s:
        outbox.mark_sent(s, row.id, "worker:1", NOW, {"dha@sonoivu.example": (550, "no such mailbox")})
    [done] = rows(database)
    assert done.state == "sent" and done.sent_at == NOW and done.lease_until is None
    assert done.refused == {"dha@sonoivu.example": [550, "no such mailbox"]}


def test_refused_recipients_of_kept_bytes_are_recorded(database, db_url, tmp_path):
    with smtp_server() as (controller, handler):
        handler.refuse.add("dha@sonoivu.example")
        rt = runtime(database, db_url, tmp_path, controller.port)
        enqueue(database, letters(1, cc=("dha@sonoivu.example",)))
        jobs.build_outbox(rt)
        assert jobs.send_outbox(rt)["sent"] == 1
        rt.mailer.close()
    [row] = rows(database)
    assert row.state == "sent" and row.refused == {"dha@sonoivu.example": [550, "5.1.1 no such mailbox"]}


def test_bytes_are_kept_only_for_rows_still_pending(database, db_url, tmp_path):
    rt = runtime(database, db_url, tmp_path, None)
    enqueue(database, letters(2))
    with database.transaction() as s:
        outbox.claim(s, "worker:1", NOW, timedelta(minutes=1), limit=1)  # its sender builds it
    assert jobs.build_outbox(rt) == 1
    assert [r.mime is None for r in rows(database)] == [True, False]


def test_rows_from_before_0007_are_kept_and_built_when_sent(db_url, tmp_path):
    engine = create(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO outbox (key, kind, about, recipient, cc, lang, context, announces, send_at, "
                "expires_at, state, attempts, next_attempt_at, message_id, last_error, created_at) "
                "VALUES ('k', 'password', 'user-9', 'user9@phutho.example', '[]', 'en', :context, :at, :at, "
                ":until, 'pending', 0, :at, '<old@x.example>', '', :at)"
            ),
            {
                "context": '{"link": "https://lich.phutho.example/reset/9"}',
                "at": datetime(2024, 3, 14, 1),
                "until": datetime(2024, 3, 16),
            },
        )
    engine.dispose()
    database = Database(db_url)  # migrates to the head
    try:
        rt = runtime(database, db_url, tmp_path, None)  # no SMTP: .eml files
        assert [r.mime for r in rows(database)] == [None]
        assert jobs.send_outbox(rt)["sent"] == 1
        [eml] = (tmp_path / "outputs" / "mail").glob("*.eml")
        got = message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert got["Message-ID"] == "<old@x.example>" and got["Subject"] == "Reset your password"
        assert dated_when_sent(eml.read_bytes())
    finally:
        database.close()


def test_a_report_built_when_planned_carries_its_file_as_written_then(database, db_url, tmp_path):
    report = tmp_path / "compliance-2024-03.html"
    report.write_text("<h1>Báo cáo</h1>", encoding="utf-8")
    rt = runtime(database, db_url, tmp_path, None)
    enqueue(
        database,
        [
            Message(
                "report",
                "p@2024-03",
                "cchc@sonoivu.example",
                NOW,
                NOW,
                NOW + timedelta(days=30),
                "vi",
                (),
                {
                    "tz": "Asia/Ho_Chi_Minh",
                    "plan": "p",
                    "period": "2024-03",
                    "totals": {"required": 1},
                    "file": report.name,
                    "path": str(report),
                },
            )
        ],
    )
    assert jobs.build_outbox(rt) == 1
    report.unlink()  # gone since: the message was built with it
    assert jobs.send_outbox(rt)["sent"] == 1
    [eml] = (tmp_path / "outputs" / "mail").glob("*.eml")
    [attachment] = message_from_bytes(eml.read_bytes(), policy=policy.default).iter_attachments()
    assert attachment.get_payload(decode=True).decode("utf-8") == "<h1>Báo cáo</h1>"
