"""The Telegram channel against a fake Bot API on 127.0.0.1: what each of
its answers means for a message, and the poller that links a person and a
group with /start CODE (SQLite and PostgreSQL). The token never shows."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.clock import Clock
from scheduler.daemon.jobs import JOBS
from scheduler.daemon.runner import INTERVALS
from scheduler.daemon.runtime import runtime
from scheduler.daemon.telegram_updates import telegram_updates
from scheduler.notifiers import telegram
from scheduler.notifiers.chat import Delivery
from scheduler.notifiers.telegram_api import MAX_TEXT
from scheduler.reminders.outbox import Message, PermanentFailure, TemporaryFailure, Unreachable
from scheduler.settings import Settings
from scheduler.store import notifier_links, telegram_chats
from scheduler.store.database import Database
from scheduler.store.notifier_tables import GroupChatRow, LinkCodeRow, NotifierLinkRow
from scheduler.store.people import add_user
from scheduler.store.tables import CounterRow, HarvestHostRow
from telegram_server import TelegramServer

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 3, 15, 9, 0, tzinfo=TZ)
TOKEN = "123456:TEST-token_ABCdef"
LINK = "https://lich.example.vn/o/phu-tho.bao.2024-03.1"
PERSON = {"id": 5550001, "type": "private", "first_name": "Lan", "last_name": "Nguyễn", "username": "lan_bao"}
GROUP = {"id": -4001234567, "type": "group", "title": "Phòng Thời sự"}


@pytest.fixture
def bot():
    with TelegramServer(TOKEN) as server:
        yield server


def settings_of(bot, tmp_path, db_url="sqlite://", **more) -> Settings:
    env = {**bot.env, "OUTPUTS_DIR": str(tmp_path / "out"), "DATABASE_URL": db_url, **more}
    return Settings.load(env=env)


def delivery(chat: str = "5550001", text: str = "Nhắc việc: Bản tin thời sự, hạn 16/03\n" + LINK) -> Delivery:
    message = Message("due", "phu-tho.bao.2024-03.1", "lan@bao.vn", NOW, NOW, NOW + timedelta(days=1))
    return Delivery(1, message, "<abc@lich>", chat, text)


def sender(bot, tmp_path, db=None, **more) -> telegram.TelegramSender:
    made = telegram.sender_for(settings_of(bot, tmp_path, **more), db)  # type: ignore[arg-type]
    assert isinstance(made, telegram.TelegramSender)
    return made


def test_a_message_goes_to_send_message_with_the_chat_and_text(bot, tmp_path):
    sender(bot, tmp_path).send(delivery(), NOW)
    call = bot.calls[-1]
    assert call.method == "sendMessage" and call.path == f"/bot{TOKEN}/sendMessage"
    assert call.payload == {
        "chat_id": "5550001",
        "text": "Nhắc việc: Bản tin thời sự, hạn 16/03\n" + LINK,
        "link_preview_options": {"is_disabled": True},
    }


def test_no_token_no_sender_and_a_token_file_is_read(bot, tmp_path):
    assert telegram.sender_for(settings_of(bot, tmp_path, TELEGRAM_BOT_TOKEN=""), None) is None  # type: ignore[arg-type]
    env = {**bot.env, "OUTPUTS_DIR": str(tmp_path), "TELEGRAM_BOT_TOKEN": ""}
    assert telegram.sender_for(Settings.load(env=env), None) is None  # type: ignore[arg-type]
    (tmp_path / "token").write_text(TOKEN + "\n")
    env["TELEGRAM_BOT_TOKEN_FILE"] = str(tmp_path / "token")
    made = telegram.sender_for(Settings.load(env=env), None)  # type: ignore[arg-type]
    assert made is not None
    made.send(delivery(), NOW)
    assert bot.calls[-1].path == f"/bot{TOKEN}/sendMessage"


def test_too_many_requests_waits_for_retry_after(bot, tmp_path):
    bot.fail("429", retry_after=37)
    with pytest.raises(TemporaryFailure) as caught:
        sender(bot, tmp_path).send(delivery(), NOW)
    assert caught.value.retry_after == 37 and "429" in str(caught.value)


@pytest.mark.parametrize("kind", ["blocked", "deactivated", "kicked", "not_found"])
def test_a_chat_that_is_gone_is_unreachable(bot, tmp_path, kind):
    bot.fail(kind)
    with pytest.raises(Unreachable) as caught:
        sender(bot, tmp_path).send(delivery(), NOW)
    assert ("403" if kind != "not_found" else "chat not found") in str(caught.value)


def test_another_bad_request_is_permanent_not_unreachable(bot, tmp_path):
    bot.fail("bad_request")
    with pytest.raises(PermanentFailure) as caught:
        sender(bot, tmp_path).send(delivery(), NOW)
    assert not isinstance(caught.value, Unreachable) and "too long" in str(caught.value)


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_a_server_error_or_a_dropped_connection_is_temporary(bot, tmp_path, kind):
    bot.fail(kind)
    with pytest.raises(TemporaryFailure) as caught:
        sender(bot, tmp_path).send(delivery(), NOW)
    assert not isinstance(caught.value, PermanentFailure)
    assert TOKEN not in str(caught.value) and ("/bot***/sendMessage" in str(caught.value) or kind == "500")


def test_a_refused_token_waits_is_logged_once_and_never_shown(bot, tmp_path, caplog):
    wrong = "999:WRONG-secret-token"
    made = sender(bot, tmp_path, TELEGRAM_BOT_TOKEN=wrong)
    errors = []
    with caplog.at_level(logging.DEBUG):
        for _ in range(3):
            with pytest.raises(TemporaryFailure) as caught:
                made.send(delivery(), NOW)
            errors.append(caught.value)
    assert all(e.retry_after == telegram.BAD_TOKEN_WAIT and "TELEGRAM_BOT_TOKEN" in str(e) for e in errors)
    assert [r.levelname for r in caplog.records if r.name.startswith("scheduler.notify")] == ["ERROR"]
    assert all(wrong not in str(e) for e in errors) and wrong not in caplog.text


def test_the_token_is_masked_when_the_connection_fails(bot, tmp_path, caplog):
    closed = TelegramServer(TOKEN)  # bound, never serving: the connection is refused or dropped
    closed.httpd.server_close()
    made = sender(bot, tmp_path, TELEGRAM_API=closed.api)
    with pytest.raises(TemporaryFailure) as caught:
        made.send(delivery(), NOW)
    assert TOKEN not in str(caught.value) and "/bot***/sendMessage" in str(caught.value)


def test_a_long_text_is_cut_safely_and_keeps_its_link(bot, tmp_path):
    text = "Lịch 📅 " * 900 + "\n" + LINK  # 7 200 characters, emoji are two UTF-16 units
    sender(bot, tmp_path).send(delivery(text=text), NOW)
    sent = bot.sent()[-1]["text"]
    assert len(sent.encode("utf-16-le")) // 2 <= MAX_TEXT
    assert sent.endswith("…\n" + LINK) and sent.startswith("Lịch 📅 Lịch")
    sent.encode("utf-8")  # no half of a surrogate pair


def test_a_group_that_became_a_supergroup_is_followed(bot, tmp_path, database):
    with database.transaction() as s:
        s.add(
            GroupChatRow(agency_code="bao", channel="telegram", address=str(GROUP["id"]), kinds=["due"], linked_at=NOW)
        )
    bot.fail("migrated", migrate_to=-1009876543210)
    sender(bot, tmp_path, db=database).send(delivery(chat=str(GROUP["id"])), NOW)
    assert [c["chat_id"] for c in bot.sent()] == [str(GROUP["id"]), "-1009876543210"]
    with database.transaction() as s:
        assert s.scalars(select(GroupChatRow.address)).all() == ["-1009876543210"]


# The poller ---------------------------------------------------------------


def rt_of(bot, tmp_path, db_url, database, owner="w1", **more):
    rt = runtime(settings_of(bot, tmp_path, db_url, **more), database, Clock(TZ, NOW))
    rt.owner = owner
    return rt


def person_code(database: Database) -> tuple[int, str]:
    with database.transaction() as s:
        user = add_user(s, "lan@bao.vn", ["editor"], None, "Nguyễn Lan", "vi", NOW)
        return user.id, notifier_links.new_link_code(s, "telegram", NOW, user_id=user.id)


def test_the_job_is_registered():
    assert JOBS["telegram_updates"] is telegram_updates and INTERVALS["telegram_updates"] == 1


def test_the_poller_links_a_person_answers_and_never_reads_an_update_twice(bot, tmp_path, db_url, database):
    user_id, code = person_code(database)
    rt = rt_of(bot, tmp_path, db_url, database)
    update_id = bot.message(PERSON, f"/start {code}")
    assert telegram_updates(rt) == {"updates": 1, "linked": 1, "refused": 0, "blocked": 0}
    asked = next(c.payload for c in bot.calls if c.method == "getUpdates")
    assert asked["allowed_updates"] == ["message", "my_chat_member"] and asked["timeout"] == 0
    with database.transaction() as s:
        link = s.scalars(select(NotifierLinkRow)).one()
        assert (link.user_id, link.address, link.label, link.state) == (user_id, "5550001", "@lan_bao", "active")
        assert s.get(CounterRow, telegram_chats.OFFSET).value == update_id + 1
        assert s.get(HarvestHostRow, telegram_chats.LEASE_NAME).lease_owner is None  # released
    assert bot.sent() == [
        {"chat_id": "5550001", "text": bot.sent()[0]["text"], "link_preview_options": {"is_disabled": True}}
    ]
    assert bot.sent()[0]["text"].startswith("Đã liên kết Telegram")
    # A restart (a new runtime) reads from the kept offset: nothing twice.
    bot.updates.insert(0, {"update_id": update_id, "message": {"chat": PERSON, "text": f"/start {code}"}})
    again = rt_of(bot, tmp_path, db_url, database, owner="w2")
    assert telegram_updates(again)["updates"] == 0
    assert [c.payload["offset"] for c in bot.calls if c.method == "getUpdates"] == [0, update_id + 1]
    assert len(bot.sent()) == 1


@pytest.mark.parametrize("name", ["LichTestBot", ""])
def test_the_poller_links_a_group_and_ignores_other_bots(bot, tmp_path, db_url, database, name):
    with database.transaction() as s:
        code = notifier_links.new_link_code(s, "telegram", NOW, agency_code="bao-phu-tho")
    rt = rt_of(bot, tmp_path, db_url, database, TELEGRAM_BOT_NAME=name)  # unset: getMe says it
    bot.message(GROUP, f"/start@OtherBot {code}")
    bot.message(GROUP, f"/start@LichTestBot {code}")
    assert telegram_updates(rt)["linked"] == 1
    with database.transaction() as s:
        group = s.scalars(select(GroupChatRow)).one()
        assert (group.agency_code, group.address, group.label) == ("bao-phu-tho", "-4001234567", "Phòng Thời sự")
    assert [m["text"].split(":")[0] for m in bot.sent()] == ["Đã liên kết nhóm này với bao-phu-tho"]
    assert [c.method for c in bot.calls].count("getMe") == (0 if name else 1)


def test_an_unknown_or_used_code_is_answered_and_links_nothing(bot, tmp_path, db_url, database):
    _, code = person_code(database)
    rt = rt_of(bot, tmp_path, db_url, database)
    bot.message(PERSON, "/start notacode")
    bot.message(PERSON, "/start")
    bot.message(PERSON, "xin chào")
    assert telegram_updates(rt) == {"updates": 3, "linked": 0, "refused": 1, "blocked": 0}
    texts = [m["text"] for m in bot.sent()]
    assert texts[0].startswith("Mã liên kết không đúng") and texts[1].startswith("Để nhận nhắc việc")
    assert len(texts) == 2
    with database.transaction() as s:
        assert s.scalars(select(NotifierLinkRow)).all() == []
        assert s.get(LinkCodeRow, notifier_links.code_hash(code)).used_at is None


def test_a_blocked_bot_blocks_the_link_and_an_unblock_reopens_it(bot, tmp_path, db_url, database):
    _, code = person_code(database)
    rt = rt_of(bot, tmp_path, db_url, database)
    bot.message(PERSON, f"/start {code}")
    bot.member(PERSON, "kicked")
    assert telegram_updates(rt)["blocked"] == 1
    with database.transaction() as s:
        link = s.scalars(select(NotifierLinkRow)).one()
        assert link.state == "blocked" and "blocked by the user" in link.last_error
    bot.member(PERSON, "member", old="kicked")
    telegram_updates(rt)
    with database.transaction() as s:
        assert s.scalars(select(NotifierLinkRow.state)).one() == "active"


def test_one_poller_at_a_time(bot, tmp_path, db_url, database):
    first, second = rt_of(bot, tmp_path, db_url, database), rt_of(bot, tmp_path, db_url, database, owner="w2")
    with database.transaction() as s:
        assert telegram_chats.claim_poll(s, first.owner, NOW.astimezone(UTC), timedelta(minutes=5))
    assert telegram_updates(second) == {"skipped": "another process polls"}
    assert not [c for c in bot.calls if c.method == "getUpdates"]


def test_a_conflict_is_reported_not_raised(bot, tmp_path, db_url, database, caplog):
    bot.fail("409", method="getUpdates")
    with caplog.at_level(logging.DEBUG):
        result = telegram_updates(rt_of(bot, tmp_path, db_url, database))
    assert "409" in result["error"] and TOKEN not in result["error"] + caplog.text
    assert "another bot instance polls" in caplog.text


def test_a_refused_token_in_the_poller_is_an_error_once(bot, tmp_path, db_url, database, caplog, monkeypatch):
    import scheduler.daemon.telegram_updates as updates

    monkeypatch.setattr(updates, "_TOLD", set())
    rt = rt_of(bot, tmp_path, db_url, database, TELEGRAM_BOT_TOKEN="999:WRONG-secret-token")
    with caplog.at_level(logging.DEBUG, logger="scheduler.telegram"):
        assert "401" in telegram_updates(rt)["error"] and "401" in telegram_updates(rt)["error"]
    levels = [r.levelname for r in caplog.records if r.name == "scheduler.telegram"]
    assert levels == ["ERROR", "DEBUG"] and "WRONG-secret" not in caplog.text


def test_a_group_moved_to_a_supergroup_is_followed_by_the_poller(bot, tmp_path, db_url, database):
    with database.transaction() as s:
        s.add(
            GroupChatRow(agency_code="bao", channel="telegram", address=str(GROUP["id"]), kinds=["due"], linked_at=NOW)
        )
    bot.message(GROUP, "", migrate_to_chat_id=-1005550000)
    telegram_updates(rt_of(bot, tmp_path, db_url, database))
    with database.transaction() as s:
        assert s.scalars(select(GroupChatRow.address)).all() == ["-1005550000"]


def test_an_update_is_acted_on_once_even_if_read_twice(database):
    at, lease = NOW.astimezone(UTC), timedelta(minutes=5)
    with database.transaction() as s:
        assert telegram_chats.claim_poll(s, "w1", at, lease)
        assert telegram_chats.offset(s, at) == (0, 0)
    with database.transaction() as s:
        assert telegram_chats.advance(s, "w1", 0, 700000009, at, lease)
    with database.transaction() as s:
        assert not telegram_chats.advance(s, "w1", 0, 700000009, at, lease)  # read again: skipped
        assert not telegram_chats.advance(s, "w2", 700000010, 700000010, at, lease)  # no lease: stop
        assert telegram_chats.offset(s, at + timedelta(days=5)) == (700000010, 700000010)
        # A week without updates: Telegram numbers the next one at random, so ask from what it holds.
        assert telegram_chats.offset(s, at + timedelta(days=6)) == (0, 700000010)
    with database.transaction() as s:
        assert telegram_chats.advance(s, "w1", 700000010, 12345, at + timedelta(days=6), lease)  # lower: taken
        assert telegram_chats.offset(s, at + timedelta(days=6)) == (12346, 12346)


def test_after_a_quiet_week_an_update_numbered_lower_is_still_read(bot, tmp_path, db_url, database):
    _, code = person_code(database)
    with database.transaction() as s:
        s.add(CounterRow(name=telegram_chats.OFFSET, value=900000000))
        s.add(CounterRow(name=telegram_chats.SEEN_DAY, value=NOW.toordinal() - 10))
    bot.message(PERSON, f"/start {code}")  # 700000001: below what we kept
    assert telegram_updates(rt_of(bot, tmp_path, db_url, database))["linked"] == 1
    assert [c.payload["offset"] for c in bot.calls if c.method == "getUpdates"] == [0]
    with database.transaction() as s:
        assert s.get(CounterRow, telegram_chats.OFFSET).value == 700000002


def test_a_full_batch_of_long_messages_is_read(bot, tmp_path, db_url, database):
    """100 updates of 4096 characters (about 1.2 MB of JSON): more than a chat answer may be, read all the same."""
    for _ in range(100):
        bot.message(PERSON, "ồ" * 4096)
    bot.message(PERSON, "/start")
    assert telegram_updates(rt_of(bot, tmp_path, db_url, database))["updates"] == 101
    assert [m["text"][:9] for m in bot.sent()] == ["Để nhận n"]
