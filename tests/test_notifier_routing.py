"""Routing a message to the channels its recipient chose (issue 19), pure,
and as ``store.outbox.enqueue`` applies it over SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from scheduler.reminders.outbox import CHAT_CHANNELS, KINDS, PREFERENCES, Message
from scheduler.reminders.routing import GROUP_KINDS, Group, Reach, channels_for, preference_of, route
from scheduler.store import outbox
from scheduler.store.database import Database
from scheduler.store.notifier_choices import ChoiceError, choices_of, reach_of, set_choice
from scheduler.store.notifier_tables import GroupChatRow, NotifierLinkRow
from scheduler.store.people_tables import UserRow
from scheduler.store.tables import OutboxRow

AT = datetime(2024, 3, 15, 10, tzinfo=UTC)
ANH = "anh@daiptth.example"


def msg(kind="due", recipient=ANH, agency="ptth", cc=(), channel="email", occurrence="pt.a.2024-03.1") -> Message:
    context = {"occurrence": occurrence, "agency": agency, "title": "T"} if occurrence else {}
    return Message(kind, f"{occurrence}#D-1", recipient, AT, AT - timedelta(days=1), AT, "en", cc, context, channel)


def test_every_kind_belongs_to_at_most_one_preference_group_and_only_password_to_none():
    assert [k for k in KINDS if preference_of(k) is None] == ["password"]
    assert all(preference_of(k) == g for g, kinds in PREFERENCES.items() for k in kinds)


def test_no_choice_is_email_only_for_every_kind():
    for kind in KINDS:
        assert [m.channel for m in route([msg(kind)], {}, [])] == ["email"]


@pytest.mark.parametrize(
    "chosen", [c for n in range(0, 4) for c in itertools.combinations(("email", "telegram", "zalo"), n)]
)
@pytest.mark.parametrize("linked", [frozenset(), frozenset({"telegram"}), frozenset({"telegram", "zalo"})])
def test_each_chosen_channel_gets_it_and_an_unlinked_one_falls_back_to_email(chosen, linked):
    reach = Reach({"due": chosen}, linked)
    out = route([msg()], {ANH: reach}, [])
    got = {m.channel for m in out}
    expected = {c if c == "email" or c in linked else "email" for c in chosen} or {"email"}
    assert got == expected
    for m in out:  # same message, its channel set, the recipient still the email
        assert (m.kind, m.about, m.recipient, m.announces, m.send_at, m.expires_at) == (
            "due",
            "pt.a.2024-03.1#D-1",
            ANH,
            AT,
            AT - timedelta(days=1),
            AT,
        )
        assert m.context == msg().context and m.lang == "en"
    assert len({m.key for m in out}) == len(out)


def test_a_choice_applies_to_its_own_group_only():
    reach = Reach({"overdue": ("zalo",)}, frozenset({"zalo"}))
    assert [m.channel for m in route([msg("due")], {ANH: reach}, [])] == ["email"]
    assert [m.channel for m in route([msg("overdue")], {ANH: reach}, [])] == ["zalo"]
    assert [
        m.channel for m in route([msg("moved")], {ANH: Reach({"notices": ("zalo",)}, frozenset({"zalo"}))}, [])
    ] == ["zalo"]


def test_password_and_channel_specific_messages_are_never_routed():
    everything = Reach(dict.fromkeys(PREFERENCES, ("telegram", "zalo")), frozenset(CHAT_CHANNELS))
    groups = [Group(1, "ptth", "telegram", tuple(PREFERENCES))]
    assert [m.channel for m in route([msg("password", occurrence=None)], {ANH: everything}, groups)] == ["email"]
    webhook = msg("due", recipient="webhook:3", channel="webhook")
    assert route([webhook], {ANH: everything}, groups) == [webhook]
    chat = msg("due", channel="zalo")
    assert route([chat], {ANH: everything}, groups) == [chat]


def test_a_copied_message_keeps_its_email_and_the_chat_copy_copies_nobody():
    reach = Reach({"overdue": ("telegram",)}, frozenset({"telegram"}))
    out = route([msg("overdue", cc=("dha@x.vn",))], {ANH: reach}, [])
    assert {(m.channel, m.cc) for m in out} == {("email", ("dha@x.vn",)), ("telegram", ())}


def test_recipients_match_whatever_their_case():
    reach = Reach({"due": ("zalo",)}, frozenset({"zalo"}))
    assert [m.channel for m in route([msg(recipient="Anh@DaiPTTH.example")], {ANH: reach}, [])] == ["zalo"]


def test_a_group_chat_gets_each_reminder_of_its_agency_once_however_many_people_get_it():
    groups = [
        Group(1, "ptth", "telegram", ("due", "at_risk", "overdue")),
        Group(2, "ptth", "zalo", ("overdue",)),
        Group(3, "other", "telegram", tuple(PREFERENCES)),
        Group(4, "ptth", "telegram", tuple(PREFERENCES), active=False),
    ]
    people = [msg("due", recipient=f"p{i}@x.vn") for i in range(5)]
    out = route(people, {}, groups)
    shared = [m for m in out if m.recipient.startswith("group:")]
    assert [(m.recipient, m.channel, m.cc, m.lang) for m in shared] == [("group:1", "telegram", (), "vi")]
    assert len([m for m in out if m.channel == "email"]) == 5
    overdue = route([msg("overdue", cc=("dha@x.vn",))], {}, groups)
    assert sorted(m.recipient for m in overdue if m.recipient.startswith("group:")) == ["group:1", "group:2"]


def test_group_chats_get_occurrence_reminders_only():
    groups = [Group(1, "ptth", "telegram", tuple(PREFERENCES))]
    for kind in KINDS:
        out = route([msg(kind)], {}, groups)
        assert any(m.recipient == "group:1" for m in out) == (kind in GROUP_KINDS), kind
    assert route([msg("due", occurrence=None)], {}, groups) == [msg("due", occurrence=None)]


def test_channels_for_lists_email_first_and_each_once():
    reach = Reach({"due": ("zalo", "email", "telegram", "zalo")}, frozenset(CHAT_CHANNELS))
    assert channels_for(msg(), reach) == ("email", "telegram", "zalo")


@pytest.fixture
def db(database) -> Database:
    return database


def _person(s, email: str, linked: dict[str, str]) -> int:
    user = UserRow(email=email, name="Anh", roles=["producer"], lang="vi", created_at=AT, updated_at=AT)
    s.add(user)
    s.flush()
    for channel, state in linked.items():
        s.add(
            NotifierLinkRow(
                user_id=user.id, channel=channel, address=f"{channel}-1", state=state, linked_at=AT, changed_at=AT
            )
        )
    s.flush()
    return user.id


def test_choices_are_kept_and_email_can_be_left_out_only_for_a_linked_chat(db):
    with db.transaction() as s:
        anh = _person(s, ANH, {"telegram": "active", "zalo": "blocked"})
        assert choices_of(s, anh) == dict.fromkeys(PREFERENCES, ("email",))
        set_choice(s, anh, "due", ["telegram"])
        set_choice(s, anh, "overdue", ["email", "zalo"])
        with pytest.raises(ChoiceError, match="keep email"):
            set_choice(s, anh, "digest", ["zalo"])  # blocked
        with pytest.raises(ChoiceError, match="unknown channel"):
            set_choice(s, anh, "digest", ["sms"])
        with pytest.raises(ChoiceError, match="unknown kind"):
            set_choice(s, anh, "password", ["email"])
    with db.transaction() as s:
        assert choices_of(s, anh)["due"] == ("telegram",)
        assert reach_of(s, [ANH.upper(), "nobody@x.vn"]) == {
            ANH: Reach({"due": ("telegram",), "overdue": ("email", "zalo")}, frozenset({"telegram"}))
        }
        set_choice(s, anh, "due", ["email"])  # the default again: no row
    with db.transaction() as s:
        assert reach_of(s, [ANH])[ANH].choices == {"overdue": ("email", "zalo")}


def test_enqueue_routes_in_its_own_transaction_and_keeps_each_row_once(db):
    with db.transaction() as s:
        anh = _person(s, ANH, {"telegram": "active", "zalo": "blocked"})
        set_choice(s, anh, "due", ["telegram", "zalo"])
        s.add(GroupChatRow(agency_code="ptth", channel="telegram", address="-100", kinds=["due"], linked_at=AT))
        s.flush()
        group = s.scalars(select(GroupChatRow.id)).one()
    messages = [msg(), msg(recipient="binh@x.vn"), msg("password", occurrence=None)]
    with db.transaction() as s:
        assert outbox.enqueue(s, messages, AT, "example") == 5
    with db.transaction() as s:
        assert outbox.enqueue(s, messages, AT, "example") == 0  # once, however often it is planned
        rows = {(r.recipient, r.channel, r.kind) for r in s.scalars(select(OutboxRow))}
    assert rows == {
        (ANH, "email", "due"),  # zalo is blocked: email instead
        (ANH, "telegram", "due"),
        ("binh@x.vn", "email", "due"),
        (f"group:{group}", "telegram", "due"),
        (ANH, "email", "password"),
    }
