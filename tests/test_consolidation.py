"""One DHA, many plans (issue 16, items 1, 2 and the visibility of item 6),
on SQLite and PostgreSQL, through the command line and real HTTP: three
plans loaded together (the province's, a district's, and a plan of another
province written here), the consolidated report and its filters, the
reports agencies owe the DHA (recorded, reminded, missing), and who sees
which plans."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from conftest import ROOT, Result
from html_tree import Tree, html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.compliance.report_files import render
from scheduler.compliance.status import report_period
from scheduler.settings import Settings
from scheduler.store.compliance import Scope
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.store.reporting import compliance_report, consolidated_report
from scheduler.store.tables import OccurrenceRow, OutboxRow, PlanRow, RegistryAgencyRow
from scheduler.store.visibility import visible_plans
from scheduler.web.app import create_app
from scheduler.web.auth import set_password
from web_session import signed_in

NOW = "2024-06-20 10:00"
PASSWORD = "mat-khau-du-dai"
PROVINCE, DISTRICT, OTHER = "phu-tho-2024", "ngoc-son-2024", "ha-noi-2024"
REPORT = "ngoc-son-2024.bao-cao-xa.xa-hoa-binh.2024-06-05.1"  # a commune's half-year report to the district
UNSENT = "ngoc-son-2024.bao-cao-xa.xa-dong-tien.2024-06-05.1"
PEOPLE = {
    "dha@snv.example": ("dha", "so-noi-vu"),  # the Sở of Phú Thọ: its province's plans
    "dha-all@snv.example": ("dha", None),  # no agency: every plan
    "dha-dai@snv.example": ("dha", "dai-ptth"),  # an agency with no province: every plan
    "nation@bnv.example": ("national", None),
    "admin@x.example": ("admin", None),
    "xa@hoabinh.example": ("producer", "xa-hoa-binh"),
}
# A plan of another province, sharing agency codes with the two of Phú Thọ:
# the station (dai-ptth) and a commune (xa-hoa-binh, a member of the district's group).
OTHER_PLAN = """\
plan:
  code: ha-noi-2024
  title: Kế hoạch tuyên truyền thử nghiệm năm 2024
  issuer: Ủy ban nhân dân thành phố Hà Nội
  period: 2024

agencies:
  - code: dai-ptth
    name: Đài Phát thanh và Truyền hình
    kind: broadcaster
  - code: xa-hoa-binh
    name: UBND xã Hòa Bình
    kind: commune

obligations:
  - code: phong-su
    title: Phóng sự chuyên đề
    host: dai-ptth
    channels: [portal]
    cadence:
      deadlines: [15/03/2024, 14/06/2024]
  - code: tin-loa
    title: Tin trên loa truyền thanh
    host: xa-hoa-binh
    channels: [portal]
    cadence:
      deadlines: [20/03/2024]
