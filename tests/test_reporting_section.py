"""Named deadlines and a plan's reporting section, on SQLite and PostgreSQL:
reading the rows, the names in labels, feeds and reports, report
occurrences recorded with their file, and the daemon drafting the plan's
consolidated half-year and year reports issued by the right agency with the
right title, while a plan without a reporting section keeps the old rhythm."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from html_tree import html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.compliance.status import report_period
from scheduler.errors import ScheduleError
from scheduler.plan.occurrences import expand
from scheduler.plan.periods import Period
from scheduler.plan.production import read_files, read_texts
from scheduler.plan.reporting_section import covered_period, period_kind
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.store.tables import OutboxRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password

ROOT = Path(__file__).resolve().parent.parent
FORM = ROOT / "tests" / "data" / "forms" / "reporting.yaml"
PLAN = "forms-reporting"
HALF = f"{PLAN}.bao-cao-tong-hop.2026-06-15.1"
YEAR = f"{PLAN}.bao-cao-tong-hop.2026-12-15.1"
QUARTER = f"{PLAN}.bao-cao-quy.2026-03-12.1"
PASSWORD = "mat-khau-du-dai"


# ------------------------------------------------------------------ reading


def test_reporting_rows_become_report_obligations():
    (plan,) = read_files([FORM]).plans
    rows = {o.code: o for o in plan.obligations}
    quarterly, consolidated = rows["bao-cao-quy"], rows["bao-cao-tong-hop"]
    assert (quarterly.host, quarterly.reports_to, quarterly.reports_through) == ("phong-vhxh", "ubnd-xa", "van-phong")
    assert quarterly.channels == ("report",) and not quarterly.consolidated and not quarterly.report_cutoff
    assert (consolidated.host, consolidated.reports_to, consolidated.reports_through) == ("ubnd-xa", "so-noi-vu", "")
    assert consolidated.consolidated and consolidated.report_cutoff
    assert rows["tin-bai-cong-thong-tin"].reports_to == ""  # an ordinary obligation
    found = {o.id: o for o in expand(plan)}
    assert [i for i in found if ".bao-cao-" in i] == [
        QUARTER,
        f"{PLAN}.bao-cao-quy.2026-06-12.1",
        f"{PLAN}.bao-cao-quy.2026-09-12.1",
        f"{PLAN}.bao-cao-quy.2026-12-12.1",
        HALF,
        YEAR,
    ]
    half, year = found[HALF], found[YEAR]
    assert (half.name, half.name_en, year.name, year.name_en) == (
        "Báo cáo 6 tháng",
        "Half-year report",
        "Báo cáo năm",
        "Annual report",
    )
    assert half.shown()["name"] == "Báo cáo 6 tháng" and year.shown()["name_en"] == "Annual report"
    assert found[QUARTER].name == "" and "name" not in found[QUARTER].shown()  # unnamed: shown as before
    assert (half.window.start, half.window.end, half.due.date()) == (
        date(2026, 1, 1),
        date(2026, 6, 16),
        date(2026, 6, 15),
    )
    assert [m.step for m in half.milestones] == ["draft", "sign"]  # the report channel's default template


def test_the_phu_tho_plan_shows_no_name_and_keeps_its_fingerprints():
    (plan,) = read_files([ROOT / "schedules" / "phu-tho-2024.yaml"]).plans
    assert all("name" not in o.shown() and "name_en" not in o.shown() for o in expand(plan))


def _plan(reporting: str, deadlines: str = "[15/06, 15/12]") -> str:
    return f"""plan: {{code: p, title: Kế hoạch, issuer: UBND xã, period: 2026}}
agencies:
  - {{code: ubnd-xa, name: UBND xã, kind: commune}}
  - {{code: so-noi-vu, name: Sở Nội vụ, kind: department}}
obligations: []
reporting:
  - code: bao-cao
    title: Báo cáo
    from: ubnd-xa
    to: so-noi-vu
{reporting}    cadence:
      deadlines: {deadlines}
