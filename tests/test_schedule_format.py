"""The schedule file format as docs/schedule-format.md documents it.

Every example of the document is a file under tests/data/forms/ (loaded and
expanded here), every broken input under tests/data/broken/ names on its
first line the line and field its error must be reported at, and the
document's own examples and quoted output are checked against the reader.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.errors import ScheduleError
from scheduler.plan.milestones import DEFAULT_TEMPLATES, TEMPLATE_OF_CHANNEL
from scheduler.plan.occurrences import CANCELLED, SCHEDULED, Occurrence, expand
from scheduler.plan.production import Schedules, read_files, read_texts

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "tests" / "data" / "forms"
BROKEN = ROOT / "tests" / "data" / "broken"
DOC = ROOT / "docs" / "schedule-format.md"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PRODUCTION_PAIR = ("production-plan.yaml", "production-layer.yaml")


# ---------------------------------------------------------------- helpers


def load(*names: str) -> Schedules:
    return read_files([FORMS / n for n in names])


def by_obligation(*names: str) -> dict[str, list[Occurrence]]:
    schedules = load(*names)
    assert len(schedules.plans) == 1
    found: dict[str, list[Occurrence]] = defaultdict(list)
    for o in expand(schedules.plans[0]):
        found[o.obligation].append(o)
    return dict(found)


def at(day: str, hh_mm: str = "17:00") -> datetime:
    """``dd/mm/yyyy`` and ``HH:MM`` as a moment in Asia/Ho_Chi_Minh."""
    d, m, y = map(int, day.split("/"))
    h, mi = map(int, hh_mm.split(":"))
    return datetime(y, m, d, h, mi, tzinfo=TZ)


def d(day: str) -> date:
    dd, mm, yy = map(int, day.split("/"))
    return date(yy, mm, dd)


def window(o: Occurrence) -> tuple[date, date]:
    """The window as the document's tables show it: first and last day."""
    return o.window.start, o.window.last_day


def form_sets() -> list[tuple[str, ...]]:
    """Every file of tests/data/forms, the production pair together, and
    every other production file (harvest*.yaml) after the plan it names."""
    names = sorted(p.name for p in FORMS.glob("*.yaml"))
    texts = {n: (FORMS / n).read_text(encoding="utf-8") for n in names}
    plans = {m[1]: n for n, t in texts.items() if (m := re.search(r"^plan:\n  code: (\S+)", t, re.M))}
    layers = {n: re.search(r"^production:\n  plan: (\S+)", t, re.M) for n, t in texts.items()}
    sets = [(plans[m[1]], n) if (m := layers[n]) else (n,) for n in texts if n not in PRODUCTION_PAIR]
    return sets + [PRODUCTION_PAIR]


# ------------------------------------------------- every example file loads


def test_forms_folder_holds_the_documented_examples():
    names = {p.name for p in FORMS.glob("*.yaml")}
    assert {
        "quota.yaml",
        "window.yaml",
        "span.yaml",
        "deadlines.yaml",
        "continuous.yaml",
        "slots-cadence.yaml",
        "slots-mismatch.yaml",
        "working-days.yaml",
        "owes-nothing.yaml",
        *PRODUCTION_PAIR,
    } <= names


@pytest.mark.parametrize("names", form_sets(), ids=lambda n: "+".join(n))
def test_every_form_loads_and_expands_consistently(names):
    schedules = load(*names)
    assert len(schedules.plans) == 1
    plan = schedules.plans[0]
    occurrences = expand(plan)
    ids = [o.id for o in occurrences]
    assert len(ids) == len(set(ids)), "occurrence ids are unique"
    for o in occurrences:
        member = f"{o.member}." if o.member else ""  # a group's member (groups.yaml)
        assert o.id == f"{plan.code}.{o.obligation}.{member}{o.period}.{o.number}"
        assert re.fullmatch(r"[a-z0-9.\-_A-Z]+", o.id), "ids are URL-safe"
        assert o.window.start < o.window.end
        assert plan.period.start <= o.window.start and o.window.end <= plan.period.end
        assert o.window_start == datetime.combine(o.window.start, time(0), tzinfo=TZ)
        assert o.window_end == datetime.combine(o.window.end, time(0), tzinfo=TZ)
        assert o.window.contains(o.due.date()), f"{o.id}: due inside the window"
        for m in o.milestones:
            assert plan.calendar.is_working_day(m.day), f"{o.id} {m.step}: {m.day} is a working day"
            assert m.day <= o.due.date()


# -------------------------------------------------------------------- quota


def test_quota_two_per_month_shares_the_month_window():
    occ = by_obligation("quota.yaml")["chuyen-muc-cchc"]
    assert len(occ) == 24
    per_month = Counter(o.period for o in occ)
    assert per_month == {f"2024-{m:02d}": 2 for m in range(1, 13)}
    first, second = occ[0], occ[1]
    assert first.id == "forms-quota.chuyen-muc-cchc.2024-01.1"
    assert second.id == "forms-quota.chuyen-muc-cchc.2024-01.2"
    assert first.label == "2024-01 #1"
    assert window(first) == window(second) == (d("01/01/2024"), d("31/01/2024"))
    # the quota spread over the month: mid-month and the last working day
    assert (first.due, second.due) == (at("15/01/2024"), at("31/01/2024"))
    # February: mid-month is 14/02, inside Tết (08-14/02), so the 7th
    feb = [o for o in occ if o.period == "2024-02"]
    assert [o.due for o in feb] == [at("07/02/2024"), at("29/02/2024")]
    # March 31 is a Sunday: the last working day at or before is Friday 29th
    assert [o.due for o in occ if o.period == "2024-03"] == [at("15/03/2024"), at("29/03/2024")]
    assert all(o.min_duration == 600 for o in occ)
    assert all(o.slot is None and o.status == SCHEDULED for o in occ)


