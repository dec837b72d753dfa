"""Portal attestations (issue 17, part 3): a real page on 127.0.0.1 checked
once a day, good then broken (404, link removed, text removed, nothing
listening), its history kept, the host warned the same day (once a day
however often it is retried), and a quarter of daily checks proposed as the
quarter's attestation with the history CSV as its evidence, which recorded
meets the occurrence; on SQLite and PostgreSQL.

The pages are fetched with a small urllib client of this file (helper
"fetch" builds the safe client in parallel): the checks take ``Fetched``
values whatever fetched them."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import unicodedata
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from scheduler.evidence.deliveries import Evidence, FileRef
from scheduler.harvest.portal import (
    BAD_STATUS,
    HEADERS,
    NO_ANSWER,
    NO_LINK,
    NO_LINK_NOR_TEXT,
    NO_TEXT,
    PASSED,
    Checked,
    attestation,
    evaluate,
    history_csv,
)
from scheduler.harvest.proposals import ATTESTATION, Fetched, Owed
from scheduler.people.permissions import Actor
from scheduler.plan.harvest_settings import Check
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.files import EvidenceStore
from scheduler.store.harvest_checks import process_check
from scheduler.store.recording import record_delivery
from scheduler.store.tables import HarvestFetchRow, HarvestSourceRow, LedgerRow, OccurrenceRow, OutboxRow, ProposalRow

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PORTAL = "https://dichvucong.gov.vn"
TEXT = "Cải cách hành chính"
GOOD = """<!doctype html><html><head><title>Chuyên trang CCHC</title>
<script>var x = "<a href='https://dichvucong.gov.vn/x'>not a link</a>";</script></head>
<body><h1>CHUYÊN TRANG CẢI CÁCH HÀNH CHÍNH</h1>
<p>Tin tức <a href="/tin-tuc/1">Tin 1</a>
<a href="http://dichvucong.gov.vn/p/home/dvc-trang-chu.html">Dịch vụ công</a></p>
</body></html>"""
PAGES = {
    "good": (200, GOOD),
    "gone": (404, "<html><body>Không tìm thấy</body></html>"),
    "no-link": (200, GOOD.replace("http://dichvucong.gov.vn/p/home/dvc-trang-chu.html", "/dich-vu-cong")),
    "no-text": (200, GOOD.replace("CẢI CÁCH HÀNH CHÍNH", "TIN TỨC")),
}


class Site:
    """One page on 127.0.0.1 whose state a test switches (``mode``)."""

    def __init__(self):
        self.mode = "good"
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status, body = PAGES[site.mode]
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cchc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site():
    s = Site()
    yield s
    s.close()


def fetch(url: str, at: datetime) -> tuple[Fetched | None, str]:
    """A plain urllib fetch as (answer, error): an HTTP error status is an answer, a refused connection is not."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            status, final, ctype, body = r.status, r.geturl(), r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        status, final, ctype, body = e.code, e.geturl(), e.headers.get("Content-Type", ""), e.read()
    except OSError as e:
        return None, str(getattr(e, "reason", e))
    return Fetched(url, final, status, ctype, body, at), ""


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/cchc"


CHECK = Check("", PORTAL, TEXT)
AT = datetime(2024, 2, 10, 8, 0, tzinfo=TZ)


# -- one check (pure) ---------------------------------------------------------------------------


