"""Signed webhooks on SQLite and PostgreSQL: each event emitted by the real
action (a load, a delivery recorded through the API, the daemon's at-risk
and missed planning, a period closed), sent through the outbox, signed and
verified by a receiver with its own copy of the docs' verification; the
answers (500, 429 with Retry-After, 410, a dropped connection, a refused
signature) retried with backoff or not; the secret sealed in the database
and never logged."""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import scheduler.daemon.jobs as jobs
from html_tree import html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.notifiers.chat import Delivery
from scheduler.notifiers.webhooks import sender_for
from scheduler.reminders.outbox import PermanentFailure, TemporaryFailure, Unreachable
from scheduler.reminders.webhook_signing import headers, new_secret
from scheduler.settings import Settings
from scheduler.store import outbox, webhooks
from scheduler.store.notifier_tables import WebhookRow
from scheduler.store.people import find_user
from scheduler.store.provider_secrets import sealer_of
from scheduler.store.tables import OutboxRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password
from web_session import signed_in
from webhook_receiver import WebhookReceiver, verify

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.1"
PRODUCER, DHA = "prod@dai.example", "dha@snv.example"
EVERY = "occurrence.at_risk,occurrence.missed,delivery.recorded,period.closed,plan.loaded"


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("NOTIFY_ALLOW", "127.0.0.1")
    monkeypatch.setenv("NOTIFY_TIMEOUT", "3")
    monkeypatch.setenv("OUTPUTS_DIR", str(tmp_path / "outputs"))


def secret_in(out: str) -> str:
    """The secret ``webhooks add`` prints once (in the user's language)."""
    (secret,) = re.findall(r"whsec_[A-Za-z0-9+/=]+", out)
    return secret


def at(text: str) -> datetime:
    return parse_now(text, DEFAULT_TZ)


def deliver(database, now: datetime) -> Counter:
    """What the notify job does with webhook rows (built by another part of
    issue 19): claim, find the endpoint, one attempt, mark."""
    settings = Settings.load()
    sender = sender_for(settings, database)
    assert sender is not None
    done: Counter = Counter()
    with database.transaction() as s:
        rows = outbox.claim(s, "test", now, timedelta(minutes=5), channels=("webhook",))
        targets = {r.id: webhooks.endpoint(s, sealer_of(settings), webhooks.webhook_of(r.recipient)) for r in rows}
    for r in rows:
        target = targets[r.id]
        d = Delivery(r.id, outbox.as_message(r), r.message_id, target.url, secret=target.secret)
        with database.transaction() as s:
            try:
                sender.send(d, now)
                outbox.mark_sent(s, r.id, "test", now)
                done["sent"] += 1
            except PermanentFailure as e:
                outbox.mark_failed(s, r.id, "test", str(e))
                done["failed"] += 1
            except TemporaryFailure as e:
                outbox.mark_retry(s, r.id, "test", now, str(e))
                done["retried"] += 1
            webhooks.keep_status(s, r.id, sender.last_status)
    return done


def webhook_rows(database) -> list[OutboxRow]:
    with database.transaction() as s:
        found = list(s.scalars(select(OutboxRow).where(OutboxRow.channel == "webhook").order_by(OutboxRow.id)))
        s.expunge_all()
        return found


