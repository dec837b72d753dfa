"""Plans as they are really written: three plans of the Phú Thọ family, each
written into a schedule file only from its text (tests/data/plans/), load
with every row carried exactly, and the Phú Thọ 2024 plan still expands to
its 50 occurrences.

The expected values below are read off the plans' texts (the .txt beside
each .yaml), not off the code: a row's count, its first and last window,
who owes it (each member of a group its own), its channels, its minimum,
its length and its named deadlines. docs/notes-14-plans.md says, row by row,
how each was written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import cache
from pathlib import Path

import pytest

from html_tree import Tree
from scheduler.plan.occurrences import Occurrence, expand
from scheduler.plan.production import Schedules, read_files

ROOT = Path(__file__).resolve().parent.parent
PLANS = Path(__file__).parent / "data" / "plans"
COMMUNE, DISTRICT, DEPARTMENT = "xa-thanh-minh-2026", "ngoc-son-2024", "so-noi-vu-2026"
PHU_THO = ROOT / "schedules" / "phu-tho-2024.yaml"


@dataclass(frozen=True)
class Row:
    """One row of a plan's table (or of its reporting section) as its text says it."""

    host: str  # an agency, or a group whose members each owe ``each``
    channels: tuple[str, ...]  # channel codes
    each: int  # occurrences each host (each member) owes
    first: tuple[str, str, str]  # the first window: label, first day, last day
    last: tuple[str, str, str]  # the last window
    members: tuple[str, ...] = ()
    minimum: bool = False  # "tối thiểu" / "ít nhất"
    names: tuple[tuple[str, str], ...] = ()  # named deadlines: (name, the deadline) in order
    windows: int = 0  # how many windows (0: as many as occurrences)


COMMUNE_MEMBERS = ("van-phong", "phong-vhxh", "phong-kinh-te", "trung-tam-phvhc")
DISTRICT_MEMBERS = ("tt-ngoc-son", "xa-hoa-binh", "xa-dong-tien", "xa-tan-lap", "xa-minh-duc")
DEPARTMENT_MEMBERS = ("van-phong-so", "thanh-tra-so", "phong-cchc", "phong-ccvc", "tt-dvvl")
HALF_AND_YEAR = ("Báo cáo 6 tháng", "Báo cáo năm")

