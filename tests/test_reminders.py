"""The reminder policy over the real 2024 Vietnamese calendar: Tết (08–14/02
off), the 29/04–01/05 break and the make-up working Saturday 04/05."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.errors import SchedulerError
from scheduler.plan.milestones import DEFAULT_TEMPLATES, milestones_of
from scheduler.plan.reminder_policy import Policy
from scheduler.plan.workdays import WorkCalendar
from scheduler.reminders.outbox import Message
from scheduler.reminders.policy import Watched, next_opening, notices, obsolete, occurrence_of, owed, within_hours

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkCalendar()
HOUR = timedelta(hours=1)
EDITOR, PRODUCER, DHA = "bientap@daiptth.example", "sanxuat@daiptth.example", "snv@phutho.example"
NO_DIGEST = Policy(digest_days=0)


def at(y: int, m: int, d: int, h: int = 8, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=TZ)


def episode(due: datetime = at(2024, 3, 15, 17), **changes) -> Watched:
    """Episode 2 of March 2024 of the station's CCHC programme."""
    base = Watched(
        id="pt.cchc-tv.2024-03.2",
        plan="pt",
        obligation="cchc-tv",
        agency="dai-ptth",
        title="Chuyên mục Cải cách hành chính",
        title_en="Administrative reform",
        period="2024-03",
        number=2,
        count=2,
        window_start=at(2024, 3, 1, 0),
        window_end=at(2024, 4, 1, 0),
        due=due,
        slot=None,
        status="scheduled",
        state=None,
        milestones=(),
        recipients=(EDITOR,),
        dha=(DHA,),
        policy=NO_DIGEST,
    )
    return replace(base, **changes)


def steps_of(w: Watched, template: str = "broadcast") -> tuple:
    return tuple(
        (m.step, m.title, m.title_en, m.day)
        for m in milestones_of(w.id, w.due.astimezone(TZ).date(), DEFAULT_TEMPLATES[template], CAL)
    )


def timeline(items: list[Watched], start: datetime, end: datetime) -> dict[str, list[datetime]]:
    """Each key owed while stepping ``now`` hour by hour: the hours it was owed."""
    seen: dict[str, list[datetime]] = {}
    now = start
    while now < end:
        for m in owed(items, now, CAL, TZ):
            seen.setdefault(m.key, []).append(now)
        now += HOUR
    return seen


def all_owed(items: list[Watched], start: datetime, end: datetime) -> dict[str, Message]:
    found: dict[str, Message] = {}
    now = start
    while now < end:
        for m in owed(items, now, CAL, TZ):
            found.setdefault(m.key, m)
        now += HOUR
    return found


def of_kind(found: dict[str, Message], kind: str) -> list[Message]:
    return sorted((m for m in found.values() if m.kind == kind), key=lambda m: (m.send_at, m.key))


# --- due reminders -------------------------------------------------------------------------------


def test_due_reminders_land_7_and_1_working_days_before_and_on_the_due_day():
    assert CAL.working_days_between(date(2024, 3, 6), date(2024, 3, 15)) == 7  # 6,7,8,11,12,13,14/03
    due = of_kind(all_owed([episode()], at(2024, 2, 20), at(2024, 4, 10)), "due")
    assert [m.send_at for m in due] == [at(2024, 3, 6), at(2024, 3, 14), at(2024, 3, 15)]
    assert [m.context["working_days_before"] for m in due] == [7, 1, 0]
    assert [m.about for m in due] == [f"pt.cchc-tv.2024-03.2#D-{n}" for n in (7, 1, 0)]
    assert {m.announces for m in due} == {m.expires_at for m in due} == {at(2024, 3, 15, 17)}
    assert str(due[0].send_at) == "2024-03-06 08:00:00+07:00"
    context = due[0].context
    assert context["tz"] == "Asia/Ho_Chi_Minh" and context["due"] == "2024-03-15T17:00:00+07:00"
    assert {
        "occurrence",
        "title",
        "title_en",
        "period",
        "number",
        "count",
        "slot",
        "window_start",
        "window_end",
    } <= set(context)


def test_due_reminders_skip_tet():
    w = episode(
        at(2024, 2, 20, 17),
        id="pt.cchc-tv.2024-02.2",
        period="2024-02",
        window_start=at(2024, 2, 1, 0),
        window_end=at(2024, 3, 1, 0),
    )
    due = of_kind(all_owed([w], at(2024, 1, 25), at(2024, 2, 21)), "due")
    assert [m.send_at for m in due] == [at(2024, 2, 2), at(2024, 2, 19), at(2024, 2, 20)]