def test_quota_default_broadcast_milestones():
    occ = by_obligation("quota.yaml")["chuyen-muc-cchc"]
    jan1 = occ[0]
    assert [(m.step, m.offset, m.day) for m in jan1.milestones] == [
        ("script", 5, d("08/01/2024")),
        ("recording", 3, d("10/01/2024")),
        ("handover", 1, d("12/01/2024")),
    ]
    feb1 = occ[2]  # due 07/02: Tết does not count, weekends do not count
    assert [m.day for m in feb1.milestones] == [d("31/01/2024"), d("02/02/2024"), d("06/02/2024")]


def test_quota_vietnamese_forms_read_like_english_ones():
    occ = by_obligation("quota.yaml")
    assert [(o.period, o.number, o.due) for o in occ["chuyen-muc-vi"]] == [
        (o.period, o.number, o.due) for o in occ["chuyen-muc-cchc"]
    ]
    assert [o.period for o in occ["bai-viet-cchc"]] == [f"2024-{m:02d}" for m in range(1, 13)]
    assert [o.period for o in occ["phong-su-quy"]] == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    assert [window(o) for o in occ["tong-ket-nua-nam"]] == [
        (d("01/01/2024"), d("30/06/2024")),
        (d("01/07/2024"), d("31/12/2024")),
    ]
    assert [o.due for o in occ["tong-ket-nua-nam"]] == [at("28/06/2024"), at("31/12/2024")]
    (year,) = occ["chuyen-de-nam"]
    assert year.id == "forms-quota.chuyen-de-nam.2024.1"
    assert window(year) == (d("01/01/2024"), d("31/12/2024"))


def test_quota_default_newspaper_milestones():
    jan = by_obligation("quota.yaml")["bai-viet-cchc"][0]
    assert jan.due == at("31/01/2024")
    assert [(m.step, m.day) for m in jan.milestones] == [
        ("draft", d("24/01/2024")),
        ("edit", d("29/01/2024")),
        ("publication", d("31/01/2024")),
    ]


def test_quota_per_week_uses_iso_weeks_clipped_to_the_plan():
    weeks = by_obligation("quota.yaml")["ban-tin-tuan"]
    assert len(weeks) == 53
    assert weeks[0].period == "2024-W01"
    assert window(weeks[0]) == (d("01/01/2024"), d("07/01/2024"))
    assert weeks[0].due == at("05/01/2024")
    # 30-31/12/2024 belong to ISO week 1 of 2025: the label says so
    assert weeks[-1].id == "forms-quota.ban-tin-tuan.2025-W01.1"
    assert window(weeks[-1]) == (d("30/12/2024"), d("31/12/2024"))
    # windows tile the year: no gap, no overlap
    for a, b in zip(weeks, weeks[1:]):
        assert a.window.end == b.window.start


def test_quota_from_until_limits_the_months():
    occ = by_obligation("quota.yaml")["mua-cao-diem"]
    assert len(occ) == 12
    assert sorted({o.period for o in occ}) == [f"2024-{m:02d}" for m in range(4, 10)]
    assert occ[0].id == "forms-quota.mua-cao-diem.2024-04.1"
    assert [o.due for o in occ[:2]] == [at("15/04/2024"), at("26/04/2024")]
    assert occ[-1].due == at("30/09/2024")


# ------------------------------------------------------------------ windows


def test_one_off_windows():
    occ = by_obligation("window.yaml")
    expect = {
        "toa-dam-cchc": ("2024-Q4", "01/10/2024", "31/12/2024", "31/12/2024"),
        "thi-tim-hieu": ("2024-Q3", "01/07/2024", "30/09/2024", "30/09/2024"),
        "hoi-nghi-so-ket": ("2024-H1", "01/01/2024", "30/06/2024", "28/06/2024"),
        "phong-su-thang-3": ("2024-03", "01/03/2024", "31/03/2024", "29/03/2024"),
        "tuan-le-cchc": ("2024-07-01_2024-08-15", "01/07/2024", "15/08/2024", "15/08/2024"),
        "bao-cao-truoc-30-9": ("by-2024-09-30", "01/01/2024", "30/09/2024", "30/09/2024"),
    }
    for code, (label, first, last, due) in expect.items():
        (o,) = occ[code]
        assert o.id == f"forms-window.{code}.{label}.1"
        assert window(o) == (d(first), d(last))
        assert o.due == at(due)
    # the contest takes the event template: 15, 10 and 5 working days before
    contest = occ["thi-tim-hieu"][0]
    assert [(m.step, m.day) for m in contest.milestones] == [
        ("invitation", d("09/09/2024")),
        ("venue", d("16/09/2024")),
        ("materials", d("23/09/2024")),
    ]


def test_window_with_count_spreads_over_the_window():
    two = by_obligation("window.yaml")["hai-toa-dam-h2"]
    assert [o.label for o in two] == ["2024-H2 #1", "2024-H2 #2"]
    assert window(two[0]) == window(two[1]) == (d("01/07/2024"), d("31/12/2024"))
    assert [o.due for o in two] == [at("30/09/2024"), at("31/12/2024")]