"""


@pytest.mark.parametrize(
    ("extra", "deadlines", "where", "message"),
    [
        (
            "    consolidated: yes please\n",
            "[15/06]",
            "reporting[0].consolidated",
            'expected true or false, got "yes please"',
        ),
        ("    through: van-phong\n", "[15/06]", "reporting[0].through", 'unknown agency "van-phong"'),
        ("", "[{day: 15/06, name: Báo cáo 6 tháng}]", "reporting[0].cadence.deadlines[0]", 'with "on"'),
        ("", "[{on: 31/06, name: Báo cáo 6 tháng}]", "reporting[0].cadence.deadlines[0].on", "31/06"),
    ],
)
def test_a_wrong_reporting_row_is_named_at_its_field(extra, deadlines, where, message):
    with pytest.raises(ScheduleError) as caught:
        read_texts([("p.yaml", _plan(extra, deadlines))])
    (problem,) = caught.value.problems
    assert problem.where == where and message in problem.render()


def test_a_reporting_code_may_not_repeat_an_obligation_code():
    text = _plan("").replace(
        "obligations: []",
        "obligations:\n  - {code: bao-cao, title: T, host: ubnd-xa, channels: [portal], cadence: 1 per year}",
    )
    with pytest.raises(ScheduleError) as caught:
        read_texts([("p.yaml", text)])
    assert 'duplicate obligation code "bao-cao"' in str(caught.value)


# ----------------------------------------------------- the period a report covers


def test_the_period_a_consolidated_occurrence_covers():
    window = Period(date(2026, 1, 1), date(2026, 6, 16), "2026-06-15")
    assert covered_period(window.label, window, date(2026, 6, 15), "Báo cáo 6 tháng") == "2026-H1"
    assert covered_period(window.label, window, date(2026, 12, 15), "Báo cáo năm") == "2026"
    assert covered_period(window.label, window, date(2026, 7, 5), "Báo cáo 6 tháng đầu năm") == "2026-H1"
    assert covered_period(window.label, window, date(2027, 1, 20), "", "Annual report") == "2026"
    assert covered_period(window.label, window, date(2026, 3, 12), "Báo cáo quý") == "2026-Q1"
    assert covered_period(window.label, window, date(2026, 6, 15)) == "2026-01-01..2026-06-15"
    h2 = Period(date(2026, 7, 1), date(2027, 1, 1), "2026-H2")
    assert covered_period(h2.label, h2, date(2026, 12, 31)) == "2026-H2"  # "1 per half-year" covers its window
    assert period_kind("Báo cáo tháng") == "month" and period_kind("Báo cáo chuyên đề") == ""
    # with the cut-off of Nghị định 09/2019 the half-year and the year end on the 14th
    assert report_period("2026-H1", True) == report_period("2026-H1", True).__class__(
        "2026-H1", date(2025, 12, 15), date(2026, 6, 15), True
    )
    assert (report_period("2026", True).start, report_period("2026", True).last_day) == (
        date(2025, 12, 15),
        date(2026, 12, 14),
    )


# --------------------------------------------- the app: labels, feeds, recording


@pytest.fixture
def commune(cli, db_url, monkeypatch, tmp_path):
    """The commune plan loaded alone, a producer of the commune's committee
    who can sign in, and the app as if it were 12/06/2026 10:00."""
    monkeypatch.setenv("PUBLIC_FEED", "on")
    assert cli("load", FORM, "--now", "2026-01-05").code == 0
    for email, agency in (("vanthu@xa.example", "ubnd-xa"), ("vhxh@xa.example", "phong-vhxh")):
        assert cli("users", "add", email, "--role", "producer", "--agency", agency).code == 0
    db = Database(db_url)
    with db.transaction() as s:
        for email in ("vanthu@xa.example", "vhxh@xa.example"):
            set_password(s, find_user(s, email), PASSWORD, parse_now("2026-06-12 10:00", DEFAULT_TZ))
    app = create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now("2026-06-12 10:00", DEFAULT_TZ)))
    yield app, db
    db.close()


def _signed_in(app, email: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    form = html(client.get("/login")).one("form", id="login")
    csrf = form.one("input", name="csrf").attrs["value"]
    r = client.post("/login", data={"csrf": csrf, "email": email, "password": PASSWORD, "next": "/me"})
    assert r.status_code == 303, r.text
    return client


def test_names_in_the_page_my_work_and_the_feed(cli, commune, tmp_path):
    app, _ = commune
    client = _signed_in(app, "vanthu@xa.example")
    page = html(client.get(f"/o/{HALF}"))
    heading = page.one("h1").text()
    assert heading.startswith("Báo cáo kết quả thực hiện Kế hoạch") and "— Báo cáo 6 tháng (" in heading
    mine = html(client.get("/me")).one("ul", id="my-work").one("a", href=f"/o/{HALF}").text()
    assert "— Báo cáo 6 tháng" in mine
    assert cli("feeds", "export").code == 0
    feeds = tmp_path / "outputs" / "feeds" / "public"
    for suffix, name in (("", "Báo cáo 6 tháng"), (".en", "Half-year report")):
        calendar = icalendar.Calendar.from_ical((feeds / f"{PLAN}{suffix}.ics").read_bytes())
        events = {str(e["UID"]).split("@")[0]: str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}
        half = next(v for k, v in events.items() if HALF in k)
        assert f"— {name} (" in half
        quarter = next(v for k, v in events.items() if QUARTER in k)
        assert "—" not in quarter  # an unnamed deadline reads as before


def test_a_report_occurrence_is_recorded_with_its_file(cli, commune, tmp_path):
    app, _ = commune
    signed = tmp_path / "bao-cao-quy-1.pdf"
    signed.write_bytes(b"%PDF-1.4\n" + b"x" * 200)
    done = cli(
        "deliver",
        QUARTER,
        "--by",
        "vhxh@xa.example",
        "--at",
        "2026-03-11 15:00",
        "--file",
        signed,
        "--now",
        "2026-03-11 16:00",
    )
    assert done.code == 0, done.err
    refused = cli("deliver", HALF, "--by", "vhxh@xa.example", "--at", "2026-06-12 09:00", "--now", "2026-06-12 10:00")
    assert refused.code == 1 and "ubnd-xa" in refused.err  # the committee's report, not the division's
    page = html(_signed_in(app, "vhxh@xa.example").get(f"/o/{QUARTER}"))
    entry = page.one("ol", id="history").one("li", cls="entry")
    assert "bao-cao-quy-1.pdf" in entry.text()
    report = cli("report", "--plan", PLAN, "--period", "2026-01-01..2026-06-30", "--now", "2026-06-20 10:00")
    assert report.code == 0, report.err
    occurrences = {o["id"]: o for o in json.loads(report.out)["occurrences"]}
    assert occurrences[QUARTER]["status"] == "on_time"
    assert occurrences[f"{PLAN}.bao-cao-quy.2026-06-12.1"]["status"] == "missing"  # nothing recorded by 12/06
    assert occurrences[HALF]["name"] == "Báo cáo 6 tháng" and occurrences[QUARTER]["name"] == ""


# ------------------------------------------------------------------ the daemon


def test_the_daemon_drafts_the_half_year_and_year_reports_of_the_commune(cli, database, tmp_path):
    assert cli("load", FORM, "--now", "2026-01-05").code == 0
    reports = tmp_path / "outputs" / "reports"
    for day in ("2026-03-18", "2026-04-17", "2026-06-12"):  # no monthly or quarterly rhythm for this plan
        assert cli("remind", "--now", f"{day} 09:00").code == 0
    assert not reports.exists()
    assert cli("remind", "--now", "2026-06-15 09:00").code == 0  # the H1 cut-off ended on the 14th; due today
    half = "compliance-forms-reporting-2026-H1-cutoff-ubnd-xa"
    assert sorted(p.name for p in reports.iterdir()) == [f"{half}.html", f"{half}.xlsx"]
    text = (reports / f"{half}.html").read_text(encoding="utf-8")
    assert "ỦY BAN NHÂN DÂN XÃ THANH MINH" in text and "CHỦ TỊCH" in text and "GIÁM ĐỐC" not in text
    assert "Sở Nội vụ (để báo cáo)" in text and "6 tháng đầu năm 2026" in text
    assert "15/12/2025" in text and "14/06/2026" in text  # the cut-off period
    assert cli("remind", "--now", "2026-06-15 10:00").code == 0  # the same day: not again
    assert cli("remind", "--now", "2026-12-15 09:00").code == 0
    year = "compliance-forms-reporting-2026-cutoff-ubnd-xa"
    assert {f"{year}.html", f"{year}.xlsx"} <= {p.name for p in reports.iterdir()}
    assert "năm 2026" in (reports / f"{year}.html").read_text(encoding="utf-8")
    with database.transaction() as s:
        abouts = sorted(r.about for r in s.scalars(select(OutboxRow).where(OutboxRow.kind == "report")))
    assert set(abouts) == {f"{PLAN}@2026-H1@ubnd-xa", f"{PLAN}@2026@ubnd-xa"}


def test_a_consolidated_report_of_a_department_is_signed_by_its_director(cli, tmp_path):
    text = (
        FORM.read_text(encoding="utf-8")
        .replace("from: ubnd-xa", "from: so-noi-vu")
        .replace("to: so-noi-vu", "to: ubnd-xa")
    )
    plan = tmp_path / "so.yaml"
    plan.write_text(text, encoding="utf-8")
    assert cli("load", plan, "--now", "2026-01-05").code == 0
    assert cli("remind", "--now", "2026-06-15 09:00").code == 0
    html_text = (
        tmp_path / "outputs" / "reports" / "compliance-forms-reporting-2026-H1-cutoff-so-noi-vu.html"
    ).read_text(encoding="utf-8")
    assert "GIÁM ĐỐC" in html_text and "CHỦ TỊCH" not in html_text and "SỞ NỘI VỤ" in html_text


def test_signer_titles_come_from_the_setting(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNER_TITLES", "commune=Phó Chủ tịch")
    assert cli("load", FORM, "--now", "2026-01-05").code == 0
    assert cli("remind", "--now", "2026-06-15 09:00").code == 0
    text = (tmp_path / "outputs" / "reports" / "compliance-forms-reporting-2026-H1-cutoff-ubnd-xa.html").read_text(
        encoding="utf-8"
    )
    assert "PHÓ CHỦ TỊCH" in text
    monkeypatch.setenv("SIGNER_TITLES", "xa=Chủ tịch")
    wrong = cli("remind", "--now", "2026-06-16 09:00")
    assert wrong.code != 0 and "SIGNER_TITLES" in wrong.err and "commune" in wrong.err


def test_a_plan_without_a_reporting_section_keeps_the_monthly_rhythm(cli, tmp_path):
    text = FORM.read_text(encoding="utf-8").split("\nreporting:")[0]
    plan = tmp_path / "plain.yaml"
    plan.write_text(text, encoding="utf-8")
    assert cli("load", plan, "--now", "2026-01-05").code == 0
    assert cli("remind", "--now", "2026-06-15 09:00").code == 0
    assert not (tmp_path / "outputs" / "reports").exists()
    assert cli("remind", "--now", "2026-06-17 09:00").code == 0  # the 3rd working day after the 14th
    names = sorted(p.name for p in (tmp_path / "outputs" / "reports").iterdir())
    assert names == [
        "compliance-forms-reporting-2026-06-cutoff.html",
        "compliance-forms-reporting-2026-06-cutoff.xlsx",
        "compliance-forms-reporting-2026-Q2-cutoff.html",
        "compliance-forms-reporting-2026-Q2-cutoff.xlsx",
    ]
    body = (tmp_path / "outputs" / "reports" / names[0]).read_text(encoding="utf-8")
    assert "GIÁM ĐỐC" in body and "SỞ NỘI VỤ" in body  # REPORT_AGENCY issues it, as always