def test_an_early_slot_is_reminded_the_working_day_before_and_one_morning_gets_one_reminder():
    w = episode(at(2024, 3, 18, 6, 30), slot=at(2024, 3, 18, 6, 30))  # Monday, before opening
    due = of_kind(all_owed([w], at(2024, 3, 1), at(2024, 3, 19)), "due")
    assert [(m.send_at, m.context["working_days_before"]) for m in due] == [(at(2024, 3, 7), 7), (at(2024, 3, 15), 0)]
    assert all(m.send_at < m.expires_at for m in due)


def test_due_on_a_holiday_is_reminded_on_the_working_day_before():
    # 02/09 (National Day, Monday): 1 working day before is Friday 30/08, as is the due day's reminder
    w = episode(at(2024, 9, 2, 17), window_start=at(2024, 9, 1, 0), window_end=at(2024, 10, 1, 0))
    due = of_kind(all_owed([w], at(2024, 8, 15), at(2024, 9, 3)), "due")
    assert [(m.send_at, m.context["working_days_before"]) for m in due] == [(at(2024, 8, 22), 7), (at(2024, 8, 30), 0)]


# --- milestones ----------------------------------------------------------------------------------


def test_a_milestone_on_a_holiday_is_sent_the_working_day_before():
    w = episode(
        at(2024, 5, 6, 17),
        milestones=(("script", "Duyệt kịch bản", "Script approved", date(2024, 4, 30)),),
        window_start=at(2024, 5, 1, 0),
        window_end=at(2024, 6, 1, 0),
    )
    (m,) = of_kind(all_owed([w], at(2024, 4, 20), at(2024, 5, 7)), "milestone")
    assert m.send_at == at(2024, 4, 26)  # 27–28/04 weekend, 29/04–01/05 off
    assert m.announces == at(2024, 4, 30) and m.expires_at == at(2024, 5, 1, 0)  # useful until its day is over
    assert m.about == "pt.cchc-tv.2024-03.2#script"
    assert m.context["step"] == "script" and m.context["step_title"] == "Duyệt kịch bản"
    assert m.context["day"] == "2024-04-30"


def test_milestones_follow_the_template_and_can_be_turned_off():
    w = episode()
    w = replace(w, milestones=steps_of(w))
    found = of_kind(all_owed([w], at(2024, 3, 1), at(2024, 3, 16)), "milestone")
    assert [(m.context["step"], m.send_at) for m in found] == [
        ("script", at(2024, 3, 8)),
        ("recording", at(2024, 3, 12)),
        ("handover", at(2024, 3, 14)),
    ]
    off = replace(w, policy=replace(NO_DIGEST, milestones=False))
    assert not of_kind(all_owed([off], at(2024, 3, 1), at(2024, 3, 16)), "milestone")


# --- at risk and overdue -------------------------------------------------------------------------


def test_at_risk_and_overdue_days():
    found = all_owed([episode()], at(2024, 3, 1), at(2024, 4, 12))
    (risk,) = of_kind(found, "at_risk")
    assert risk.send_at == at(2024, 3, 27)  # 3 working days before Sunday 31/03: 29, 28, 27
    assert risk.expires_at == risk.announces == at(2024, 4, 1, 0) and risk.about == "pt.cchc-tv.2024-03.2"
    (late,) = of_kind(found, "overdue")
    assert late.send_at == at(2024, 4, 1) and late.expires_at == at(2024, 4, 8)
    assert late.announces == at(2024, 4, 1, 0) and late.cc == (DHA,) and late.recipient == EDITOR


def test_overdue_after_the_april_break_and_nobody_copied_on_their_own_mail():
    w = episode(
        at(2024, 4, 26, 17), window_start=at(2024, 4, 1, 0), window_end=at(2024, 5, 1, 0), recipients=(EDITOR, DHA)
    )
    found = all_owed([w], at(2024, 4, 15), at(2024, 5, 12))
    assert {m.send_at for m in of_kind(found, "at_risk")} == {at(2024, 4, 24)}
    late = of_kind(found, "overdue")
    assert {m.send_at for m in late} == {at(2024, 5, 2)}  # 30/04 is the last day; 01/05 off
    assert {m.recipient: m.cc for m in late} == {EDITOR: (DHA,), DHA: ()}


