"""Issue 19's "done when", end to end with the real parts, on SQLite and
PostgreSQL: the Phú Thọ 2024 plan loaded (``main.py load``); a producer of
the radio station signs in, opens /me/profile over HTTP, links Telegram
(``/start CODE`` read by the real ``telegram_updates`` job from a fake Bot
API) and Zalo (a signed ``user_send_text`` to POST /hooks/zalo) and ticks
email + Telegram + Zalo for "due" reminders; an admin registers a webhook
for delivery.recorded (``main.py webhooks add``). On D-1 in working hours
``plan_reminders`` and the notify job deliver the D-1 reminder once to the
chat and once to the follower (and by email) across an outage of both
providers (429 with retry_after, 500, a dropped connection); the next
reminder goes through a worker process killed right after a provider
accepted (at most one repeat); the producer records the delivery over the
API and the receiver verifies the signed delivery.recorded event."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from html_tree import html
from scheduler.clock import Clock, system_now
from scheduler.daemon import jobs
from scheduler.daemon.notify_jobs import send_notifications
from scheduler.daemon.telegram_updates import telegram_updates
from scheduler.reminders.outbox import PREFERENCES
from scheduler.sealing import new_key
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.store.tables import OutboxRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password
from scheduler.web.zalo_hook import signature
from telegram_server import TelegramServer
from test_admin_pages import csrf
from web_session import signed_in
from webhook_receiver import WebhookReceiver
from zalo_server import ZaloServer

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PLAN = "phu-tho-2024"
OCCURRENCE = f"{PLAN}.cchc-radio-tv.2024-03.1"  # due Friday 15 March 2024
PRODUCER, ADMIN = "bientap@daiptth.phutho.example", "admin@snv.example"
PASSWORD = "mat-khau-du-dai"
CHAT, FOLLOWER = 7001, "8421000000000001"
LINKED = datetime(2024, 3, 11, 10, 0, tzinfo=TZ)  # the Monday before: the producer links the chats
D1 = datetime(2024, 3, 14, 9, 0, tzinfo=TZ)  # the working day before the due day, in working hours
OA_SECRET = "oa-secret-e2e"


class Bot(TelegramServer):
    """The fake Bot API, also keeping the messages it accepted (not those it refused)."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: list[dict] = []

    def _result(self, method: str, payload: dict) -> Any:
        if method == "sendMessage":
            with self._lock:
                self.accepted.append(payload)
        return super()._result(method, payload)