# --------------------------------------------------------------------- span


def test_span_from_q2_by_q4():
    occ = by_obligation("span.yaml")
    (training,) = occ["tap-huan-cchc"]
    assert training.id == "forms-span.tap-huan-cchc.2024-Q2_2024-Q4.1"
    assert window(training) == (d("01/04/2024"), d("31/12/2024"))
    assert training.due == at("31/12/2024")
    assert [(m.step, m.day) for m in training.milestones] == [
        ("invitation", d("10/12/2024")),
        ("venue", d("17/12/2024")),
        ("materials", d("24/12/2024")),
    ]
    three = occ["ba-lop-boi-duong"]
    assert [o.period for o in three] == ["2024-04_2024-H2"] * 3
    assert {window(o) for o in three} == {(d("01/04/2024"), d("31/12/2024"))}
    assert [o.due for o in three] == [at("28/06/2024"), at("30/09/2024"), at("31/12/2024")]


# ---------------------------------------------------------------- deadlines


def test_deadlines_chain_their_windows():
    occ = by_obligation("deadlines.yaml")["bao-cao-dinh-ky"]
    assert [o.id for o in occ] == [
        "forms-deadlines.bao-cao-dinh-ky.2024-06-15.1",
        "forms-deadlines.bao-cao-dinh-ky.2024-09-14.1",
        "forms-deadlines.bao-cao-dinh-ky.2024-12-14.1",
    ]
    assert [window(o) for o in occ] == [
        (d("01/01/2024"), d("15/06/2024")),
        (d("16/06/2024"), d("14/09/2024")),
        (d("15/09/2024"), d("14/12/2024")),
    ]
    # each deadline is a Saturday: due the Friday before, at the plan's due_time
    assert [o.due for o in occ] == [at("14/06/2024", "11:00"), at("13/09/2024", "11:00"), at("13/12/2024", "11:00")]
    # channel portal: the portal template, one review 2 working days before
    assert [(m.step, m.day) for m in occ[0].milestones] == [("review", d("12/06/2024"))]


# --------------------------------------------------------------- continuous


def test_continuous_attested_per_quarter_and_month():
    occ = by_obligation("continuous.yaml")
    quarters = occ["chuyen-trang-cchc"]
    assert [o.period for o in quarters] == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    assert [window(o) for o in quarters] == [
        (d("01/01/2024"), d("31/03/2024")),
        (d("01/04/2024"), d("30/06/2024")),
        (d("01/07/2024"), d("30/09/2024")),
        (d("01/10/2024"), d("31/12/2024")),
    ]
    assert [o.due for o in quarters] == [at("29/03/2024"), at("28/06/2024"), at("30/09/2024"), at("31/12/2024")]
    months = occ["lien-ket-dvc"]
    assert len(months) == 12 and all(o.number == 1 for o in months)
    h2 = occ["chuyen-muc-bau-cu"]
    assert [o.period for o in h2] == [f"2024-{m:02d}" for m in range(7, 13)]
    assert h2[0].channels == ("portal", "online")


# -------------------------------------------------------- slots as cadence


def test_slots_cadence_owes_each_slot_on_its_day():
    occ = by_obligation("slots-cadence.yaml")
    thursdays = occ["ban-tin-thu-nam"]
    assert len(thursdays) == 52
    assert all(o.slot.weekday() == 3 and o.slot.time() == time(19, 30) for o in thursdays)
    first = thursdays[0]
    assert first.id == "forms-slots.ban-tin-thu-nam.2024-01-04.1"
    assert window(first) == (d("04/01/2024"), d("04/01/2024"))
    assert first.due == first.slot == at("04/01/2024", "19:30")
    # milestones may fall before the plan's start
    assert [m.day for m in first.milestones] == [d("27/12/2023"), d("29/12/2023"), d("03/01/2024")]
    assert first.min_duration == 300
    # a slot on a public holiday (Tết, 08/02) is still owed
    tet = next(o for o in thursdays if o.period == "2024-02-08")
    assert tet.due == at("08/02/2024", "19:30") and tet.status == SCHEDULED
    mondays = occ["phat-thanh-sang"]
    assert len(mondays) == 24
    assert [o.period for o in mondays[:2]] == ["2024-01-01", "2024-01-15"]
    assert mondays[0].slot == at("01/01/2024", "06:15")


# ---------------------------------------------------------- slots on quota


def test_slots_that_do_not_match_the_quota_warn():
    schedules = load("slots-mismatch.yaml")
    warnings = [w.render() for w in schedules.warnings]
    assert len(warnings) == 2
    assert warnings[0].endswith(
        "slots-mismatch.yaml:21: obligations[0].slots: the slots do not match the quota in 12 window(s) "
        "(slots/owed: 2024-01: 4/2, 2024-02: 5/2, 2024-03: 4/2, 2024-04: 4/2); extra slots are not owed "
        "and occurrences without a slot are due by the spread rule"
    )
    assert ":30: obligations[1].slots: the slots do not match the quota in 6 window(s)" in warnings[1]
    occ = by_obligation("slots-mismatch.yaml")
    weekly = occ["cchc-radio-tv"]
    assert len(weekly) == 24  # still the quota, not one per Thursday
    assert [o.slot for o in weekly[:4]] == [
        at("04/01/2024", "19:30"),
        at("11/01/2024", "19:30"),
        at("01/02/2024", "19:30"),
        at("08/02/2024", "19:30"),
    ]
    monthly = occ["phong-su-thang"]
    assert [(o.period, o.due, o.slot) for o in monthly[:3]] == [
        ("2024-01", at("10/01/2024", "20:00"), at("10/01/2024", "20:00")),
        ("2024-02", at("29/02/2024"), None),  # no slot in February: the spread rule
        ("2024-03", at("10/03/2024", "20:00"), at("10/03/2024", "20:00")),
    ]