@pytest.mark.parametrize(
    "state, kinds",
    [
        (None, {"due", "milestone", "at_risk", "overdue"}),
        ("non_conforming", {"due", "milestone", "at_risk", "overdue"}),
        ("missing", {"due", "milestone", "overdue"}),
        ("on_time", set()),
        ("late", set()),
        ("excused", set()),
    ],
)
def test_what_each_state_owes(state, kinds):
    w = episode(state=state)
    w = replace(w, milestones=steps_of(w))
    assert {m.kind for m in all_owed([w], at(2024, 2, 25), at(2024, 4, 10)).values()} == kinds


def test_a_cancelled_occurrence_owes_nothing():
    w = episode(status="cancelled", policy=Policy())
    w = replace(w, milestones=steps_of(w))
    assert not all_owed([w], at(2024, 2, 25), at(2024, 4, 10))


def test_nothing_before_send_at_or_from_expires_at():
    w = episode()
    tick = timedelta(microseconds=1)
    assert not [m for m in owed([w], at(2024, 3, 6) - tick, CAL, TZ) if m.kind == "due"]
    assert [m.about for m in owed([w], at(2024, 3, 6), CAL, TZ)] == ["pt.cchc-tv.2024-03.2#D-7"]
    assert len(owed([w], at(2024, 3, 15, 17) - tick, CAL, TZ)) == 3
    assert not [m for m in owed([w], at(2024, 3, 15, 17), CAL, TZ) if m.kind == "due"]


# --- digest --------------------------------------------------------------------------------------


def test_weekly_digest_on_monday_lists_the_next_two_weeks():
    w = episode(policy=Policy())
    w = replace(w, milestones=steps_of(w))
    later = replace(episode(at(2024, 3, 29, 17), id="pt.cchc-tv.2024-03.9", policy=Policy()))
    other = episode(
        at(2024, 3, 14, 17), id="pt.bao.2024-03.1", agency="bao-pt", recipients=("bao@x.example",), policy=Policy()
    )
    found = owed([w, later, other], at(2024, 3, 4, 8), CAL, TZ)
    digests = {m.about: m for m in found if m.kind == "digest"}
    assert set(digests) == {"dai-ptth@2024-W10", "bao-pt@2024-W10"}
    d = digests["dai-ptth@2024-W10"]
    assert d.recipient == EDITOR and d.announces == at(2024, 3, 4, 0)
    assert d.send_at == at(2024, 3, 4) and d.expires_at == at(2024, 3, 11)  # until the next one goes
    assert [o["id"] for o in d.context["occurrences"]] == ["pt.cchc-tv.2024-03.2"]  # 29/03 is beyond two weeks
    assert d.context["occurrences"][0]["due"] == "2024-03-15T17:00:00+07:00"
    assert [s["step"] for s in d.context["milestones"]] == ["script", "recording", "handover"]
    early = [m.about for m in owed([w], at(2024, 3, 4, 7, 59), CAL, TZ) if m.kind == "digest"]
    assert early == ["dai-ptth@2024-W09"]  # this week's not yet: last week's is still useful until then
    assert [m.key for m in owed([w], at(2024, 3, 8, 16), CAL, TZ) if m.kind == "digest"] == [d.key]  # still useful
    assert [m.about for m in owed([w], at(2024, 3, 11, 9), CAL, TZ) if m.kind == "digest"] == ["dai-ptth@2024-W11"]


def test_the_digest_moves_to_the_next_working_day_when_monday_is_off():
    w = episode(at(2024, 5, 10, 17), window_start=at(2024, 5, 1, 0), window_end=at(2024, 6, 1, 0), policy=Policy())
    assert not [m for m in owed([w], at(2024, 4, 29, 9), CAL, TZ) if m.kind == "digest"]
    (d,) = [m for m in owed([w], at(2024, 5, 2, 9), CAL, TZ) if m.kind == "digest"]
    assert d.about == "dai-ptth@2024-W18" and d.announces == at(2024, 4, 29, 0) and d.send_at == at(2024, 5, 2)


def test_no_digest_when_nothing_is_coming_and_one_per_recipient_in_their_language():
    w = episode(at(2024, 5, 10, 17), policy=Policy())
    assert not [m for m in owed([w], at(2024, 3, 4, 9), CAL, TZ) if m.kind == "digest"]
    vi, en = episode(policy=Policy()), episode(recipients=(PRODUCER,), lang="en", policy=Policy())
    digests = [m for m in owed([vi, en], at(2024, 3, 11, 9), CAL, TZ) if m.kind == "digest"]
    assert sorted((m.recipient, m.lang) for m in digests) == [(EDITOR, "vi"), (PRODUCER, "en")]
    assert len(digests[0].context["occurrences"]) == 1  # one occurrence, however many languages


