"""Cadence in the plan's own words (scheduler/plan/phrases.py) and periods
cut by the plan's edges (``cut``).

The grammar's table is tested row by row (generated from ``PHRASES``), the
document carries the same table, every time phrase of the two reference
plans reads, and the example files load to the occurrences the document
shows.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time, timedelta
from fractions import Fraction
from math import floor
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduler.errors import ScheduleError, SchedulerError
from scheduler.i18n import gettext_for
from scheduler.plan.cadence import (
    AirSlots,
    Cadence,
    CadenceError,
    Continuous,
    Deadlines,
    OneOff,
    Quota,
    Span,
    Windows,
    parse_quota,
)
from scheduler.plan.cadence_forms import parse_cadence
from scheduler.plan.occurrences import expand
from scheduler.plan.periods import Period, parse_period
from scheduler.plan.phrase_readings import Context
from scheduler.plan.phrases import PHRASES, readings, table
from scheduler.plan.production import read_files, read_texts
from scheduler.plan.workdays import WorkCalendar

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "tests" / "data" / "forms"
DOC = ROOT / "docs" / "schedule-format.md"
REFERENCE = ROOT / "tests" / "data" / "plans"  # the plans as written (the two reference plans as issued)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def read(text: object, year: int = 2026, due: time = time(17, 0)) -> Cadence:
    """A cadence as a plan for ``year`` reads it."""
    return parse_cadence(text, date(year, 1, 1), TZ, due, date(year + 1, 1, 1))


def summary(cadence: Cadence) -> str:
    """``describe()``, with the count of a window when it owes more than one."""
    count = getattr(cadence, "count", 1)
    extra = f" ×{count}" if count > 1 and not isinstance(cadence, Quota) else ""
    return cadence.describe() + extra


# ------------------------------------------------------ the table, row by row


@pytest.mark.parametrize("phrase", PHRASES, ids=lambda p: p.example)
def test_every_row_of_the_grammar_reads_its_example(phrase):
    found = readings(phrase.example, Context(date(2026, 1, 1), date(2027, 1, 1)))
    assert found, f"no row reads {phrase.example!r}"
    assert found[0][0] is phrase, f"{phrase.example!r} is read by an earlier row: {found[0][0].pattern}"
    assert summary(read(phrase.example)) == phrase.reads_as


def test_the_document_carries_the_grammar_table_as_it_is():
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### 6.0 ", 1)[1].split("### 6.1 ", 1)[0]
    assert table() in section
    assert len(table().splitlines()) == len(PHRASES) + 2


# --------------------------------------------------- the examples of issue 14

EXAMPLES = {
    "04 buổi/tuần": "4 per week",
    "01 hội nghị/quý": "1 per quarter",
    "03 tin, bài/tháng": "3 per month",
    "03 tin, bài /tháng": "3 per month",
    "03 tin bài / tháng": "3 per month",
    "02 số/tháng": "2 per month",
    "1 lần/quý": "1 per quarter",
    "2 chương trình mỗi tháng": "2 per month",
    "1 cuộc trên quý": "1 per quarter",
    "01 phóng sự một tháng": "1 per month",
    "02 chuyên mục/6 tháng": "2 per half-year",
    "01 bản tin/tuần": "1 per week",
    "1 đợt/năm": "1 per year",
    "3 tiết mục/quý": "3 per quarter",
    "mỗi tháng ít nhất 03 tin, bài": "at least 3 per month",
    "tối thiểu 02 bài/tháng": "at least 2 per month",
    "ít nhất 1 lần/quý": "at least 1 per quarter",
    "hằng tuần vào thứ Ba lúc 20 giờ": "slots FREQ=WEEKLY;BYDAY=TU at 20:00",
    "hàng tuần vào thứ Ba lúc 20 giờ": "slots FREQ=WEEKLY;BYDAY=TU at 20:00",
    "thứ Hai, thứ Sáu hằng tuần": "slots FREQ=WEEKLY;BYDAY=MO,FR at 17:00",
    "sáng thứ Hai và thứ Sáu hằng tuần, lúc 6 giờ 30": "slots FREQ=WEEKLY;BYDAY=MO,FR at 06:30",
    "vào thứ Năm tuần thứ 2 và thứ 4 hằng tháng lúc 19h30": "slots FREQ=MONTHLY;BYDAY=2TH,4TH at 19:30",
    "Chủ nhật hằng tuần lúc 20h": "slots FREQ=WEEKLY;BYDAY=SU at 20:00",
    "hằng tuần vào thứ Bảy lúc 19:30": "slots FREQ=WEEKLY;BYDAY=SA at 19:30",
    "tối thứ Năm hằng tuần lúc 8 giờ": "slots FREQ=WEEKLY;BYDAY=TH at 20:00",
    "hằng tuần vào thứ Tư lúc 3 giờ chiều": "slots FREQ=WEEKLY;BYDAY=WE at 15:00",
    "6 tháng đầu năm 2026": "window 2026-H1",
    "6 tháng cuối năm": "window 2026-H2",
    "Quý III/2026": "window 2026-Q3",
    "quý 3 năm 2026": "window 2026-Q3",
    "Tháng 5/2026": "window 2026-05",
    "Từ quý II đến quý IV": "span 2026-Q2..2026-Q4",
    "Trong năm 2026": "window 2026",
    "trước ngày 31/10/2026": "window by-2026-10-31",
    "Hoàn thành trước ngày 31/10/2026": "window by-2026-10-31",
    "chậm nhất ngày 15/11/2026": "window by-2026-11-15",
    "trong Quý II và Quý IV năm 2026": "windows 2026-Q2, 2026-Q4",
    "02 lớp trong 6 tháng cuối năm": "window 2026-H2 ×2",
    "định kỳ 6 tháng và năm": "windows 2026-H1, 2026",
    "định kỳ hằng quý": "1 per quarter",
    "hằng tháng": "1 per month",
    "hằng năm": "1 per year",
    "theo quý, trước ngày 12 của tháng cuối quý": "deadlines 12/03/2026, 12/06/2026, 12/09/2026, 12/12/2026",
}


@pytest.mark.parametrize(("written", "reads_as"), EXAMPLES.items())
def test_the_issues_examples_read(written, reads_as):
    assert summary(read(written)) == reads_as


def test_the_phu_tho_span_reads_with_or_without_its_comma():
    for written in (
        "từ quý II và hoàn thành chậm nhất trong quý IV/2024",
        "Từ quý II và hoàn thành chậm nhất, trong quý IV/2024",
    ):
        cadence = read(written, 2024)
        assert isinstance(cadence, Span)
        assert (cadence.first.start, cadence.last.end) == (date(2024, 4, 1), date(2025, 1, 1))


def test_spaces_case_and_unicode_form_are_tolerated_accents_are_not():
    assert read("  03   TIN ,  BÀI  /  THÁNG ") == Quota(3, "month")
    assert read(unicodedata.normalize("NFD", "mỗi tháng ít nhất 03 tin, bài")) == Quota(3, "month", minimum=True)
    assert read("Quý III/2026.") == OneOff(parse_period("Q3/2026"))
    with pytest.raises(CadenceError):
        read("2 moi thang")


def test_a_minimum_owes_n_and_says_at_least():
    quota = read("ít nhất 03 tin, bài/tháng")
    assert isinstance(quota, Quota) and quota.minimum and quota.count == 3
    assert quota.describe() == "at least 3 per month"
    windows = quota.windows(parse_period("2026"), TZ)
    assert len(windows) == 12 and {w.count for w in windows} == {3}
    assert not read("03 tin, bài/tháng").minimum  # type: ignore[union-attr]


def test_slots_without_a_time_take_the_plans_due_time():
    slots = read("thứ Hai, thứ Sáu hằng tuần", due=time(11, 0))
    assert isinstance(slots, AirSlots) and slots.at == time(11, 0)
    days = slots.slots(parse_period("01/2026"), TZ)
    assert [d.day for d in days] == [2, 5, 9, 12, 16, 19, 23, 26, 30]
    assert {d.time() for d in days} == {time(11, 0)}


def test_the_second_and_fourth_thursday():
    slots = read("vào thứ Năm tuần thứ 2 và thứ 4 hằng tháng lúc 19h30")
    days = slots.slots(parse_period("2026"), TZ)  # type: ignore[union-attr]
    assert len(days) == 24
    assert [d.day for d in days[:4]] == [8, 22, 12, 26]


def test_windows_and_deadlines_of_the_plan():
    two = read("trong Quý II và Quý IV năm 2026")
    assert isinstance(two, Windows)
    assert [w.period.label for w in two.windows(parse_period("2026"), TZ)] == ["2026-Q2", "2026-Q4"]
    reports = read("định kỳ 6 tháng và năm")
    assert [(w.period.start, w.period.end) for w in reports.windows(parse_period("2026"), TZ)] == [
        (date(2026, 1, 1), date(2026, 7, 1)),
        (date(2026, 1, 1), date(2027, 1, 1)),
    ]
    quarterly = read("theo quý, trước ngày 12 của tháng cuối quý")
    assert isinstance(quarterly, Deadlines)
    # a plan that starts in April owes the reports from June on
    later = parse_cadence("theo quý, trước ngày 12 của tháng cuối quý", date(2026, 4, 1), TZ, end=date(2027, 1, 1))
    assert later == Deadlines((date(2026, 6, 12), date(2026, 9, 12), date(2026, 12, 12)))
    two_dates = read("trước ngày 15/6/2026 và 15/12/2026")
    assert two_dates == Deadlines((date(2026, 6, 15), date(2026, 12, 15)))


# -------------------------------------------- every phrase of the reference plans

COMMUNE_2026 = {  # ke-hoach-xa-2026-mau.txt, section III and the reporting rule of IV
    "sáng thứ Hai và thứ Sáu hằng tuần, lúc 6 giờ 30": "slots FREQ=WEEKLY;BYDAY=MO,FR at 06:30",
    "mỗi tháng ít nhất 03 tin, bài": "at least 3 per month",
    "01 lần/quý": "1 per quarter",
    "trong Quý II và Quý IV năm 2026": "windows 2026-Q2, 2026-Q4",
    "chậm nhất ngày 15/11/2026": "window by-2026-11-15",
    "02 lớp trong 6 tháng cuối năm": "window 2026-H2 ×2",
    "theo quý": "1 per quarter",
    "trước ngày 12 của tháng cuối quý": None,  # read together: see below
    "báo cáo 6 tháng và năm": "windows 2026-H1, 2026",
    "trước ngày 15/6/2026 và 15/12/2026": "deadlines 15/06/2026, 15/12/2026",
}
PHU_THO_2024 = {  # ke-hoach-tuyen-truyen-cchc-phu-tho-2024.txt, section III, "Thời gian thực hiện"
    "02 số/tháng": "2 per month",
    "01 số/năm": "1 per year",
    "Quý IV/2024": "window 2024-Q4",
    "01 kỳ/tháng": "1 per month",
    "Từ quý II và hoàn thành chậm nhất, trong quý IV/2024": "span 2024-Q2..2024-Q4",
    "Trong năm 2024": "window 2024",
    "Thực hiện trong quý III/2024": "window 2024-Q3",
}


# A department's plan of our own, in other words than the two reference plans.
DEPARTMENT_2026 = {
    "Định kỳ hằng tháng": "1 per month",
    "01 chương trình/tháng": "1 per month",
    "Mỗi quý 01 hội nghị": "1 per quarter",
    "tối thiểu 04 tin bài/tháng": "at least 4 per month",
    "03 phóng sự/quý": "3 per quarter",
    "1 lần trên 6 tháng": "1 per half-year",
    "Hằng năm": "1 per year",
    "phát sóng vào 20h00 thứ Ba hằng tuần": "slots FREQ=WEEKLY;BYDAY=TU at 20:00",
    "Phát sóng vào 8 giờ tối thứ Năm tuần thứ 1 và thứ 3 hằng tháng": "slots FREQ=MONTHLY;BYDAY=1TH,3TH at 20:00",
    "phát sóng thứ Bảy hằng tuần lúc 20h": "slots FREQ=WEEKLY;BYDAY=SA at 20:00",
    "Trong tháng 9/2026": "window 2026-09",
    "Quý I, quý III năm 2026": "windows 2026-Q1, 2026-Q3",
    "Từ tháng 3 đến tháng 6/2026": "span 2026-03..2026-06",
    "Từ ngày 01/7/2026 đến ngày 15/8/2026": "window 2026-07-01_2026-08-15",
    "chậm nhất trước ngày 30/6/2026": "window by-2026-06-30",
    "02 cuộc thi trong năm 2026": "window 2026 ×2",
    "Thường xuyên": "continuous, attested per month",
}


@pytest.mark.parametrize(("written", "reads_as"), DEPARTMENT_2026.items())
def test_a_department_plan_in_other_words_reads(written, reads_as):
    assert summary(read(written)) == reads_as


def _reference(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", (REFERENCE / name).read_text(encoding="utf-8")).split())


@pytest.mark.parametrize(
    ("name", "year", "phrases"),
    [
        ("ke-hoach-xa-2026-mau.txt", 2026, COMMUNE_2026),
        ("ke-hoach-tuyen-truyen-cchc-phu-tho-2024.txt", 2024, PHU_THO_2024),
    ],
)
def test_every_time_phrase_of_the_reference_plans_reads(name, year, phrases):
    text = _reference(name)
    for written, reads_as in phrases.items():
        assert written in text, f"{written!r} is written in {name}"
        if reads_as is not None:
            assert summary(read(written, year)) == reads_as, written
    if year == 2026:  # "theo quý ... trước ngày 12 của tháng cuối quý", as one phrase
        assert re.search(r"theo quý về .* trước ngày 12 của tháng cuối quý", text)
        assert summary(read("theo quý, trước ngày 12 của tháng cuối quý")).startswith("deadlines 12/03/2026")


# ------------------------------------------------------------------- errors


def test_an_unknown_phrase_lists_the_accepted_forms_in_the_readers_language():
    with pytest.raises(CadenceError) as info:
        read("2 buổi mỗi nửa tuần")
    english = info.value.render()
    assert english.startswith('expected "N per week|month|quarter|half-year|year", got "2 buổi mỗi nửa tuần"')
    vietnamese = info.value.render(gettext_for("vi"))
    assert vietnamese.startswith('cần lời của kế hoạch như "04 buổi/tuần", "02 số/tháng"')
    assert "hằng tuần vào thứ Ba lúc 20 giờ" in vietnamese and "Quý III/2026" in vietnamese
    assert "N per week|month" not in vietnamese
    assert vietnamese.endswith('nhưng nhận được "2 buổi mỗi nửa tuần"')


def test_a_wrong_value_inside_a_phrase_says_what_is_wrong():
    with pytest.raises(SchedulerError, match="not a real day"):
        read("trước ngày 31/02/2026")
    with pytest.raises(SchedulerError, match="at least 1"):
        read("0 tin/tháng")
    with pytest.raises(SchedulerError, match="HH:MM"):
        read("hằng tuần vào thứ Ba lúc 25 giờ")
    with pytest.raises(CadenceError):  # which Thursday of the month?
        read("thứ Năm hằng tháng lúc 20 giờ")


def test_parse_quota_reads_quotas_only():
    assert parse_quota("ít nhất 2 lần/tháng") == Quota(2, "month", minimum=True)
    assert parse_quota("2 per month", Period(date(2026, 4, 1), date(2026, 7, 1), "active")).active
    with pytest.raises(CadenceError):
        parse_quota("Quý IV/2024")


def test_the_mapping_forms_take_the_plans_words_too():
    assert read({"quota": "ít nhất 03 tin, bài/tháng", "from": "Quý II", "until": "6 tháng cuối năm"}) == Quota(
        3, "month", Period(date(2026, 4, 1), date(2027, 1, 1), "active"), minimum=True
    )
    assert read({"window": "6 tháng đầu năm 2026"}) == OneOff(parse_period("H1/2026"))
    assert read({"continuous": "trong năm 2026", "attest": "quý"}) == Continuous("quarter", parse_period("2026"))
    assert read({"span": {"from": "quý II", "by": "quý 4 năm 2026"}}) == Span(
        parse_period("Q2/2026"), parse_period("Q4/2026")
    )


# ------------------------------------------------------------ the example files


def test_phrases_yaml_loads_to_the_documented_occurrences():
    schedules = read_files([FORMS / "phrases.yaml"])
    assert schedules.warnings == ()
    found = {o.id: o for o in expand(schedules.plans[0])}
    counts: dict[str, int] = {}
    for o in found.values():
        counts[o.obligation] = counts.get(o.obligation, 0) + 1
    assert counts == {
        "loa-truyen-thanh": 104,
        "tin-bai-trang-xa": 36,
        "sinh-hoat-thon": 4,
        "bang-ron": 2,
        "doi-thoai": 1,
        "boi-duong": 2,
        "bao-cao-quy": 4,
        "bao-cao-6-thang-nam": 2,
        "phong-su-thu-nam": 24,
        "tap-huan": 1,
    }
    first = found["forms-phrases.loa-truyen-thanh.2026-01-02.1"]
    assert first.due.astimezone(TZ).strftime("%d/%m/%Y %H:%M") == "02/01/2026 06:30"
    report = found["forms-phrases.bao-cao-quy.2026-06-12.1"]
    assert (report.window.start, report.window.last_day) == (date(2026, 3, 13), date(2026, 6, 12))
    year = found["forms-phrases.bao-cao-6-thang-nam.2026.1"]
    assert (year.window.start, year.window.end) == (date(2026, 1, 1), date(2027, 1, 1))


def _owed_pro_rata(count: int, part: tuple[date, date], whole: tuple[date, date]) -> int:
    """The rule of section 6.1, counted here day by day."""
    calendar = WorkCalendar()

    def working(a: date, b: date) -> int:
        return sum(calendar.is_working_day(a + timedelta(n)) for n in range((b - a).days))

    return floor(Fraction(count * working(*part), working(*whole)) + Fraction(1, 2))


def test_cut_yaml_owes_cut_periods_in_full_pro_rata_or_not_at_all():
    schedules = read_files([FORMS / "cut.yaml"])
    assert schedules.warnings == ()
    per: dict[tuple[str, str], int] = {}
    for o in expand(schedules.plans[0]):
        per[(o.obligation, o.period)] = per.get((o.obligation, o.period), 0) + 1
    months = [f"2026-{m:02d}" for m in range(1, 8)]
    assert [per[("tin-bai-du", m)] for m in months] == [4] * 7
    january = _owed_pro_rata(4, (date(2026, 1, 15), date(2026, 2, 1)), (date(2026, 1, 1), date(2026, 2, 1)))
    july = _owed_pro_rata(4, (date(2026, 7, 1), date(2026, 7, 16)), (date(2026, 7, 1), date(2026, 8, 1)))
    assert (january, july) == (2, 2)  # 4 × 12/21 and 4 × 11/23, as the document says
    assert [per[("tin-bai-ty-le", m)] for m in months] == [january, 4, 4, 4, 4, 4, july]
    weeks = sorted(p for (ob, p) in per if ob == "ban-tin-tuan")
    assert (weeks[0], weeks[-1], len(weeks)) == ("2026-W04", "2026-W28", 25)
    assert {n for (ob, _), n in per.items() if ob == "ban-tin-tuan"} == {2}
    # a quarter cut to 15/01-31/03 owes its attestation; 01/07-15/07 rounds to none
    assert sorted(p for (ob, p) in per if ob == "chuyen-trang") == ["2026-Q1", "2026-Q2"]


def test_pro_rata_counts_the_plans_own_working_days():
    cut = Quota(4, "month", cut="pro-rata")
    span = Period(date(2026, 1, 15), date(2026, 2, 1), "plan")
    assert [w.count for w in cut.windows(span, TZ)] == [2]
    # the plan makes every remaining weekday a holiday but one: 4 × 1/21 rounds to 0
    holidays = frozenset(date(2026, 1, d) for d in range(16, 32))
    assert cut.windows(span, TZ, WorkCalendar(extra_holidays=holidays)) == []
    # default: the cut month owes all 4, as before
    assert [w.count for w in Quota(4, "month").windows(span, TZ)] == [4]


PLAN = (
    "plan:\n  code: cut-check\n  title: T\n  issuer: I\n  period: 15/01/2026 - 31/12/2026\n"
    "agencies:\n  - code: a\n    name: A\n"
    "obligations:\n  - code: o\n    title: O\n    host: a\n    channels: [online]\n"
)


@pytest.mark.parametrize(("word", "january"), [("đủ", 4), ("full", 4), ("theo tỷ lệ", 2), ("pro-rata", 2)])
def test_cut_words_in_both_languages(word, january):
    plan = read_texts([("p.yaml", PLAN + f"    cadence: {{quota: 4 per month, cut: {word}}}\n")]).plans[0]
    assert sum(1 for o in expand(plan) if o.period == "2026-01") == january


def test_cut_none_and_a_wrong_cut_word():
    plan = read_texts([("p.yaml", PLAN + "    cadence: {quota: 4 per month, cut: không}\n")]).plans[0]
    assert "2026-01" not in {o.period for o in expand(plan)}
    with pytest.raises(ScheduleError) as info:
        read_texts([("p.yaml", PLAN + "    cadence: {quota: 4 per month, cut: half}\n")])
    (problem,) = info.value.problems
    assert problem.line == 14 and problem.where == "obligations[0].cadence.cut"
    assert problem.render(gettext_for("vi")).endswith(
        'cần "đủ", "theo tỷ lệ" hoặc "không" (full, pro-rata, none), nhưng nhận được "half"'
    )
    with pytest.raises(ScheduleError, match="unknown field"):
        read_texts([("p.yaml", PLAN + "    cadence: {window: Q2/2026, cut: none}\n")])


def test_the_document_explains_cut_in_both_languages():
    section = DOC.read_text(encoding="utf-8").split("### 6.1 ", 1)[1].split("### 6.2 ", 1)[0]
    for word in ("`cut`", "`full`, `đủ`", "`pro-rata`, `theo tỷ lệ`", "`none`, `không`", "# from: cut.yaml"):
        assert word in section, word


def test_half_year_and_year_reports_are_clipped_to_a_plan_that_starts_later():
    reports = parse_cadence("định kỳ 6 tháng và năm", date(2026, 4, 1), TZ, end=date(2027, 1, 1))
    assert isinstance(reports, Windows)
    assert [(p.start, p.end, p.label) for p in reports.periods] == [
        (date(2026, 4, 1), date(2026, 7, 1), "2026-H1"),
        (date(2026, 4, 1), date(2027, 1, 1), "2026"),
    ]


def test_kept_up_all_along_and_the_english_spellings_of_today():
    assert read("Thường xuyên, liên tục") == Continuous("month")
    assert read("thường xuyên") == Continuous("month")
    for written in (
        "2per month",
        "2 per  Months",
        "2 each month",
        "2/tháng",
        "2 / tháng",
        "02 số/tháng",
        "2 kỳ/ tháng",
    ):
        assert read(written) == Quota(2, "month"), written


def test_a_cadence_that_is_neither_words_nor_a_mapping_lists_the_plans_words_in_vietnamese():
    with pytest.raises(CadenceError) as info:
        read(2)
    assert info.value.render().startswith('expected words ("2 per month", "02 số/tháng"')
    vietnamese = info.value.render(gettext_for("vi"))
    assert vietnamese.startswith('cần lời của kế hoạch ("02 số/tháng"') and "N per" not in vietnamese


def test_cut_applies_to_from_and_until_too():
    quota = read({"quota": "4 per month", "from": "15/01/2026 - 31/01/2026", "until": "Q2/2026", "cut": "none"})
    labels = [w.period.label for w in quota.windows(parse_period("2026"), TZ)]
    assert labels == ["2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    full = read({"quota": "4 per month", "from": "15/01/2026 - 31/01/2026", "until": "Q2/2026"})
    assert [w.count for w in full.windows(parse_period("2026"), TZ)] == [4] * 6


# ------------------------------------------- more words plans use, read exactly


@pytest.mark.parametrize(
    ("words", "meaning"),
    [
        ("Quý I, II/2026", "windows 2026-Q1, 2026-Q2"),  # the numeral after the comma keeps "quý"
        ("quý I, II và III năm 2026", "windows 2026-Q1, 2026-Q2, 2026-Q3"),
        ("tháng 3, 9/2026", "windows 2026-03, 2026-09"),
        ("Tuần 2 lần", "2 per week"),
        ("3 tháng/lần", "1 per quarter"),
        ("12 tháng/lần", "1 per year"),
        ("Ngày 15/5/2026", "window 2026-05-15"),
    ],
)
def test_more_words_read_as_the_plan_means(words, meaning):
    assert summary(read(words)) == meaning


def test_a_monthly_day_past_a_short_month_falls_on_its_last_day():
    found = read("báo cáo trước ngày 31 hằng tháng")
    assert isinstance(found, Deadlines)
    assert [d.isoformat() for d in found.days[:4]] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
    assert len(found.days) == 12
    one_day = read("Ngày 15/5/2026").windows(Period(date(2026, 1, 1), date(2027, 1, 1), "2026"), TZ)
    assert [(w.period.start, w.period.end) for w in one_day] == [(date(2026, 5, 15), date(2026, 5, 16))]


@pytest.mark.parametrize("words", ["5 tháng/lần", "trước ngày 32 hằng tháng"])
def test_rhythms_no_calendar_has_are_refused(words):
    with pytest.raises(CadenceError):
        read(words)