ROWS: dict[str, dict[str, Row]] = {
    COMMUNE: {
        # III.1 "sáng thứ Hai và thứ Sáu hằng tuần, lúc 6 giờ 30": every Monday and Friday of 2026
        "loa-truyen-thanh": Row(
            "van-phong",
            ("loudspeaker",),
            104,
            ("2026-01-02", "02/01/2026", "02/01/2026"),
            ("2026-12-28", "28/12/2026", "28/12/2026"),
        ),
        # III.2 "mỗi tháng ít nhất 03 tin, bài"
        "tin-bai-trang-xa": Row(
            "phong-vhxh",
            ("portal", "social"),
            36,
            ("2026-01", "01/01/2026", "31/01/2026"),
            ("2026-12", "01/12/2026", "31/12/2026"),
            minimum=True,
            windows=12,
        ),
        # III.4 "trong Quý II và Quý IV năm 2026": once in each
        "bang-ron": Row(
            "van-phong",
            ("display",),
            2,
            ("2026-Q2", "01/04/2026", "30/06/2026"),
            ("2026-Q4", "01/10/2026", "31/12/2026"),
        ),
        # III.5 "chậm nhất ngày 15/11/2026"
        "doi-thoai": Row(
            "van-phong",
            ("meeting",),
            1,
            ("by-2026-11-15", "01/01/2026", "15/11/2026"),
            ("by-2026-11-15", "01/01/2026", "15/11/2026"),
        ),
        # III.6 "02 lớp trong 6 tháng cuối năm": two in one window
        "boi-duong": Row(
            "phong-vhxh",
            ("training",),
            2,
            ("2026-H2", "01/07/2026", "31/12/2026"),
            ("2026-H2", "01/07/2026", "31/12/2026"),
            windows=1,
        ),
        # IV.2 "các phòng, đơn vị báo cáo ... theo quý ... trước ngày 12 của tháng cuối quý"
        "bao-cao-quy": Row(
            "cac-phong-don-vi-xa",
            ("report",),
            4,
            ("2026-03-12", "01/01/2026", "12/03/2026"),
            ("2026-12-12", "13/09/2026", "12/12/2026"),
            members=COMMUNE_MEMBERS,
            names=(
                ("Báo cáo quý I", "12/03/2026"),
                ("Báo cáo quý II", "12/06/2026"),
                ("Báo cáo quý III", "12/09/2026"),
                ("Báo cáo quý IV", "12/12/2026"),
            ),
        ),
        # IV.2 "Ủy ban nhân dân xã tổng hợp báo cáo 6 tháng và năm gửi Sở Nội vụ trước ngày 15/6/2026 và 15/12/2026"
        "bao-cao-6-thang-nam": Row(
            "ubnd-xa",
            ("report",),
            2,
            ("2026-06-15", "01/01/2026", "15/06/2026"),
            ("2026-12-15", "16/06/2026", "15/12/2026"),
            names=tuple(zip(HALF_AND_YEAR, ("15/06/2026", "15/12/2026"), strict=True)),
        ),
    },
    DISTRICT: {
        # 1 "Hằng tuần vào thứ Ba lúc 20 giờ": every Tuesday of 2024
        "chuyen-muc-loa": Row(
            "ttvhtt",
            ("loudspeaker",),
            53,
            ("2024-01-02", "02/01/2024", "02/01/2024"),
            ("2024-12-31", "31/12/2024", "31/12/2024"),
        ),
        # 2 "04 buổi/tuần", each commune; the week 30-31/12 pro rata: 2 working days of a
        # week of 4 (01/01/2025 is a holiday) or of 5 both give 2. 52 weeks x 4 + 2.
        "loa-xa": Row(
            "cac-xa-thi-tran",
            ("loudspeaker",),
            210,
            ("2024-W01", "01/01/2024", "07/01/2024"),
            ("2025-W01", "30/12/2024", "31/12/2024"),
            members=DISTRICT_MEMBERS,
            windows=53,
        ),
        # 3 "Tối thiểu 02 tin, bài/tháng" on the website, Fanpage and Zalo OA
        "tin-bai": Row(
            "ttvhtt",
            ("portal", "social"),
            24,
            ("2024-01", "01/01/2024", "31/01/2024"),
            ("2024-12", "01/12/2024", "31/12/2024"),
            minimum=True,
            windows=12,
        ),
        # 4 "01 hội nghị/quý"
        "hoi-nghi-quy": Row(
            "phong-noi-vu",
            ("meeting",),
            4,
            ("2024-Q1", "01/01/2024", "31/03/2024"),
            ("2024-Q4", "01/10/2024", "31/12/2024"),
        ),
        # 5 "6 tháng đầu năm 2024"
        "doi-thoai": Row(
            "phong-noi-vu",
            ("meeting",),
            1,
            ("2024-H1", "01/01/2024", "30/06/2024"),
            ("2024-H1", "01/01/2024", "30/06/2024"),
        ),
        # 6 "Hoàn thành trước ngày 30/4/2024", each commune
        "pa-no": Row(
            "cac-xa-thi-tran",
            ("display",),
            1,
            ("by-2024-04-30", "01/01/2024", "30/04/2024"),
            ("by-2024-04-30", "01/01/2024", "30/04/2024"),
            members=DISTRICT_MEMBERS,
        ),
        # IV.4 the communes: "báo cáo 6 tháng trước ngày 05/6/2024; báo cáo năm trước ngày 05/12/2024"
        "bao-cao-xa": Row(
            "cac-xa-thi-tran",
            ("report",),
            2,
            ("2024-06-05", "01/01/2024", "05/06/2024"),
            ("2024-12-05", "06/06/2024", "05/12/2024"),
            members=DISTRICT_MEMBERS,
            names=tuple(zip(HALF_AND_YEAR, ("05/06/2024", "05/12/2024"), strict=True)),
        ),
        # IV.4 UBND huyện to the Sở: "trước ngày 10/6/2024; ... trước ngày 10/12/2024"
        "bao-cao-huyen": Row(
            "ubnd-huyen",
            ("report",),
            2,
            ("2024-06-10", "01/01/2024", "10/06/2024"),
            ("2024-12-10", "11/06/2024", "10/12/2024"),
            names=tuple(zip(HALF_AND_YEAR, ("10/06/2024", "10/12/2024"), strict=True)),
        ),
    },
    DEPARTMENT: {
        # 1 "02 chương trình/tháng"
        "chuyen-muc-ptth": Row(
            "bao-ptth",
            ("radio", "tv"),
            24,
            ("2026-01", "01/01/2026", "31/01/2026"),
            ("2026-12", "01/12/2026", "31/12/2026"),
            windows=12,
        ),
        # 2 "02 tin, bài/tuần"; the weeks 01-04/01 and 28-31/12 "không tính định mức":
        # weeks 2 to 52 of 2026, two each
        "tin-bai-mxh": Row(
            "van-phong-so",
            ("social",),
            102,
            ("2026-W02", "05/01/2026", "11/01/2026"),
            ("2026-W52", "21/12/2026", "27/12/2026"),
            windows=51,
        ),
        # 3 "Tối thiểu 01 tin, bài/quý", each phòng, đơn vị
        "tin-bai-phong": Row(
            "cac-phong-don-vi-so",
            ("portal",),
            4,
            ("2026-Q1", "01/01/2026", "31/03/2026"),
            ("2026-Q4", "01/10/2026", "31/12/2026"),
            members=DEPARTMENT_MEMBERS,
            minimum=True,
        ),
        # 4 "Từ quý II đến quý IV": one span
        "tap-huan": Row(
            "phong-cchc",
            ("training",),
            1,
            ("2026-Q2_2026-Q4", "01/04/2026", "31/12/2026"),
            ("2026-Q2_2026-Q4", "01/04/2026", "31/12/2026"),
        ),
        # 5 "Quý III/2026"
        "cuoc-thi": Row(
            "phong-cchc",
            ("contest",),
            1,
            ("2026-Q3", "01/07/2026", "30/09/2026"),
            ("2026-Q3", "01/07/2026", "30/09/2026"),
        ),
        # 6 "Trong năm 2026": one, any time in the year
        "phong-su": Row(
            "bao-ptth",
            ("radio", "tv"),
            1,
            ("2026", "01/01/2026", "31/12/2026"),
            ("2026", "01/01/2026", "31/12/2026"),
        ),
        # 7 "Hoàn thành trước ngày 31/10/2026"
        "pa-no": Row(
            "van-phong-so",
            ("display",),
            1,
            ("by-2026-10-31", "01/01/2026", "31/10/2026"),
            ("by-2026-10-31", "01/01/2026", "31/10/2026"),
        ),
        # IV.3 the phòng, đơn vị: quý I 10/3, 6 tháng 10/6, quý III 10/9, năm 10/11
        "bao-cao-phong": Row(
            "cac-phong-don-vi-so",
            ("report",),
            4,
            ("2026-03-10", "01/01/2026", "10/03/2026"),
            ("2026-11-10", "11/09/2026", "10/11/2026"),
            members=DEPARTMENT_MEMBERS,
            names=(
                ("Báo cáo quý I", "10/03/2026"),
                ("Báo cáo 6 tháng", "10/06/2026"),
                ("Báo cáo quý III", "10/09/2026"),
                ("Báo cáo năm", "10/11/2026"),
            ),
        ),
        # IV.3 the Sở to UBND tỉnh: 6 tháng 15/6, năm 15/11
        "bao-cao-so": Row(
            "so-noi-vu",
            ("report",),
            2,
            ("2026-06-15", "01/01/2026", "15/06/2026"),
            ("2026-11-15", "16/06/2026", "15/11/2026"),
            names=tuple(zip(HALF_AND_YEAR, ("15/06/2026", "15/11/2026"), strict=True)),
        ),
    },
}

