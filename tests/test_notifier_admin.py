"""An admin's hand on the chat notifiers (issue 19): ``notifiers key|list|
link|unlink`` on the real command line, over SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from scheduler.sealing import Sealer
from scheduler.store.notifier_tables import GroupChatRow, NotifierLinkRow
from scheduler.store.outbox import enqueue
from scheduler.store.tables import OutboxRow

ANH = "anh@daiptth.phutho.example"
AT = datetime(2024, 3, 14, 2, tzinfo=UTC)


def test_notifiers_key_prints_a_fresh_key_that_seals(cli):
    first, second = cli("notifiers", "key"), cli("notifiers", "key")
    assert first.code == second.code == 0
    key = first.out.strip()
    assert key != second.out.strip()
    sealer = Sealer([key])
    assert sealer.open(sealer.seal("refresh-token", AT)) == "refresh-token"


def test_an_admin_links_lists_and_unlinks_a_chat(cli, database):
    assert cli("users", "add", ANH, "--role", "editor").code == 0
    done = cli("notifiers", "link", ANH.upper(), "zalo", "8412345678901234567")
    assert done.code == 0, done.err
    with database.transaction() as s:
        link = s.scalars(select(NotifierLinkRow)).one()
        assert (link.channel, link.address, link.state, link.linked_by) == (
            "zalo",
            "8412345678901234567",
            "active",
            "cli",
        )
        link.state, link.last_error = "blocked", "-213: user has not followed the OA"
        s.add(GroupChatRow(agency_code="daiptth", channel="telegram", address="-1001", kinds=["due"], linked_at=AT))
    listed = cli("notifiers", "list")
    assert listed.code == 0
    lines = listed.out.splitlines()
    assert lines[0].startswith(f"{ANH}\tzalo\t8412345678901234567\t") and "not followed the OA" in lines[0]
    assert lines[1].startswith("group:") and "\tdaiptth\ttelegram\t-1001\t" in lines[1]
    again = cli("notifiers", "link", ANH, "zalo", "8499")  # set by hand: active again
    assert again.code == 0
    with database.transaction() as s:
        assert s.scalars(select(NotifierLinkRow.state)).one() == "active"
    assert cli("notifiers", "unlink", ANH, "zalo").code == 0
    assert "không có liên kết zalo" in cli("notifiers", "unlink", ANH, "zalo").out  # Vietnamese first
    with database.transaction() as s:
        assert s.scalars(select(NotifierLinkRow)).all() == []


def test_link_refusals_name_the_part_and_what_is_accepted(cli):
    assert cli("users", "add", ANH, "--role", "editor").code == 0
    unknown = cli("notifiers", "link", "nobody@x.vn", "telegram", "7001")
    assert unknown.code == 1 and "nobody@x.vn" in unknown.err
    bad = cli("--lang", "en", "notifiers", "link", ANH, "telegram", "7001; DROP")
    assert bad.code == 1 and "ADDRESS" in bad.err and "accepted" in bad.err
    with pytest.raises(SystemExit) as refused:  # argparse lists the channels
        cli("notifiers", "link", ANH, "sms", "1")
    assert refused.value.code == 2


def test_an_unlinked_person_gets_email_again(cli, database):
    from notify_fixtures import due

    assert cli("users", "add", ANH, "--role", "editor").code == 0
    assert cli("notifiers", "link", ANH, "telegram", "7001").code == 0
    from scheduler.store.notifier_choices import set_choice
    from scheduler.store.people_tables import UserRow

    with database.transaction() as s:
        set_choice(s, s.scalars(select(UserRow.id)).one(), "due", ["telegram"])
        enqueue(s, [due()], AT, "x")
    assert cli("notifiers", "unlink", ANH, "telegram").code == 0
    with database.transaction() as s:
        enqueue(s, [due(send_at=AT)], AT, "x")
        assert [r.channel for r in s.scalars(select(OutboxRow).order_by(OutboxRow.id))] == ["telegram", "email"]
