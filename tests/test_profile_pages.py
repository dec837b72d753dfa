"""``/me/profile`` and ``/admin/notifiers`` through the real app on SQLite
and PostgreSQL (issue 19): a person links Telegram with a one-time code,
chooses channels per kind of message (email left out only for a linked
chat), unlinks; a producer makes their agency's group code; an admin sees
blocked chats first, sets and clears a chat id, removes a group chat, and
sees the chat rows that failed; /admin/outbox shows each row's channel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from html_tree import html
from scheduler.reminders.outbox import PREFERENCES
from scheduler.store.notifier_links import redeem
from scheduler.store.notifier_tables import GroupChatRow, NotifierChoiceRow, NotifierLinkRow
from scheduler.store.tables import OutboxRow
from test_admin_pages import ADMIN, EDITOR, PRODUCER, csrf, site  # noqa: F401  (site: the fixture)

AT = datetime(2024, 3, 20, 3, tzinfo=UTC)


@pytest.fixture
def bot_name(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_NAME", "lich_phutho_bot")


@pytest.fixture
def bot_site(bot_name, site):  # noqa: F811  (in this order: the bot's name is set before the app reads it)
    return site


def _post(client, path: str, page_path: str = "/me/profile", **data):
    token = csrf(html(client.get(page_path)))
    return client.post(path, data={"csrf": token, **data})


def _choices(**chosen) -> dict:
    """The form as a browser sends it: every group's ticked boxes (email where not said)."""
    return {f"channels-{g}": chosen.get(g, ["email"]) for g in PREFERENCES}


def test_a_person_links_telegram_chooses_it_and_unlinks(bot_site):
    web, client = bot_site, bot_site.client(EDITOR)
    page = html(client.get("/me/profile"))
    assert page.one("li", id="no-links") and page.one("a", id="my-profile").attrs["href"] == "/me/profile"
    answer = _post(client, "/me/profile/link/telegram")
    assert answer.status_code == 200
    shown = html(answer)
    code = shown.one("code", id="start-text").text().removeprefix("/start ")
    assert shown.one("a", id="telegram-link").attrs["href"] == f"https://t.me/lich_phutho_bot?start={code}"
    with web.db.transaction() as s:  # the bot hears "/start CODE" (its poller's job)
        assert redeem(s, "telegram", code, "7001", "@anh", AT) is not None
    page = html(client.get("/me/profile"))
    assert "@anh" in page.one("li", cls="link").text()
    saved = _post(client, "/me/profile", name="Chị Lịch", lang="vi", **_choices(due=["telegram"]))
    assert saved.status_code == 303 and saved.headers["location"].endswith("done=saved")
    with web.db.transaction() as s:
        assert s.scalars(select(NotifierChoiceRow.channels)).all() == [["telegram"]]
    page = html(client.get("/me/profile"))
    boxes = {b.attrs["value"]: "checked" in b.attrs for b in page.one("tr", data_group="due").all("input")}
    assert boxes == {"email": False, "telegram": True, "zalo": False}
    assert _post(client, "/me/profile/unlink/telegram").status_code == 303
    with web.db.transaction() as s:
        assert s.scalars(select(NotifierLinkRow)).all() == []


def test_email_cannot_be_left_out_without_a_linked_chat_and_nothing_is_saved(bot_site):
    client = bot_site.client(EDITOR)
    refused = _post(client, "/me/profile", name="Đổi tên", lang="en", **_choices(due=["zalo"]))
    assert refused.status_code == 422
    assert "keep email" in html(refused).one("p", id="profile-error").text() or refused.text
    with bot_site.db.transaction() as s:
        assert s.scalars(select(NotifierChoiceRow)).all() == []
    assert html(client.get("/me/profile")).one("input", id="name").attrs["value"] != "Đổi tên"


def test_forms_without_the_csrf_token_are_refused(bot_site):
    client = bot_site.client(EDITOR)
    answer = client.post("/me/profile/link/telegram", data={})
    assert answer.status_code == 403
    with bot_site.db.transaction() as s:
        assert s.scalar(select(NotifierLinkRow.id)) is None


def test_a_producer_gets_a_group_code_and_others_do_not(bot_site):
    producer = bot_site.client(PRODUCER)
    shown = html(_post(producer, "/me/profile/group-code"))
    assert "startgroup=" in shown.one("a", id="group-link").attrs["href"]
    assert _post(bot_site.client(EDITOR), "/me/profile/group-code").status_code == 403
    assert _post(producer, "/me/profile/link/sms").status_code == 404


def test_the_admin_page_shows_blocked_chats_first_and_sets_clears_and_removes(bot_site):
    web, admin = bot_site, bot_site.client(ADMIN)
    assert bot_site.client(EDITOR).get("/admin/notifiers").status_code == 403
    with web.db.transaction() as s:
        s.add(GroupChatRow(agency_code="dai-ptth", channel="telegram", address="-1009", kinds=["due"], linked_at=AT))
        s.add(
            OutboxRow(
                key="telegram:due|x|prod@dai.example|2024",
                kind="due",
                about="x",
                recipient=PRODUCER,
                cc=[],
                lang="vi",
                context={},
                announces=AT,
                send_at=AT,
                expires_at=AT,
                state="failed",
                attempts=1,
                next_attempt_at=AT,
                message_id="<m@x>",
                last_error="unreachable: blocked by the user",
                created_at=AT,
                channel="telegram",
            )
        )
    ok = _post(admin, "/admin/notifiers/link", "/admin/notifiers", email=EDITOR, channel="zalo", address="8499")
    assert ok.status_code == 303
    ok = _post(admin, "/admin/notifiers/link", "/admin/notifiers", email=PRODUCER, channel="telegram", address="77")
    with web.db.transaction() as s:
        link = s.scalars(select(NotifierLinkRow).where(NotifierLinkRow.channel == "telegram")).one()
        link.state, link.last_error = "blocked", "403 Forbidden: bot was blocked by the user"
    page = html(admin.get("/admin/notifiers"))
    rows = page.one("table", id="links").all("tr", data_state=None) or []
    states = [r.attrs["data-state"] for r in page.one("table", id="links").all("tr") if "data-state" in r.attrs]
    assert states == ["blocked", "active"]
    assert "bot was blocked" in page.one("table", id="links").text()
    assert "blocked by the user" in page.one("table", id="trouble").text()
    bad = _post(admin, "/admin/notifiers/link", "/admin/notifiers", email="nobody@x.vn", channel="zalo", address="1")
    assert bad.status_code == 422 and "nobody@x.vn" in html(bad).one("p", id="notifiers-error").text()
    cleared = _post(admin, "/admin/notifiers/link", "/admin/notifiers", email=EDITOR, channel="zalo", address="")
    assert cleared.status_code == 303
    group = page.one("table", id="groups").all("tr", data_state="active")[0].attrs["data-id"]
    assert _post(admin, f"/admin/notifiers/groups/{group}/remove", "/admin/notifiers").status_code == 303
    assert _post(admin, "/admin/notifiers/groups/999/remove", "/admin/notifiers").status_code == 404
    with web.db.transaction() as s:
        assert s.scalars(select(NotifierLinkRow.channel)).all() == ["telegram"]
        assert s.scalars(select(GroupChatRow)).all() == []
    del rows
    outbox = html(admin.get("/admin/outbox"))
    assert "telegram" in outbox.one("tr", data_state="failed").text()