# Every occurrence of each plan: the rows above, nothing else (the commune's
# thôn row owes nothing until its group has members).
TOTALS = {COMMUNE: 163, DISTRICT: 1149, DEPARTMENT: 172}
# The reporting section's rows (each becomes an obligation hosted by "from")
# and the one the plan's issuer sends up (``consolidated: true``).
REPORTING = {
    COMMUNE: {"bao-cao-quy": ("ubnd-xa", "van-phong"), "bao-cao-6-thang-nam": ("so-noi-vu", "")},
    DISTRICT: {"bao-cao-xa": ("ubnd-huyen", "phong-noi-vu"), "bao-cao-huyen": ("so-noi-vu", "")},
    DEPARTMENT: {"bao-cao-phong": ("so-noi-vu", "phong-cchc"), "bao-cao-so": ("ubnd-tinh", "")},
}
CONSOLIDATED = {COMMUNE: "bao-cao-6-thang-nam", DISTRICT: "bao-cao-huyen", DEPARTMENT: "bao-cao-so"}


@cache
def loaded(code: str) -> tuple[Schedules, tuple[Occurrence, ...]]:
    schedules = read_files([PLANS / f"{code}.yaml"])
    (plan,) = schedules.plans
    assert plan.code == code
    return schedules, tuple(expand(plan))