@pytest.fixture
def world(cli, db_url, tmp_path, monkeypatch, smtp):
    """The fakes on 127.0.0.1 and the settings pointing at them."""
    with Bot() as bot, ZaloServer() as oa, WebhookReceiver() as receiver:
        oa.followers.add(FOLLOWER)
        env = {
            **bot.env,
            "NOTIFIER_KEY": new_key(),
            "ZALO_APP_ID": oa.app_id,
            "ZALO_APP_SECRET": oa.app_secret,
            "ZALO_OA_SECRET": OA_SECRET,
            "ZALO_API": oa.url,
            "ZALO_OAUTH_API": oa.url,
            "NOTIFY_ALLOW": "127.0.0.1",
            "TICK_SECONDS": "1",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield bot, oa, receiver


def rt_at(settings: Settings, db: Database, at: datetime, owner: str = "w1") -> jobs.Runtime:
    rt = jobs.runtime(settings, db, Clock(TZ, at))
    rt.owner = owner
    return rt


def rows(db: Database, **where) -> list[OutboxRow]:
    with db.transaction() as s:
        found = list(s.scalars(select(OutboxRow).order_by(OutboxRow.id)))
        s.expunge_all()
    return [r for r in found if all(getattr(r, k) == v for k, v in where.items())]


def about(rows_: list[OutboxRow], occurrence: str) -> list[OutboxRow]:
    return [r for r in rows_ if r.about.startswith(occurrence + "#")]


def zalo_event(client: TestClient, app_id: str, when: datetime, text: str):
    body = json.dumps(
        {
            "app_id": app_id,
            "event_name": "user_send_text",
            "sender": {"id": FOLLOWER},
            "recipient": {"id": "3662729599332560487"},
            "message": {"text": text, "msg_id": "e2e-1"},
            "timestamp": str(int(when.timestamp() * 1000)),
        },
        ensure_ascii=False,
    ).encode()
    mac = signature(app_id, body, str(int(when.timestamp() * 1000)), OA_SECRET)
    return client.post("/hooks/zalo", content=body, headers={"X-ZEvent-Signature": "mac=" + mac})


def setup(cli, world) -> tuple[Settings, Database, dict, str]:
    """The plan loaded, the people, the Zalo token, the webhook; the producer's
    API headers and the webhook's signing secret."""
    bot, oa, receiver = world
    loaded = cli("load", ROOT / "schedules" / f"{PLAN}.yaml", "--now", "2024-01-02")
    assert loaded.code == 0, loaded.err
    assert cli("users", "add", PRODUCER, "--role", "producer", "--agency", "dai-ptth").code == 0
    assert cli("users", "add", ADMIN, "--role", "admin").code == 0
    made = cli("tokens", "create", "--user", PRODUCER)
    assert made.code == 0, made.err
    headers = {"Authorization": f"Bearer {made.out.strip().splitlines()[-1]}"}
    stored = cli("zalo", "token", oa.refresh_token, "--now", "2024-03-01 08:00")
    assert stored.code == 0, stored.err
    hook = cli("webhooks", "add", receiver.url, "--events", "delivery.recorded", "--now", "2024-03-01 08:00")
    assert hook.code == 0, hook.err
    secret = hook.out.rsplit(":", 1)[-1].strip()
    assert secret.startswith("whsec_"), hook.out
    settings = Settings.load()
    return settings, Database(settings.database_url), headers, secret


def link_both(settings: Settings, db: Database, world) -> None:
    """/me/profile over HTTP: the two codes, the chats linked, the channels ticked."""
    bot, oa, _ = world
    with db.transaction() as s:
        set_password(s, find_user(s, PRODUCER), PASSWORD, LINKED)
    app = create_app(settings, db, Clock(TZ, LINKED))
    client = signed_in(app, PRODUCER, PASSWORD)
    page = html(client.get("/me/profile"))
    shown = html(client.post("/me/profile/link/telegram", data={"csrf": csrf(page)}))
    start = shown.one("code", id="start-text").text()
    assert start.startswith("/start ")
    shown = html(client.post("/me/profile/link/zalo", data={"csrf": csrf(shown)}))
    zalo_code = shown.one("code", id="zalo-code").text()

    bot.message({"id": CHAT, "type": "private", "first_name": "Anh"}, start)
    polled = telegram_updates(rt_at(settings, db, LINKED + timedelta(minutes=1)))
    assert polled["linked"] == 1, polled
    assert any("liên kết" in m["text"].lower() for m in bot.accepted if m["chat_id"] in (CHAT, str(CHAT)))

    answer = zalo_event(client, oa.app_id, LINKED + timedelta(seconds=30), f"ma {zalo_code}")
    assert answer.status_code == 200, answer.text
    assert [m.user_id for m in oa.sent] == [FOLLOWER]  # the OA's answer "Đã liên kết Zalo…"

    page = html(client.get("/me/profile"))
    links = {li.text() for li in page.all("li", cls="link")}
    assert len(links) == 2, links
    form = {"csrf": csrf(page), "name": "Anh Sản Xuất", "lang": "vi"}
    for group in PREFERENCES:
        form[f"channels-{group}"] = ["email"] if group == "digest" else ["email", "telegram", "zalo"]
    saved = client.post("/me/profile", data=form)
    assert saved.status_code == 303, saved.text
    bot.accepted.clear()
    oa.sent.clear()


WORKER = """
import json, os, signal, sys
from datetime import datetime
from zoneinfo import ZoneInfo
from scheduler.clock import Clock
from scheduler.daemon import jobs, notify_jobs
from scheduler.settings import Settings
from scheduler.store.database import Database

settings = Settings.load()
clock = Clock(ZoneInfo("Asia/Ho_Chi_Minh"), datetime.fromisoformat(sys.argv[1]))
rt = jobs.runtime(settings, Database(settings.database_url), clock)
rt.owner = sys.argv[2]
if sys.argv[3:] == ["--die"]:  # killed right after a provider accepted, before the row is marked sent
    for sender in notify_jobs.senders(rt).values():
        def send(delivery, now, real=sender.send):
            real(delivery, now)
            os.kill(os.getpid(), signal.SIGKILL)
        sender.send = send
print(json.dumps(notify_jobs.send_notifications(rt)))
"""


def worker(at: datetime, owner: str, *extra: str) -> subprocess.CompletedProcess:
    """The notify job in its own process (the real senders, from the settings in the environment)."""
    return subprocess.run(
        [sys.executable, "-c", WORKER, at.isoformat(), owner, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "TICK_SECONDS": "30", "PYTHONPATH": str(ROOT)},  # a lease of 300 s
    )


def accepted(bot: Bot, oa: ZaloServer) -> dict[str, Counter]:
    """How many times each text was accepted, per channel."""
    return {
        "telegram": Counter(m["text"] for m in bot.accepted),
        "zalo": Counter(json.dumps(s.message, ensure_ascii=False, sort_keys=True) for s in oa.sent),
    }


def test_linked_chats_get_the_d1_reminder_once_across_an_outage_and_a_crash_and_a_webhook_verifies(
    cli, world, smtp, db_url
):
    bot, oa, receiver = world
    settings, db, headers, secret = setup(cli, world)
    try:
        link_both(settings, db, world)

        # D-1 in working hours: the reminders planned, email sent; both providers down.
        planned = jobs.plan_reminders(rt_at(settings, db, D1))
        assert planned["new"] >= 3, planned
        d1 = {r.channel: r for r in rows(db, about=f"{OCCURRENCE}#D-1")}
        assert set(d1) == {"email", "telegram", "zalo"} and all(r.recipient == PRODUCER for r in d1.values())
        chats = [r for r in rows(db, state="pending") if r.channel in ("telegram", "zalo")]
        assert {r.about for r in chats} == {f"{OCCURRENCE}#D-1", f"{OCCURRENCE}#handover"}, chats
        assert jobs.send_outbox(rt_at(settings, db, D1))["sent"] >= 1
        mails = Counter(m.message_id for m in smtp.handler.received)
        assert mails[d1["email"].message_id] == 1

        bot.fail("429", retry_after=600)
        bot.fail("500")
        oa.script += [("http", 429, 600), ("http", 500, 0)]
        first = send_notifications(rt_at(settings, db, D1 + timedelta(minutes=1)))
        assert first == {"sent": 0, "retried": 4, "failed": 0}, first
        bot.fail("drop")
        oa.script.append("drop")
        second = send_notifications(rt_at(settings, db, D1 + timedelta(minutes=5)))  # the two 429s still wait
        assert second == {"sent": 0, "retried": 2, "failed": 0}, second
        waiting = [r for r in rows(db, state="pending") if r.channel in ("telegram", "zalo")]
        assert sorted(r.attempts for r in waiting) == [1, 1, 2, 2]
        late = D1 + timedelta(minutes=1, seconds=600)  # each 429's retry_after, from the first attempt
        assert all(r.next_attempt_at >= late for r in waiting if r.attempts == 1), waiting
        recovered = send_notifications(rt_at(settings, db, D1 + timedelta(minutes=12)))
        assert recovered == {"sent": 4, "retried": 0, "failed": 0}, recovered
        assert send_notifications(rt_at(settings, db, D1 + timedelta(hours=2)))["sent"] == 0
        once = accepted(bot, oa)
        assert sorted(once["telegram"].values()) == [1, 1] and sorted(once["zalo"].values()) == [1, 1], once
        assert all(m["chat_id"] in (CHAT, str(CHAT)) for m in bot.accepted)
        assert [s.user_id for s in oa.sent] == [FOLLOWER, FOLLOWER]
        d1_text = [t for t in once["telegram"] if "15/03" in t or "D-1" in t or OCCURRENCE in t]
        assert d1_text, once
        assert {r.state for r in rows(db, about=f"{OCCURRENCE}#D-1")} == {"sent"}

        # The next occurrence's D-1 (due Friday 29 March) through a worker killed mid-send.
        monday = datetime(2024, 3, 28, 9, 0, tzinfo=TZ)
        app = create_app(settings, db, Clock(TZ, monday - timedelta(hours=20)))
        with TestClient(app) as client:  # the follower wrote to the OA within 7 days: a consultation message may go
            assert zalo_event(client, oa.app_id, monday - timedelta(hours=20), "Cảm ơn").status_code == 200
        jobs.plan_reminders(rt_at(settings, db, monday))
        owed = [r for r in rows(db, state="pending") if r.channel in ("telegram", "zalo")]
        assert {r.about for r in owed} >= {f"{PLAN}.cchc-radio-tv.2024-03.2#D-1"}, owed
        bot.accepted.clear()
        oa.sent.clear()
        died = worker(monday, "w-died", "--die")
        assert died.returncode == -9, died.stderr
        killed = accepted(bot, oa)
        assert sum(sum(c.values()) for c in killed.values()) == 1  # accepted, never marked sent
        alive = worker(monday + timedelta(minutes=1), "w-alive")
        assert alive.returncode == 0 and json.loads(alive.stdout)["sent"] == 0, alive.stderr  # the lease runs
        with db.transaction() as s:  # the lease runs out (by the real clock: as if 300 s went by)
            s.execute(
                update(OutboxRow)
                .where(OutboxRow.state == "sending")
                .values(lease_until=system_now(UTC) - timedelta(seconds=1))
            )
        again = worker(monday + timedelta(minutes=6), "w-again")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["sent"] == len(owed), (
            again.stdout,
            [(r.channel, r.about, r.last_error) for r in rows(db) if r.state == "failed"],
        )
        assert json.loads(worker(monday + timedelta(minutes=7), "w-last").stdout)["sent"] == 0
        after = accepted(bot, oa)
        counts = [n for c in after.values() for n in c.values()]
        assert sorted(counts) == [1] * (len(owed) - 1) + [2], after  # one repeat at most, never more
        states = {r.id: (r.state, r.last_error or "") for r in rows(db) if r.id in {o.id for o in owed}}
        assert all(state == "sent" for state, _ in states.values()), states
        # (every row the killed worker had claimed is flagged, not only the one it was sending: see the notes)
        assert all("in doubt" in error for _, error in states.values()), states

        # The producer records the delivery over the API: the receiver verifies the signed event.
        recorded_at = monday + timedelta(hours=2)
        api = TestClient(create_app(settings, db, Clock(TZ, recorded_at)), follow_redirects=False)
        done = api.post(
            f"/api/occurrences/{OCCURRENCE}/deliveries",
            headers=headers,
            data={"published_at": "14/03/2024 19:30", "title": "Cải cách hành chính số 5", "duration": "12m"},
        )
        assert done.status_code == 201, done.text
        receiver.secret = secret
        receiver.clock = lambda: (recorded_at + timedelta(minutes=1)).timestamp()
        sent = send_notifications(rt_at(settings, db, recorded_at + timedelta(minutes=1)))
        assert sent["sent"] == 1, sent
        assert receiver.refused == [] and len(receiver.events) == 1, receiver.requests
        [event] = receiver.events
        assert event["type"] == "delivery.recorded" and OCCURRENCE in json.dumps(event), event
        [row] = rows(db, channel="webhook")
        assert row.state == "sent" and row.last_error == "HTTP 204 No Content", (
            row.last_error
        )  # the admin page shows it
    finally:
        db.close()