def test_a_good_page_passes_and_each_breakage_says_what_failed(site):
    site.mode = "good"
    result = evaluate(*fetch(site.url, AT), replace(CHECK, url=site.url))
    assert (result.ok, result.status, result.link_found, result.text_found) == (True, 200, True, True)
    assert result.reason == PASSED and result.final_url == site.url
    assert result.text("vi") == "trang hoạt động đúng yêu cầu"
    site.mode = "gone"
    result = evaluate(*fetch(site.url, AT), CHECK)
    assert (result.ok, result.status, result.reason, result.params) == (False, 404, BAD_STATUS, {"status": 404})
    assert result.text("vi") == "trang trả về mã HTTP 404" and result.text("en") == "the page answered HTTP 404"
    site.mode = "no-link"
    result = evaluate(*fetch(site.url, AT), CHECK)
    assert (result.ok, result.link_found, result.text_found, result.reason) == (False, False, True, NO_LINK)
    assert result.text("vi") == "trang không có liên kết đến https://dichvucong.gov.vn"
    site.mode = "no-text"
    result = evaluate(*fetch(site.url, AT), CHECK)
    assert (result.ok, result.link_found, result.text_found, result.reason) == (False, True, False, NO_TEXT)
    fetched, error = fetch(closed_port_url(), AT)
    assert fetched is None and error
    result = evaluate(fetched, error, CHECK)
    assert (result.ok, result.status, result.reason) == (False, None, NO_ANSWER)
    assert result.text("vi").startswith("không có phản hồi: ") and error in result.text("vi")


def page(body: str | bytes, url: str = "https://sotttt.phutho.example/cchc/", ctype: str = "text/html") -> Fetched:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return Fetched(url, url, 200, ctype, data, AT)


@pytest.mark.parametrize(
    ("href", "found"),
    [
        ("https://dichvucong.gov.vn", True),
        ("https://dichvucong.gov.vn/", True),  # a trailing slash
        ("http://DichVuCong.gov.vn/p/home", True),  # http for https, the host's case
        ("https://dichvucong.gov.vn?lang=vi", True),
        ("//dichvucong.gov.vn/p", True),  # scheme-relative, resolved against the page
        ("https://dichvucong.gov.vn.example/p", False),  # another host that starts alike
        ("https://dichvucong.gov.vnx", False),
        ("/dichvucong.gov.vn", False),  # a path of the page's own site
        ("mailto:dichvucong.gov.vn", False),
        ("  https://dichvucong.gov.vn/x  ", True),  # spaces around the attribute
    ],
)
def test_the_expected_link_is_compared_as_people_mean_it(href, found):
    result = evaluate(page(f'<p><a href="{href}">Dịch vụ công</a></p>'), "", Check("", PORTAL))
    assert result.link_found is found and result.ok is found and result.text_found is None


def test_relative_links_resolve_against_the_final_url_and_base():
    expected = Check("", "https://sotttt.phutho.example/dich-vu-cong")
    assert evaluate(page('<a href="../dich-vu-cong/">x</a>'), "", expected).ok
    based = '<base href="https://sotttt.phutho.example/"><a href="dich-vu-cong">x</a>'
    assert evaluate(page(based, url="https://sotttt.phutho.example/a/b/c"), "", expected).ok


def test_the_text_is_folded_as_titles_are_and_scripts_do_not_count():
    body = unicodedata.normalize("NFD", "Chuyên trang CẢI CÁCH HÀNH CHÍNH")
    assert evaluate(page(body), "", Check("", "", "cải cách hành chính")).text_found
    assert not evaluate(page("<script>cải cách hành chính</script>"), "", Check("", "", TEXT)).ok
    latin1 = "<p>Caf\u00e9 cải</p>".encode("utf-8")
    assert evaluate(page(latin1, ctype="text/html; charset=unknown-x"), "", Check("", "", "cải")).ok
    both = evaluate(page("<p>nothing</p>"), "", Check("", PORTAL, TEXT))
    assert both.reason == NO_LINK_NOR_TEXT and not both.ok


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<",
        b"<a href",
        b"<a href='https://dichvucong.gov.vn",
        b"<!--",
        b"<![CDATA[",
        b"<!DOCTYPE",
        b"<![if !IE]><a href=https://dichvucong.gov.vn>x</a>",
        b"</a></a></b><a href=\x00\xff>",
        b"\xff\xfe\x00<\x00a\x00",
        b"<a href='https://dichvucong.gov.vn'>" * 30000,  # more links than are looked at
        bytes(range(256)) * 64,
        b"<script>" + b"<a href=x>" * 100,
        b"<base href='::::'><a href='https://[::1'>x</a>",
    ],
)
def test_broken_html_never_raises(body):
    result = evaluate(page(body), "", CHECK)
    assert result.status == 200 and isinstance(result.ok, bool)