def test_the_digest_shows_delivered_occurrences_with_their_state_but_not_their_milestones():
    w = episode(state="on_time", policy=Policy())
    w = replace(w, milestones=steps_of(w))
    (d,) = [m for m in owed([w], at(2024, 3, 4, 9), CAL, TZ) if m.kind == "digest"]
    assert [(o["id"], o["state"]) for o in d.context["occurrences"]] == [(w.id, "on_time")]
    assert d.context["milestones"] == []
    assert not [m for m in owed([replace(w, status="cancelled")], at(2024, 3, 4, 9), CAL, TZ) if m.kind == "digest"]


# --- notices -------------------------------------------------------------------------------------


def test_a_moved_due_date_notifies_each_recipient_now_within_hours():
    before = episode(recipients=(EDITOR, PRODUCER))
    after = replace(before, due=at(2024, 3, 22, 17))
    found = notices(before, after, at(2024, 3, 12, 10), CAL, TZ)
    assert [(m.kind, m.recipient) for m in found] == [("moved", EDITOR), ("moved", PRODUCER)]
    m = found[0]
    assert m.announces == at(2024, 3, 22, 17) and m.send_at == at(2024, 3, 12, 10)
    assert m.expires_at == at(2024, 3, 26, 10)
    assert m.context["old_due"] == "2024-03-15T17:00:00+07:00" and m.context["new_due"] == "2024-03-22T17:00:00+07:00"


def test_notices_outside_hours_wait_for_the_next_opening():
    before = episode(slot=at(2024, 3, 14, 19, 30))
    after = replace(before, slot=at(2024, 3, 14, 20))
    (m,) = notices(before, after, at(2024, 2, 7, 17, 30), CAL, TZ)  # eve of Tết
    assert m.kind == "moved" and m.send_at == at(2024, 2, 15) and m.context["new_slot"] == "2024-03-14T20:00:00+07:00"


def test_cancelled_notice_announces_the_old_due():
    before = episode()
    (m,) = notices(before, replace(before, status="cancelled"), at(2024, 3, 9, 10), CAL, TZ)
    assert m.kind == "cancelled" and m.announces == before.due and m.send_at == at(2024, 3, 11)


def test_no_notice_when_nothing_relevant_changed():
    before = episode()
    now = at(2024, 3, 12, 10)
    assert notices(before, replace(before, title="Tên mới", title_en="New", milestones=()), now, CAL, TZ) == []
    assert notices(None, before, now, CAL, TZ) == []
    gone = replace(before, status="cancelled")
    assert notices(gone, replace(gone, due=at(2024, 3, 20, 17)), now, CAL, TZ) == []
    assert notices(before, replace(before, state="on_time", due=at(2024, 3, 20, 17)), now, CAL, TZ) == []


def test_a_reinstated_occurrence_is_announced_as_moved():
    before = episode(status="cancelled")
    (m,) = notices(before, replace(before, status="scheduled"), at(2024, 3, 12, 10), CAL, TZ)
    assert m.kind == "moved" and m.context["reinstated"] is True


# --- obsolete ------------------------------------------------------------------------------------


def pending_for(w: Watched) -> list[Message]:
    w = replace(w, milestones=steps_of(w))
    return list(all_owed([w], at(2024, 2, 25), at(2024, 4, 10)).values()) + notices(
        w, replace(w, due=at(2024, 3, 20, 17)), at(2024, 3, 1, 9), CAL, TZ
    )


def test_obsolete_when_met_or_cancelled():
    pending = pending_for(episode())
    w = replace(episode(), milestones=steps_of(episode()))
    reminders = {m.key for m in pending if m.kind in ("due", "milestone", "at_risk", "overdue")}
    for change in ({"state": "on_time"}, {"state": "late"}, {"state": "excused"}, {"status": "cancelled"}):
        assert set(obsolete(pending, {w.id: replace(w, **change)})) == reminders
    assert obsolete(pending, {w.id: w}) == []
    assert obsolete(pending, {w.id: replace(w, state="missing")}) == []
    assert obsolete(pending, {"someone-else": replace(w, state="on_time")}) == []


def test_obsolete_when_the_due_moment_moved_keeps_the_window_reminders():
    w = replace(episode(), milestones=steps_of(episode()))
    pending = pending_for(episode())
    moved = replace(w, due=at(2024, 3, 20, 17))
    assert {m.kind for m in pending if m.key in obsolete(pending, {w.id: moved})} == {"due"}