"""


class Site:
    def __init__(self, db: Database, cli, tmp_path):
        self.db, self.cli, self.tmp = db, cli, tmp_path
        self.now = parse_now(NOW, DEFAULT_TZ)
        self.settings = Settings.load()
        self.app = create_app(self.settings, db, Clock(DEFAULT_TZ, self.now))

    def report(self, plans, period="2024-H1", agency=None, obligation=None) -> dict:
        with self.db.transaction() as s:
            return consolidated_report(
                s,
                plans,
                report_period(period, False),
                self.now,
                Scope(None, agency, obligation),
                self.settings.at_risk_days,
                self.settings.report_agency,
                "vi",
            )

    def client(self, email: str) -> TestClient:
        return signed_in(self.app, email, PASSWORD)

    def token(self, email: str) -> dict:
        token = self.cli("tokens", "create", "--user", email).out.strip().splitlines()[-1]
        return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    """Loaded once per database for the module (a district plan is long to
    load on a busy machine); the tests that write come last."""
    import main

    tmp = tmp_path_factory.mktemp("consolidation")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'scheduler.sqlite3'}"
    else:
        server = request.getfixturevalue("postgres")
        server.reset()
        url = server.url
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OUTPUTS_DIR", str(tmp / "outputs"))
        env.setenv("DATABASE_URL", url)
        env.delenv("SCHEDULER_LANG", raising=False)
        env.chdir(ROOT)

        def cli(*args) -> Result:
            out, err = io.StringIO(), io.StringIO()
            code = main.run([str(a) for a in args], out, err)
            return Result(code, out.getvalue(), err.getvalue())

        db = Database(url)
        try:
            setup(cli, db, tmp)
            yield Site(db, cli, tmp)
        finally:
            db.close()


def setup(cli, db: Database, tmp) -> None:
    other = tmp / "ha-noi-2024.yaml"
    other.write_text(OTHER_PLAN, encoding="utf-8")
    loaded = cli(
        "load", "schedules/phu-tho-2024.yaml", "tests/data/plans/ngoc-son-2024.yaml", other, "--now", "2024-01-02"
    )
    assert loaded.code == 0, loaded.err
    for email, (role, agency) in PEOPLE.items():
        assert cli("users", "add", email, "--role", role, *(["--agency", agency] if agency else [])).code == 0
    now = parse_now(NOW, DEFAULT_TZ)
    with db.transaction() as s:
        for code, province in ((PROVINCE, "phu-tho"), (DISTRICT, "phu-tho"), (OTHER, "ha-noi")):
            s.execute(update(PlanRow).where(PlanRow.code == code).values(province=province))
        for code, name, province in (
            ("so-noi-vu", "Sở Nội vụ tỉnh Phú Thọ", "phu-tho"),
            ("dai-ptth", "Đài Phát thanh và Truyền hình tỉnh", ""),
        ):  # what the registry keeps on load (helper "registry"): merged, so a row it wrote is kept up to date
            s.merge(
                RegistryAgencyRow(
                    code=code,
                    name=name,
                    name_en="",
                    kind="department",
                    province=province,
                    created_at=now,
                    updated_at=now,
                )
            )
        for email in PEOPLE:
            set_password(s, find_user(s, email), PASSWORD, now)
    report = tmp / "Báo cáo 6 tháng.pdf"
    report.write_bytes(b"%PDF-1.4\n" + b"0" * 2000)
    delivered = cli(
        "deliver",
        REPORT,
        "--by",
        "xa@hoabinh.example",
        "--at",
        "2024-06-03 09:00",
        "--file",
        report,
        "--now",
        "2024-06-03 09:05",
    )
    assert delivered.code == 0, delivered.err


def document_of(body: bytes):
    tree = Tree()
    tree.feed(body.decode("utf-8"))
    return tree.root


def keys(table) -> set[str]:
    return {r.attrs["data-key"] for r in table.all("tr") if "data-key" in r.attrs}


def agency_row(document: dict, code: str) -> dict:
    (row,) = [a for a in document["agencies"] if a["agency"] == code]
    return row


def test_one_plan_is_todays_report(site):
    with site.db.transaction() as s:
        today = compliance_report(
            s,
            PROVINCE,
            report_period("2024-H1", False),
            site.now,
            Scope(),
            site.settings.at_risk_days,
            site.settings.report_agency,
            "vi",
        )
    assert site.report([PROVINCE]) == today
    assert "sections" not in today and today["plan"]["code"] == PROVINCE


def test_every_plan_consolidated_one_row_per_agency(site):
    doc = site.report(None)
    assert [p["code"] for p in doc["plans"]] == [OTHER, DISTRICT, PROVINCE]
    assert [p["province"] for p in doc["plans"]] == ["ha-noi", "phu-tho", "phu-tho"]
    sections = {s["plan"]["code"]: s for s in doc["sections"]}
    assert set(sections) == {OTHER, DISTRICT, PROVINCE}
    for key in ("required", "on_time", "missing", "pending"):
        assert doc["totals"][key] == sum(s["totals"][key] for s in doc["sections"])
    # dai-ptth owes in two plans: one row, the sum of both
    station = agency_row(doc, "dai-ptth")
    owed = [sum(r["required"] for r in s["rows"] if r["agency"] == "dai-ptth") for s in doc["sections"]]
    assert owed == [2, 0, 12] and station["required"] == 14 and station["agency_name"].endswith("tỉnh")
    assert [a["agency"] for a in doc["agencies"]].count("dai-ptth") == 1
    # the commune, a member of the district's group, is one member row under it with both plans' items
    (group,) = [a for a in doc["agencies"] if a["agency"] == "cac-xa-thi-tran"]
    (commune,) = [m for m in group["members"] if m["agency"] == "xa-hoa-binh"]
    in_district = sum(r["required"] for r in sections[DISTRICT]["rows"] if r["agency"] == "xa-hoa-binh")
    assert commune["required"] == in_district + 1
    assert doc["document"]["authority"] == "ỦY BAN NHÂN DÂN TỈNH PHÚ THỌ" and doc["document"]["issuer"] == "SỞ NỘI VỤ"
    # the same question, the same bytes
    assert render(doc, "json")[0] == render(site.report(None), "json")[0]


def test_queries_are_per_plan_not_per_row(site):
    """A year of three plans (over a thousand occurrences) in a bounded number of queries."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(site.db.engine, "before_cursor_execute", count)
    try:
        doc = site.report(None, period="2024")
    finally:
        event.remove(site.db.engine, "before_cursor_execute", count)
    assert sum(len(s["occurrences"]) for s in doc["sections"]) > 1000
    assert len(statements) <= 12 * len(doc["sections"]) + 8, len(statements)


