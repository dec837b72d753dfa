"""What an operator's run on PostgreSQL with three workers found, each over
SQLite and PostgreSQL: closed windows never became missing, ``remind``
printed "planned -1", a row claimed before its bytes were kept went again
with other bytes, and a late start sent D-7, D-1 and the due-day reminder
of one occurrence at once."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

import scheduler.daemon.jobs as jobs
from scheduler.clock import Clock
from scheduler.settings import Settings
from scheduler.store import outbox
from scheduler.store.tables import OccurrenceRow, OutboxRow
from test_outbox_bytes import enqueue, letters, rows, runtime, smtp_server, undated

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
RADIO = "bientap@daiptth.phutho.example"
EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.1"  # due Friday 15/03/2024 17:00


def test_a_closed_window_with_nothing_delivered_becomes_missing_and_is_reminded(cli, database, db_url, tmp_path):
    assert cli("load", "--now", "2024-02-20").code == 0
    with database.transaction() as s:  # stored as the load stores it: JSON null, not SQL NULL
        assert s.scalar(select(func.count()).select_from(OccurrenceRow).where(OccurrenceRow.delivery.is_(None))) == 0
    settings = Settings.load(env={"OUTPUTS_DIR": str(tmp_path / "outputs"), "DATABASE_URL": db_url})
    rt = jobs.runtime(settings, database, Clock(TZ, datetime(2024, 3, 4, 9, tzinfo=TZ)))
    closed = jobs.close_windows(rt)
    assert closed["missing"] > 0
    with database.transaction() as s:
        february = list(s.scalars(select(OccurrenceRow).where(OccurrenceRow.id.like("%cchc-radio-tv.2024-02.%"))))
        march = s.get(OccurrenceRow, EPISODE)
    assert february and all(r.delivery == {"state": "missing"} and r.revision == 2 for r in february)
    assert march.delivery is None  # its window is open
    assert jobs.close_windows(rt) == {"missing": 0}  # once
    jobs.plan_reminders(rt)
    overdue = [r for r in rows(database) if r.kind == "overdue" and "cchc-radio-tv.2024-02" in r.about]
    assert overdue and all(r.context["state"] == "missing" for r in overdue)


def test_remind_prints_the_number_of_messages_it_added(cli, database):
    assert cli("load", "--now", "2024-02-20").code == 0
    for moment, before in (("2024-03-06 09:00", 0), ("2024-03-06 10:00", None), ("2024-03-08 09:00", None)):
        with database.transaction() as s:
            before = s.scalar(select(func.count()).select_from(OutboxRow))
        result = cli("remind", "--now", moment)
        assert result.code == 0, result.err
        with database.transaction() as s:
            after = s.scalar(select(func.count()).select_from(OutboxRow))
        printed = int(re.search(r"-?\d+", result.out).group())
        assert printed == after - before, result.out
    assert after > 0


class DiesAfterSending:
    """A mailer that delivers, then the process dies before the row is marked (SIGKILL, as far as the row knows)."""

    def __init__(self, mailer):
        self.mailer = mailer

    def send(self, mail, moment):
        self.mailer.send(mail, moment)
        raise KeyboardInterrupt

    def close(self):
        self.mailer.close()


def test_a_row_claimed_before_its_bytes_were_kept_goes_again_byte_for_byte(database, db_url, tmp_path):
    with smtp_server() as (controller, handler):
        rt = runtime(database, db_url, tmp_path, controller.port)
        enqueue(database, letters(1))  # by the web, say: not built yet
        real = rt.mailer
        rt.mailer = DiesAfterSending(real)
        try:
            jobs.send_outbox(rt)
            raise AssertionError("the mailer should have died")
        except KeyboardInterrupt:
            pass
        [row] = rows(database)
        assert row.state == "sending" and row.mime is not None  # kept with the claim
        rt.mailer = real
        with database.transaction() as s:  # its lease runs out: in doubt
            s.execute(update(OutboxRow).values(lease_until=datetime(2024, 1, 1, tzinfo=UTC)))
        assert jobs.send_outbox(rt)["sent"] == 1
        rt.mailer.close()
    first, again = (content for _, _, content in handler.received)
    assert message_from_bytes(first)["Message-ID"] == message_from_bytes(again)["Message-ID"]
    assert undated(first) == undated(again)  # the same bytes, MIME boundaries and all
    [row] = rows(database)
    assert row.state == "sent" and "in doubt" in row.last_error


def test_a_late_start_sends_only_the_most_urgent_due_reminder(cli, smtp, database):
    assert cli("load", "--now", "2024-02-20").code == 0
    # the service was down from 05/03 and starts on the due day: D-7 (06/03) and D-1 (14/03) are owed too
    assert cli("remind", "--now", "2024-03-15 09:00").code == 0
    assert cli("remind", "--now", "2024-03-15 10:00").code == 0
    mine = {
        r.about: r
        for r in rows(database)
        if r.kind == "due" and r.about.startswith(EPISODE + "#") and r.recipient == RADIO
    }
    assert mine[f"{EPISODE}#D-0"].state == "sent"
    for n in (7, 1):
        assert mine[f"{EPISODE}#D-{n}"].state == "superseded"
        assert mine[f"{EPISODE}#D-{n}"].last_error == "superseded by D-0"
    got = Counter(m.message_id for m in smtp.handler.received)
    assert got[mine[f"{EPISODE}#D-0"].message_id] == 1
    assert not {mine[f"{EPISODE}#D-{n}"].message_id for n in (7, 1)} & set(got)


def test_on_time_each_due_reminder_goes_on_its_day():
    """The policy replaces only what is owed at the same moment."""
    from scheduler.reminders.outbox import Message
    from scheduler.reminders.policy import superseded

    at = lambda d, h=8: datetime(2024, 3, d, h, tzinfo=TZ)  # noqa: E731
    d7 = Message("due", "o#D-7", RADIO, at(15, 17), at(6), at(15, 17))
    d1 = Message("due", "o#D-1", RADIO, at(15, 17), at(14), at(15, 17))
    other = Message("due", "o#D-1", "toasoan@baophutho.phutho.example", at(15, 17), at(14), at(15, 17))
    assert superseded([d7], at(6, 9)) == []
    assert superseded([d7, d1, other], at(13, 9)) == []  # D-1 is not owed yet: D-7 still goes
    assert superseded([d7, d1, other], at(14, 9)) == [(d7, "D-1")]
    assert superseded([d7, d1], at(15, 18)) == []  # neither is useful any more: they expire


def test_reminders_left_pending_by_an_outage_go_as_the_most_urgent_only(database, db_url, tmp_path):
    """Planned before the outage, all still pending when sending resumes, before planning runs again."""
    from scheduler.reminders.outbox import Message

    at = lambda d, h=8: datetime(2024, 3, d, h, tzinfo=TZ)  # noqa: E731
    from test_mail import CONTEXTS

    context = CONTEXTS["due"]
    messages = [
        Message("due", f"{EPISODE}#D-{n}", RADIO, at(15, 17), at(d), at(15, 17), "vi", (), context)
        for n, d in ((7, 6), (1, 14), (0, 15))
    ]
    rt = runtime(database, db_url, tmp_path, None)
    rt.clock = Clock(TZ, at(15, 9))
    with database.transaction() as s:
        outbox.enqueue(s, messages, at(6), "lich.phutho.example")
    jobs.send_outbox(rt)
    found = {r.about.rpartition("#")[2]: (r.state, r.last_error) for r in rows(database)}
    assert found["D-7"] == found["D-1"] == ("superseded", "superseded by D-0")
    assert found["D-0"] == ("sent", "")
    assert len(list((tmp_path / "outputs" / "mail").glob("*.eml"))) == 1


def test_a_milestone_reminder_no_longer_owed_is_cancelled(cli, database, db_url, tmp_path):
    """Its key was made in the plan's zone; the row read back is in UTC: cancelling must still find it."""
    assert cli("load", "--now", "2024-02-20").code == 0
    settings = Settings.load(env={"OUTPUTS_DIR": str(tmp_path / "outputs"), "DATABASE_URL": db_url})
    rt = jobs.runtime(settings, database, Clock(TZ, datetime(2024, 3, 8, 9, tzinfo=TZ)))  # planned, not sent
    jobs.plan_reminders(rt)
    [script] = [r for r in rows(database) if r.about == f"{EPISODE}#script"]
    assert script.state == "pending"
    with database.transaction() as s:  # delivered on time: nothing more to remind anyone of
        s.get(OccurrenceRow, EPISODE).delivery = {"state": "on_time"}
    assert jobs.plan_reminders(rt)["cancelled"] >= 1
    [script] = [r for r in rows(database) if r.about == f"{EPISODE}#script"]
    assert script.state == "cancelled" and script.last_error == "no longer owed"
