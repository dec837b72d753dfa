"""The 2025 reorganisation: agencies renamed, merged, dissolved on a day,
with history kept (on SQLite and PostgreSQL, through the real command line)."""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from scheduler.errors import ScheduleError
from scheduler.i18n import gettext_for
from scheduler.plan.succession import Succession, check, name_on, successor_on
from scheduler.plan.succession_file import read_csv, read_yaml
from scheduler.store.database import Database
from scheduler.store.tables import (
    AgencyRow,
    FeedItemRow,
    OccurrenceRow,
    OutboxRow,
    RegistryAgencyRow,
    SubscriptionRow,
    SuccessionRow,
    UserRow,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ON = date(2025, 7, 1)
MERGED = "bao-ptth-phu-tho"
MERGED_NAME = "Báo và Phát thanh, Truyền hình Phú Thọ"


# --- the pure rules -------------------------------------------------------


def test_successor_follows_chains_and_stops_at_a_dissolution():
    s = [
        Succession("merge", "a", date(2025, 7, 1), "b"),
        Succession("merge", "b", date(2026, 1, 1), "c"),
        Succession("dissolve", "x", date(2025, 7, 1), reason="ended"),
    ]
    assert successor_on("a", date(2025, 6, 30), s) == "a"
    assert successor_on("a", date(2025, 7, 1), s) == "b"
    assert successor_on("a", date(2026, 1, 1), s) == "c"
    assert successor_on("b", date(2025, 12, 31), s) == "b"
    assert successor_on("x", date(2025, 7, 1), s) is None
    assert successor_on("x", date(2025, 6, 30), s) == "x"
    assert successor_on("z", date(2030, 1, 1), s) == "z"


def test_name_in_force_on_a_day_keeps_history():
    s = [
        Succession("rename", "a", date(2025, 3, 1), name="Second", old_name="First"),
        Succession("rename", "a", date(2025, 9, 1), name="Third", old_name="Second"),
    ]
    current = ("Third", "")
    assert name_on("a", date(2025, 1, 1), s, current) == ("First", "")
    assert name_on("a", date(2025, 3, 1), s, current) == ("Second", "")
    assert name_on("a", date(2025, 12, 1), s, current) == ("Third", "")
    assert name_on("b", date(2025, 1, 1), s, ("B", "B en")) == ("B", "B en")


def test_validation_refuses_cycles_self_merges_and_two_changes_a_day():
    with pytest.raises(ScheduleError, match="circle"):
        check(
            [
                Succession("merge", "a", ON, "b", source="f.csv:2"),
                Succession("merge", "b", date(2026, 1, 1), "a", source="f.csv:3"),
            ]
        )
    with pytest.raises(ScheduleError, match="into itself"):
        check([Succession("merge", "a", ON, "a", source="cmd")])
    with pytest.raises(ScheduleError) as e:
        check(
            [
                Succession("rename", "a", ON, name="A2", source="f.csv:2"),
                Succession("merge", "a", ON, "b", source="f.csv:3"),
            ]
        )
    assert "f.csv:3: a: a second change of this agency on 01/07/2025 (the other: f.csv:2)" in str(e.value)
    with pytest.raises(ScheduleError, match="already ended on 01/07/2025"):
        check(
            [Succession("merge", "a", date(2026, 1, 1), "c", source="cmd")],
            [Succession("merge", "a", ON, "b", source="f.csv:2")],
        )
    with pytest.raises(ScheduleError, match="a successor for what is still owed, or a reason"):
        check([Succession("dissolve", "a", ON)])


def test_list_files_name_file_and_line_of_every_problem():
    text = (
        "kind,agency,successor,on,name,name_en,reason\n"
        "merge,xa-a,xa-ab,01/07/2025,Xã AB,,\n"
        "melt,xa-b,xa-ab,01/07/2025,,,\n"
        "merge,xa-c,xa-ab,31/02/2025,,,\n"
    )
    with pytest.raises(ScheduleError) as e:
        read_csv("communes.csv", text)
    problems = {(p.source, p.line, p.where) for p in e.value.problems}
    assert problems == {("communes.csv", 3, "kind"), ("communes.csv", 4, "on")}
    yaml_text = (
        "successions:\n  - kind: merge\n    agency: xa-a\n    successor: xa-ab\n    on: 2025-07-01\n"
        "  - kind: merge\n    agency: Xa B\n    on: 01/07/2025\n"
    )
    with pytest.raises(ScheduleError) as e:
        read_yaml("communes.yaml", yaml_text)
    assert [(p.line, p.where) for p in e.value.problems] == [(7, "successions[1].agency")]
    (ok,) = read_yaml("ok.yaml", yaml_text.split("  - kind: merge\n    agency: Xa B")[0])
    assert ok == Succession("merge", "xa-a", ON, "xa-ab", source="ok.yaml:2")


# --- the Phú Thọ 2025 case, end to end -----------------------------------


@pytest.fixture
def phu_tho_2025(cli, tmp_path):
    """The 2024 plan rolled into 2025 (the newspaper and the station still
    apart), loaded early in 2025, with people and feeds of both outlets."""
    out = tmp_path / "phu-tho-2025.yaml"
    rolled = cli("plan", "roll", "schedules/phu-tho-2024.yaml", "--year", "2025", "--out", out)
    assert rolled.code == 0, rolled.err
    loaded = cli("load", out, "--now", "2025-01-10")
    assert loaded.code == 0, loaded.err
    assert cli("users", "add", "admin@x.vn", "--role", "admin", "--role", "dha").code == 0
    for email, agency in (("bao@x.vn", "bao-phu-tho"), ("dai@x.vn", "dai-ptth"), ("so@x.vn", "so-noi-vu")):
        assert cli("users", "add", email, "--role", "producer", "--agency", agency).code == 0
        assert cli("subscribe", "--email", email, "--agency", agency).code == 0
    return out


def _occurrences(db_url: str, agency: str | None = None, moved_from: str | None = None) -> list[OccurrenceRow]:
    db = Database(db_url)
    try:
        with db.transaction() as s:
            query = select(OccurrenceRow).where(OccurrenceRow.plan_code == "phu-tho-2025")
            if agency:
                query = query.where(OccurrenceRow.agency_code == agency)
            if moved_from is not None:
                query = query.where(OccurrenceRow.moved_from == moved_from)
            rows = list(s.scalars(query.order_by(OccurrenceRow.id)))
            s.expunge_all()
            return rows
    finally:
        db.close()


def _scalar(db_url: str, query):
    db = Database(db_url)
    try:
        with db.transaction() as s:
            return s.execute(query).all()
    finally:
        db.close()


def _merge(cli, *extra: str):
    return cli(
        "agencies",
        "merge",
        "bao-phu-tho",
        "dai-ptth",
        "--into",
        MERGED,
        "--name",
        MERGED_NAME,
        "--on",
        "01/07/2025",
        "--by",
        "admin@x.vn",
        "--now",
        "2025-06-20T09:00",
        "--lang",
        "en",
        *extra,
    )


def test_phu_tho_merger_moves_open_occurrences_people_and_feeds(cli, db_url, phu_tho_2025):
    start = datetime(2025, 7, 1, tzinfo=TZ)
    station = _occurrences(db_url, "dai-ptth")
    later = [o for o in station if o.window_end > start]
    earlier = [o for o in station if o.window_end <= start]
    assert later and earlier
    met = later[0]
    excused = cli("excuse", met.id, "--by", "admin@x.vn", "--reason", "đã thực hiện", "--now", "2025-06-15")
    assert excused.code == 0, excused.err
    sequences = dict(_scalar(db_url, select(FeedItemRow.uid, FeedItemRow.revision)))

    result = _merge(cli)
    assert result.code == 0, result.err
    assert result.out.startswith("2 succession(s) recorded (0 already recorded)")

    moved = {o.id: o for o in _occurrences(db_url, MERGED)}
    assert set(moved) >= {o.id for o in later[1:]}
    assert met.id not in moved  # a met occurrence keeps the agency it was met by
    for o in later[1:]:
        assert moved[o.id].revision == o.revision + 1 and moved[o.id].moved_from == "dai-ptth"
        assert moved[o.id].shown["agency"] == MERGED
    still = {o.id: o for o in _occurrences(db_url, "dai-ptth")}
    assert set(still) == {o.id for o in earlier} | {met.id}
    assert all(still[o.id].revision == o.revision for o in earlier)
    # calendars: the same UID, a higher SEQUENCE, the successor's name
    items = {
        uid: (rev, ical)
        for uid, rev, ical in _scalar(
            db_url,
            select(FeedItemRow.uid, FeedItemRow.revision, FeedItemRow.ical_vi).where(
                FeedItemRow.occurrence_id == later[1].id
            ),
        )
    }
    for uid, (revision, ical) in items.items():
        assert revision == sequences[uid] + 1
        assert f"SEQUENCE:{revision}".encode() in ical
    # people and feeds follow; another agency's do not
    users = dict(_scalar(db_url, select(UserRow.email, UserRow.agency_code)))
    assert users == {"bao@x.vn": MERGED, "dai@x.vn": MERGED, "so@x.vn": "so-noi-vu", "admin@x.vn": None}
    feeds = sorted(a for (a,) in _scalar(db_url, select(SubscriptionRow.agency_code)))
    assert feeds == [MERGED, MERGED, "so-noi-vu"]
    # registry: the old ones end, the new one exists; history recorded
    registry = {
        c: (n, d)
        for c, n, d in _scalar(
            db_url, select(RegistryAgencyRow.code, RegistryAgencyRow.name, RegistryAgencyRow.dissolved_on)
        )
    }
    assert registry["bao-phu-tho"] == ("Báo Phú Thọ", ON) and registry["dai-ptth"][1] == ON
    assert registry[MERGED] == (MERGED_NAME, None)
    # one notice per person of both agencies (users and the plan's contacts), per succession
    notices = _scalar(db_url, select(OutboxRow.recipient, OutboxRow.about).where(OutboxRow.kind == "succession"))
    assert ("bao@x.vn", "succession:bao-phu-tho@2025-07-01") in notices
    assert ("toasoan@baophutho.phutho.example", "succession:bao-phu-tho@2025-07-01") in notices
    assert ("bientap@daiptth.phutho.example", "succession:dai-ptth@2025-07-01") in notices
    assert not [r for r, _ in notices if r == "so@x.vn"]
    assert len(notices) == len(set(notices))

    # the same command again records nothing; a reload does not move anything back
    again = _merge(cli)
    assert again.code == 0 and "0 succession(s) recorded (2 already recorded)" in again.out
    reload = cli("load", phu_tho_2025, "--now", "2025-07-05")
    assert reload.code == 0, reload.err
    assert "0 mới, 0 được điều chỉnh, 0 đã hủy" in reload.out
    assert {o.id for o in _occurrences(db_url, MERGED)} == set(moved)


def test_a_load_after_the_merger_owes_to_the_successor_from_the_day(cli, db_url, tmp_path):
    """A succession recorded before the plan is loaded: the load itself gives
    the successor what falls on or after the day; earlier stays with the old host."""
    out = tmp_path / "phu-tho-2025.yaml"
    assert cli("plan", "roll", "schedules/phu-tho-2024.yaml", "--year", "2025", "--out", out).code == 0
    first = cli("load", "schedules/phu-tho-2024.yaml", "--now", "2024-01-10")
    assert first.code == 0
    assert cli("users", "add", "admin@x.vn", "--role", "admin").code == 0
    assert _merge(cli).code == 0
    again = cli("load", "schedules/phu-tho-2024.yaml", "--now", "2025-01-10")
    assert again.code == 0 and "01/07/2025" not in again.err  # the 2024 plan ends before the merger
    loaded = cli("load", out, "--now", "2025-01-10")
    assert loaded.code == 0, loaded.err
    # the rolled plan still names the merged outlets as hosts: the load warns at each, naming the successor
    ended = gettext_for("vi")(
        'obligation "{obligation}": its host "{code}" ended on {day}; from that day "{successor}" '
        "({name}) owes it (name it as host)"
    )
    for obligation, host in (("cchc-radio-tv", "dai-ptth"), ("bao-phu-tho-cchc", "bao-phu-tho")):
        said = ended.format(obligation=obligation, code=host, day="01/07/2025", successor=MERGED, name=MERGED_NAME)
        assert said in loaded.err, loaded.err
    start = datetime(2025, 7, 1, tzinfo=TZ)
    for o in _occurrences(db_url):
        if o.obligation_code == "cchc-radio-tv":
            expected = MERGED if o.window_end > start else "dai-ptth"
            assert o.agency_code == expected, o.id
            assert o.moved_from == ("dai-ptth" if expected == MERGED else "")


def test_report_spanning_the_day_shows_both_agencies_linked(cli, db_url, phu_tho_2025):
    assert _merge(cli).code == 0
    report = cli("report", "--plan", "phu-tho-2025", "--period", "2025", "--format", "json", "--now", "2026-01-05")
    assert report.code == 0, report.err
    doc = json.loads(report.out)
    rows = {a["agency"]: a for a in doc["agencies"]}
    assert rows["dai-ptth"]["merged_into"] == {"code": MERGED, "name": MERGED_NAME, "on": "2025-07-01"}
    assert rows["dai-ptth"]["agency_name"] == "Đài Phát thanh và Truyền hình tỉnh"
    assert {r["code"] for r in rows[MERGED]["received_from"]} >= {"dai-ptth"}
    assert rows[MERGED]["agency_name"] == MERGED_NAME
    first_half = json.loads(
        cli("report", "--plan", "phu-tho-2025", "--period", "2025-Q1", "--format", "json", "--now", "2026-01-05").out
    )
    assert MERGED not in {a["agency"] for a in first_half["agencies"]}


def test_rename_keeps_the_old_name_in_earlier_reports(cli, db_url, phu_tho_2025):
    renamed = cli(
        "agencies", "rename", "dai-ptth", "--name", "Đài PT-TH (mới)", "--on", "2025-07-01", "--by", "admin@x.vn"
    )
    assert renamed.code == 0, renamed.err
    before = json.loads(
        cli("report", "--plan", "phu-tho-2025", "--period", "2025-Q1", "--format", "json", "--now", "2026-01-05").out
    )
    after = json.loads(
        cli("report", "--plan", "phu-tho-2025", "--period", "2025-Q4", "--format", "json", "--now", "2026-01-05").out
    )
    names = lambda doc: {a["agency"]: a["agency_name"] for a in doc["agencies"]}  # noqa: E731
    assert names(before).get("dai-ptth") == "Đài Phát thanh và Truyền hình tỉnh"
    assert names(after).get("dai-ptth") == "Đài PT-TH (mới)"


def test_dissolve_with_a_successor_and_with_a_cancel_reason(cli, db_url, phu_tho_2025):
    start = datetime(2025, 10, 1, tzinfo=TZ)
    newspaper = [o for o in _occurrences(db_url, "bao-phu-tho") if o.window_end > start and o.status != "cancelled"]
    assert newspaper
    gone = cli(
        "agencies", "dissolve", "bao-phu-tho", "--on", "01/10/2025", "--cancel-reason", "giải thể", "--by", "admin@x.vn"
    )
    assert gone.code == 0, gone.err
    after = {o.id: o for o in _occurrences(db_url)}
    for o in newspaper:
        assert after[o.id].status == "cancelled" and after[o.id].reason == "giải thể"
        assert after[o.id].revision == o.revision + 1 and after[o.id].agency_code == "bao-phu-tho"
    assert dict(_scalar(db_url, select(UserRow.email, UserRow.agency_code)))["bao@x.vn"] == "bao-phu-tho"
    moved = cli(
        "agencies", "dissolve", "dai-ptth", "--on", "01/10/2025", "--successor", "so-noi-vu", "--by", "admin@x.vn"
    )
    assert moved.code == 0, moved.err
    assert all(o.window_end > start for o in _occurrences(db_url, "so-noi-vu", moved_from="dai-ptth"))
    assert _occurrences(db_url, "so-noi-vu", moved_from="dai-ptth")
    assert dict(_scalar(db_url, select(UserRow.email, UserRow.agency_code)))["dai@x.vn"] == "so-noi-vu"
    with pytest.raises(SystemExit) as refused:  # argparse: one of --successor, --cancel-reason is required
        cli("agencies", "dissolve", "so-tttt", "--on", "01/10/2025", "--by", "admin@x.vn")
    assert refused.value.code == 2


def test_chains_move_to_the_last_successor(cli, db_url, phu_tho_2025):
    assert _merge(cli).code == 0
    chained = cli(
        "agencies",
        "merge",
        MERGED,
        "--into",
        "so-noi-vu",
        "--on",
        "01/10/2025",
        "--by",
        "admin@x.vn",
        "--now",
        "2025-09-01",
    )
    assert chained.code == 0, chained.err
    start = datetime(2025, 10, 1, tzinfo=TZ)
    assert all(o.window_end <= start or o.status == "cancelled" for o in _occurrences(db_url, MERGED))
    assert _occurrences(db_url, "so-noi-vu", moved_from=MERGED)
    users = dict(_scalar(db_url, select(UserRow.email, UserRow.agency_code)))
    assert users["bao@x.vn"] == users["dai@x.vn"] == "so-noi-vu"
    cycle = cli(
        "agencies",
        "merge",
        "so-noi-vu",
        "--into",
        "dai-ptth",
        "--on",
        "01/12/2025",
        "--by",
        "admin@x.vn",
        "--lang",
        "en",
    )
    assert cycle.code == 1 and "circle" in cycle.err


def test_schedule_file_of_successions_is_applied_once_by_load(cli, db_url, phu_tho_2025, tmp_path):
    folder = tmp_path / "schedules"
    folder.mkdir()
    (folder / "phu-tho-2025.yaml").write_text(phu_tho_2025.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "reorganisation-2025.yaml").write_text(
        "successions:\n"
        f"  - {{kind: merge, agency: bao-phu-tho, successor: {MERGED}, on: 01/07/2025, name: '{MERGED_NAME}'}}\n"
        f"  - {{kind: merge, agency: dai-ptth, successor: {MERGED}, on: 01/07/2025}}\n",
        encoding="utf-8",
    )
    first = cli("load", folder, "--now", "2025-06-20")
    assert first.code == 0, first.err
    assert len(_scalar(db_url, select(SuccessionRow.id))) == 2
    assert _occurrences(db_url, MERGED)
    again = cli("load", folder, "--now", "2025-06-21")
    assert again.code == 0, again.err
    assert len(_scalar(db_url, select(SuccessionRow.id))) == 2
    assert "0 mới, 0 được điều chỉnh, 0 đã hủy" in again.out


def test_roll_replaces_hosts_by_their_successors(cli, db_url, phu_tho_2025, tmp_path):
    assert _merge(cli).code == 0
    out = tmp_path / "phu-tho-2026.yaml"
    rolled = cli("plan", "roll", phu_tho_2025, "--year", "2026", "--out", out, "--lang", "en")
    assert rolled.code == 0, rolled.err
    assert "bao-phu-tho" in rolled.err and MERGED in rolled.err
    text = out.read_text(encoding="utf-8")
    assert f"host: {MERGED}" in text and "host: dai-ptth" not in text and MERGED_NAME in text


def test_list_file_errors_name_file_and_line_and_apply_nothing(cli, db_url, phu_tho_2025, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f'kind,agency,successor,on,name,name_en,reason\nmerge,bao-phu-tho,{MERGED},01/07/2025,"{MERGED_NAME}",,\n'
        "merge,dai-ptth,nowhere-new,01/07/2025,,,\n",
        encoding="utf-8",
    )
    result = cli("agencies", "apply", bad, "--by", "admin@x.vn", "--lang", "en")
    assert result.code == 1
    assert f"{bad}:3: dai-ptth:" in result.err and "nowhere-new" in result.err
    assert not _scalar(db_url, select(SuccessionRow.id))
    assert not _occurrences(db_url, MERGED)


def test_five_thousand_commune_mergers_in_one_go(cli, db_url, phu_tho_2025, tmp_path, capsys):
    """The 2025 commune mergers: 5,000 communes into 1,250, in one list file
    and one transaction. The communes are in the registry (as a load of their
    plans would have left them); their people follow."""
    db = Database(db_url)
    now = datetime(2025, 6, 1, tzinfo=TZ)
    try:
        with db.transaction() as s:
            s.add_all(
                RegistryAgencyRow(code=f"xa-{i}", name=f"Xã {i}", kind="commune", created_at=now, updated_at=now)
                for i in range(5000)
            )
            s.add_all(
                UserRow(email=f"u{i}@xa.vn", roles=["producer"], agency_code=f"xa-{i}", created_at=now, updated_at=now)
                for i in range(0, 5000, 50)
            )
    finally:
        db.close()
    lines = ["kind,agency,successor,on,name,name_en,reason"]
    lines += [f"merge,xa-{i},xa-moi-{i // 4},01/07/2025,Xã mới {i // 4},,Nghị quyết sáp nhập" for i in range(5000)]
    path = tmp_path / "communes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    result = cli("agencies", "apply", path, "--by", "admin@x.vn", "--now", "2025-06-20")
    elapsed = time.perf_counter() - started
    assert result.code == 0, result.err
    with capsys.disabled():
        print(f"\n5,000 commune mergers applied in {elapsed:.2f} s on {db_url.split(':')[0]}")
    assert elapsed < 30
    assert _scalar(db_url, select(func.count()).select_from(SuccessionRow))[0][0] == 5000
    codes = dict(_scalar(db_url, select(UserRow.email, UserRow.agency_code).where(UserRow.email.like("%@xa.vn"))))
    assert codes["u0@xa.vn"] == "xa-moi-0" and codes["u4950@xa.vn"] == "xa-moi-1237"
    ended = _scalar(
        db_url, select(func.count()).select_from(RegistryAgencyRow).where(RegistryAgencyRow.dissolved_on == ON)
    )
    assert ended[0][0] == 5000
    again = cli("agencies", "apply", path, "--by", "admin@x.vn", "--now", "2025-06-21", "--lang", "en")
    assert again.code == 0 and "(5000 already recorded)" in again.out
    assert not _scalar(db_url, select(AgencyRow.code).where(AgencyRow.code.like("xa-moi-%")))


def test_the_notice_reads_in_vietnamese_first():
    from scheduler.notifiers.letter import compose
    from scheduler.reminders.outbox import Message

    moment = datetime(2025, 6, 20, 9, tzinfo=TZ)
    context = {
        "kind": "merge",
        "agency": "dai-ptth",
        "agency_name": ["Đài Phát thanh và Truyền hình tỉnh", "Provincial Radio and Television Station"],
        "successor": MERGED,
        "successor_name": [MERGED_NAME, ""],
        "new_name": ["", ""],
        "on": "2025-07-01",
        "reason": "",
    }
    message = Message(
        "succession", "succession:dai-ptth@2025-07-01", "dai@x.vn", moment, moment, moment, context=context
    )
    mail = compose(message, "<m@x>", "lich@x.vn", "https://lich.example")
    assert mail.subject == "[Sắp xếp tổ chức] Đài Phát thanh và Truyền hình tỉnh từ ngày 01/07/2025"
    assert f"Từ ngày 01/07/2025, Đài Phát thanh và Truyền hình tỉnh sáp nhập vào {MERGED_NAME}" in mail.text
    assert "Các hồ sơ trước đó vẫn giữ tên cũ." in mail.html
    english = compose(
        Message("succession", "s", "dai@x.vn", moment, moment, moment, lang="en", context=context),
        "<m@x>",
        "lich@x.vn",
        "https://lich.example",
    )
    assert english.subject == "[Reorganisation] Provincial Radio and Television Station from 01/07/2025"


def test_dashboard_rows_link_the_merged_agencies(cli, db_url, phu_tho_2025):
    from html_tree import html
    from scheduler.cli.context import DEFAULT_TZ
    from scheduler.clock import Clock, parse_now
    from scheduler.settings import Settings
    from scheduler.store.people import find_user
    from scheduler.web.app import create_app
    from scheduler.web.auth import set_password
    from web_session import signed_in

    assert _merge(cli).code == 0
    now = parse_now("2026-01-05 10:00", DEFAULT_TZ)
    db = Database(db_url)
    try:
        with db.transaction() as s:
            set_password(s, find_user(s, "admin@x.vn"), "mat-khau-du-dai", now)
        app = create_app(Settings.load(), db, Clock(DEFAULT_TZ, now))
        client = signed_in(app, "admin@x.vn", "mat-khau-du-dai")
        answer = client.get("/dashboard?plan=phu-tho-2025&period=2025")
        assert answer.status_code == 200, answer.text
        table = html(answer).one("table", id="agencies")
        station = table.one("tr", data_key="dai-ptth")
        text = " ".join(station.text().split())
        assert f"sáp nhập vào {MERGED_NAME} từ ngày 01/07/2025" in text
        merged = " ".join(table.one("tr", data_key=MERGED).text().split())
        assert "tiếp nhận từ Đài Phát thanh và Truyền hình tỉnh từ ngày 01/07/2025" in merged
        hrefs = [a.attrs["href"] for a in station.all("a")]
        assert any(h.startswith(f"/dashboard/agencies/{MERGED}?") for h in hrefs)
    finally:
        db.close()