def test_a_plan_with_nothing_owed_in_the_period_is_no_section(site):
    doc = site.report(None, period="2024-12")
    assert OTHER not in [s["plan"]["code"] for s in doc["sections"]]
    assert OTHER in [p["code"] for p in doc["plans"]]


def test_filters_agency_across_plans_and_a_group(site):
    station = site.report(None, agency="dai-ptth")
    assert {s["plan"]["code"] for s in station["sections"]} == {OTHER, PROVINCE}
    assert {r["agency"] for s in station["sections"] for r in s["rows"]} == {"dai-ptth"}
    assert station["totals"]["required"] == agency_row(site.report(None), "dai-ptth")["required"]
    group = site.report(None, agency="cac-xa-thi-tran")  # the district's group: its members in every plan
    assert {s["plan"]["code"] for s in group["sections"]} == {OTHER, DISTRICT}
    assert {r["agency"] for r in group["sections"][0]["rows"]} == {"xa-hoa-binh"}  # ha-noi-2024 first
    assert [a["agency"] for a in group["agencies"]] == ["cac-xa-thi-tran"]
    narrowed = site.report([PROVINCE, OTHER], agency="dai-ptth")
    assert narrowed["totals"] == station["totals"]


def test_reports_back_who_reported_on_time_with_links(site):
    doc = site.report(None)
    back = {r["href"]: r for r in doc["reports_back"]}
    sent, unsent = back[f"/o/{REPORT}"], back[f"/o/{UNSENT}"]
    assert sent["status"] == "on_time" and sent["plan"] == DISTRICT and sent["agency"] == "xa-hoa-binh"
    assert [f["name"] for f in sent["files"]] == ["Báo cáo 6 tháng.pdf"]
    assert sent["files"][0]["href"].startswith("/api/ledger/")
    assert unsent["status"] == "missing" and unsent["files"] == []
    assert {r["obligation"] for r in doc["reports_back"]} == {"bao-cao-xa", "bao-cao-huyen"}
    page = document_of(render(doc, "html", "https://lich.example")[0])
    rows = page.one("section", id="reports-back").one("table").all("tr", data_agency="xa-hoa-binh")
    links = [a.attrs["href"] for r in rows for a in r.all("a")]
    assert f"https://lich.example/o/{REPORT}" in links
    assert any(h.startswith("https://lich.example/api/ledger/") for h in links)


def test_the_formats_render_a_consolidated_document(site):
    doc = site.report(None)
    body = render(doc, "csv")[0].decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "Kế hoạch" and {r[0] for r in rows[1:-1]} == {OTHER, DISTRICT, PROVINCE}
    assert rows[-1][0] == "Tổng cộng" and int(rows[-1][3]) == doc["totals"]["required"]
    book = openpyxl.load_workbook(io.BytesIO(render(doc, "xlsx")[0]))
    assert len(book.sheetnames) == 3
    plans = {c.value for c in book.worksheets[0]["A"][5:]}
    assert {OTHER, DISTRICT, PROVINCE} <= plans
    assert render(doc, "xlsx")[0] == render(doc, "xlsx")[0]
    page = document_of(render(doc, "html")[0])
    assert [s.attrs["data-plan"] for s in page.all("section", cls="plan")] == [OTHER, DISTRICT, PROVINCE]
    assert json.loads(render(doc, "json")[0])["reports_back"] == doc["reports_back"]


def test_visible_plans(site):
    with site.db.transaction() as s:
        assert visible_plans(s, ("dha",), "so-noi-vu") == [DISTRICT, PROVINCE]
        assert visible_plans(s, ("dha",), None) is None
        assert visible_plans(s, ("dha",), "dai-ptth") is None  # its agency has no province
        assert visible_plans(s, ("national",), None) is None
        assert visible_plans(s, ("dha", "admin"), "so-noi-vu") is None


