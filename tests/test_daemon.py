"""The daemon against a real SMTP server (aiosmtpd on 127.0.0.1), with
simulated time: a replayed month, an outage, a refused recipient, a worker
killed mid-batch, two workers on one database."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from scheduler.reminders.outbox import Message
from scheduler.store import outbox
from scheduler.store.tables import OutboxRow

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROOT = Path(__file__).resolve().parent.parent
RADIO = "bientap@daiptth.phutho.example"
PAPER = "toasoan@baophutho.phutho.example"


def _rows(database) -> list[OutboxRow]:
    with database.transaction() as s:
        return list(s.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def test_remind_writes_eml_files_on_the_embedded_default(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("SMTP_HOST", raising=False)
    assert cli("load", "--now", "2024-02-20").code == 0
    dry = cli("remind", "--now", "2024-03-06 09:00", "--dry-run", "--lang", "en")
    assert dry.code == 0 and "[Nhắc việc] Hạn ngày 15/03/2024" in dry.out and "dry run" in dry.out
    assert not (tmp_path / "outputs" / "mail").exists()
    done = cli("remind", "--now", "2024-03-06 09:00")
    assert done.code == 0, done.err
    files = sorted((tmp_path / "outputs" / "mail").glob("*.eml"))
    assert len(files) == 5  # three overdue notices, D-7, and Monday's digest (useful until the next one)
    again = cli("remind", "--now", "2024-03-06 10:00")  # nothing new an hour later: each was sent once
    assert again.code == 0 and len(list((tmp_path / "outputs" / "mail").glob("*.eml"))) == 5


def test_a_replayed_month_sends_exactly_the_expected_reminders(cli, smtp, database):
    assert cli("load", "--now", "2024-02-20").code == 0
    day = date(2024, 3, 1)
    while day <= date(2024, 3, 31):
        for hour in ("07:00", "09:00", "16:00"):  # 07:00 is before working hours: nothing goes then
            result = cli("remind", "--now", f"{day.isoformat()} {hour}")
            assert result.code == 0, result.err
        day += timedelta(days=1)
    rows = _rows(database)
    sent = [r for r in rows if r.state == "sent"]
    received = smtp.handler.received
    assert Counter(r.message_id for r in received) == Counter(r.message_id for r in sent)  # each once
    by_about = {(r.kind, r.about, r.recipient): r for r in sent}
    episode = "phu-tho-2024.cchc-radio-tv.2024-03.1"  # due Friday 15/03 17:00
    for n, day_ in ((7, 6), (1, 14), (0, 15)):
        row = by_about[("due", f"{episode}#D-{n}", RADIO)]
        assert row.sent_at.astimezone(TZ).date() == date(2024, 3, day_)
        assert 8 <= row.sent_at.astimezone(TZ).hour < 17
    for step, day_ in (("script", 8), ("recording", 12), ("handover", 14)):
        assert by_about[("milestone", f"{episode}#{step}", RADIO)].sent_at.astimezone(TZ).date() == date(2024, 3, day_)
    # the newspaper's March piece, due on the month's last working day (29/03)
    assert ("due", "phu-tho-2024.bao-phu-tho-cchc.2024-03.1#D-0", PAPER) in by_about
    # overdue notices for February's unmet items went to the host with the DHA in copy
    overdue = [r for r in sent if r.kind == "overdue" and r.about.startswith("phu-tho-2024.cchc-radio-tv.2024-02")]
    assert overdue and all(r.cc == ["cchc@sonoivu.phutho.example"] for r in overdue)
    received_to = {a for r in received for a in r.recipients}
    assert received_to <= {RADIO, PAPER, "cchc@sonoivu.phutho.example", "congthongtin@sotttt.phutho.example"}
    assert all(8 <= r.sent_at.astimezone(TZ).hour < 17 and r.sent_at.astimezone(TZ).weekday() < 5 for r in sent)


def test_an_outage_then_recovery_delivers_every_message_once(cli, smtp, database):
    assert cli("load", "--now", "2024-02-20").code == 0
    smtp.handler.busy_until = float("inf")  # 451 to everything
    first = cli("remind", "--now", "2024-03-06 09:00")
    assert first.code == 0 and "đã gửi 0, chờ gửi lại 5" in first.out  # 3 overdue, D-7, Monday's digest
    assert smtp.handler.received == []
    assert all(r.state == "pending" and r.attempts == 1 for r in _rows(database))
    smtp.handler.busy_until = 0  # an hour later the server is back
    moment = datetime(2024, 3, 6, 9, tzinfo=TZ)
    for minutes in range(5, 65, 5):
        assert cli("remind", "--now", (moment + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M")).code == 0
    assert Counter(r.message_id for r in smtp.handler.received) == Counter({r.message_id: 1 for r in _rows(database)})
    assert all(r.state == "sent" for r in _rows(database))


def test_a_refused_recipient_is_not_retried_and_is_reported(cli, smtp, database, caplog):
    assert cli("load", "--now", "2024-02-20").code == 0
    smtp.handler.refuse.add(RADIO)
    assert cli("remind", "--now", "2024-03-06 09:00").code == 0
    assert cli("remind", "--now", "2024-03-06 11:00").code == 0
    failed = [r for r in _rows(database) if r.state == "failed"]
    assert failed and all(r.recipient == RADIO and r.attempts == 1 and "550" in r.last_error for r in failed)
    assert {a for r in smtp.handler.received for a in r.recipients} <= {PAPER, "cchc@sonoivu.phutho.example"}


def _enqueue_letters(database, count: int, moment: datetime) -> None:
    messages = [
        Message(
            "password",
            f"user-{i}",
            f"user{i}@phutho.example",
            moment,
            moment,
            moment + timedelta(days=1),
            "vi",
            (),
            {"link": f"http://127.0.0.1:8000/reset/{i}"},
        )
        for i in range(count)
    ]
    with database.transaction() as s:
        outbox.enqueue(s, messages, moment, "127.0.0.1")


def _worker(env: dict) -> subprocess.Popen:
    """A worker whose log goes to a file: a pipe nobody reads fills up and
    blocks the process in its logging (every tick logs each job)."""
    return _logged([sys.executable, "main.py", "worker", "--now", "2024-03-14 09:00"], env)


def _logged(command: list, env: dict) -> subprocess.Popen:
    log = tempfile.TemporaryFile()  # noqa: SIM115  (read by _log, closed with the test's process)
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def _log(process: subprocess.Popen) -> bytes:
    process.log.seek(0)  # type: ignore[attr-defined]
    return process.log.read()  # type: ignore[attr-defined]


def _env(tmp_path, db_url, smtp) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "PYTEST"))}
    env.update(smtp.env, OUTPUTS_DIR=str(tmp_path / "outputs"), DATABASE_URL=db_url, TICK_SECONDS="0.2")
    return env


def _drain(database, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.transaction() as s:
            left = s.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(  # superseded: a late start's D-7
                    OutboxRow.state.in_(("pending", "sending"))
                )
            )
        if not left:
            return
        time.sleep(0.3)
    raise AssertionError(f"{left} messages still not sent")


def test_a_worker_killed_20_times_loses_nothing(cli, smtp, database, db_url, tmp_path):
    assert cli("load", "--now", "2024-02-20").code == 0
    _enqueue_letters(database, 40, datetime(2024, 3, 14, 8, tzinfo=TZ))
    smtp.handler.delay = 0.05
    env = _env(tmp_path, db_url, smtp)
    rng = random.Random(7)
    for _ in range(20):
        worker = _worker(env)
        time.sleep(rng.uniform(0.8, 1.6))
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    worker = _worker(env)
    try:
        _drain(database, 90)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    counts = Counter(r.message_id for r in smtp.handler.received)
    ids = {r.message_id for r in _rows(database) if r.state == "sent"}
    assert set(counts) == ids and {r.state for r in _rows(database)} <= {"sent", "superseded"}  # nothing lost
    assert sum(n - 1 for n in counts.values()) <= 20  # at most the one in flight, per kill, repeated
    # (a repeat keeps its Message-ID by construction: the id is derived from the row's key)


def test_two_workers_share_postgresql_and_sqlite_refuses_a_second(cli, smtp, database, db_url, tmp_path):
    assert cli("load", "--now", "2024-02-20").code == 0
    env = _env(tmp_path, db_url, smtp)
    smtp.handler.delay = 0.1  # slow enough that both workers find work
    first = _worker(env)
    time.sleep(2.5)
    second = _worker(env)
    time.sleep(2.5)
    try:
        if db_url.startswith("sqlite"):
            assert second.wait(timeout=30) == 1
            assert b"SQLite" in _log(second)
            return
        _enqueue_letters(database, 60, datetime(2024, 3, 14, 8, tzinfo=TZ))
        _drain(database, 60)
        counts = Counter(r.message_id for r in smtp.handler.received)
        rows = [r for r in _rows(database) if r.state != "superseded"]  # a late start's D-7: not sent
        assert len(rows) >= 60 and counts == Counter({r.message_id: 1 for r in rows})  # every message exactly once
        owners = {r.lease_owner for r in rows}
        assert len(owners) == 2  # both workers took part
    finally:
        for worker in (first, second):
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(timeout=30) == 0


def test_a_moved_or_cancelled_occurrence_is_announced_once(cli, smtp, database, tmp_path, data):
    plan = tmp_path / "small.yaml"
    text = (data / "load" / "small-plan.yaml").read_text(encoding="utf-8")
    plan.write_text(
        text.replace(
            "agencies:\n  - code: dai\n    name: Đài Phát thanh và Truyền hình tỉnh",
            "agencies:\n  - code: dai\n    name: Đài Phát thanh và Truyền hình tỉnh\n"
            "    contacts: [bientap@dai.example]",
        ),
        encoding="utf-8",
    )
    assert cli("load", plan, "--now", "2024-03-01").code == 0
    moved = plan.read_text(encoding="utf-8").replace(
        "    cadence: 2 per month\n",
        "    cadence: 2 per month\n    exceptions:\n"
        "      - {occurrence: '2024-03 #1', due: '20/03/2024 17:00', reason: Lịch hội nghị}\n"
        "      - {occurrence: '2024-04 #2', skip: true, reason: Nghỉ lễ}\n",
    )
    plan.write_text(moved, encoding="utf-8")
    assert cli("load", plan, "--now", "2024-03-04 10:00").code == 0
    assert cli("load", plan, "--now", "2024-03-04 10:05").code == 0  # nothing changed: nothing more
    notices = [r for r in _rows(database) if r.kind in ("moved", "cancelled")]
    assert {(r.kind, r.about) for r in notices} == {
        ("moved", "small-2024.radio.2024-03.1"),
        ("cancelled", "small-2024.radio.2024-04.2"),
    }
    assert cli("remind", "--now", "2024-03-04 10:10").code == 0
    subjects = [m.subject for m in smtp.handler.received]
    assert any("20/03/2024" in s for s in subjects)


def test_serve_runs_the_scheduler_and_stops_gracefully(cli, db_url, tmp_path, monkeypatch):
    import json
    import urllib.request

    from smtp_server import free_port

    monkeypatch.delenv("SMTP_HOST", raising=False)
    assert cli("load", "--now", "2024-02-20").code == 0
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "PYTEST"))}
    env.update(OUTPUTS_DIR=str(tmp_path / "outputs"), DATABASE_URL=db_url, TICK_SECONDS="0.2")
    server = _logged([sys.executable, "main.py", "serve", "--port", str(port), "--now", "2024-03-06 09:00"], env)
    mail = tmp_path / "outputs" / "mail"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(mail.glob("*.eml"))) < 5:
            time.sleep(0.3)
        assert len(list(mail.glob("*.eml"))) == 5  # the messages owed on 06/03/2024, as .eml files
        health = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10))
        assert health["scheduler"]["running"] and "send_outbox" in health["scheduler"]["jobs"]
        assert health["scheduler"]["jobs"]["send_outbox"]["last_run"]
        assert health["outbox"]["by_state"].get("sent") == 5
        assert health["outbox"]["expired"] == {"total": 0, "last_7_days": 0}
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
    assert code == 0, _log(server).decode()[-2000:]


def test_the_monthly_report_reaches_the_dha(cli, smtp, database, tmp_path):
    assert cli("load", "--now", "2024-01-02").code == 0
    # the March cut-off is the 14th; three working days later (Tue 19/03) the report goes out
    assert cli("remind", "--now", "2024-03-18 09:00").code == 0
    assert not (tmp_path / "outputs" / "reports").exists()
    result = cli("remind", "--now", "2024-03-19 09:00")
    assert result.code == 0, result.err
    reports = sorted(p.name for p in (tmp_path / "outputs" / "reports").iterdir())
    assert reports == [
        "compliance-phu-tho-2024-2024-03-cutoff.html",
        "compliance-phu-tho-2024-2024-03-cutoff.xlsx",
        "compliance-phu-tho-2024-2024-Q1-cutoff.html",
        "compliance-phu-tho-2024-2024-Q1-cutoff.xlsx",
    ]
    mail = next(
        m
        for m in smtp.handler.received
        if "cchc@sonoivu.phutho.example" in m.recipients
        and any(p.get_filename() == "compliance-phu-tho-2024-2024-03-cutoff.html" for p in m.message.iter_attachments())
    )
    attachments = [part.get_filename() for part in mail.message.iter_attachments()]
    assert "compliance-phu-tho-2024-2024-03-cutoff.html" in attachments
    assert "signature" in mail.message.get_body(("plain",)).get_content()  # the signed ledger checkpoint
    assert (tmp_path / "outputs" / "ledger-key.pem").stat().st_mode & 0o777 == 0o600
    again = cli("remind", "--now", "2024-03-19 10:00")  # the same day: not again
    assert again.code == 0
    reports_mailed = [
        m
        for m in smtp.handler.received
        if "cchc@sonoivu.phutho.example" in m.recipients and any(True for _ in m.message.iter_attachments())
    ]
    assert len(reports_mailed) == 2  # the month and the quarter, once each