def test_a_cadence_owing_nothing_warns():
    schedules = load("owes-nothing.yaml")
    assert [w.render() for w in schedules.warnings] == [
        f"{FORMS / 'owes-nothing.yaml'}:19: obligations[0].cadence: this cadence owes nothing inside the plan's period"
    ]
    assert expand(schedules.plans[0]) == []


# ------------------------------------------------------ plan-level fields


def test_plan_fields_and_working_day_overrides():
    schedules = load("working-days.yaml")
    plan = schedules.plans[0]
    assert (plan.number, plan.issued_on, plan.timezone) == ("123/KH-UBND", d("15/01/2024"), "Asia/Ho_Chi_Minh")
    assert plan.due_time == time(16, 30)
    assert plan.extra_holidays == {d("26/04/2024")} and plan.extra_workdays == {d("27/04/2024")}
    assert plan.topics[0].audiences == ("can-bo",)
    ob = plan.obligation("bai-viet-cchc")
    assert ob.coordinators == ("so-noi-vu",) and ob.topics == ("chuyen-doi-so",)
    occ = by_obligation("working-days.yaml")["bai-viet-cchc"]
    april = next(o for o in occ if o.period == "2024-04")
    # 30/04 and 29/04 are holidays, 28/04 a Sunday, 27/04 the Saturday made a
    # working day (without the override it would be Friday 26/04)
    assert april.due == at("27/04/2024", "16:30")
    assert [(m.step, m.day) for m in april.milestones] == [
        ("draft", d("19/04/2024")),
        ("edit", d("24/04/2024")),
        ("publication", d("27/04/2024")),
    ]
    assert not plan.calendar.is_working_day(d("26/04/2024"))


# ------------------------------------------------------ production layer


def test_production_layer_slots_milestones_reminders_exceptions():
    schedules = load(*PRODUCTION_PAIR)
    assert schedules.warnings == ()  # 2nd and 4th Thursday: two slots a month
    plan = schedules.plans[0]
    assert plan.agency("dai-ptth").contacts == ("bientap@daiptth.phutho.example", "sanxuat@daiptth.phutho.example")
    radio = plan.obligation("cchc-radio-tv")
    assert radio.reminders == ("dai-ptth", "bientap.cchc@daiptth.phutho.example")
    occ = by_obligation(*PRODUCTION_PAIR)
    episodes = occ["cchc-radio-tv"]
    assert len(episodes) == 24
    jan = episodes[:2]
    assert [o.slot for o in jan] == [at("11/01/2024", "19:30"), at("25/01/2024", "19:30")]
    assert [o.due for o in jan] == [o.slot for o in jan]
    assert [(m.step, m.offset, m.day) for m in jan[0].milestones] == [
        ("kich-ban", 4, d("05/01/2024")),
        ("quay-dung", 2, d("09/01/2024")),
        ("ban-giao", 1, d("10/01/2024")),
    ]
    by_label = {o.label: o for o in episodes}
    skipped = by_label["2024-02 #1"]
    assert skipped.status == CANCELLED
    assert skipped.reason.startswith("Thứ Năm 08/02/2024 là ngày nghỉ Tết")
    assert by_label["2024-02 #2"].status == SCHEDULED
    assert sum(o.status == CANCELLED for o in episodes) == 1
    moved_slot = by_label["2024-04 #2"]
    assert moved_slot.slot == moved_slot.due == at("25/04/2024", "20:00")
    assert moved_slot.reason == "Nhường giờ cho chương trình kỷ niệm 30/4"
    moved_due = by_label["2024-09 #1"]
    assert moved_due.due == at("06/09/2024")  # a bare date takes the plan's due_time
    assert moved_due.slot == at("12/09/2024", "19:30")  # the slot stays
    assert [m.day for m in moved_due.milestones] == [d("29/08/2024"), d("04/09/2024"), d("05/09/2024")]
    (talk,) = occ["toa-dam-cchc"]
    assert (talk.slot, talk.due) == (at("12/12/2024", "20:00"), at("10/12/2024", "17:00"))
    assert [(m.step, m.day) for m in talk.milestones] == [("moi-khach", d("26/11/2024")), ("ghi-hinh", d("05/12/2024"))]
    # the newspaper's obligation is not the station's: defaults stay
    paper = occ["bao-phu-tho-cchc"]
    assert [m.step for m in paper[0].milestones] == ["draft", "edit", "publication"]
    assert plan.obligation("bao-phu-tho-cchc").reminders == ()


def test_production_layer_order_does_not_matter():
    forward = expand(load(*PRODUCTION_PAIR).plans[0])
    backward = expand(load(*reversed(PRODUCTION_PAIR)).plans[0])
    assert [o.shown() for o in forward] == [o.shown() for o in backward]