def test_a_province_dha_sees_its_plans_consolidated(site):
    client = site.client("dha@snv.example")
    page = html(client.get("/dashboard?period=2024-H1"))
    options = [o.attrs["value"] for o in page.one("select", id="plan").all("option")]
    assert options == ["", DISTRICT, PROVINCE]  # "Tất cả kế hoạch" first; not the other province's
    assert keys(page.one("table", id="plans")) == {DISTRICT, PROVINCE}
    assert page.one("section", id="reports-back").one("tr", data_occurrence=REPORT).attrs["data-status"] == "on_time"
    for path in (f"/dashboard?plan={OTHER}", "/dashboard?plan=khong-co", f"/dashboard/report.csv?plan={OTHER}"):
        answer = client.get(path)
        assert answer.status_code == 404, path
    assert client.get(f"/dashboard/report.json?plan={OTHER}").status_code == 404
    csv_body = client.get("/dashboard/report.csv?period=2024-H1").content.decode("utf-8-sig")
    assert {r[0] for r in list(csv.reader(io.StringIO(csv_body)))[1:-1]} == {DISTRICT, PROVINCE}
    one = client.get(f"/dashboard?plan={PROVINCE}&period=2024-H1")
    assert one.status_code == 200 and html(one).all("table", id="plans") == []


def test_the_api_hides_a_plan_not_visible(site):
    client = TestClient(site.app)
    auth = site.token("dha@snv.example")
    hidden = client.get(f"/api/compliance?period=2024-H1&plan={OTHER}", headers=auth)
    unknown = client.get("/api/compliance?period=2024-H1&plan=khong-co", headers=auth)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["detail"] == unknown.json()["detail"].replace("khong-co", OTHER)  # the same answer
    assert OTHER not in unknown.text and PROVINCE not in unknown.text
    mine = client.get("/api/compliance?period=2024-H1", headers=auth).json()
    assert [p["code"] for p in mine["plans"]] == [DISTRICT, PROVINCE]
    everyone = client.get("/api/compliance?period=2024-H1", headers=site.token("dha-all@snv.example")).json()
    assert len(everyone["plans"]) == 3
    nation = site.token("nation@bnv.example")
    one = client.get("/api/compliance?period=2024-H1&province=ha-noi", headers=nation).json()
    assert one["plan"]["code"] == OTHER  # a province of one plan: that plan's report
    assert client.get("/api/compliance?period=2024-H1&province=ca-mau", headers=nation).status_code == 404


def test_national_users_filter_by_province(site):
    client = site.client("nation@bnv.example")
    page = html(client.get("/dashboard?period=2024-H1"))
    provinces = [o.attrs["value"] for o in page.one("select", id="province").all("option")]
    assert provinces == ["", "ha-noi", "phu-tho"]
    assert keys(page.one("table", id="plans")) == {OTHER, DISTRICT, PROVINCE}
    phu_tho = html(client.get("/dashboard?period=2024-H1&province=phu-tho"))
    assert keys(phu_tho.one("table", id="plans")) == {DISTRICT, PROVINCE}
    station = client.get("/dashboard/agencies/dai-ptth?period=2024-H1")
    assert station.status_code == 200
    hrefs = [a.attrs["href"] for a in html(station).one("table", id="obligations").all("a")]
    assert any(f"plan={OTHER}" in h for h in hrefs) and any(f"plan={PROVINCE}" in h for h in hrefs)
    assert html(site.client("dha@snv.example").get("/dashboard")).all("select", id="province") == []


def test_the_command_line_consolidates(site):
    every = site.cli("report", "--period", "2024-H1", "--now", NOW)
    assert every.code == 0, every.err
    assert [p["code"] for p in json.loads(every.out)["plans"]] == [OTHER, DISTRICT, PROVINCE]
    one = json.loads(site.cli("report", "--period", "2024-H1", "--plan", OTHER, "--now", NOW).out)
    assert one["plan"]["code"] == OTHER
    station = json.loads(site.cli("report", "--period", "2024-H1", "--agency", "dai-ptth", "--now", NOW).out)
    assert {s["plan"]["code"] for s in station["sections"]} == {OTHER, PROVINCE}
    out = site.tmp / "tong-hop.xlsx"
    assert site.cli("report", "--period", "2024-H1", "--format", "xlsx", "--out", out, "--now", NOW).code == 0
    assert openpyxl.load_workbook(out).sheetnames[0]


def test_a_report_owed_is_reminded_and_goes_missing(site):
    assert site.cli("remind", "--now", "2024-06-04 08:00").code == 0
    with site.db.transaction() as s:
        about = set(s.scalars(select(OutboxRow.about)))
        assert UNSENT in about  # reminded like any occurrence
        assert s.get(OccurrenceRow, UNSENT) is not None
    before = {r["href"]: r["status"] for r in site.report(None, period="2024-06")["reports_back"]}
    assert site.cli("remind", "--now", "2024-06-06 08:00").code == 0
    with site.db.transaction() as s:
        kinds = {k for k, a in s.execute(select(OutboxRow.kind, OutboxRow.about)) if a == UNSENT}
    assert "overdue" in kinds
    assert before[f"/o/{UNSENT}"] == "missing"  # as of 20/06, unrecorded after its window