# -- the quarter's attestation (pure) -----------------------------------------------------------


def quarter(**kw) -> Owed:
    start, end = datetime(2024, 1, 1, tzinfo=TZ), datetime(2024, 4, 1, tzinfo=TZ)
    values = dict(
        id="phu-tho-2024.cong-tttt-chuyen-trang.2024-Q1.1",
        plan="phu-tho-2024",
        obligation="cong-tttt-chuyen-trang",
        outlet="so-tttt",
        period="2024-Q1",
        number=1,
        window_start=start,
        window_end=end,
        due=end,
        slot=None,
        channels=("portal",),
        continuous=True,
    )
    return Owed(**{**values, **kw})


def daily(first: date, last: date, failed=(), url="https://a.example/cchc") -> list[Checked]:
    found, day = [], first
    while day <= last:
        ok = day not in failed
        found.append(Checked(datetime.combine(day, time(8), TZ), ok, "" if ok else "HTTP 404", url, 200 if ok else 404))
        day += timedelta(days=1)
    return found


def test_the_attestation_waits_for_the_last_day_and_counts_days():
    owed = quarter()
    history = daily(date(2024, 1, 1), date(2024, 3, 30), failed={date(2024, 2, 10), date(2024, 3, 5)})
    assert attestation(owed, history, datetime(2024, 3, 30, 9, tzinfo=TZ)) is None  # the window goes on
    history += daily(date(2024, 3, 31), date(2024, 3, 31))
    p = attestation(owed, history, datetime(2024, 3, 31, 8, 1, tzinfo=TZ))
    assert p is not None and p.kind == ATTESTATION and p.occurrence == owed.id
    assert p.detail == "89/91 ngày đạt; lỗi: 10/02, 05/03"
    assert p.evidence["moment"] == "2024-03-31T08:00:00+07:00" and p.evidence["moment_kind"] == "published"
    assert p.source["checks"] == 91 and p.source["failed"] == 2 and p.source["urls"] == ["https://a.example/cchc"]
    assert (p.source["from"], p.source["to"]) == ("2024-01-01", "2024-03-31")
    data = history_csv(history, TZ)
    assert p.source["history_sha256"] == hashlib.sha256(data).hexdigest() == p.evidence["files"][0]["sha256"]
    assert p.evidence["files"][0]["size"] == len(data) and p.evidence["files"][0]["type"] == "text/csv"
    text = data.decode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf") and text.splitlines()[0] == ",".join(HEADERS)
    assert "10/02/2024,08:00:00,https://a.example/cchc,Lỗi,404,HTTP 404" in text.splitlines()
    assert p.key == attestation(owed, history, datetime(2024, 4, 2, tzinfo=TZ)).key  # the same quarter, the same key


def test_a_failed_last_day_waits_for_its_retry_and_every_url_must_pass():
    owed = quarter()
    history = daily(date(2024, 1, 1), date(2024, 3, 31), failed={date(2024, 3, 31)})
    assert attestation(owed, history, datetime(2024, 3, 31, 8, 1, tzinfo=TZ)) is None  # retried within the hour
    history.append(Checked(datetime(2024, 3, 31, 9, tzinfo=TZ), True, "", "https://a.example/cchc", 200))
    p = attestation(owed, history, datetime(2024, 3, 31, 9, 1, tzinfo=TZ))
    assert p is not None and p.detail == "91/91 ngày đạt"  # put right the same day
    other = daily(date(2024, 1, 1), date(2024, 3, 31), failed={date(2024, 1, 2)}, url="https://b.example/")
    p = attestation(owed, history + other, datetime(2024, 3, 31, 9, 1, tzinfo=TZ))
    assert p.detail == "90/91 ngày đạt; lỗi: 02/01" and len(p.source["urls"]) == 2
    expected = ("https://a.example/cchc", "https://b.example/")  # b's last day not checked yet: not over
    early = [c for c in other if c.at.date() < date(2024, 3, 31)]
    assert attestation(owed, history + early, datetime(2024, 3, 31, 9, 1, tzinfo=TZ), expected) is None
    assert attestation(owed, history + other, datetime(2024, 3, 31, 9, 1, tzinfo=TZ), expected) is not None