def _shown(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _window(o: Occurrence) -> tuple[str, str, str]:
    return o.period, _shown(o.window.start), _shown(o.window.last_day)


CASES = [(plan, code) for plan, rows in ROWS.items() for code in rows]


@pytest.mark.parametrize(("plan_code", "code"), CASES, ids=[f"{p}:{c}" for p, c in CASES])
def test_every_row_is_carried_as_written(plan_code, code):
    row = ROWS[plan_code][code]
    schedules, occurrences = loaded(plan_code)
    plan = schedules.plans[0]
    obligation = plan.obligation(code)
    assert obligation.host == row.host
    assert obligation.channels == row.channels  # the plan's words read into channel codes
    assert getattr(obligation.cadence, "minimum", False) is row.minimum
    mine = [o for o in occurrences if o.obligation == code]
    hosts = row.members or (row.host,)
    assert len(mine) == row.each * len(hosts)
    assert {o.agency for o in mine} == set(hosts)
    for host in hosts:
        owed = sorted((o for o in mine if o.agency == host), key=lambda o: (o.window.start, o.number))
        assert len(owed) == row.each, host
        member = host if row.members else ""
        assert all(o.member == member for o in owed)
        stem = f"{plan_code}.{code}.{member}." if member else f"{plan_code}.{code}."
        assert [o.id for o in owed] == [f"{stem}{o.period}.{o.number}" for o in owed]
        assert len({o.id for o in owed}) == len(owed)
        assert _window(owed[0]) == row.first and _window(owed[-1]) == row.last
        assert len({o.period for o in owed}) == (row.windows or row.each)
        assert all(o.channels == row.channels for o in owed)
        assert all(o.count == sum(1 for p in owed if p.period == o.period) for o in owed)
        if row.names:
            assert [(o.name, _shown(o.window.last_day)) for o in owed] == list(row.names)
            assert all(o.name_en for o in owed)
        else:
            assert all(o.name == "" for o in owed)


@pytest.mark.parametrize("plan_code", list(ROWS))
def test_each_plan_owes_exactly_its_rows(plan_code):
    schedules, occurrences = loaded(plan_code)
    assert len(occurrences) == TOTALS[plan_code]
    assert sum(r.each * len(r.members or (r.host,)) for r in ROWS[plan_code].values()) == TOTALS[plan_code]
    assert {o.obligation for o in occurrences} == set(ROWS[plan_code])
    assert len({o.id for o in occurrences}) == len(occurrences)


@pytest.mark.parametrize("plan_code", list(ROWS))
def test_the_reporting_section_is_carried(plan_code):
    plan = loaded(plan_code)[0].plans[0]
    for code, (to, through) in REPORTING[plan_code].items():
        obligation = plan.obligation(code)
        assert obligation.channels == ("report",)
        assert (obligation.reports_to, obligation.reports_through) == (to, through)
        assert obligation.consolidated is (code == CONSOLIDATED[plan_code])
    assert [o.code for o in plan.obligations if o.consolidated] == [CONSOLIDATED[plan_code]]


@pytest.mark.parametrize("plan_code", list(ROWS))
def test_groups_list_their_members(plan_code):
    plan = loaded(plan_code)[0].plans[0]
    groups = {a.code: a.members for a in plan.agencies if a.kind == "group"}
    expected = {
        COMMUNE: {"cac-phong-don-vi-xa": COMMUNE_MEMBERS, "cac-thon-to-dan-pho": ()},
        DISTRICT: {"cac-xa-thi-tran": DISTRICT_MEMBERS},
        DEPARTMENT: {"cac-phong-don-vi-so": DEPARTMENT_MEMBERS},
    }[plan_code]
    assert groups == expected


def test_a_group_the_plan_does_not_list_yet_owes_nothing_and_says_so():
    """The commune plan names "các thôn, tổ dân phố" but lists none: the row
    is kept, owes nothing, and loading warns on the group or on the row."""
    schedules, occurrences = loaded(COMMUNE)
    obligation = schedules.plans[0].obligation("sinh-hoat-thon")
    assert obligation.host == "cac-thon-to-dan-pho" and obligation.channels == ("meeting",)
    assert obligation.cadence.count == 1 and obligation.cadence.unit == "quarter"  # "01 lần/quý"
    assert not [o for o in occurrences if o.obligation == "sinh-hoat-thon"]
    lines = (PLANS / f"{COMMUNE}.yaml").read_text().splitlines()
    group = lines.index("  - code: cac-thon-to-dan-pho") + 1
    row = lines.index("  - code: sinh-hoat-thon") + 1
    near = set(range(group, group + 4)) | set(range(row, row + 8))
    assert [w for w in schedules.warnings if w.line in near or "cac-thon-to-dan-pho" in w.render()]


def test_air_days_in_the_plans_words():
    """ "sáng thứ Hai và thứ Sáu hằng tuần, lúc 6 giờ 30" and "Hằng tuần vào thứ Ba
    lúc 20 giờ": each slot owed on its day, due at its slot."""
    for plan_code, code, weekdays, at in (
        (COMMUNE, "loa-truyen-thanh", {0, 4}, time(6, 30)),
        (DISTRICT, "chuyen-muc-loa", {1}, time(20, 0)),
    ):
        owed = [o for o in loaded(plan_code)[1] if o.obligation == code]
        assert all(o.slot is not None and o.due == o.slot for o in owed)
        assert {o.slot.weekday() for o in owed if o.slot} == weekdays
        assert {o.slot.timetz().replace(tzinfo=None) for o in owed if o.slot} == {at}
        assert all(o.slot and o.slot.date() == o.window.start for o in owed)


def test_minimums_and_cut_weeks_as_the_plans_say():
    district = loaded(DISTRICT)[0].plans[0]
    assert district.obligation("loa-xa").cadence.cut == "pro-rata"
    assert district.obligation("tin-bai").cadence.minimum is True
    department = loaded(DEPARTMENT)[0].plans[0]
    assert department.obligation("tin-bai-mxh").cadence.cut == "none"
    assert department.obligation("tin-bai-mxh").cadence.minimum is False
    commune = loaded(COMMUNE)[0].plans[0]
    quota = commune.obligation("tin-bai-trang-xa").cadence
    assert (quota.count, quota.unit, quota.minimum, quota.cut) == (3, "month", True, "full")
    # the district's cut week: 2 of the 4 each commune owes in a full week
    last = [o for o in loaded(DISTRICT)[1] if o.obligation == "loa-xa" and o.period == "2025-W01"]
    assert len(last) == 2 * len(DISTRICT_MEMBERS) and {o.count for o in last} == {2}
    full = [o for o in loaded(DISTRICT)[1] if o.obligation == "loa-xa" and o.period == "2024-W52"]
    assert len(full) == 4 * len(DISTRICT_MEMBERS)
    # the department's cut weeks owe nothing
    periods = {o.period for o in loaded(DEPARTMENT)[1] if o.obligation == "tin-bai-mxh"}
    assert "2026-W01" not in periods and "2026-W53" not in periods


M = 60


def test_durations_as_the_plans_state_them():
    """min_duration on an occurrence is the shortest that conforms."""
    cases = (
        # commune III.1 "mỗi lần tối thiểu 10 phút"
        (COMMUNE, "loa-truyen-thanh", (None, None, None), 10 * M),
        # district row 1 "15 ± 2 phút"
        (DISTRICT, "chuyen-muc-loa", (15 * M, 2 * M, None), 13 * M),
        # department row 1 "15 phút/chuyên mục, tối đa 20 phút"
        (DEPARTMENT, "chuyen-muc-ptth", (15 * M, None, 20 * M), 15 * M),
    )
    for plan_code, code, stated, shortest in cases:
        schedules, occurrences = loaded(plan_code)
        obligation = schedules.plans[0].obligation(code)
        seconds = tuple(
            int(v.total_seconds()) if v is not None else None
            for v in (obligation.duration, obligation.duration_tolerance, obligation.max_duration)
        )
        assert seconds == stated, code
        assert {o.min_duration for o in occurrences if o.obligation == code} == {shortest}
    commune = loaded(COMMUNE)[0].plans[0].obligation("loa-truyen-thanh")
    assert commune.min_duration == timedelta(minutes=10)
    others = [o for p in ROWS for o in loaded(p)[1] if o.obligation not in {c for _, c, _, _ in cases}]
    assert {o.min_duration for o in others} == {None}


def test_the_phu_tho_2024_plan_still_expands_to_its_50_occurrences():
    (plan,) = read_files([PHU_THO]).plans
    occurrences = expand(plan)
    assert len(occurrences) == 50
    # per obligation: tests/test_schedule_format.py test_phu_tho_totals
    assert occurrences[0].id == "phu-tho-2024.cchc-radio-tv.2024-01.1"
    assert {o.id for o in occurrences if o.obligation == "tap-huan-cchc"} == {
        "phu-tho-2024.tap-huan-cchc.2024-Q2_2024-Q4.1"
    }
    assert all(getattr(o, "member", "") == "" and getattr(o, "name", "") == "" for o in occurrences)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_plans_load_together_into_the_database(cli):
    """``main.py load`` with the three plans and Phú Thọ's: the database holds
    exactly the occurrences the expansion gives, for each owing agency."""
    files = [PLANS / f"{code}.yaml" for code in ROWS] + [PHU_THO]
    result = cli("load", *files, "--now", "2024-01-02 09:00")
    assert result.code == 0, result.err
    for plan_code in ROWS:
        listed = cli("occurrences", "--plan", plan_code, "--format", "json")
        assert listed.code == 0, listed.err
        stored = {r["id"]: (r["agency"], tuple(r["channels"]), r["obligation"]) for r in json.loads(listed.out)}
        expanded = {o.id: (o.agency, o.channels, o.obligation) for o in loaded(plan_code)[1]}
        assert stored == expanded
    phu_tho = json.loads(cli("occurrences", "--plan", "phu-tho-2024", "--format", "json").out)
    assert len(phu_tho) == 50


# The consolidated periodic report: issued by the agency that owes it, signed
# with the title of that agency's kind. The daemon's report job runs in
# ``remind``; the day it drafts a report is its own choice, so days are run
# one by one until the report is written.


def _first_report(cli, outputs: Path, plan_code: str, first: date, last: date) -> tuple[Path, date]:
    folder = outputs / "reports"
    day = first
    while day <= last:
        result = cli("remind", "--now", f"{day.isoformat()} 09:00")
        assert result.code == 0, result.err
        found = sorted(folder.glob(f"compliance-{plan_code}-*.html")) if folder.is_dir() else []
        if found:
            return found[0], day
        day += timedelta(days=1)
    raise AssertionError(f"no periodic report for {plan_code} from {first} to {last}")


def _load(cli, monkeypatch, plan_code: str) -> None:
    monkeypatch.delenv("SMTP_HOST", raising=False)  # mail goes to .eml files
    result = cli("load", PLANS / f"{plan_code}.yaml", "--now", "2026-01-21 09:00")
    assert result.code == 0, result.err


def _signed(report: Path) -> tuple[str, str]:
    tree = Tree()
    tree.feed(report.read_text(encoding="utf-8"))
    return tree.root.one("div", cls="issuer").text(), tree.root.one("p", cls="signer").text()


SIGNERS = [
    (COMMUNE, "ỦY BAN NHÂN DÂN XÃ THANH MINH", "CHỦ TỊCH", "GIÁM ĐỐC"),
    (DEPARTMENT, "SỞ NỘI VỤ TỈNH PHÚ THỌ", "GIÁM ĐỐC", "CHỦ TỊCH"),
]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("plan_code", "issuer", "title", "not_title"), SIGNERS, ids=["commune", "department"])
def test_the_consolidated_report_is_issued_by_the_plans_own_reporter(
    cli, tmp_path, monkeypatch, plan_code, issuer, title, not_title
):
    """The half-year report (due 15/06/2026 in both plans), in the weeks around its deadline."""
    _load(cli, monkeypatch, plan_code)
    report, _ = _first_report(cli, tmp_path / "outputs", plan_code, date(2026, 6, 1), date(2026, 7, 15))
    # the plan reports half-year and year: no monthly report of the fixed rhythm
    names = [p.name for p in (tmp_path / "outputs" / "reports").iterdir()]
    assert not [n for n in names if re.search(r"-2026-(0[1-9]|1[0-2])(-cutoff)?\.(html|xlsx)$", n)]
    signed_by, signer = _signed(report)
    assert signed_by == issuer
    assert title in signer and not_title not in signer


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("plan_code", "deadline", "issuer"),
    [
        (COMMUNE, date(2026, 6, 15), "ỦY BAN NHÂN DÂN XÃ THANH MINH"),  # "báo cáo 6 tháng ... trước ngày 15/6/2026"
        (DEPARTMENT, date(2026, 11, 15), "SỞ NỘI VỤ TỈNH PHÚ THỌ"),  # "báo cáo năm trước ngày 15/11/2026"
    ],
    ids=["commune-half-year", "department-year"],
)
def test_the_consolidated_report_is_drafted_by_its_deadline_for_the_plans_year(
    cli, tmp_path, monkeypatch, plan_code, deadline, issuer
):
    """The plan says the report is sent before its deadline: the draft must
    exist by then, and cover the plan's own year (a year's report due on
    15/11/2026 reports on 2026, not on 2025)."""
    _load(cli, monkeypatch, plan_code)
    report, day = _first_report(cli, tmp_path / "outputs", plan_code, deadline - timedelta(days=14), deadline)
    assert day <= deadline
    assert "2025" not in report.name
    assert _signed(report)[0] == issuer
