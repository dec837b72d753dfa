"""The DHA's pages through the real app on SQLite and PostgreSQL: the
dashboard's totals and heatmap against the report, drill-down to an agency,
an obligation and an occurrence with its hashes and their verification,
tampering found, excusing (and every way it is refused), and each report
format downloaded with the session. HTML is read with the standard library."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from html_tree import Node, html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.compliance.heatmap import colour
from scheduler.compliance.status import report_period
from scheduler.i18n import gettext_for
from scheduler.settings import Settings
from scheduler.store.compliance import Scope
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.store.reporting import compliance_report
from scheduler.store.tables import LedgerRow, OccurrenceRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password

EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.1"
SECOND = "phu-tho-2024.cchc-radio-tv.2024-03.2"
NOW = "2024-03-20 10:00"
PASSWORD = "mat-khau-du-dai"
DHA, PRODUCER, EDITOR, ADMIN = "dha@snv.example", "prod@dai.example", "ed@dai.example", "admin@x.example"
RECORDING = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 3000  # an MP4 header: detected as video/mp4
vi = gettext_for("vi")  # new messages read as their English ids until the catalog has them


class Site:
    """The app as if it were 20/03/2024 10:00; the station's March episode no. 1
    delivered on time with a file."""

    def __init__(self, db: Database, cli, outputs):
        self.db, self.cli, self.outputs = db, cli, outputs
        self.now = parse_now(NOW, DEFAULT_TZ)
        self.settings = Settings.load()
        self.app = create_app(self.settings, db, Clock(DEFAULT_TZ, self.now))

    def client(self, email: str | None = None) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        if email:
            form = html(client.get("/login")).one("form", id="login")
            r = client.post(
                "/login",
                data={
                    "csrf": form.one("input", name="csrf").attrs["value"],
                    "email": email,
                    "password": PASSWORD,
                    "next": "/",
                },
            )
            assert r.status_code == 303, r.text
        return client

    def entries(self, kind: str | None = None) -> int:
        query = select(func.count()).select_from(LedgerRow)
        with self.db.transaction() as s:
            return s.scalar(query.where(LedgerRow.kind == kind) if kind else query)

    def report(self, period: str, cutoff: bool = False, agency: str | None = None) -> dict:
        with self.db.transaction() as s:
            return compliance_report(
                s,
                None,
                report_period(period, cutoff),
                self.now,
                Scope(None, agency, None),
                self.settings.at_risk_days,
                self.settings.report_agency,
                "vi",
            )


@pytest.fixture
def site(cli, db_url, tmp_path, monkeypatch):
    assert cli("load", "--now", "2024-01-02").code == 0
    people = {
        PRODUCER: ("producer", "dai-ptth"),
        DHA: ("dha", "so-noi-vu"),
        EDITOR: ("editor", "dai-ptth"),
        ADMIN: ("admin", None),
    }
    for email, (role, agency) in people.items():
        assert cli("users", "add", email, "--role", role, *(["--agency", agency] if agency else [])).code == 0
    recording = tmp_path / "Phóng sự tháng 3.mp4"
    recording.write_bytes(RECORDING)
    result = cli(
        "deliver",
        EPISODE,
        "--by",
        PRODUCER,
        "--at",
        "2024-03-14 19:30",
        "--duration",
        "00:12:00",
        "--file",
        str(recording),
        "--now",
        NOW,
    )
    assert result.code == 0, result.err
    db = Database(db_url)
    with db.transaction() as s:
        for email in people:
            set_password(s, find_user(s, email), PASSWORD, parse_now(NOW, DEFAULT_TZ))
    yield Site(db, cli, tmp_path / "outputs")
    db.close()


def csrf_of(page: Node) -> str:
    return page.one("form", action="/logout").one("input", name="csrf").attrs["value"]


def cells(page: Node, agency: str) -> dict[str, Node]:
    row = page.one("table", id="heatmap").one("tr", data_agency=agency)
    return {td.attrs["data-month"]: td for td in row.all("td", cls="cell")}


def test_only_the_dha_and_administrators_see_the_dashboard(site):
    assert site.client().get("/dashboard").headers["location"] == "/login?next=/dashboard"
    for email in (PRODUCER, EDITOR):
        client = site.client(email)
        for path in ("/dashboard", "/dashboard/agencies/dai-ptth", "/dashboard/report.csv?period=2024"):
            r = client.get(path)
            assert r.status_code == 403 and html(r).one("p", id="forbidden"), path
    dha = site.client(DHA)
    assert dha.get("/").headers["location"] == "/dashboard"
    page = html(dha.get("/dashboard"))
    assert page.one("main").attrs["class"] == "wide"
    assert page.one("a", href="/dashboard").attrs["aria-current"] == "page"
    assert site.client(ADMIN).get("/dashboard").status_code == 200


def test_totals_and_heatmap_say_what_the_report_says(site):
    client = site.client(DHA)
    page = html(client.get("/dashboard"))  # the current year by default
    assert page.one("select", id="period").one("option", value="2024").attrs.get("selected") is not None
    assert page.one("label", for_="period") and page.one("label", for_="cutoff")
    report = site.report("2024")
    totals = {div.attrs["data-count"]: div.one("dd").text() for div in page.one("dl", id="totals").all("div")}
    for key in ("required", "on_time", "late", "missing", "non_conforming", "excused", "pending", "at_risk"):
        assert totals[key] == str(report["totals"][key]), key
    assert report["totals"]["on_time"] == 1 and report["totals"]["missing"] > 0
    assert totals["rate"] == f"{report['totals']['rate'] * 100:.1f}".rstrip("0").rstrip(".").replace(".", ",") + "%"
    march, february, june = (cells(page, "dai-ptth")[m] for m in ("2024-03", "2024-02", "2024-06"))
    assert march.text() == "1/1 100%" and f"background-color: {colour(1.0)}" in march.attrs["style"]
    assert february.text() == "0/2 0%" and colour(0.0) in february.attrs["style"]  # text, not colour alone
    assert june.text() == vi("{n} open").format(n=2) and "background-color: #c8c8c8" in june.attrs["style"]
    heatmap = page.one("table", id="heatmap")
    assert heatmap.one("caption") and [th.attrs["scope"] for th in heatmap.all("th")].count("row") >= 3
    assert cells(page, "so-noi-vu")["2024-03"].text() == "—"  # nothing owed that month
    assert heatmap.parent.attrs["role"] == "region" and heatmap.parent.attrs["tabindex"] == "0"
    row = page.one("table", id="agencies").one("tr", data_key="dai-ptth")
    ours = next(a for a in report["agencies"] if a["agency"] == "dai-ptth")
    assert row.one("td", data_count="missing").text() == str(ours["missing"])

    quarter = html(client.get("/dashboard?period=2024-Q1&cutoff=1"))  # 15/12/2023 – 14/03/2024
    report = site.report("2024-Q1", cutoff=True)
    assert quarter.one("input", id="cutoff").attrs.get("checked") is not None
    assert "15/12/2023" in quarter.one("p", id="period-line").text()
    assert quarter.one("dl", id="totals").one("div", data_count="required").one("dd").text() == str(
        report["totals"]["required"]
    )
    assert "2024-03" in cells(quarter, "dai-ptth") and cells(quarter, "dai-ptth")["2024-03"].text() == "—"
    assert list(cells(quarter, "dai-ptth"))[0] == "2023-12"


def test_a_period_that_is_not_one_is_said_and_kept(site):
    r = site.client(DHA).get("/dashboard?period=2024-Q5")
    assert r.status_code == 422
    page = html(r)
    error = page.one("p", id="period-error")
    assert error.attrs["role"] == "alert" and "2024-Q5" in error.text()
    assert page.one("select", id="period").one("option", value="2024-Q5").attrs.get("selected") is not None
    assert not page.all("dl", id="totals")


def test_drill_down_from_the_dashboard_to_the_file(site):
    client = site.client(DHA)
    page = html(client.get("/dashboard?period=2024-03"))
    agency = page.one("table", id="heatmap").one("tr", data_agency="dai-ptth").one("th").one("a").attrs["href"]
    assert agency == "/dashboard/agencies/dai-ptth?plan=phu-tho-2024&period=2024-03"
    r = client.get(agency)
    assert r.status_code == 200
    page = html(r)
    assert page.one("h1").text() == "Đài Phát thanh và Truyền hình tỉnh"
    row = page.one("table", id="obligations").one("tr", data_key="cchc-radio-tv")
    assert row.one("td", data_count="on_time").text() == "1" and row.one("td", data_count="pending").text() == "1"
    r = client.get(row.one("th").one("a").attrs["href"])
    assert r.status_code == 200
    page = html(r)
    assert page.one("nav", cls="crumbs").one("a", href=agency)
    first = page.one("table", id="occurrences").one("tr", data_id=EPISODE)
    assert "01/03/2024 – 31/03/2024" in first.text() and vi("On time") in first.text()
    assert [td.text() for td in first.all("td", cls="n")] == ["1", "1"]  # one entry, one file
    r = client.get(first.one("a").attrs["href"])
    assert r.status_code == 200
    page = html(r)
    with site.db.transaction() as s:
        entry = s.scalar(select(LedgerRow).where(LedgerRow.occurrence_id == EPISODE))
        digest = entry.hash
    audit = page.one("div", id=f"audit-{entry.seq}")
    assert digest in [c.text() for c in audit.all("code")]
    assert vi("Verified") in audit.one("p", cls="verification").text() and "verified" in audit.one("p").classes
    (file,) = audit.all("li", cls="file")
    sha256 = hashlib.sha256(RECORDING).hexdigest()
    assert file.attrs["data-sha256"] == sha256 and sha256 in file.text() and str(len(RECORDING)) in file.text()
    download = client.get(file.one("a").attrs["href"])
    assert download.status_code == 200 and hashlib.sha256(download.content).hexdigest() == sha256
    producer = html(site.client(PRODUCER).get(f"/o/{EPISODE}"))  # hashes are for the DHA and admins
    assert not producer.all("div", cls="audit") and not producer.all("form", id="excuse-form")
    assert html(site.client(ADMIN).get(f"/o/{EPISODE}")).one("div", id=f"audit-{entry.seq}")
    assert client.get("/dashboard/agencies/khong-co").status_code == 404
    assert client.get("/dashboard/agencies/bao-phu-tho/obligations/cchc-radio-tv").status_code == 404


def test_a_tampered_or_missing_file_shows_on_the_page_and_in_the_ledger_check(site):
    client = site.client(DHA)
    sha256 = hashlib.sha256(RECORDING).hexdigest()
    stored = site.outputs / "evidence" / sha256[:2] / sha256[2:4] / sha256
    assert stored.read_bytes() == RECORDING
    token = csrf_of(html(client.get("/dashboard")))
    ok = html(client.post("/dashboard/ledger", data={"csrf": token}))
    assert "notice" in ok.one("p", id="ledger-result").classes
    assert "verified" in html(client.get(f"/o/{EPISODE}")).one("li", cls="file").classes  # seen before the change
    stored.write_bytes(RECORDING[:-1] + b"\x01")  # same size, one byte changed
    page = html(client.get(f"/o/{EPISODE}"))
    audit = page.one("div", cls="audit")
    assert "broken" in audit.one("p", cls="verification").classes
    assert vi("The file on disk no longer matches its hash.") in audit.one("li", cls="file").text()
    checked = html(client.post("/dashboard/ledger", data={"csrf": token}))
    assert "error" in checked.one("p", id="ledger-result").classes and sha256 in checked.text()
    assert client.post("/dashboard/ledger", data={}).status_code == 403
    stored.unlink()
    page = html(client.get(f"/o/{EPISODE}"))
    assert vi("The file is missing from the evidence store.") in page.one("li", cls="file").text()


def test_the_dha_excuses_an_occurrence_with_a_reason(site):
    client = site.client(DHA)
    page = html(client.get(f"/o/{SECOND}"))
    form = page.one("form", id="excuse-form")
    assert form.attrs["action"] == f"/o/{SECOND}/excuses" and page.one("label", for_="excuse-reason")
    textarea = form.one("textarea", id="excuse-reason")
    assert textarea.attrs["required"] == "" and textarea.attrs["aria-describedby"] == "excuse-reason-hint"
    token = form.one("input", name="csrf").attrs["value"]

    for data in ({"reason": "Không có"}, {"reason": "Không có", "csrf": "sai"}):
        assert client.post(f"/o/{SECOND}/excuses", data=data).status_code == 403
    empty = client.post(f"/o/{SECOND}/excuses", data={"csrf": token, "reason": "   "})
    assert empty.status_code == 422
    again = html(empty)
    assert again.one("p", id="excuse-error").attrs["role"] == "alert"
    assert again.one("textarea", id="excuse-reason").attrs["aria-invalid"] == "true"
    assert site.entries("excuse") == 0
    assert site.client(PRODUCER).post(f"/o/{SECOND}/excuses", data={"csrf": token, "reason": "x"}).status_code == 403

    reason = "Sóng bị chiếm dụng cho tin khẩn cấp về bão số 3"
    r = client.post(f"/o/{SECOND}/excuses", data={"csrf": token, "reason": reason})
    assert r.status_code == 303 and urlsplit(r.headers["location"]).path == f"/o/{SECOND}"
    seq = parse_qs(urlsplit(r.headers["location"]).query)["recorded"][0]
    with site.db.transaction() as s:
        entry = s.get(LedgerRow, int(seq))
        assert entry.kind == "excuse" and entry.occurrence_id == SECOND and reason in entry.content
    page = html(client.get(r.headers["location"]))
    assert vi("Excused") in page.one("p", id="recorded").text()
    assert "state-excused" in page.one("dl", id="details").one("span", cls="state").classes
    assert reason in page.one("li", data_seq=seq).text() and not page.all("form", id="excuse-form")
    march = html(client.get("/dashboard/agencies/dai-ptth/obligations/cchc-radio-tv?period=2024-03"))
    assert vi("Excused") in march.one("tr", data_id=SECOND).text()


def test_the_dha_may_not_excuse_what_its_own_agency_hosts(site):
    with site.db.transaction() as s:
        own = s.scalar(
            select(OccurrenceRow.id)
            .where(OccurrenceRow.agency_code == "so-noi-vu")
            .order_by(OccurrenceRow.due)
            .limit(1)
        )
    client = site.client(DHA)
    page = html(client.get(f"/o/{own}"))
    assert not page.all("form", id="excuse-form") and "so-noi-vu" in page.one("p", id="excuse-refused").text()
    r = client.post(f"/o/{own}/excuses", data={"csrf": csrf_of(page), "reason": "Tự miễn"})
    assert r.status_code == 403 and "so-noi-vu" in html(r).one("p", id="forbidden").text()
    assert site.entries("excuse") == 0


def test_every_report_format_downloads_with_the_session(site):
    client = site.client(DHA)
    page = html(client.get("/dashboard?period=2024-Q1"))
    links = {a.attrs["data-format"]: a.attrs["href"] for a in page.one("section", id="downloads").all("a")}
    assert set(links) == {"json", "csv", "xlsx", "html"}
    answers = {fmt: client.get(href) for fmt, href in links.items()}
    for fmt, r in answers.items():
        assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store", fmt
    report = site.report("2024-Q1")
    assert answers["json"].headers["content-type"] == "application/json"
    assert json.loads(answers["json"].content)["totals"] == report["totals"]
    assert answers["csv"].headers["content-type"].startswith("text/csv")
    assert answers["csv"].headers["content-disposition"] == 'attachment; filename="compliance-phu-tho-2024-2024-Q1.csv"'
    assert answers["csv"].content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(answers["csv"].content.decode("utf-8-sig"))))
    assert table[-1][2] == str(report["totals"]["required"])
    assert answers["xlsx"].headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in answers["xlsx"].headers["content-disposition"]
    assert len(openpyxl.load_workbook(io.BytesIO(answers["xlsx"].content)).sheetnames) >= 2
    assert answers["html"].headers["content-type"].startswith("text/html")
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in answers["html"].text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="heatmap"' in answers["html"].text
    scoped = html(client.get("/dashboard/agencies/dai-ptth?period=2024-Q1")).one("a", data_format="json")
    assert {r["agency"] for r in client.get(scoped.attrs["href"]).json()["rows"]} == {"dai-ptth"}
    cutoff = client.get("/dashboard/report.csv?period=2024-Q1&cutoff=1")
    assert cutoff.headers["content-disposition"].endswith('-2024-Q1-cutoff.csv"')
    assert client.get("/dashboard/report.pdf?period=2024").status_code == 404
    assert client.get("/dashboard/report.csv?period=2024-Q9").status_code == 422


def test_an_edited_entry_shows_that_its_content_no_longer_matches_its_hash(site):
    """As an attacker would: on PostgreSQL the append-only trigger goes first."""
    with site.db.engine.begin() as c:
        postgres = site.db.engine.dialect.name == "postgresql"
        if postgres:
            c.execute(text("ALTER TABLE ledger DISABLE TRIGGER USER"))
        changed = c.execute(
            update(LedgerRow)
            .where(LedgerRow.occurrence_id == EPISODE)
            .values(content=func.replace(LedgerRow.content, '"duration":720', '"duration":900'))
        )
        assert changed.rowcount == 1
        if postgres:
            c.execute(text("ALTER TABLE ledger ENABLE TRIGGER USER"))
    page = html(site.client(DHA).get(f"/o/{EPISODE}"))
    audit = page.one("div", cls="audit")
    assert "broken" in audit.one("p", cls="verification").classes
    assert vi("content does not match its hash") in audit.one("ul", cls="problems").text()