def test_no_passing_day_leaves_the_quarter_to_a_person_and_gaps_are_said():
    owed = quarter()
    none = [c._replace(ok=False) for c in daily(date(2024, 1, 1), date(2024, 3, 31))]
    assert attestation(owed, none, datetime(2024, 4, 1, 8, tzinfo=TZ)) is None
    late = daily(date(2024, 2, 1), date(2024, 3, 20))  # checked from February, the daemon down at the end
    p = attestation(owed, late, datetime(2024, 4, 1, 8, tzinfo=TZ))  # the window has ended: attested as it is
    assert p.detail == "49/49 ngày đạt; chưa kiểm tra: 42 ngày"
    assert p.evidence["moment"] == "2024-03-20T08:00:00+07:00"


# -- the store: history, warnings, attestation, recording (SQLite and PostgreSQL) ----------------

OCCURRENCE = "phu-tho-2024.cong-tttt-chuyen-trang.2024-Q1.1"
HOST_CONTACT = "congthongtin@sotttt.phutho.example"


@pytest.fixture
def world(cli, db_url, tmp_path, site):
    assert cli("load", "--now", "2024-01-02").code == 0
    settings = Settings.load(env={"OUTPUTS_DIR": str(tmp_path / "outputs"), "HARVEST_ALLOW": "127.0.0.0/8"})
    db = Database(db_url)
    with db.transaction() as s:
        source = HarvestSourceRow(
            kind="check",
            url=site.url,
            host=site.url.split("/")[2],
            outlet="so-tttt",
            plan_code="phu-tho-2024",
            obligation_code="cong-tttt-chuyen-trang",
            config={"expect_link": PORTAL, "expect_text": TEXT},
            active=True,
            next_at=datetime(2024, 1, 1, tzinfo=UTC),
            failures=0,
        )
        s.add(source)
        s.flush()
        source_id = source.id
    store = EvidenceStore(settings.outputs_dir / "evidence", settings.evidence_limit)
    yield db, settings, store, source_id
    db.close()


def check(world, site, mode: str, at: datetime, url: str | None = None, pass_now: bool = True) -> HarvestFetchRow:
    """One check as the job makes it; without ``pass_now`` the source fell due at ``at``."""
    db, settings, store, source_id = world
    site.mode = mode
    fetched, error = fetch(url or site.url, at)
    with db.transaction() as s:
        source = s.get(HarvestSourceRow, source_id)
        source.next_at = at
        more = lambda u: fetch(u, at)[0]  # noqa: E731
        row = process_check(s, source, fetched, error, more, store, settings, **({"now": at} if pass_now else {}))
        s.expunge(row)
        return row


def warnings(db) -> list[OutboxRow]:
    with db.transaction() as s:
        rows = s.scalars(select(OutboxRow).where(OutboxRow.kind == "check_failed").order_by(OutboxRow.id)).all()
        for r in rows:
            s.expunge(r)
        return list(rows)


def test_a_broken_page_warns_the_host_the_same_day_once(world, site):
    db = world[0]
    row = check(world, site, "good", datetime(2024, 2, 9, 8, tzinfo=TZ))
    assert row.ok and row.status == 200 and row.detail["link_found"] and row.detail["text_found"]
    assert warnings(db) == []
    first = datetime(2024, 2, 10, 8, tzinfo=TZ)  # a Saturday
    row = check(world, site, "gone", first)
    assert (row.ok, row.status, row.error) == (False, 404, "trang trả về mã HTTP 404")
    [warned] = warnings(db)
    assert warned.recipient == HOST_CONTACT and warned.send_at == first and warned.about.endswith("@2024-02-10")
    assert warned.context["reason"] == BAD_STATUS and warned.context["occurrence"] == OCCURRENCE
    for hour in (9, 10, 11):  # the job's hourly retries that day: still broken, still one warning
        check(world, site, "no-link", first.replace(hour=hour))
    assert len(warnings(db)) == 1
    check(world, site, "no-text", datetime(2024, 2, 11, 8, tzinfo=TZ))  # the next day: its own warning
    refused = datetime(2024, 2, 12, 8, tzinfo=TZ)
    row = check(world, site, "good", refused, url=closed_port_url(), pass_now=False)  # no answer, no now: when due
    assert (row.ok, row.status, row.at) == (False, None, refused) and row.error.startswith("không có phản hồi")
    assert [w.about[-10:] for w in warnings(db)] == ["2024-02-10", "2024-02-11", "2024-02-12"]
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(HarvestFetchRow)) == 7


