"""The Zalo OA webhook through the real app, on SQLite and PostgreSQL:
signatures accepted and refused, old events refused, a follower linked end
to end with a one-time code and answered in Vietnamese, unfollow blocks
the link, and the reminder then goes by the sender."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from scheduler.clock import Clock
from scheduler.fetching.posting import post
from scheduler.notifiers import zalo
from scheduler.store import zalo_state
from scheduler.store.notifier_links import new_link_code
from scheduler.store.notifier_tables import NotifierLinkRow
from scheduler.store.people import add_user
from scheduler.web.app import create_app
from scheduler.web.zalo_hook import signature
from test_zalo import FOLLOWER, KEY, delivery, settings_for, store_refresh_token
from zalo_server import ZaloServer

OA_SECRET = "oa-secret-abc"


@pytest.fixture
def zalo_api():
    with ZaloServer() as server:
        server.followers.add(FOLLOWER)
        yield server


@pytest.fixture
def settings(zalo_api, tmp_path, db_url):
    return settings_for(zalo_api, ZALO_OA_SECRET=OA_SECRET, OUTPUTS_DIR=str(tmp_path), DATABASE_URL=db_url)


@pytest.fixture
def client(settings, database, now):
    return TestClient(create_app(settings, database, Clock(now.tzinfo, now)), follow_redirects=False)


def event(name: str, who: str, when, text: str = "", app_id: str = "1234567890") -> bytes:
    part = "follower" if name in ("follow", "unfollow") else "sender"
    data = {
        "app_id": app_id,
        "event_name": name,
        part: {"id": who},
        "recipient": {"id": "3662729599332560487"},
        "timestamp": str(int(when.timestamp() * 1000)),
    }
    if text:
        data["message"] = {"text": text, "msg_id": "cb31dff1c39642cc1b83"}
    return json.dumps(data, ensure_ascii=False).encode()


def deliver(client, body: bytes, secret: str = OA_SECRET, app_id: str = "1234567890", mac: str | None = None):
    stamp = json.loads(body)["timestamp"]
    mac = mac if mac is not None else "mac=" + signature(app_id, body, stamp, secret)
    return client.post("/hooks/zalo", content=body, headers={"X-ZEvent-Signature": mac})


def a_person(database, now) -> tuple[int, str]:
    with database.transaction() as s:
        user = add_user(s, "ban@example.vn", ["editor"], None, "Chị Bản", "vi", now)
        return user.id, new_link_code(s, "zalo", now, user_id=user.id)


def test_linked_end_to_end_then_reminded_then_unfollowed(client, database, settings, zalo_api, now):
    store_refresh_token(database, settings, zalo_api.refresh_token, now)
    user_id, code = a_person(database, now)
    answer = deliver(client, event("user_send_text", FOLLOWER, now, f"  {code} "))
    assert answer.status_code == 200, answer.text
    with database.transaction() as s:
        link = s.scalars(select(NotifierLinkRow).where(NotifierLinkRow.user_id == user_id)).one()
        assert (link.channel, link.address, link.state) == ("zalo", FOLLOWER, "active")
        assert zalo_state.last_interaction(s, FOLLOWER) == now
    [reply] = zalo_api.sent
    assert reply.path == "/v3.0/oa/message/cs" and reply.user_id == FOLLOWER
    assert reply.message["text"].startswith("Đã liên kết Zalo")
    deliver(client, event("user_send_text", FOLLOWER, now, code))  # used once: told so
    assert "không đúng" in zalo_api.sent[-1].message["text"]
    sender = zalo.sender_for(settings, database, post=post)
    assert sender is not None
    sender.send(delivery(now=now), now + timedelta(days=1))  # the reminder, inside the window
    assert zalo_api.sent[-1].message["text"].startswith("Nhắc việc")
    assert deliver(client, event("unfollow", FOLLOWER, now)).status_code == 200
    with database.transaction() as s:
        link = s.scalars(select(NotifierLinkRow).where(NotifierLinkRow.user_id == user_id)).one()
        assert link.state == "blocked" and "unfollow" in link.last_error


def test_signatures_refused(client, database, now):
    user_id, code = a_person(database, now)
    body = event("user_send_text", FOLLOWER, now, code)
    assert deliver(client, body, secret="another-secret").status_code == 401
    assert deliver(client, body, app_id="999").status_code == 401
    assert deliver(client, body, mac="").status_code == 401
    tampered = body.replace(FOLLOWER.encode(), b"6142494823000000999")
    stamp = json.loads(body)["timestamp"]
    signed_for_the_original = "mac=" + signature("1234567890", body, stamp, OA_SECRET)
    assert deliver(client, tampered, mac=signed_for_the_original).status_code == 401
    assert deliver(client, event("user_send_text", FOLLOWER, now - timedelta(hours=2), code)).status_code == 401
    with database.transaction() as s:
        assert s.scalars(select(NotifierLinkRow)).all() == []
        assert zalo_state.last_interaction(s, FOLLOWER) is None
    assert deliver(client, body).status_code == 200  # the same, rightly signed
    with database.transaction() as s:
        assert s.scalars(select(NotifierLinkRow.address)).all() == [FOLLOWER]


def test_bounded_and_never_500(client, now):
    assert client.post("/hooks/zalo", content=b"x" * (70 * 1024)).status_code == 413
    assert client.post("/hooks/zalo", content=b"\xff\xfe not json").status_code == 400
    assert client.post("/hooks/zalo", content=b'["a list"]').status_code == 400
    no_stamp = json.dumps({"event_name": "follow", "follower": {"id": "1"}, "timestamp": "soon"}).encode()
    assert deliver(client, no_stamp).status_code == 400
    old = json.dumps({"event_name": "user_send_text", "sender": {"id": "1"}, "timestamp": "1"}).encode()
    assert deliver(client, old).status_code == 401
    stamp = str(int(now.timestamp() * 1000))
    odd = json.dumps({"event_name": "user_send_text", "sender": {"id": ["x"]}, "timestamp": stamp}).encode()
    assert deliver(client, odd).status_code == 200  # signed but about nobody: nothing done


def test_not_configured_is_404(database, now, tmp_path, db_url, zalo_api):
    settings = settings_for(zalo_api, OUTPUTS_DIR=str(tmp_path), DATABASE_URL=db_url)
    client = TestClient(create_app(settings, database, Clock(now.tzinfo, now)))
    assert client.post("/hooks/zalo", content=event("follow", FOLLOWER, now)).status_code == 404


def test_a_follow_opens_the_window_and_a_text_without_code_gets_no_answer(client, database, zalo_api, now):
    assert deliver(client, event("follow", FOLLOWER, now)).status_code == 200
    assert deliver(client, event("user_send_text", FOLLOWER, now, "xin chào")).status_code == 200
    with database.transaction() as s:
        assert zalo_state.last_interaction(s, FOLLOWER) == now
    assert zalo_api.sent == []


assert KEY  # the same sealing key as the sender's tests