def test_default_templates_per_channel():
    assert TEMPLATE_OF_CHANNEL == {
        "radio": "broadcast",
        "tv": "broadcast",
        "print": "newspaper",
        "online": "newspaper",
        "training": "event",
        "contest": "event",
        "portal": "portal",
        "meeting": "meeting",
        "display": "display",
        "report": "report",
        "social": "social",
        "loudspeaker": "loudspeaker",
    }
    offsets = {name: [(s.step, s.offset) for s in steps] for name, steps in DEFAULT_TEMPLATES.items()}
    assert offsets == {
        "broadcast": [("script", 5), ("recording", 3), ("handover", 1)],
        "newspaper": [("draft", 5), ("edit", 2), ("publication", 0)],
        "event": [("invitation", 15), ("venue", 10), ("materials", 5)],
        "portal": [("review", 2)],
        "meeting": [("invitation", 10), ("venue", 5), ("materials", 2)],
        "display": [("design", 10), ("print", 5), ("put-up", 0)],
        "report": [("draft", 5), ("sign", 1)],
        "social": [("draft", 2)],
        "loudspeaker": [("script", 3)],
    }


# --------------------------------------------------------- broken inputs

FIRST_LINE = re.compile(
    r"^# Wrong( \(load it with tests/data/forms/production-plan\.yaml\))?: .+\. "
    r"Error: line (\d+), field (\S+)\.$"
)

# What each error says (a fragment of its message).
MESSAGES = {
    "bad-date": '"31/02/2024" is not a real day',
    "bad-duration": 'expected a duration as "10m", "1h30m", "00:10:00" or a number of seconds, got "10 phut"',
    "bad-milestone-offset": 'expected working days before the due moment, 0 to 250, got "5 ngày"',
    "bad-period": 'got "Q5/2024"',
    "bad-quota-unit": 'expected "N per week|month|quarter|half-year|year", got "2 per fortnight"',
    "bad-reminder": 'expected an email address or an agency code, got "ban bien tap"',
    "bad-rrule": "not a valid RFC 5545 RRULE",
    "bad-rrule-freq": "air slots repeat DAILY, WEEKLY, MONTHLY or YEARLY",
    "bad-time": 'expected a time of day as HH:MM, got "25:00"',
    "bad-timezone": 'unknown time zone "GMT+7"',
    "bad-yaml": "not valid YAML: mapping values are not allowed here",
    "deadlines-out-of-order": "deadlines must be listed in order, each once",
    "channel-clash": '"social" names a built-in channel (social); give the plan\'s own channel another code',
    "duplicate-codes": 'duplicate obligation code "cchc-radio-tv"',
    "duration-max-too-short": "max_duration 12m is shorter than the minimum length 13m",
    "duplicate-key": 'duplicate key (found duplicate key "title"',
    "exception-outside-window": "02/04/2024 19:30 is outside the occurrence's window 01/03/2024–31/03/2024",
    "exception-skip-and-move": 'give either "skip: true" or a new "slot" and/or "due"',
    "exception-unknown-occurrence": 'no occurrence "2024-13 #1" in this obligation',
    "group-in-group": '"cac-thon" is a group; a group cannot be a member of another group',
    "group-members-not-group": 'only an agency of kind "group" lists members; "cac-thon" is of kind "village"',
    "group-unknown-member": 'unknown agency "thon-doai" (declared: thon-dong, thon-trung, cac-thon)',
    "layer-not-owner": 'obligation "bao-phu-tho-cchc" is hosted by bao-phu-tho, not by this layer\'s owner dai-ptth',
    "layer-plan-field": "unknown field (allowed: milestones, reminders, reminder_policy, slots, exceptions, match,",
    "layer-unknown-obligation": 'unknown obligation "chuyen-muc-cchc" in plan forms-production',
    "layer-unknown-plan": 'unknown plan "phu-tho-2025" (loaded: forms-production)',
    "missing-field": 'missing field "host"',
    "not-a-plan": 'expected a plan file (top-level "plan:") or a production file (top-level "production:")',
    "span-reversed": '"by" ends before "from" starts',
    "unknown-agency": 'unknown agency "dai-truyen-hinh" (declared: dai-ptth)',
    "unknown-channel": 'unknown channel "facebook" (allowed: radio, tv, print, online, portal, training, contest, '
    "meeting, display, report, social, loudspeaker; or a word plans write for one",
    "unknown-channel-word": 'unknown channel "bảng tin" (allowed: radio, tv,',
    "reporting-unknown-to": 'unknown agency "so-noi-vu" (declared: ubnd-xa, phong-vhxh)',
    "reporting-unknown-from": 'unknown agency "cac-phong-don-vi" (declared: ubnd-xa, van-phong)',
    "unknown-field": "unknown field (allowed: code, title, host, channels, cadence,",
    "unknown-topic": 'unknown topic "cchc" (declared: chuyen-doi-so)',
    "window-outside-plan": "window 01/01/2025–31/03/2025 lies outside the plan's period 01/01/2024–31/12/2024",
    "zero-quota": "a quota must be at least 1, got 0",
    "bad-cut": 'expected full, pro-rata or none (đủ, theo tỷ lệ, không), got "một nửa"',
}

REQUIRED_BROKEN = {
    "unknown-field",
    "bad-date",
    "bad-rrule",
    "unknown-agency",
    "unknown-topic",
    "zero-quota",
    "window-outside-plan",
    "duplicate-codes",
    "missing-field",
    "bad-yaml",
}


