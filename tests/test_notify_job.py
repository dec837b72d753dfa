"""The notify job (issue 19): the outbox's Telegram, Zalo and webhook rows
sent like mail, over SQLite and PostgreSQL: once, each result in its own
commit, the provider's retry_after honoured, an unreachable chat blocked and
shown, working hours kept, and a worker killed mid-send repeating once."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update

from notify_fixtures import ANH, BASE_URL, NIGHT, NOW, OCCURRENCE, ChatProvider, Recorder, due, person, runtime
from scheduler.daemon import jobs, notify_jobs
from scheduler.daemon.runner import INTERVALS
from scheduler.reminders.outbox import PermanentFailure, TemporaryFailure, Unreachable
from scheduler.store import outbox
from scheduler.store.notifier_tables import GroupChatRow, NotifierLinkRow, WebhookRow
from scheduler.store.provider_secrets import sealer_of
from scheduler.store.tables import OutboxRow

WORKER = Path(__file__).parent / "notify_worker.py"


def enqueue(database, *messages) -> None:
    with database.transaction() as s:
        outbox.enqueue(s, list(messages), NOW, "lich.phutho.example")


def rows(database, channel: str | None = None) -> list[OutboxRow]:
    with database.transaction() as s:
        query = select(OutboxRow).order_by(OutboxRow.id)
        return [r for r in s.scalars(query) if channel is None or r.channel == channel]


def test_the_job_runs_on_the_mail_jobs_tick():
    assert INTERVALS["send_notifications"] == INTERVALS["send_outbox"]
    assert jobs.JOBS["send_notifications"] is jobs.send_notifications


def test_a_linked_person_gets_the_reminder_once_in_chat_vietnamese_first_with_the_link(database, db_url, tmp_path):
    person(database)
    enqueue(database, due())
    rt = runtime(database, db_url, tmp_path)
    assert jobs.build_outbox(rt) == 0 and rows(database)[0].mime is None  # a chat row has no mail bytes
    sender = rt.senders = {"telegram": Recorder()}
    assert notify_jobs.send_notifications(rt) == {"sent": 1, "retried": 0, "failed": 0}
    [delivery] = sender["telegram"].seen
    assert delivery.address == "7001" and delivery.message.recipient == ANH
    assert delivery.text.splitlines() == [
        "[Nhắc việc] Hạn ngày 15/03/2024: Cải cách hành chính – số 1, tháng 03/2024",
        f"{BASE_URL}/o/{OCCURRENCE}",
    ]
    [chat] = rows(database, "telegram")
    assert chat.state == "sent" and delivery.event_id == chat.message_id
    assert [r.state for r in rows(database, "email")] == []  # telegram only, as chosen
    assert notify_jobs.send_notifications(rt) == {"sent": 0, "retried": 0, "failed": 0}  # once
    assert len(sender["telegram"].seen) == 1
    assert jobs.send_outbox(rt, budget=0)["sent"] == 0  # the mail job leaves chat rows alone
    assert rows(database, "telegram")[0].state == "sent"


def test_english_reader_and_unconfigured_channel_waits(database, db_url, tmp_path):
    person(database, links={"telegram": "7001", "zalo": "z-9"}, chooses=("telegram", "zalo"))
    enqueue(database, due(lang="en"))
    rt = runtime(database, db_url, tmp_path)
    rt.senders = {"telegram": Recorder()}  # zalo not configured: its row waits
    assert notify_jobs.send_notifications(rt)["sent"] == 1
    assert rt.senders["telegram"].seen[0].text.startswith("[Reminder] Due 15/03/2024: Administrative reform")
    assert {r.channel: r.state for r in rows(database)} == {"telegram": "sent", "zalo": "pending"}


def test_no_sender_configured_claims_nothing(database, db_url, tmp_path):
    person(database)
    enqueue(database, due())
    rt = runtime(database, db_url, tmp_path)
    assert notify_jobs.send_notifications(rt) == {"sent": 0, "retried": 0, "failed": 0}  # no token, no Zalo app
    assert set(rt.senders) == {"webhook"}  # (webhooks need no setting: their sender is always there)
    assert rows(database)[0].state == "pending"


def test_retry_after_is_honoured_and_the_next_attempt_sends(database, db_url, tmp_path):
    person(database)
    enqueue(database, due())
    rt = runtime(database, db_url, tmp_path)
    rt.senders = {"telegram": Recorder(outcomes=[TemporaryFailure("429 Too Many Requests", retry_after=900)])}
    assert notify_jobs.send_notifications(rt) == {"sent": 0, "retried": 1, "failed": 0}
    [row] = rows(database)
    assert row.state == "pending" and row.attempts == 1 and "429" in row.last_error
    assert row.next_attempt_at >= (NOW + timedelta(seconds=900)).astimezone(UTC) - timedelta(seconds=1)
    later = runtime(database, db_url, tmp_path, NOW + timedelta(seconds=600))
    later.senders = rt.senders
    assert notify_jobs.send_notifications(later)["sent"] == 0  # not before the provider said
    later = runtime(database, db_url, tmp_path, NOW + timedelta(seconds=1000))
    later.senders = rt.senders
    assert notify_jobs.send_notifications(later)["sent"] == 1
    assert rows(database)[0].state == "sent"


def test_a_sender_that_breaks_backs_off_instead_of_leaving_the_row_in_doubt(database, db_url, tmp_path):
    person(database)
    enqueue(database, due())
    rt = runtime(database, db_url, tmp_path)
    rt.senders = {"telegram": Recorder(outcomes=[KeyError("chat_id")])}
    assert notify_jobs.send_notifications(rt)["retried"] == 1
    assert rows(database)[0].state == "pending" and "KeyError" in rows(database)[0].last_error


def test_unreachable_blocks_the_link_fails_the_row_and_routes_the_next_by_email(database, db_url, tmp_path):
    person(database)
    enqueue(database, due())
    rt = runtime(database, db_url, tmp_path)
    rt.senders = {"telegram": Recorder(outcomes=[Unreachable("403 Forbidden: bot was blocked by the user")])}
    assert notify_jobs.send_notifications(rt) == {"sent": 0, "retried": 0, "failed": 1}
    row, mail = rows(database)  # this reminder is not lost: its email twin (e2e19)
    assert row.state == "failed" and "blocked by the user" in row.last_error and "by email" in row.last_error
    assert (mail.channel, mail.state, mail.about) == ("email", "pending", row.about)
    with database.transaction() as s:
        link = s.scalars(select(NotifierLinkRow)).one()
        assert link.state == "blocked" and "blocked by the user" in link.last_error
    enqueue(database, due(send_at=NOW))  # another reminder (another moment: another key)
    assert [r.channel for r in rows(database)][2:] == ["email"]


def test_a_permanent_failure_is_not_retried(database, db_url, tmp_path):
    person(database)
    enqueue(database, due())
    rt = runtime(database, db_url, tmp_path)
    rt.senders = {"telegram": Recorder(outcomes=[PermanentFailure("400 Bad Request: message text is empty")])}
    assert notify_jobs.send_notifications(rt)["failed"] == 1
    assert notify_jobs.send_notifications(rt)["failed"] == 0
    assert rows(database)[0].state == "failed" and len(rt.senders["telegram"].seen) == 1
    with database.transaction() as s:
        assert s.scalars(select(NotifierLinkRow.state)).one() == "active"


def test_a_person_whose_chat_cannot_take_the_reminder_gets_it_by_email(database, db_url, tmp_path):
    """Chat alone chosen (email unticked) and the provider refuses for good
    (Zalo outside its 7-day window, no template): the reminder goes by email,
    not routed back to the chat that refused it (e2e19)."""
    person(database, links={"zalo": "8421"}, chooses=("zalo",))
    enqueue(database, due())
    assert [r.channel for r in rows(database)] == ["zalo"]
    rt = runtime(database, db_url, tmp_path)
    rt.senders = {"zalo": Recorder("zalo", outcomes=[PermanentFailure("Zalo: outside the 7-day window")])}
    assert notify_jobs.send_notifications(rt)["failed"] == 1
    chat, mail = rows(database)
    assert chat.state == "failed" and chat.last_error.endswith("sent by email instead")
    assert (mail.channel, mail.state, mail.recipient, mail.about) == ("email", "pending", ANH, chat.about)
    assert notify_jobs.send_notifications(rt)["failed"] == 0 and len(rows(database)) == 2


def test_a_chat_unlinked_after_planning_sends_the_reminder_by_email_instead(database, db_url, tmp_path):
    person(database)
    enqueue(database, due())
    with database.transaction() as s:
        s.execute(delete(NotifierLinkRow))
    rt = runtime(database, db_url, tmp_path)
    rt.senders = {"telegram": Recorder()}
    assert notify_jobs.send_notifications(rt)["failed"] == 1
    chat, mail = rows(database)
    assert chat.state == "failed" and "no linked telegram chat; sent by email instead" in chat.last_error
    assert (mail.channel, mail.state, mail.recipient, mail.kind) == ("email", "pending", ANH, "due")
    assert rt.senders["telegram"].seen == []


def test_reminders_wait_for_working_hours(database, db_url, tmp_path):
    person(database)
    enqueue(database, due())
    rt = runtime(database, db_url, tmp_path, NIGHT)
    rt.senders = {"telegram": Recorder()}
    assert notify_jobs.send_notifications(rt) == {"sent": 0, "retried": 0, "failed": 0}
    [row] = rows(database)
    assert row.state == "pending" and row.lease_until is None


def test_group_chats_and_webhooks_find_their_address_and_an_expired_row_is_not_sent(database, db_url, tmp_path):
    rt = runtime(database, db_url, tmp_path, NIGHT)  # a webhook goes at any hour
    sealed = sealer_of(rt.settings).seal("whsec-1", NOW)
    with database.transaction() as s:
        s.add(GroupChatRow(agency_code="daiptth", channel="telegram", address="-100200", kinds=["due"], linked_at=NOW))
        s.add(
            WebhookRow(
                url="https://hooks.example/in", events=["occurrence.at_risk"], secret_sealed=sealed, created_at=NOW
            )
        )
    event = due(recipient="webhook:1")
    event = type(event)(
        "occurrence.at_risk",
        OCCURRENCE,
        "webhook:1",
        event.announces,
        NOW - timedelta(hours=1),
        event.expires_at,
        "vi",
        (),
        {"occurrence": OCCURRENCE},
        "webhook",
    )
    enqueue(database, due(recipient="binh@x.vn"), event)
    assert {(r.recipient, r.channel) for r in rows(database)} == {
        ("binh@x.vn", "email"),
        ("group:1", "telegram"),
        ("webhook:1", "webhook"),
    }
    rt.senders = {"telegram": Recorder(), "webhook": Recorder("webhook")}
    assert notify_jobs.send_notifications(rt)["sent"] == 1  # the webhook; the group's reminder waits for the day
    [hook] = rt.senders["webhook"].seen
    assert (hook.address, hook.secret, hook.text) == ("https://hooks.example/in", "whsec-1", "")
    day = runtime(database, db_url, tmp_path, NOW)
    day.senders = rt.senders
    assert notify_jobs.send_notifications(day)["sent"] == 1
    [group] = rt.senders["telegram"].seen
    assert group.address == "-100200" and group.text.startswith("[Nhắc việc]")


def test_a_reminder_past_its_lifetime_is_not_sent_and_expires_as_mail_does(database, db_url, tmp_path):
    person(database)
    enqueue(database, due())
    late = runtime(database, db_url, tmp_path, NOW + timedelta(days=2))  # after the due moment: useless now
    late.senders = {"telegram": Recorder()}
    assert notify_jobs.send_notifications(late) == {"sent": 0, "retried": 0, "failed": 0}
    assert late.senders["telegram"].seen == []
    with database.transaction() as s:
        assert outbox.expire(s, late.clock.now()) == 1
    assert rows(database)[0].state == "expired"


def _worker(db_url: str, outputs: Path, provider: ChatProvider, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(WORKER), db_url, str(outputs), provider.url, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent,
    )


def test_a_worker_killed_after_the_provider_accepted_repeats_once_and_never_more(database, db_url, tmp_path):
    person(database)
    enqueue(database, due())
    with ChatProvider() as provider:
        died = _worker(db_url, tmp_path, provider, "--die")
        assert died.returncode == -9, died.stderr
        assert len(provider.accepted) == 1
        [row] = rows(database)
        assert row.state == "sending"  # its fate unknown to us
        alive = _worker(db_url, tmp_path, provider)
        assert alive.returncode == 0, alive.stderr
        assert json.loads(alive.stdout)["sent"] == 0 and len(provider.accepted) == 1  # its lease still runs
        with database.transaction() as s:  # the lease runs out (by the real clock: as if 300 s went by)
            s.execute(update(OutboxRow).values(lease_until=_utcnow() - timedelta(seconds=1)))
        again = _worker(db_url, tmp_path, provider)
        assert json.loads(again.stdout)["sent"] == 1, again.stderr
        assert len(provider.accepted) == 2  # once more, in doubt
        [row] = rows(database)
        assert row.state == "sent" and "in doubt" in row.last_error
        assert json.loads(_worker(db_url, tmp_path, provider).stdout)["sent"] == 0
        assert len(provider.accepted) == 2  # never more
    first, second = provider.accepted
    assert first == second and first["chat_id"] == "7001" and first["event"] == row.message_id


def _utcnow():
    from scheduler.clock import system_now

    return system_now(UTC)


def test_after_an_outage_each_channel_keeps_its_most_urgent_reminder(database, db_url, tmp_path):
    """D-7 and D-1 both owed at once, by email and in Telegram: the D-7 of
    each channel is superseded, the D-1 of each goes."""
    from dataclasses import replace

    person(database, chooses=("email", "telegram"))
    week = replace(due(send_at=NOW - timedelta(days=7)), about=f"{OCCURRENCE}#D-7")
    enqueue(database, week, due())
    rt = runtime(database, db_url, tmp_path)
    rt.senders = {"telegram": Recorder()}
    jobs.send_outbox(rt, budget=0)  # supersedes first; no SMTP here: the email D-1 stays to be sent
    states = {(r.channel, r.about.rpartition("#")[2]): r.state for r in rows(database)}
    assert states[("email", "D-7")] == states[("telegram", "D-7")] == "superseded"
    assert states[("telegram", "D-1")] == "pending" and states[("email", "D-1")] != "superseded"
    assert notify_jobs.send_notifications(rt)["sent"] == 1
    assert [d.message.about for d in rt.senders["telegram"].seen] == [f"{OCCURRENCE}#D-1"]


def test_a_channel_configured_while_the_daemon_runs_is_picked_up(database, db_url, tmp_path, monkeypatch):
    """The Zalo OA's first refresh token may be stored (`zalo token`) after the
    daemon started: a channel without a sender is asked again, not forever None."""
    person(database)
    enqueue(database, due())
    configured: list = []
    monkeypatch.setattr(
        notify_jobs, "SENDERS", {"telegram": lambda settings, db: configured[0] if configured else None}
    )
    rt = runtime(database, db_url, tmp_path)
    assert notify_jobs.send_notifications(rt)["sent"] == 0 and rt.senders == {}
    configured.append(Recorder())
    assert notify_jobs.send_notifications(rt)["sent"] == 0  # not asked again at once
    rt.senders_checked_at -= notify_jobs.RECHECK_SECONDS
    assert notify_jobs.send_notifications(rt) == {"sent": 1, "retried": 0, "failed": 0}
    assert rt.senders == {"telegram": configured[0]} and rows(database)[0].state == "sent"
