"""The delivery rules, pure: what ``judge`` refuses and how it records the
rest, which evidence each channel usually brings, which occurrence a delivery
"for the period" fills, and what the recorded entries make of an occurrence."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.errors import SchedulerError
from scheduler.evidence.deliveries import (
    EXCUSED,
    LATE,
    NON_CONFORMING,
    ON_TIME,
    DeliveryError,
    Evidence,
    FileRef,
    Recorded,
    State,
    Target,
    Verdict,
    active,
    choose_target,
    evidence_gaps,
    is_met,
    judge,
    moment_kind_for,
    occurrence_state,
)
from scheduler.i18n import gettext_for

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2024, 3, 1, 0, 0, tzinfo=TZ)  # the window of "2024-03": [01/03, 01/04)
END = datetime(2024, 4, 1, 0, 0, tzinfo=TZ)
NOW = datetime(2024, 4, 10, 9, 0, tzinfo=TZ)  # after the window: late deliveries are possible
AIRED = datetime(2024, 3, 14, 19, 30, tzinfo=TZ)
OCC = "ptth-cchc-2024-03-1"

VIDEO = FileRef("a" * 64, 1024, "tap-1.mp4", "video/mp4")
AUDIO = FileRef("b" * 64, 512, "tap-1.mp3", "audio/mpeg")
PHOTO = FileRef("c" * 64, 256, "lop-hoc.jpg", "image/jpeg")
LIST = FileRef("d" * 64, 128, "danh-sach.pdf", "application/pdf")


def target(**kw) -> Target:
    base = dict(
        id=OCC,
        status="scheduled",
        window_start=START,
        window_end=END,
        min_duration=600,
        channels=("radio", "tv"),
        number=1,
    )
    base.update(kw)
    return Target(**base)


def evidence(**kw) -> Evidence:
    base = dict(moment=AIRED, moment_kind="aired", duration=600, url="https://ptth.phutho.vn/vod/cchc-1")
    base.update(kw)
    return Evidence(**base)


def delivery(
    seq, moment=AIRED, *, conforming=True, late=False, extra=False, superseded=False, occurrence=OCC
) -> Recorded:
    return Recorded(seq, "delivery", occurrence, moment, conforming, late, extra, superseded)


def excuse(seq, note="phát sóng khẩn cấp", *, superseded=False, occurrence=OCC) -> Recorded:
    return Recorded(seq, "excuse", occurrence, None, True, False, False, superseded, note)


def refused(call, field: str) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        call()
    error = info.value
    assert error.field == field
    assert isinstance(error, SchedulerError)
    # The message renders in every language without a missing parameter.
    assert error.render() == str(error)
    for lang in ("vi", "en"):
        error.render(gettext_for(lang))
    return error


# --- judge: refusals ---------------------------------------------------------------------------


def test_a_cancelled_occurrence_takes_nothing():
    error = refused(lambda: judge(target(status="cancelled"), evidence(), [], NOW), "occurrence")
    assert error.params == {"id": OCC}
    assert OCC in str(error) and "cancelled" in str(error)


def test_a_cancelled_occurrence_is_refused_before_anything_else():
    bad = evidence(moment=NOW + timedelta(days=1), duration=-5)
    assert refused(lambda: judge(target(status="cancelled"), bad, [], NOW), "occurrence")


@pytest.mark.parametrize("kind, field", [("aired", "aired_at"), ("published", "published_at")])
def test_a_moment_in_the_future_is_refused_on_its_own_field(kind, field):
    future = NOW + timedelta(minutes=1)
    error = refused(lambda: judge(target(), evidence(moment=future, moment_kind=kind), [], NOW), field)
    assert error.params == {"moment": "10/04/2024 09:01"}
    assert "10/04/2024 09:01" in str(error) and "future" in str(error)


def test_the_moment_now_is_not_in_the_future():
    verdict = judge(target(), evidence(moment=NOW), [], NOW)
    assert verdict.late and verdict.conforming


@pytest.mark.parametrize("kind, field", [("aired", "aired_at"), ("published", "published_at")])
def test_a_moment_before_the_window_opens_is_refused_on_its_own_field(kind, field):
    early = START - timedelta(minutes=1)
    error = refused(lambda: judge(target(), evidence(moment=early, moment_kind=kind), [], NOW), field)
    assert error.params == {"moment": "29/02/2024 23:59", "start": "01/03/2024 00:00"}
    assert "29/02/2024 23:59" in str(error) and "01/03/2024 00:00" in str(error)


def test_the_moment_is_shown_in_its_own_time_zone():
    utc = datetime(2024, 2, 29, 16, 59, tzinfo=ZoneInfo("UTC"))  # 23:59 in Hà Nội: still before the window
    error = refused(lambda: judge(target(), evidence(moment=utc), [], NOW), "aired_at")
    assert error.params["start"] == "01/03/2024 00:00"


def test_a_moment_exactly_at_the_window_start_is_accepted():
    verdict = judge(target(), evidence(moment=START), [], NOW)
    assert verdict == Verdict(True, False, (), ())


def test_the_same_instant_in_another_zone_is_the_same_moment():
    verdict = judge(target(), evidence(moment=START.astimezone(ZoneInfo("UTC"))), [], NOW)
    assert verdict.conforming and not verdict.late


def test_a_negative_duration_is_refused():
    error = refused(lambda: judge(target(), evidence(duration=-1), [], NOW), "duration")
    assert "negative" in str(error)


# --- judge: what is recorded --------------------------------------------------------------------


def test_a_duration_under_the_minimum_is_recorded_as_non_conforming_with_why():
    verdict = judge(target(min_duration=600), evidence(duration=300), [], NOW)
    assert not verdict.conforming and not verdict.late
    assert len(verdict.reasons) == 1
    message, params = verdict.reasons[0]
    assert params == {"duration": "5", "minimum": "10"}
    assert message.format(**params) == "shorter than the minimum: 5 min < 10 min"
    for lang in ("vi", "en"):
        gettext_for(lang)(message).format(**params)


def test_a_fractional_duration_is_shown_in_minutes():
    _, params = judge(target(min_duration=600), evidence(duration=599), [], NOW).reasons[0]
    assert params == {"duration": "9.98", "minimum": "10"}


def test_exactly_the_minimum_conforms():
    verdict = judge(target(min_duration=600), evidence(duration=600), [], NOW)
    assert verdict.conforming and verdict.reasons == ()


def test_zero_duration_is_not_negative_but_is_under_the_minimum():
    verdict = judge(target(min_duration=600), evidence(duration=0), [], NOW)
    assert not verdict.conforming and verdict.reasons[0][1]["duration"] == "0"


@pytest.mark.parametrize("minimum", [None, 0])
def test_no_minimum_means_any_duration_conforms(minimum):
    assert judge(target(min_duration=minimum), evidence(duration=1), [], NOW).conforming


def test_no_duration_conforms_and_shows_as_a_gap():
    verdict = judge(target(min_duration=600), evidence(duration=None), [], NOW)
    assert verdict.conforming and verdict.reasons == ()
    assert verdict.gaps == ("duration",)


@pytest.mark.parametrize(
    "moment, late",
    [
        (END - timedelta(seconds=1), False),
        (END, True),
        (END + timedelta(days=3), True),
    ],
)
def test_a_moment_at_or_after_the_window_end_is_late(moment, late):
    verdict = judge(target(), evidence(moment=moment), [], NOW)
    assert verdict.late is late
    assert verdict.conforming


def test_late_and_short_at_once():
    verdict = judge(target(), evidence(moment=END + timedelta(hours=1), duration=60), [], NOW)
    assert verdict.late and not verdict.conforming


def test_the_verdict_carries_the_channel_gaps():
    verdict = judge(
        target(channels=("print", "online")), evidence(moment_kind="published", url="", duration=None), [], NOW
    )
    assert verdict.gaps == ("issue number", "page", "URL")


# --- judge: a second delivery ------------------------------------------------------------------


def test_only_a_non_conforming_delivery_leaves_the_occurrence_open():
    recorded = [delivery(1, conforming=False)]
    assert not is_met(recorded)
    verdict = judge(target(), evidence(), recorded, NOW)
    assert verdict.conforming


def test_a_second_delivery_on_a_met_occurrence_is_refused_naming_the_entry():
    error = refused(lambda: judge(target(), evidence(), [delivery(7)], NOW), "occurrence")
    assert error.params == {"id": OCC, "seq": 7}
    assert OCC in str(error) and "entry 7" in str(error) and "supersedes" in str(error)


def test_the_refusal_names_the_open_occurrence_of_the_same_window():
    error = refused(
        lambda: judge(target(), evidence(), [delivery(7)], NOW, open_sibling="ptth-cchc-2024-03-2"), "occurrence"
    )
    assert error.params == {"id": OCC, "seq": 7, "open": "ptth-cchc-2024-03-2"}
    assert "ptth-cchc-2024-03-2" in str(error) and "entry 7" in str(error)


def test_an_excused_occurrence_refuses_a_delivery_naming_the_excuse():
    error = refused(lambda: judge(target(), evidence(), [excuse(4)], NOW), "occurrence")
    assert error.params["seq"] == 4


def test_the_refusal_names_the_conforming_entry_not_the_non_conforming_one():
    error = refused(
        lambda: judge(target(), evidence(), [delivery(2, conforming=False), delivery(3)], NOW), "occurrence"
    )
    assert error.params["seq"] == 3


def test_the_refusal_names_the_entry_that_met_it_not_an_extra():
    # #1 was met by entry 1; an extra (2) came; entry 3 corrected entry 1.
    recorded = [delivery(1, superseded=True), delivery(2, extra=True), delivery(3)]
    error = refused(lambda: judge(target(), evidence(), recorded, NOW), "occurrence")
    assert error.params["seq"] == 3


def test_extra_skips_the_already_met_refusal():
    verdict = judge(target(), evidence(), [delivery(7)], NOW, extra=True)
    assert verdict.conforming and not verdict.late


def test_extra_still_obeys_the_other_rules():
    refused(
        lambda: judge(target(), evidence(moment=NOW + timedelta(hours=1)), [delivery(7)], NOW, extra=True), "aired_at"
    )
    refused(lambda: judge(target(status="cancelled"), evidence(), [], NOW, extra=True), "occurrence")


def test_supersedes_of_a_valid_entry_is_accepted_on_a_met_occurrence():
    verdict = judge(target(), evidence(supersedes=7, duration=720), [delivery(7)], NOW)
    assert verdict.conforming


def test_supersedes_of_an_excuse_is_accepted():
    assert judge(target(), evidence(supersedes=4), [excuse(4)], NOW).conforming


def test_supersedes_of_an_unknown_entry_is_refused():
    error = refused(lambda: judge(target(), evidence(supersedes=99), [delivery(7)], NOW), "supersedes")
    assert error.params == {"seq": 99, "id": OCC}
    assert "99" in str(error) and OCC in str(error)


def test_supersedes_with_nothing_recorded_is_refused():
    refused(lambda: judge(target(), evidence(supersedes=1), [], NOW), "supersedes")


def test_supersedes_of_an_already_superseded_entry_is_refused():
    recorded = [delivery(7, superseded=True), delivery(8)]
    error = refused(lambda: judge(target(), evidence(supersedes=7), recorded, NOW), "supersedes")
    assert error.params == {"seq": 7}
    assert "already superseded" in str(error)


def test_a_correction_can_itself_be_non_conforming():
    verdict = judge(target(), evidence(supersedes=7, duration=120), [delivery(7)], NOW)
    assert not verdict.conforming and verdict.reasons


def test_an_excuse_makes_the_occurrence_met():
    assert is_met([excuse(1)])
    assert not is_met([excuse(1, superseded=True)])


# --- evidence gaps -----------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [("radio",), ("tv",), ("radio", "tv")])
def test_broadcast_wants_a_duration_and_a_recording_or_link(channels):
    bare = evidence(duration=None, url="")
    assert evidence_gaps(channels, bare) == ("duration", "recording file or VOD link")
    assert evidence_gaps(channels, replace(bare, duration=600)) == ("recording file or VOD link",)
    assert evidence_gaps(channels, replace(bare, duration=600, url="https://vod")) == ()
    assert evidence_gaps(channels, replace(bare, duration=600, files=(VIDEO,))) == ()
    assert evidence_gaps(channels, replace(bare, duration=600, files=(AUDIO,))) == ()


def test_a_zero_duration_is_given():
    assert "duration" not in evidence_gaps(("radio",), evidence(duration=0))


def test_a_broadcast_file_that_is_not_a_recording_leaves_the_gap():
    gaps = evidence_gaps(("tv",), evidence(url="", files=(PHOTO, LIST)))
    assert gaps == ("recording file or VOD link",)


def test_print_wants_issue_number_and_page():
    bare = evidence(moment_kind="published", duration=None, url="")
    assert evidence_gaps(("print",), bare) == ("issue number", "page")
    assert evidence_gaps(("print",), replace(bare, fields={"issue_number": "5123"})) == ("page",)
    assert evidence_gaps(("print",), replace(bare, fields={"page": "3"})) == ("issue number",)
    assert evidence_gaps(("print",), replace(bare, fields={"issue_number": "5123", "page": "3"})) == ()
    # an empty value is no value
    assert evidence_gaps(("print",), replace(bare, fields={"issue_number": "", "page": ""})) == ("issue number", "page")


@pytest.mark.parametrize("channel", ["online", "portal"])
def test_online_and_portal_want_the_url(channel):
    bare = evidence(moment_kind="published", duration=None, url="")
    assert evidence_gaps((channel,), bare) == ("URL",)
    assert evidence_gaps((channel,), replace(bare, url="https://baophutho.vn/cchc")) == ()


def test_online_and_portal_together_name_the_url_once():
    bare = evidence(moment_kind="published", duration=None, url="")
    assert evidence_gaps(("online", "portal"), bare) == ("URL",)


@pytest.mark.parametrize("channels", [("training",), ("contest",), ("training", "contest")])
def test_training_and_contest_want_participants_and_files(channels):
    bare = evidence(moment_kind="published", duration=None, url="")
    assert evidence_gaps(channels, bare) == ("number of participants", "attendance list or photos")
    assert evidence_gaps(channels, replace(bare, fields={"participants": "120"})) == ("attendance list or photos",)
    assert evidence_gaps(channels, replace(bare, files=(PHOTO,))) == ("number of participants",)
    assert evidence_gaps(channels, replace(bare, fields={"participants": "120"}, files=(LIST,))) == ()


def test_print_and_online_together():
    bare = evidence(moment_kind="published", duration=None, url="")
    assert evidence_gaps(("print", "online"), bare) == ("issue number", "page", "URL")
    full = replace(bare, url="https://baophutho.vn/cchc", fields={"issue_number": "5123", "page": "3"})
    assert evidence_gaps(("print", "online"), full) == ()


def test_radio_and_online_share_the_url():
    bare = evidence(duration=600, url="")
    assert evidence_gaps(("radio", "online"), bare) == ("recording file or VOD link", "URL")
    # a recording file is enough for the broadcast, not for the online page
    assert evidence_gaps(("radio", "online"), replace(bare, files=(VIDEO,))) == ("URL",)
    assert evidence_gaps(("radio", "online"), replace(bare, url="https://vod")) == ()


def test_no_channel_wants_nothing():
    assert evidence_gaps((), evidence(duration=None, url="")) == ()


def test_gaps_are_message_ids_that_translate():
    gaps = evidence_gaps(("radio", "print", "online", "training"), evidence(duration=None, url=""))
    assert len(gaps) == len(set(gaps))
    for gap in gaps:
        for lang in ("vi", "en"):
            assert gettext_for(lang)(gap)


# --- choose_target -----------------------------------------------------------------------------


def slot(number, status="scheduled") -> Target:
    return target(id=f"ptth-cchc-2024-03-{number}", number=number, status=status)


def test_the_lowest_numbered_unmet_occurrence_is_chosen():
    window = [(slot(2), []), (slot(1), [])]
    assert choose_target(window) == (slot(1), False)


def test_a_met_occurrence_is_skipped():
    window = [(slot(1), [delivery(1, occurrence=slot(1).id)]), (slot(2), [])]
    assert choose_target(window) == (slot(2), False)


def test_a_non_conforming_occurrence_is_still_open():
    window = [(slot(1), [delivery(1, conforming=False)]), (slot(2), [])]
    assert choose_target(window) == (slot(1), False)


def test_an_excused_occurrence_is_skipped():
    window = [(slot(1), [excuse(1)]), (slot(2), [])]
    assert choose_target(window) == (slot(2), False)


def test_a_cancelled_occurrence_is_skipped():
    window = [(slot(1, "cancelled"), []), (slot(2), []), (slot(3), [])]
    assert choose_target(window) == (slot(2), False)


def test_all_met_gives_the_last_live_one_as_an_extra():
    window = [(slot(1), [delivery(1)]), (slot(2), [excuse(2)]), (slot(3, "cancelled"), [])]
    assert choose_target(window) == (slot(2), True)


def test_all_met_in_any_order_gives_the_highest_number():
    window = [(slot(3), [delivery(3)]), (slot(1), [delivery(1)]), (slot(2), [delivery(2)])]
    assert choose_target(window) == (slot(3), True)


def test_all_cancelled_is_refused_on_the_period():
    error = refused(lambda: choose_target([(slot(1, "cancelled"), []), (slot(2, "cancelled"), [])]), "period")
    assert "cancelled" in str(error)


def test_an_empty_window_is_refused_on_the_period():
    refused(lambda: choose_target([]), "period")


# --- occurrence_state --------------------------------------------------------------------------


def test_nothing_recorded_is_no_state():
    assert occurrence_state([]) == State(None)


def test_an_excuse_wins_over_deliveries():
    state = occurrence_state([delivery(1), excuse(2, "bão số 3")])
    assert state == State(EXCUSED, None, 2, "bão số 3")


def test_the_latest_excuse_is_the_one_shown():
    state = occurrence_state([excuse(5, "lần hai"), excuse(2, "lần một")])
    assert (state.state, state.seq, state.note) == (EXCUSED, 5, "lần hai")


def test_a_superseded_excuse_is_ignored():
    state = occurrence_state([excuse(1, superseded=True), delivery(2)])
    assert state == State(ON_TIME, AIRED, 2)


def test_the_earliest_conforming_delivery_by_moment_decides():
    early = AIRED - timedelta(days=2)
    late = END + timedelta(days=1)
    state = occurrence_state([delivery(1, late, late=True), delivery(2, early)])
    assert state == State(ON_TIME, early, 2)


def test_a_late_earliest_conforming_delivery_is_late():
    late = END + timedelta(days=1)
    state = occurrence_state([delivery(1, AIRED - timedelta(days=1), conforming=False), delivery(2, late, late=True)])
    assert state == State(LATE, late, 2)


def test_equal_moments_go_by_seq():
    assert occurrence_state([delivery(9), delivery(4)]).seq == 4


def test_superseded_deliveries_are_ignored():
    early = AIRED - timedelta(days=2)
    state = occurrence_state([delivery(1, early, superseded=True), delivery(2, AIRED)])
    assert state == State(ON_TIME, AIRED, 2)


def test_extras_are_ignored():
    early = AIRED - timedelta(days=2)
    state = occurrence_state([delivery(1, early, extra=True), delivery(2, AIRED, conforming=False)])
    assert state == State(NON_CONFORMING, AIRED, 2)
    assert occurrence_state([delivery(1, extra=True)]) == State(None)


def test_only_non_conforming_deliveries_are_non_conforming():
    early = AIRED - timedelta(days=2)
    state = occurrence_state([delivery(3, AIRED, conforming=False), delivery(4, early, conforming=False)])
    assert state == State(NON_CONFORMING, early, 4)


def test_all_superseded_is_no_state():
    assert occurrence_state([delivery(1, superseded=True), excuse(2, superseded=True)]) == State(None)


def test_states_are_message_ids_that_translate():
    for state in (ON_TIME, LATE, NON_CONFORMING, EXCUSED):
        for lang in ("vi", "en"):
            assert gettext_for(lang)(state)


# --- small helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "channels, kind",
    [
        (("radio",), "aired"),
        (("tv",), "aired"),
        (("radio", "tv"), "aired"),
        (("tv", "online"), "aired"),
        (("print",), "published"),
        (("print", "online"), "published"),
        (("online",), "published"),
        (("portal",), "published"),
        (("training",), "published"),
        (("contest",), "published"),
        ((), "published"),
    ],
)
def test_moment_kind_for(channels, kind):
    assert moment_kind_for(channels) == kind


def test_is_met():
    assert not is_met([])
    assert is_met([delivery(1)])
    assert is_met([delivery(1, late=True)])  # late still meets
    assert not is_met([delivery(1, conforming=False)])
    assert not is_met([delivery(1, extra=True)])
    assert not is_met([delivery(1, superseded=True)])
    assert is_met([delivery(1, superseded=True), delivery(2)])
    assert is_met(iter([excuse(1)]))  # any iterable


def test_active_drops_superseded_and_keeps_order():
    entries = [delivery(3), delivery(1, superseded=True), excuse(2)]
    assert active(entries) == [entries[0], entries[2]]
    assert active(iter(entries)) == [entries[0], entries[2]]
    assert active([]) == []


# --- properties --------------------------------------------------------------------------------

moments = st.datetimes(min_value=datetime(2024, 3, 1), max_value=datetime(2024, 4, 30), timezones=st.just(TZ))


@st.composite
def ledgers(draw):
    """Entries of one occurrence as the store reads them: excuses are never extras."""
    n = draw(st.integers(0, 8))
    seqs = draw(st.lists(st.integers(1, 1000), min_size=n, max_size=n, unique=True))
    entries = []
    for seq in seqs:
        superseded = draw(st.booleans())
        if draw(st.booleans()):
            entries.append(excuse(seq, draw(st.text(max_size=5)), superseded=superseded))
        else:
            entries.append(
                delivery(
                    seq,
                    draw(moments),
                    conforming=draw(st.booleans()),
                    late=draw(st.booleans()),
                    extra=draw(st.booleans()),
                    superseded=superseded,
                )
            )
    return entries


@settings(max_examples=300, deadline=None)
@given(ledgers())
def test_state_is_none_iff_no_active_entry_that_counts(entries):
    state = occurrence_state(entries)
    counted = [e for e in entries if not e.superseded and not e.extra]
    assert (state.state is None) == (not counted)
    assert (state.state == EXCUSED) == any(e.kind == "excuse" and not e.superseded for e in entries)
    assert state.state in (None, ON_TIME, LATE, NON_CONFORMING, EXCUSED)
    if state.state is not None:
        chosen = next(e for e in entries if e.seq == state.seq)
        assert not chosen.superseded and not chosen.extra
    # met exactly when the state says delivered (on time or late) or excused
    assert is_met(entries) == (state.state in (ON_TIME, LATE, EXCUSED))
    # the order the entries come in does not matter
    assert occurrence_state(list(reversed(entries))) == state


@settings(max_examples=200, deadline=None)
@given(
    moment=moments,
    duration=st.one_of(st.none(), st.integers(0, 3600)),
    minimum=st.one_of(st.none(), st.integers(1, 1800)),
)
def test_judge_on_a_fresh_occurrence(moment, duration, minimum):
    t = target(min_duration=minimum)
    e = evidence(moment=moment, duration=duration)
    if moment > NOW:
        refused(lambda: judge(t, e, [], NOW), "aired_at")
        return
    verdict = judge(t, e, [], NOW)
    assert verdict.late == (moment >= END)
    short = minimum is not None and duration is not None and duration < minimum
    assert verdict.conforming == (not short)
    assert bool(verdict.reasons) == short