def broken_files() -> list[Path]:
    return sorted(BROKEN.glob("*.yaml"))


def broken_paths(path: Path) -> list[Path]:
    """A broken production layer is loaded after the plan it refers to."""
    return [FORMS / "production-plan.yaml", path] if path.name.startswith("layer-") else [path]


def test_broken_folder_covers_the_scenarios():
    names = {p.stem for p in broken_files()}
    assert names >= REQUIRED_BROKEN
    assert names == set(MESSAGES), "every broken file has its expected message here"


@pytest.mark.parametrize("path", broken_files(), ids=lambda p: p.stem)
def test_broken_file_is_reported_at_its_line_and_field(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    m = FIRST_LINE.match(first)
    assert m, f"first line of {path.name} says what is wrong and where: {first!r}"
    assert bool(m[1]) == path.name.startswith("layer-")
    line, where = int(m[2]), ("" if m[3] == "-" else m[3])
    with pytest.raises(ScheduleError) as caught:
        read_files(broken_paths(path))
    problems = caught.value.problems
    assert len(problems) == 1, str(caught.value)
    (problem,) = problems
    assert problem.source == str(path)
    assert (problem.line, problem.where) == (line, where)
    assert MESSAGES[path.stem] in problem.render()
    prefix = f"{path}:{line}: {where}: " if where else f"{path}:{line}: "
    assert str(caught.value).startswith(prefix)


def test_every_problem_of_every_file_is_listed_at_once():
    with pytest.raises(ScheduleError) as caught:
        read_files([BROKEN / "zero-quota.yaml", BROKEN / "unknown-agency.yaml", BROKEN / "bad-yaml.yaml"])
    found = [(Path(p.source).name, p.line, p.where) for p in caught.value.problems]
    assert found == [
        ("zero-quota.yaml", 22, "obligations[0].cadence"),
        ("unknown-agency.yaml", 20, "obligations[0].host"),
        # both files define the plan "broken": the second one is refused too
        ("unknown-agency.yaml", 3, "plan.code"),
        ("bad-yaml.yaml", 19, ""),
    ]
    assert len(str(caught.value).splitlines()) == 4


def test_same_plan_twice_is_an_error():
    text = (FORMS / "span.yaml").read_text(encoding="utf-8")
    with pytest.raises(ScheduleError) as caught:
        read_texts([("a.yaml", text), ("b.yaml", text)])
    assert str(caught.value) == 'b.yaml:4: plan.code: plan "forms-span" is already defined in a.yaml'


# ----------------------------------------------------- the document itself

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def doc_blocks(kind: str) -> list[str]:
    return [body for lang, body in FENCE.findall(DOC.read_text(encoding="utf-8")) if lang == kind]


def marked(kind: str) -> list[tuple[str, str, str]]:
    """``(marker, file name, text)`` of every yaml block: "# file: x.yaml"
    (a complete file) or "# from: x.yaml" (a fragment of that file)."""
    found = []
    for body in doc_blocks(kind):
        first, _, rest = body.partition("\n")
        m = re.fullmatch(r"# (file|from): (\S+\.yaml)", first.strip())
        assert m, f"a yaml block in the document is not marked:\n{body[:200]}"
        found.append((m[1], m[2], body))
    return found


def test_doc_complete_files_load_and_are_the_example_files():
    files = [(name, text) for kind, name, text in marked("yaml") if kind == "file"]
    assert len(files) >= 3
    for name, text in files:
        assert (FORMS / name).exists(), f"{name} shown in the document is in tests/data/forms"
        body = text.partition("\n")[2]
        assert body == (FORMS / name).read_text(encoding="utf-8"), f"{name}: the document shows the file as is"
    plans = [(name, text) for name, text in files if not re.search(r"^production:", text, re.M)]
    for name, text in files:
        # a plan file loads alone; a production file with the plan files it refers to
        texts = [(name, text)] if (name, text) in plans else plans + [(name, text)]
        schedules = read_texts(texts)  # raises ScheduleError on any problem
        assert schedules.warnings == (), name
        assert all(expand(plan) for plan in schedules.plans), name


def _significant(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip()]


def test_doc_fragments_come_from_the_example_files():
    fragments = [(name, text) for kind, name, text in marked("yaml") if kind == "from"]
    assert fragments
    for name, text in fragments:
        want = _significant(text.splitlines()[1:])
        have = _significant((FORMS / name).read_text(encoding="utf-8").splitlines())
        assert any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1)), (
            f"fragment not found in {name}:\n" + "\n".join(want)
        )


def _reported(relative: str) -> list[str]:
    """Errors and warnings rendered for a file named as the document names it."""
    path = ROOT / relative
    names = [relative]
    if path.parent == BROKEN and path.name.startswith("layer-"):
        names = ["tests/data/forms/production-plan.yaml", relative]
    if path.name in PRODUCTION_PAIR:
        names = [f"tests/data/forms/{n}" for n in PRODUCTION_PAIR]
    texts = [(n, (ROOT / n).read_text(encoding="utf-8")) for n in names]
    try:
        schedules = read_texts(texts)
    except ScheduleError as e:
        return [p.render() for p in e.problems]
    return [w.render() for w in schedules.warnings]