def test_the_warning_is_sent_at_night_and_reads_vietnamese_first(world, site, tmp_path):
    import scheduler.daemon.jobs as jobs
    from scheduler.clock import Clock
    from scheduler.notifiers.mail import FileMailer

    db, settings = world[0], world[1]
    night = datetime(2024, 2, 10, 22, 30, tzinfo=TZ)  # a Saturday night: reminders wait for Monday
    check(world, site, "no-link", night)
    rt = jobs.Runtime(settings, db, Clock(TZ, night), FileMailer(tmp_path / "mail"))
    assert jobs.send_outbox(rt)["sent"] == 1
    [eml] = (tmp_path / "mail").rglob("*.eml")
    import email
    from email import policy

    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["Subject"] == f"[Lỗi kiểm tra] 10/02/2024: {site.url}"
    text = message.get_body(("plain",)).get_content()
    assert "trang không có liên kết đến https://dichvucong.gov.vn" in text
    assert f"/o/{OCCURRENCE}" in text and site.url in text


def test_a_quarter_of_daily_checks_is_attested_on_its_last_day_and_recorded(world, site):
    db, settings, store, _ = world
    broken = {date(2024, 2, 10): "gone", date(2024, 3, 5): "no-link"}
    day = date(2024, 1, 1)
    while day <= date(2024, 3, 30):
        row = check(world, site, broken.get(day, "good"), datetime.combine(day, time(7, 30), TZ))
        assert row.found == 0
        day += timedelta(days=1)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ProposalRow)) == 0  # the window goes on
    row = check(world, site, "good", datetime(2024, 3, 31, 7, 30, tzinfo=TZ))
    assert row.found == 1
    check(world, site, "good", datetime(2024, 4, 1, 7, 30, tzinfo=TZ))  # the next quarter's first day: nothing again
    with db.transaction() as s:
        [p] = s.scalars(select(ProposalRow)).all()
        assert (p.kind, p.occurrence_id, p.outlet, p.state) == (ATTESTATION, OCCURRENCE, "so-tttt", "open")
        assert p.detail == "89/91 ngày đạt; lỗi: 10/02, 05/03"
        [ref] = p.evidence["files"]
        assert p.source["history_sha256"] == ref["sha256"] and p.source["checks"] == 91 and p.source["failed"] == 2
        data = store.path(ref["sha256"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == ref["sha256"] and data.startswith(b"\xef\xbb\xbf")
        assert len(data.decode("utf-8-sig").splitlines()) == 1 + 91
        evidence = Evidence(
            moment=datetime.fromisoformat(p.evidence["moment"]),
            moment_kind=p.evidence["moment_kind"],
            url=p.evidence["url"],
            title=p.evidence["title"],
            files=(FileRef(**ref),),
            source={**p.source, "proposal": p.id},
        )
        actor = Actor("webmaster@sotttt.phutho.example", ("producer",), "so-tttt")
        record_delivery(s, actor, evidence, datetime(2024, 4, 1, 9, tzinfo=TZ), settings.base_url, OCCURRENCE)
    with db.transaction() as s:
        assert s.get(OccurrenceRow, OCCURRENCE).delivery["state"] == "on_time"
        entry = s.scalars(select(LedgerRow).where(LedgerRow.occurrence_id == OCCURRENCE)).one()
        source = json.loads(entry.content)["payload"]["source"]
        assert source["history_sha256"] == ref["sha256"] and source["type"] == "checks"


def test_the_occurrence_page_shows_the_recent_checks(world, site, cli):
    from html_tree import html
    from scheduler.clock import Clock
    from scheduler.store.people import find_user
    from scheduler.web.app import create_app
    from scheduler.web.auth import set_password
    from web_session import signed_in

    db, settings = world[0], world[1]
    for day, mode in ((date(2024, 1, 31), "good"), (date(2024, 2, 25), "good"), (date(2024, 3, 1), "no-link")):
        check(world, site, mode, datetime.combine(day, time(7, 30), TZ))
    email = "webmaster@sotttt.phutho.example"
    assert cli("users", "add", email, "--role", "producer", "--agency", "so-tttt").code == 0
    with db.transaction() as s:
        set_password(s, find_user(s, email), "mat-khau-du-dai", datetime(2024, 3, 1, tzinfo=TZ))
    app = create_app(settings, db, Clock(TZ, datetime(2024, 3, 2, 10, tzinfo=TZ)))
    client = signed_in(app, email, "mat-khau-du-dai")
    section = html(client.get(f"/o/{OCCURRENCE}")).one("section", id="checks")
    assert section.one("h2").text() == "Kiểm tra hằng ngày" and site.url in section.text()
    rows = [r.text() for r in section.one("table", id="checks-history").one("tbody").all("tr")]
    assert len(rows) == 2  # the last 30 days: 31/01 is older
    assert "01/03/2024 07:30" in rows[0] and "Lỗi" in rows[0] and "không có liên kết" in rows[0]
    assert "25/02/2024 07:30" in rows[1] and "Đạt" in rows[1]
    other = html(client.get("/o/phu-tho-2024.cchc-radio-tv.2024-03.1"))
    assert not other.all("section", id="checks")  # only a continuous obligation's page has it


def test_every_agency_site_must_pass_and_an_ended_window_is_attested_late(world, site):
    """lien-ket-dich-vu-cong: two agencies' home pages; a day passes only when both do;
    the last day failed without a retry, so the next quarter's first check proposes it."""
    db, settings, store, _ = world
    home = site.url.replace("/cchc", "/trang-chu")
    with db.transaction() as s:
        ids = []
        for url in (site.url, home):
            row = HarvestSourceRow(
                kind="check",
                url=url,
                host=url.split("/")[2],
                outlet="so-tttt",
                plan_code="phu-tho-2024",
                obligation_code="lien-ket-dich-vu-cong",
                config={"expect_link": PORTAL},
                active=True,
                next_at=datetime(2024, 1, 1, tzinfo=UTC),
                failures=0,
            )
            s.add(row)
            s.flush()
            ids.append(row.id)
    plan = {(30, ids[0]): "good", (30, ids[1]): "good", (31, ids[0]): "good", (31, ids[1]): "no-link"}
    for (day, source_id), mode in plan.items():
        at = datetime(2024, 3, day, 8, tzinfo=TZ)
        site.mode = mode
        url = site.url if source_id == ids[0] else home
        fetched, error = fetch(url, at)
        with db.transaction() as s:
            row = process_check(s, s.get(HarvestSourceRow, source_id), fetched, error, None, store, settings, now=at)
            assert row.found == 0  # the last day failed: it waits for a retry
    site.mode = "good"
    at = datetime(2024, 4, 1, 8, tzinfo=TZ)
    with db.transaction() as s:
        row = process_check(s, s.get(HarvestSourceRow, ids[1]), *fetch(home, at), None, store, settings, now=at)
        assert row.found == 1
        [p] = s.scalars(select(ProposalRow).where(ProposalRow.obligation_code == "lien-ket-dich-vu-cong")).all()
        assert p.occurrence_id == "phu-tho-2024.lien-ket-dich-vu-cong.2024-Q1.1"
        assert p.detail == "1/2 ngày đạt; lỗi: 31/03; chưa kiểm tra: 89 ngày"
        assert p.source["urls"] == [site.url, home] and p.evidence["moment"] == "2024-03-30T08:00:00+07:00"
        assert len(store.path(p.source["history_sha256"]).read_bytes().decode("utf-8-sig").splitlines()) == 1 + 4