def test_the_signature_is_the_specs_and_the_receivers_own_lines_verify_it():
    spec = headers(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    )
    assert spec["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    secret = new_secret()
    signed = headers(secret, "evt_1", 1_700_000_000, '{"a":"Sở"}'.encode())
    assert verify(secret, signed, '{"a":"Sở"}'.encode(), 1_700_000_100)
    assert not verify(secret, signed, b'{"a":"So"}', 1_700_000_100)
    assert not verify(new_secret(), signed, '{"a":"Sở"}'.encode(), 1_700_000_100)
    assert not verify(secret, signed, '{"a":"Sở"}'.encode(), 1_700_000_000 + 301)


def test_every_event_is_emitted_by_its_action_delivered_signed_and_verified(env, cli, database, db_url, caplog):
    caplog.set_level(logging.DEBUG)
    with WebhookReceiver() as receiver:
        added = cli("webhooks", "add", receiver.url, "--events", EVERY, "--description", "Cổng tỉnh")
        assert added.code == 0, added.err
        receiver.secret = secret_in(added.out)
        assert receiver.secret.startswith("whsec_") and added.out.count(receiver.secret) == 1
        listed = cli("webhooks", "list")
        assert receiver.url in listed.out and receiver.secret not in listed.out

        def send_at(text: str) -> Counter:
            moment = at(text) + timedelta(minutes=1)  # the service's clock ran on a little since
            receiver.clock = moment.timestamp
            return deliver(database, moment)

        assert cli("load", "--now", "2024-02-20").code == 0  # plan.loaded, in the load's transaction
        assert send_at("2024-02-20 00:00") == Counter(sent=1)
        (loaded,) = receiver.events
        assert loaded["type"] == "plan.loaded" and loaded["data"]["code"] == "phu-tho-2024"
        assert loaded["data"]["counts"]["created"] == loaded["data"]["counts"]["occurrences"] > 0
        assert len(loaded["data"]["digest"]) == 64

        settings = Settings.load(env={"DATABASE_URL": db_url})
        rt = jobs.runtime(settings, database, Clock(TZ, at("2024-03-04 09:00")))
        jobs.close_windows(rt)
        jobs.plan_reminders(rt)  # February's missed, March's at risk
        jobs.plan_reminders(rt)  # planned again: nothing new
        email = {(r.kind, r.about) for r in outbox_rows(database) if r.kind in ("at_risk", "overdue")}
        planned = [r for r in webhook_rows(database) if r.kind.startswith("occurrence.")]
        assert {(r.kind, r.about) for r in planned} == {
            ({"at_risk": "occurrence.at_risk", "overdue": "occurrence.missed"}[k], a) for k, a in email
        }
        assert len(planned) == len({(r.kind, r.about) for r in planned})  # once per occurrence and moment
        assert {r.kind for r in planned} == {"occurrence.missed"}  # at risk: later in March, below
        assert send_at("2024-03-04 09:00") == Counter(sent=len(planned))
        missed = next(e for e in receiver.events if e["type"] == "occurrence.missed")
        assert missed["data"]["occurrence"]["status"] == "missing"
        assert missed["data"]["occurrence"]["link"].endswith("/o/" + missed["data"]["occurrence"]["id"])

        for email_, role, agency in ((PRODUCER, "producer", "dai-ptth"), (DHA, "dha", "so-noi-vu")):
            assert cli("users", "add", email_, "--role", role, "--agency", agency).code == 0
        token = cli("tokens", "create", "--user", PRODUCER).out.strip().splitlines()[-1]
        app = create_app(Settings.load(), database, Clock(DEFAULT_TZ, at("2024-03-20 10:00")))
        r = TestClient(app).post(
            f"/api/occurrences/{EPISODE}/deliveries",
            headers={"Authorization": f"Bearer {token}"},
            data={"aired_at": "14/03/2024 19:30", "duration": "00:10:30", "title": "Số 1 tháng 3"},
        )
        assert r.status_code == 201, r.text
        assert send_at("2024-03-20 10:00") == Counter(sent=1)
        recorded = receiver.events[-1]
        assert recorded["type"] == "delivery.recorded" and recorded["data"]["occurrence"]["id"] == EPISODE
        assert recorded["data"]["entry"]["recorded_by"] == PRODUCER and recorded["data"]["entry"]["seq"] > 0
        assert recorded["data"]["occurrence"]["status"] == "on_time"

        rt = jobs.runtime(settings, database, Clock(TZ, at("2024-03-27 09:00")))
        jobs.plan_reminders(rt)
        at_risk = [r for r in webhook_rows(database) if r.kind == "occurrence.at_risk"]
        email = {r.about for r in outbox_rows(database) if r.kind == "at_risk"}
        assert at_risk and {r.about for r in at_risk} == email and EPISODE not in email  # delivered: not at risk
        assert send_at("2024-03-27 09:00") == Counter(sent=len(at_risk))
        assert receiver.events[-1]["type"] == "occurrence.at_risk"

        closed = cli("periods", "close", "2024-Q1", "--by", DHA, "--now", "2024-04-02 09:00")
        assert closed.code == 0, closed.err
        assert send_at("2024-04-02 09:00") == Counter(sent=1)
        period = receiver.events[-1]
        assert period["type"] == "period.closed" and period["data"]["label"] == "2024-Q1"
        assert period["data"]["plan"] == "phu-tho-2024"

    assert receiver.refused == [] and len(receiver.events) == len(receiver.requests)
    for sent, event in zip(receiver.requests, receiver.events, strict=True):
        assert sent["headers"]["webhook-id"] == event["id"] and sent["headers"]["content-type"].startswith(
            "application/json"
        )
        assert sent["headers"]["user-agent"].startswith("LichTuyenTruyen-Webhooks/")
    rows = webhook_rows(database)
    assert [r.message_id for r in rows] == [e["id"] for e in receiver.events]
    assert all(r.state == "sent" and r.recipient == "webhook:1" for r in rows)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert receiver.secret not in logged and receiver.secret.removeprefix("whsec_") not in logged


def outbox_rows(database) -> list[OutboxRow]:
    with database.transaction() as s:
        found = list(s.scalars(select(OutboxRow).where(OutboxRow.channel == "email")))
        s.expunge_all()
        return found


def test_failures_are_retried_with_backoff_or_not_and_the_last_answer_is_kept(env, cli, database, db_url, tmp_path):
    with WebhookReceiver() as receiver:
        added = cli("webhooks", "add", receiver.url, "--events", "plan.loaded")
        receiver.secret = secret_in(added.out)
        assert cli("load", "--now", "2024-02-20").code == 0
        moment = at("2024-02-20 08:00")
        receiver.clock = lambda: moment.timestamp()
        receiver.plan("500", "drop", "429")
        assert deliver(database, moment) == Counter(retried=1)
        (row,) = webhook_rows(database)
        assert row.state == "pending" and row.attempts == 1 and "HTTP 500" in row.last_error
        assert "Lỗi máy chủ" in row.last_error and row.next_attempt_at > moment
        moment += timedelta(hours=1)
        assert deliver(database, moment) == Counter(retried=1)  # the connection dropped
        moment += timedelta(hours=1)
        assert deliver(database, moment) == Counter(retried=1)  # 429
        (row,) = webhook_rows(database)
        assert row.attempts == 3 and "HTTP 429" in row.last_error
        moment += timedelta(hours=1)
        assert deliver(database, moment) == Counter(sent=1)
        assert len(receiver.events) == 1 and receiver.refused == []
        ids = {r["headers"]["webhook-id"] for r in receiver.requests}
        stamps = [r["headers"]["webhook-timestamp"] for r in receiver.requests]
        assert ids == {row.message_id} and len(set(stamps)) == 4  # one event id, signed anew each attempt

        # one attempt each, straight through the sender: what each answer means
        settings = Settings.load()
        sender = sender_for(settings, database)
        message = replace(outbox.as_message(row), context={**row.context, "id": "evt_direct"})
        good = Delivery(row.id, message, "evt_direct", receiver.url, secret=receiver.secret)
        receiver.clock = lambda: datetime.now(UTC).timestamp()
        now = datetime.now(UTC)
        receiver.plan("429")
        with pytest.raises(TemporaryFailure) as slow:
            sender.send(good, now)
        assert slow.value.retry_after == 120.0
        receiver.plan("410")
        with pytest.raises(Unreachable):
            sender.send(good, now)
        with pytest.raises(PermanentFailure) as refused:  # a wrong secret: 401, not retried
            sender.send(Delivery(row.id, message, "evt_other", receiver.url, secret=new_secret()), now)
        assert not isinstance(refused.value, Unreachable) and "HTTP 401" in str(refused.value)
        with pytest.raises(PermanentFailure):  # stale: signed an hour ago
            sender.send(
                Delivery(row.id, message, "evt_late", receiver.url, secret=receiver.secret), now - timedelta(hours=1)
            )
        sender.send(good, now)
        sender.send(good, now + timedelta(seconds=5))  # a resend after a crash: acknowledged, not processed twice
        assert receiver.refused == ["signature or timestamp", "signature or timestamp", "replay"]
        assert [e["id"] for e in receiver.events] == [row.message_id, "evt_direct"]

    with pytest.raises(TemporaryFailure):  # nobody listens any more
        sender.send(good, now)


def test_the_secret_is_sealed_in_the_database_and_the_cli_tests_and_removes(env, cli, database, db_url):
    with WebhookReceiver() as receiver:
        added = cli("webhooks", "add", receiver.url, "--events", "period.closed,plan.loaded")
        secret = secret_in(added.out)
        receiver.secret = secret
        with database.transaction() as s:
            (row,) = s.scalars(select(WebhookRow))
            assert secret not in row.secret_sealed and row.events == ["period.closed", "plan.loaded"]
            assert sealer_of(Settings.load()).open(row.secret_sealed) == secret
        if db_url.startswith("sqlite"):
            raw = Path(db_url.removeprefix("sqlite:///")).read_bytes()
            assert secret.encode() not in raw and secret.removeprefix("whsec_").encode() not in raw
        tested = cli("webhooks", "test", "1")
        assert tested.code == 0, tested.err
        assert tested.out.startswith("HTTP 20") and receiver.events[-1]["type"] == "webhook.test"
        receiver.plan("500")
        failed = cli("webhooks", "test", "1")
        assert failed.code == 1 and "HTTP 500" in failed.out
        assert [r.state for r in webhook_rows(database)] == ["sent", "failed"]
        assert "refused" not in cli("webhooks", "remove", "1").err
        assert cli("webhooks", "list").out == ""
        assert cli("load", "--now", "2024-02-20").code == 0  # removed: no event
        assert len(webhook_rows(database)) == 2
        assert cli("webhooks", "test", "1").code == 1
    bad = cli("webhooks", "add", "ftp://x.example/", "--events", "plan.loaded")
    assert bad.code == 1 and "http://" in bad.err
    unknown = cli("webhooks", "add", "https://x.example/", "--events", "plan.saved")
    assert unknown.code == 1 and "occurrence.at_risk" in unknown.err


def test_the_admin_page_adds_shows_the_secret_once_tests_lists_deliveries_and_removes(env, cli, database):
    assert cli("users", "add", "admin@x.example", "--role", "admin").code == 0
    with database.transaction() as s:
        set_password(s, find_user(s, "admin@x.example"), "mat-khau-du-dai", at("2024-03-01 09:00"))
    app = create_app(Settings.load(), database, Clock(DEFAULT_TZ, datetime.now(UTC)))
    client = signed_in(app, "admin@x.example", "mat-khau-du-dai")
    with WebhookReceiver() as receiver:
        page = client.get("/admin/webhooks")
        assert page.status_code == 200 and ("No webhook yet." in page.text or "Chưa có webhook" in page.text)
        token = html(page).one("form", id="add-webhook").one("input", name="csrf").attrs["value"]
        wrong = client.post("/admin/webhooks", data={"csrf": token, "url": "ftp://x", "events": ["plan.loaded"]})
        assert wrong.status_code == 422 and "ftp://x" in wrong.text
        added = client.post(
            "/admin/webhooks",
            data={"csrf": token, "url": receiver.url, "events": ["plan.loaded", "period.closed"], "description": "Sở"},
        )
        assert added.status_code == 200 and added.headers["cache-control"] == "no-store"
        receiver.secret = html(added).one("code", id="secret").text()
        assert receiver.secret.startswith("whsec_")
        again = client.get("/admin/webhooks")
        assert receiver.secret not in again.text and receiver.url in again.text
        tested = client.post("/admin/webhooks/1/test", data={"csrf": token})
        assert tested.status_code == 200 and "HTTP 20" in html(tested).one("p", id="tested").text()
        assert receiver.events[-1]["type"] == "webhook.test"
        receiver.plan("410")
        gone = client.post("/admin/webhooks/1/test", data={"csrf": token})
        assert "HTTP 410" in gone.text and "410 Gone" in html(gone).one("section", id="webhook-1").text()
        rows = html(client.get("/admin/webhooks")).one("section", id="webhook-1").all("tr")
        assert len(rows) == 3  # the header and two deliveries
        assert client.post("/admin/webhooks/99/test", data={"csrf": token}).status_code == 404
        assert client.post("/admin/webhooks/1/remove", data={"csrf": token}).status_code == 303
        assert receiver.url not in client.get("/admin/webhooks").text
        assert client.post("/admin/webhooks/1/remove", data={"csrf": token}).status_code == 404
        assert client.post("/admin/webhooks/x/remove", data={"csrf": token}).status_code == 404


def test_the_docs_ten_lines_verify_what_we_send():
    text = (Path(__file__).resolve().parent.parent / "docs" / "webhooks.md").read_text()
    code = text.split("```python\n")[1].split("```")[0]
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    namespace: dict = {}
    exec(code, namespace)  # the documented receiver, as a subscriber copies it
    secret, body = new_secret(), b'{"type":"plan.loaded","id":"evt_1"}'
    now = int(datetime.now(UTC).timestamp())
    assert namespace["verify"](secret, headers(secret, "evt_1", now, body), body)
    assert not namespace["verify"](secret, headers(secret, "evt_1", now - 600, body), body)  # stale
    assert not namespace["verify"](secret, headers(new_secret(), "evt_1", now, body), body)