def test_doc_quoted_output_is_what_the_reader_says():
    quoted = [
        line
        for body in doc_blocks("text")
        for line in body.splitlines()
        if re.match(r"tests/data/\S+\.yaml:\d+: ", line)
    ]
    assert len(quoted) >= len(REQUIRED_BROKEN)
    for line in quoted:
        relative = line.split(":", 1)[0]
        assert line in _reported(relative), f"the reader does not say:\n{line}"
    shown = {line.split(":", 1)[0] for line in quoted}
    for path in broken_files():
        assert f"tests/data/broken/{path.name}" in shown, f"the document shows the error of {path.name}"


def test_doc_names_every_cadence_form_and_field():
    text = DOC.read_text(encoding="utf-8")
    for word in (
        "quota",
        "window",
        "span",
        "deadlines",
        "continuous",
        "slots",
        "attest",
        "from",
        "until",
        "count",
        "milestones",
        "reminders",
        "exceptions",
        "working_days",
        "due_time",
        "timezone",
        "legal_basis",
        "issued_on",
        "coordinators",
        "coordination",
        "min_duration",
        "title_en",
        "name_en",
        "kind",
        "contacts",
        "owner",
    ):
        assert re.search(rf"`([\w.<>]+\.)?{word}`", text), f"the document explains `{word}`"


# --------------------------------------------------------- Phú Thọ 2024


@lru_cache(maxsize=1)
def phu_tho() -> dict[str, list[Occurrence]]:
    schedules = read_files([ROOT / "schedules"])
    assert schedules.warnings == ()
    (plan,) = [p for p in schedules.plans if p.code == "phu-tho-2024"]
    found: dict[str, list[Occurrence]] = defaultdict(list)
    for o in expand(plan):
        found[o.obligation].append(o)
    return dict(found)