def test_obsolete_when_a_milestone_day_changed_or_its_step_vanished():
    w = replace(episode(), milestones=steps_of(episode()))
    pending = [m for m in pending_for(episode()) if m.kind == "milestone"]
    script, recording, handover = w.milestones
    shifted = replace(w, milestones=((*script[:3], date(2024, 3, 7)), recording, handover))
    assert {occurrence_of(m.about) for m in pending} == {w.id}
    assert [m.about for m in pending if m.key in obsolete(pending, {w.id: shifted})] == [f"{w.id}#script"]
    assert [m.about for m in pending if m.key in obsolete(pending, {w.id: replace(w, milestones=(script,))})] == [
        f"{w.id}#recording",
        f"{w.id}#handover",
    ]


def test_obsolete_when_the_policy_or_window_changed():
    w = replace(episode(), milestones=steps_of(episode()))
    pending = pending_for(episode())
    fewer = replace(w, policy=replace(NO_DIGEST, due_before=(1,)))
    assert sorted(m.about for m in pending if m.key in obsolete(pending, {w.id: fewer})) == [
        f"{w.id}#D-0",
        f"{w.id}#D-7",
    ]
    longer = replace(w, window_end=at(2024, 4, 8, 0))
    assert {m.kind for m in pending if m.key in obsolete(pending, {w.id: longer})} == {"at_risk", "overdue"}


# --- working hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now, inside, opening",
    [
        (at(2024, 3, 15, 16, 59), True, at(2024, 3, 15, 16, 59)),
        (at(2024, 3, 15, 17), False, at(2024, 3, 18)),  # Friday evening -> Monday
        (at(2024, 3, 16, 10), False, at(2024, 3, 18)),  # Saturday
        (at(2024, 3, 18, 7, 59), False, at(2024, 3, 18)),  # before opening
        (at(2024, 2, 7, 17, 30), False, at(2024, 2, 15)),  # Tết
        (at(2024, 4, 26, 18), False, at(2024, 5, 2)),  # 29/04–01/05 off
        (at(2024, 5, 4, 9), True, at(2024, 5, 4, 9)),  # make-up working Saturday
        (datetime(2024, 3, 15, 9, 30, tzinfo=UTC), True, datetime(2024, 3, 15, 9, 30, tzinfo=UTC)),
        (datetime(2024, 3, 15, 10, 0, tzinfo=UTC), False, at(2024, 3, 18)),  # 17:00 in the plan's zone
    ],
)
def test_within_hours_and_next_opening(now, inside, opening):
    assert within_hours(now, Policy(), CAL, TZ) is inside
    assert next_opening(now, Policy(), CAL, TZ) == opening


def test_hours_follow_the_policy():
    early = Policy.from_mapping({"hours": "07:00-11:30"})
    assert within_hours(at(2024, 3, 15, 7), early, CAL, TZ)
    assert not within_hours(at(2024, 3, 15, 11, 30), early, CAL, TZ)
    due = of_kind(all_owed([episode(policy=replace(early, digest_days=0))], at(2024, 3, 1), at(2024, 3, 16)), "due")
    assert {m.send_at.time() for m in due} == {time(7)}


# --- policy from a mapping -----------------------------------------------------------------------


def test_policy_from_mapping_merges_plan_and_obligation():
    plan = Policy.from_mapping({"due_before": [5, 0, 5], "digest_weekday": 4, "hours": "07:30-16:30"})
    assert plan.due_before == (5, 0) and plan.digest_weekday == 4 and plan.start == time(7, 30)
    obligation = Policy.from_mapping({"milestones": False, "overdue": False, "at_risk_days": 0, "digest_days": 7}, plan)
    assert obligation == replace(plan, milestones=False, overdue=False, at_risk_days=0, digest_days=7)
    assert Policy.from_mapping(None) == Policy() and Policy.from_mapping(None, plan) is plan
    assert Policy.from_mapping({"due_before": []}).due_before == ()


