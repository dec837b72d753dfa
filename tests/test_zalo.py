"""The Zalo OA channel against a local fake of its API (tests/zalo_server.py),
on SQLite and PostgreSQL: tokens refreshed before they expire, each
single-use refresh token spent once even by two processes at once, every
error mapped, tokens never in errors or logs."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest

from scheduler.fetching.posting import post
from scheduler.notifiers import zalo
from scheduler.notifiers.chat import Delivery
from scheduler.reminders.outbox import Message, PermanentFailure, TemporaryFailure, Unreachable
from scheduler.sealing import new_key
from scheduler.settings import Settings
from scheduler.store import zalo_state
from scheduler.store.notifier_tables import ProviderSecretRow
from scheduler.store.provider_secrets import sealer_of
from zalo_server import ZaloServer

FOLLOWER = "6142494823000000001"
TEXT = "Nhắc việc: Bản tin thời sự, hạn 16/03 17:00\nhttps://lich.example.vn/o/42"


@pytest.fixture
def zalo_api():
    with ZaloServer() as server:
        server.followers.add(FOLLOWER)
        yield server


def settings_for(server: ZaloServer, **more: str) -> Settings:
    env = {
        "NOTIFIER_KEY": KEY,
        "ZALO_APP_ID": server.app_id,
        "ZALO_APP_SECRET": server.app_secret,
        "ZALO_API": server.url,
        "ZALO_OAUTH_API": server.url,
        "NOTIFY_ALLOW": "127.0.0.1",
        "NOTIFY_TIMEOUT": "3",
        **more,
    }
    return Settings.load(env)


KEY = new_key()


def store_refresh_token(database, settings: Settings, token: str, now) -> None:
    with database.transaction() as s:
        zalo_state.keep_first_refresh_token(s, sealer_of(settings), token, now)


def delivery(address: str = FOLLOWER, now=None) -> Delivery:
    assert now is not None
    m = Message("due", "occ-42", "ban@example.vn", now, now, now + timedelta(days=1), channel="zalo")
    return Delivery(1, m, "<42@lich>", address, TEXT)


@pytest.fixture
def sender(database, zalo_api, now):
    settings = settings_for(zalo_api)
    store_refresh_token(database, settings, zalo_api.refresh_token, now)
    made = zalo.sender_for(settings, database, post=post)
    assert made is not None
    return made


def stored(database, name: str) -> ProviderSecretRow:
    with database.transaction() as s:
        row = s.get(ProviderSecretRow, name)
        assert row is not None
        s.expunge(row)
        return row


def test_not_configured_without_app_secret_or_refresh_token(database, zalo_api, now):
    settings = settings_for(zalo_api)
    assert zalo.sender_for(settings, database, post=post) is None  # no refresh token yet
    store_refresh_token(database, settings, zalo_api.refresh_token, now)
    assert zalo.sender_for(settings, database).post is post  # the safe POST unless a test gives one
    assert zalo.sender_for(settings_for(zalo_api, ZALO_APP_SECRET=""), database, post=post) is None
    assert zalo.sender_for(settings, database, post=post) is not None


def test_a_consultation_message_after_one_refresh_whose_new_pair_is_stored_sealed(database, sender, zalo_api, now):
    first = zalo_api.refresh_token
    sender.send(delivery(now=now), now)
    assert [(m.path, m.user_id, m.message["text"]) for m in zalo_api.sent] == [("/v3.0/oa/message/cs", FOLLOWER, TEXT)]
    assert zalo_api.spent == [first]
    access, refresh = stored(database, zalo_state.ACCESS), stored(database, zalo_state.REFRESH)
    assert access.expires_at == now + timedelta(seconds=zalo_api.expires_in)
    assert zalo_api.refresh_token not in refresh.sealed and zalo_api.sent[0].access_token not in access.sealed
    with database.transaction() as s:
        tokens = zalo_state.read_tokens(s, sealer_of(settings_for(zalo_api)))
    assert tokens is not None and tokens.refresh == zalo_api.refresh_token
    sender.send(delivery(now=now), now + timedelta(hours=2))  # still 23 h left: no refresh
    assert len(zalo_api.spent) == 1 and len(zalo_api.sent) == 2


def test_refreshed_before_it_expires(sender, zalo_api, now):
    sender.send(delivery(now=now), now)
    later = now + timedelta(seconds=zalo_api.expires_in) - timedelta(minutes=50)  # under an hour left
    sender.send(delivery(now=now), later)
    assert len(zalo_api.spent) == 2
    assert zalo_api.sent[0].access_token != zalo_api.sent[1].access_token
    assert zalo_api.refused_refresh == []


def test_an_invalid_access_token_is_refreshed_once_and_the_message_sent(sender, zalo_api, now):
    sender.send(delivery(now=now), now)
    zalo_api.expire_access_tokens()  # Zalo revoked it early
    sender.send(delivery(now=now), now + timedelta(minutes=5))
    assert len(zalo_api.spent) == 2 and len(zalo_api.sent) == 2
    zalo_api.script[:] = [-216, -216]  # refused again after the refresh: temporary, no third try
    with pytest.raises(TemporaryFailure):
        sender.send(delivery(now=now), now + timedelta(minutes=6))
    assert len(zalo_api.sent) == 2 and len(zalo_api.spent) == 3


def test_two_processes_refresh_with_one_single_use_token_once(database, zalo_api, now):
    settings = settings_for(zalo_api)
    store_refresh_token(database, settings, zalo_api.refresh_token, now)
    zalo_api.refresh_delay = 0.3  # both ask while the first refresh is under way
    senders = [zalo.ZaloSender(settings, type(database)(database.url), post) for _ in range(2)]
    errors: list[BaseException] = []

    def send(s) -> None:
        try:
            s.send(delivery(now=now), now)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=send, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    for s in senders:
        s.db.close()
    assert errors == []
    assert len(zalo_api.spent) == 1 and zalo_api.refused_refresh == []
    assert len(zalo_api.sent) == 2 and zalo_api.sent[0].access_token == zalo_api.sent[1].access_token


@pytest.mark.parametrize(
    ("step", "raised", "after"),
    [
        (-213, Unreachable, None),
        (-227, Unreachable, None),
        (-32, TemporaryFailure, 60.0),
        (-211, TemporaryFailure, 3600.0),
        (-201, PermanentFailure, None),
        (("http", 429, 17), TemporaryFailure, 17.0),
        (("http", 503, 5), TemporaryFailure, 5.0),
        ("drop", TemporaryFailure, None),
    ],
)
def test_each_answer_mapped(sender, zalo_api, now, step, raised, after):
    sender.send(delivery(now=now), now)  # the tokens first
    zalo_api.script.append(step)
    with pytest.raises(raised) as caught:
        sender.send(delivery(now=now), now)
    assert type(caught.value) is raised or raised is TemporaryFailure
    if raised is PermanentFailure:
        assert not isinstance(caught.value, Unreachable)
    assert getattr(caught.value, "retry_after", None) == after
    assert "-" in str(caught.value) or "HTTP" in str(caught.value) or "send" in str(caught.value)


def test_a_user_who_does_not_follow_is_unreachable(sender, now):
    with pytest.raises(Unreachable, match="-213"):
        sender.send(delivery("999", now=now), now)


def test_outside_the_window_without_a_template_is_permanent_and_not_sent(database, sender, zalo_api, now):
    with database.transaction() as s:
        zalo_state.note_interaction(s, FOLLOWER, now - timedelta(days=8))
    with pytest.raises(PermanentFailure, match="ZALO_TRANSACTION_TEMPLATE") as caught:
        sender.send(delivery(now=now), now)
    assert not isinstance(caught.value, Unreachable) and zalo_api.sent == []
    zalo_api.script.append(-230)  # Zalo's own word on the window, with no record of ours
    with database.transaction() as s:
        zalo_state.note_interaction(s, FOLLOWER, now)
    with pytest.raises(PermanentFailure, match="-230.*write to the OA first"):
        sender.send(delivery(now=now), now)


def test_outside_the_window_a_transaction_message_when_a_template_is_set(database, zalo_api, now):
    settings = settings_for(zalo_api, ZALO_TRANSACTION_TEMPLATE="transaction_event")
    store_refresh_token(database, settings, zalo_api.refresh_token, now)
    sender = zalo.ZaloSender(settings, database, post)
    with database.transaction() as s:
        zalo_state.note_interaction(s, FOLLOWER, now - timedelta(days=30))
    sender.send(delivery(now=now), now)
    zalo_api.script.append(-230)
    with database.transaction() as s:
        zalo_state.note_interaction(s, FOLLOWER, now)
    sender.send(delivery(now=now), now)  # cs refused for the window: the template instead
    assert [m.path for m in zalo_api.sent] == ["/v3.0/oa/message/transaction"] * 2
    payload = zalo_api.sent[0].message["attachment"]["payload"]
    assert payload["template_type"] == "transaction_event"
    assert payload["elements"][0]["content"].startswith("Nhắc việc")
    assert payload["buttons"][0]["payload"]["url"] == "https://lich.example.vn/o/42"


def test_a_refused_refresh_token_waits_and_never_shows_a_token(database, zalo_api, now, caplog):
    settings = settings_for(zalo_api)
    store_refresh_token(database, settings, "rt-not-the-right-one", now)
    sender = zalo.ZaloSender(settings, database, post)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(TemporaryFailure, match="zalo token") as caught:
        sender.send(delivery(now=now), now)
    assert caught.value.retry_after == 3600.0
    shown = str(caught.value) + repr(caught.value) + repr(sender) + caplog.text
    for secret in ("rt-not-the-right-one", zalo_api.refresh_token, zalo_api.app_secret):
        assert secret not in shown


def test_tokens_never_in_errors_or_logs(database, sender, zalo_api, now, caplog):
    caplog.set_level(logging.DEBUG)
    sender.send(delivery(now=now), now)
    shown = repr(sender) + caplog.text
    for step in (-213, -32, ("http", 503, 1), "drop", -999):
        zalo_api.script.append(step)
        with pytest.raises((TemporaryFailure, PermanentFailure)) as caught:
            sender.send(delivery(now=now), now)
        shown += str(caught.value) + repr(caught.value)
    for secret in (zalo_api.refresh_token, *zalo_api.spent, *zalo_api.access_tokens, zalo_api.app_secret):
        assert secret not in shown