def test_phu_tho_radio_tv_two_a_month_sharing_the_month():
    occurrences = phu_tho()
    occ = occurrences["cchc-radio-tv"]
    assert len(occ) == 24
    for month in range(1, 13):
        pair = [o for o in occ if o.period == f"2024-{month:02d}"]
        assert [o.number for o in pair] == [1, 2]
        start = date(2024, month, 1)
        end = date(2024 + month // 12, month % 12 + 1, 1)
        assert {(o.window.start, o.window.end) for o in pair} == {(start, end)}
    assert occ[0].id == "phu-tho-2024.cchc-radio-tv.2024-01.1"
    assert all(o.min_duration == 600 and o.channels == ("radio", "tv") for o in occ)
    assert all(o.slot is None for o in occ), "the plan fixes no air times"


def test_phu_tho_newspaper_once_a_month():
    occurrences = phu_tho()
    occ = occurrences["bao-phu-tho-cchc"]
    assert [o.period for o in occ] == [f"2024-{m:02d}" for m in range(1, 13)]
    assert all(o.number == 1 and o.channels == ("print", "online") for o in occ)


def test_phu_tho_yearly_programs():
    occurrences = phu_tho()
    for code in ("dai-bieu-cu-tri", "van-de-cu-tri", "phu-tho-chuyen-doi-so"):
        (o,) = occurrences[code]
        assert o.id == f"phu-tho-2024.{code}.2024.1"
        assert window(o) == (d("01/01/2024"), d("31/12/2024"))


def test_phu_tho_talk_show_contest_and_training():
    occurrences = phu_tho()
    (talk,) = occurrences["toa-dam-cchc"]
    assert window(talk) == (d("01/10/2024"), d("31/12/2024"))
    (contest,) = occurrences["thi-tim-hieu-cchc"]
    assert window(contest) == (d("01/07/2024"), d("30/09/2024"))
    assert contest.channels == ("contest",)
    (training,) = occurrences["tap-huan-cchc"]
    assert training.period == "2024-Q2_2024-Q4"
    assert window(training) == (d("01/04/2024"), d("31/12/2024"))


def test_phu_tho_portal_attested_quarterly():
    occurrences = phu_tho()
    for code in ("cong-tttt-chuyen-trang", "lien-ket-dich-vu-cong"):
        occ = occurrences[code]
        assert [o.period for o in occ] == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
        assert [o.window.end for o in occ] == [d("01/04/2024"), d("01/07/2024"), d("01/10/2024"), d("01/01/2025")]


def test_phu_tho_totals():
    occurrences = phu_tho()
    assert {code: len(occ) for code, occ in occurrences.items()} == {
        "cchc-radio-tv": 24,
        "dai-bieu-cu-tri": 1,
        "van-de-cu-tri": 1,
        "phu-tho-chuyen-doi-so": 1,
        "toa-dam-cchc": 1,
        "bao-phu-tho-cchc": 12,
        "tap-huan-cchc": 1,
        "cong-tttt-chuyen-trang": 4,
        "lien-ket-dich-vu-cong": 4,
        "thi-tim-hieu-cchc": 1,
    }


# ---------------------------------------------- quota spellings, generated

UNIT_WORDS = {
    "week": ["week", "tuần"],
    "month": ["month", "tháng"],
    "quarter": ["quarter", "quý"],
    "half-year": ["half-year", "6 tháng", "nửa năm"],
    "year": ["year", "năm"],
}


def _plan_with(cadence: str) -> str:
    return (
        (FORMS / "owes-nothing.yaml")
        .read_text(encoding="utf-8")
        .replace('{slots: "FREQ=WEEKLY;BYDAY=TH;UNTIL=20231228T123000Z", at: "19:30"}', f'"{cadence}"')
    )


SPELLINGS = [
    "{n} per {u}",
    "{n} a {u}",
    "{n} each {u}",
    "{n}/{u}",
    "{n} / {u}",
    "{n} số/{u}",
    "{n} kỳ/{u}",
    "{n} lần/{u}",
    "{n} mỗi {u}",
]


@settings(max_examples=40, deadline=None)
@given(count=st.integers(1, 4), unit=st.sampled_from(sorted(UNIT_WORDS)), data=st.data())
def test_quota_spellings_expand_alike(count, unit, data):
    word = data.draw(st.sampled_from(UNIT_WORDS[unit]))
    spelling = data.draw(st.sampled_from(SPELLINGS))
    written = f"{count:02d}" if data.draw(st.booleans()) else str(count)  # "02 số/tháng"
    text = spelling.format(n=written, u=word)
    spelled = expand(read_texts([("p.yaml", _plan_with(text))]).plans[0])
    plain = expand(read_texts([("p.yaml", _plan_with(f"{count} per {unit}"))]).plans[0])
    assert [o.shown() for o in spelled] == [o.shown() for o in plain]
    windows = Counter((o.window.start, o.window.end) for o in plain)
    assert set(windows.values()) == {count}
    days = sorted(windows)
    assert days[0][0] == date(2024, 1, 1) and days[-1][1] == date(2025, 1, 1)
    assert all(a[1] == b[0] for a, b in zip(days, days[1:])), "windows tile the plan"


# ---------------------------------------------- fixes of reported reader bugs

PLAN_HEAD = (
    "plan:\n  code: fix\n  title: T\n  issuer: I\n  period: {period}\n"
    "agencies:\n  - code: a\n    name: A\n"
    "obligations:\n  - code: o\n    title: O\n    host: a\n    channels: [radio]\n"
)


def _read(text: str, period: str = "2024"):
    from scheduler.plan.production import read_texts

    return read_texts([("fix.yaml", PLAN_HEAD.format(period=period) + text)])


def _problems(text: str, period: str = "2024") -> list[str]:
    from scheduler.errors import ScheduleError

    with pytest.raises(ScheduleError) as info:
        _read(text, period)
    return [p.render() for p in info.value.problems]


def test_quota_with_only_from_runs_to_the_end_of_the_plan():
    (plan,) = _read("    cadence: {quota: 1 per quarter, from: Q2/2024}\n").plans
    assert [o.period for o in expand(plan)] == ["2024-Q2", "2024-Q3", "2024-Q4"]


def test_two_slots_on_one_day_are_two_numbered_occurrences():
    (plan,) = _read('    cadence: {slots: "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9,19", at: "09:00"}\n').plans
    first = [o for o in expand(plan) if o.period == "2024-01-01"]
    assert [(o.number, o.slot.hour) for o in first] == [(1, 9), (2, 19)]
    assert len({o.id for o in expand(plan)}) == len(expand(plan))


def test_a_date_without_year_is_the_next_such_day_in_the_plan():
    (plan,) = _read("    cadence: {window: before 31/03}\n", period='"01/07/2024 - 30/06/2025"').plans
    (o,) = expand(plan)
    assert (o.window.start.isoformat(), o.window.last_day.isoformat()) == ("2024-07-01", "2025-03-31")


def test_deadline_before_the_plan_and_quota_beyond_it_are_errors():
    assert _problems("    cadence: {deadlines: [15/12/2023]}\n") == [
        "fix.yaml:14: obligations[0].cadence: window 2023-12-15 ends before it starts "
        "(it opens with the plan's period or the previous deadline)"
    ]
    assert _problems("    cadence: {quota: 1 per month, until: Q1/2025}\n")[0].startswith(
        "fix.yaml:14: obligations[0].cadence: "
    )


def test_exception_due_day_takes_due_time_and_moments_are_local():
    (plan,) = _read(
        "    cadence: 1 per month\n    exceptions:\n"
        "      - {occurrence: '2024-03', due: 2024-03-20, reason: Lịch họp}\n"
    ).plans
    march = next(o for o in expand(plan) if o.period == "2024-03")
    assert (march.due.day, march.due.hour) == (20, 17)
    problems = _problems(
        "    cadence: 1 per month\n    exceptions:\n"
        "      - {occurrence: '2024-03', slot: '2024-03-31T20:00:00+00:00', reason: x}\n"
    )
    assert "outside the occurrence's window" in problems[0]


def test_unquoted_label_of_a_multi_occurrence_window_asks_which_one():
    problems = _problems(
        "    cadence: 2 per month\n    exceptions:\n"
        "      - occurrence: 2024-03 #2\n        skip: true\n        reason: Tết\n"
    )
    assert "which one?" in problems[0] and "2024-03 #1" in problems[0]


def test_plan_slots_mismatch_with_a_production_entry_without_slots_warns():
    from scheduler.plan.production import read_texts

    plan = PLAN_HEAD.format(period="2024") + (
        "    cadence: 2 per month\n    slots: {rule: 'FREQ=WEEKLY;BYDAY=TH', at: '19:30'}\n"
    )
    layer = "production: {plan: fix, owner: a}\nobligations:\n  o: {reminders: [a]}\n"
    schedules = read_texts([("fix.yaml", plan), ("layer.yaml", layer)])
    assert any("slots do not match" in w.render() for w in schedules.warnings)