@pytest.mark.parametrize(
    "data, where",
    [
        ({"due_before": [7, -1]}, "due_before"),
        ({"due_before": "7,1"}, "due_before"),
        ({"due_before": [True]}, "due_before"),
        ({"milestones": "yes"}, "milestones"),
        ({"at_risk_days": -1}, "at_risk_days"),
        ({"digest_weekday": 7}, "digest_weekday"),
        ({"digest_days": 1.5}, "digest_days"),
        ({"hours": "17:00-08:00"}, "hours"),
        ({"hours": "8h-17h"}, "hours"),
        ({"hours": 8}, "hours"),
        ({"hours": "08:00Z-17:00"}, "hours"),
        ({"reminder_days": [1]}, "reminder_days"),
        (["due_before"], "mapping"),
    ],
)
def test_policy_rejects_bad_values_with_a_clear_message(data, where):
    with pytest.raises(SchedulerError) as caught:
        Policy.from_mapping(data)
    assert where in str(caught.value) and "expected" in str(caught.value)


# --- determinism and the whole month -------------------------------------------------------------


def test_same_inputs_same_list_sorted_by_send_at_and_key():
    items = [
        episode(
            id=f"pt.cchc-tv.2024-03.{n}", due=at(2024, 3, 5 * n, 17), recipients=(PRODUCER, EDITOR), policy=Policy()
        )
        for n in range(1, 6)
    ]
    now = at(2024, 3, 25, 9)
    first = owed(items, now, CAL, TZ)
    assert first == owed(list(reversed(items)), now, CAL, TZ) == owed(iter(items), now, CAL, TZ)
    assert first == sorted(first, key=lambda m: (m.send_at, m.key)) and len({m.key for m in first}) == len(first)


working_march = [d for d in (date(2024, 3, 1) + timedelta(n) for n in range(31)) if CAL.is_working_day(d)]
episodes = st.lists(
    st.tuples(st.sampled_from(working_march), st.integers(9, 23), st.sampled_from([(EDITOR,), (EDITOR, PRODUCER)])),
    min_size=1,
    max_size=4,
)


@settings(max_examples=12, deadline=None)
@given(spec=episodes, due_before=st.sets(st.integers(0, 10), max_size=4))
def test_stepping_through_march_each_key_is_owed_once_over_a_contiguous_range(spec, due_before):
    policy = Policy(due_before=tuple(sorted(due_before, reverse=True)))
    items = []
    for n, (day, hour, recipients) in enumerate(spec, 1):
        w = episode(
            datetime.combine(day, time(hour), TZ),
            id=f"pt.cchc-tv.2024-03.{n}",
            number=n,
            count=len(spec),
            recipients=recipients,
            policy=policy,
        )
        items.append(replace(w, milestones=steps_of(w)))
    start, end = at(2024, 2, 16, 0), at(2024, 4, 10, 0)  # from after Tết's week: D-10 of 01/03 is 16/02
    seen = timeline(items, start, end)
    hours = {k: [int((h - start) / HOUR) for h in v] for k, v in seen.items()}
    assert all(v == list(range(v[0], v[0] + len(v))) for v in hours.values())
    found = all_owed(items, start, end)
    for m in found.values():  # first owed on the first hour at or after send_at, last before expiry
        assert seen[m.key][-1] < m.expires_at
        if m.send_at >= start:  # (a digest of Tết's week is still useful, owed since before the replay)
            assert seen[m.key][0] - HOUR < m.send_at <= seen[m.key][0]
    expected = set()
    for w in items:
        for r in w.recipients:
            expected |= {f"due|{w.id}#D-{n}|{r}|{w.due.isoformat()}" for n in due_before}
            expected |= {
                f"milestone|{w.id}#{s}|{r}|{at(d.year, d.month, d.day).isoformat()}" for s, _, _, d in w.milestones
            }
            expected |= {f"{k}|{w.id}|{r}|{w.window_end.isoformat()}" for k in ("at_risk", "overdue")}
    mondays = [date(2024, 2, 19) + timedelta(weeks=n) for n in range(8)]  # none of them off
    for monday in mondays:
        opening = at(monday.year, monday.month, monday.day)
        if opening < start or opening >= end:
            continue
        coming = any(
            opening <= w.due < opening + timedelta(days=14)
            or any(monday <= d < monday + timedelta(days=14) for *_, d in w.milestones)
            for w in items
        )
        if coming:
            week = f"{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}"
            expected |= {
                f"digest|dai-ptth@{week}|{r}|{at(monday.year, monday.month, monday.day, 0).isoformat()}"
                for w in items
                for r in w.recipients
            }
    assert {k for k, m in found.items() if m.send_at >= start} == expected
    for w in items:  # exactly len(due_before) due reminders per recipient per episode
        for r in w.recipients:
            assert sum(
                1 for m in found.values() if m.kind == "due" and occurrence_of(m.about) == w.id and m.recipient == r
            ) == len(due_before)
