"""Issue 17's "done when", end to end with the real parts, on SQLite and
PostgreSQL: the Phú Thọ 2024 plan loaded (``main.py load``) with the
production layers of the station (its as-run layout and ``match``), the
newspaper (its feeds and sitemap on a real server on 127.0.0.1) and Sở
TT&TT (a daily check of the portal section); a month of the station's
as-run log and the newspaper's feed turn into the proposals a person would
record; the portal section breaks on 28 March and its host is mailed that
day; the quarter's attestation is proposed on its last day; the producers
confirm every proposal over the API (one through the page's form) and the
compliance equals that of a second database where the same deliveries were
typed; two workers harvesting at once read each feed once."""

from __future__ import annotations

import csv
import email
import json
import re
import threading
from collections import Counter
from datetime import datetime, timedelta
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import asrun_station as st
from html_tree import html
from http_fixtures import HttpServer
from scheduler.clock import Clock
from scheduler.compliance.status import report_period
from scheduler.daemon import harvest_jobs
from scheduler.daemon.jobs import JOBS, runtime
from scheduler.evidence.ledger import parse_content
from scheduler.harvest import proposals as kinds
from scheduler.settings import Settings
from scheduler.store.compliance import Scope, totals
from scheduler.store.database import Database
from scheduler.store.files import EvidenceStore
from scheduler.store.people import find_user
from scheduler.store.registry import contacts_map
from scheduler.store.tables import LedgerRow, OccurrenceRow, OutboxRow, ProposalRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password
from web_session import signed_in

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "harvest"
SITE = DATA / "bao-phu-tho"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PLAN = "phu-tho-2024"
LOADED = "2024-01-02"
HARVESTED = datetime(2024, 4, 2, 6, 0, tzinfo=TZ)  # the newspaper's feeds read
AFTER = datetime(2024, 4, 5, 10, 0, tzinfo=TZ)  # people confirm (or type)
PERIODS = ("2024-03", "2024-Q1")
LATER = AFTER + timedelta(hours=1)  # the app's clock runs on from AFTER: the figures an hour later
PASSWORD = "mat-khau-du-dai"
PEOPLE = {
    "prod@dai.example": ("producer", "dai-ptth"),
    "prod@bao.example": ("producer", "bao-phu-tho"),
    "web@tttt.example": ("producer", "so-tttt"),
    "dha@snv.example": ("dha", "so-noi-vu"),
}
FEEDS = {
    "/rss/thoi-su.rss": ("thoi-su.rss", "application/rss+xml"),
    "/atom/xa-hoi.xml": ("xa-hoi.xml", "application/atom+xml"),
    "/sitemap-index.xml": ("sitemap-index.xml", "application/xml"),
    "/sitemap-news-2024-03.xml": ("sitemap-news-2024-03.xml", "application/xml"),
    "/sitemap-pages.xml": ("sitemap-pages.xml", "application/xml"),
}
GONE = "/cchc/cai-cach-hanh-chinh-xa-thanh-ba.html"  # its page answers 404
SECTION = "/chuyen-trang-cchc"
GOOD = """<!doctype html><html lang=vi><title>Chuyên trang Cải cách hành chính</title>
<h1>CẢI CÁCH HÀNH CHÍNH</h1><a href="https://dichvucong.phutho.gov.vn/">Dịch vụ công trực tuyến</a></html>"""


def occ(obligation: str, label: str) -> str:
    period, number = label.split(" #")
    return f"{PLAN}.{obligation}.{period}.{number}"


STATION = "cchc-radio-tv"
PAPER = "bao-phu-tho-cchc"
PORTAL = occ("cong-tttt-chuyen-trang", "2024-Q1 #1")

# What a person types for the same airings, articles and quarter (the
# as-run month's labels, the newspaper's first article of each month, the
# portal's quarter): the second database's deliveries.
TYPED = [
    (occ(STATION, "2024-02 #2"), "prod@dai.example", "02/03/2024 19:30", ["--duration", "630"]),
    (occ(STATION, "2024-03 #1"), "prod@dai.example", "14/03/2024 19:30", ["--duration", "630"]),
    (occ(STATION, "2024-03 #2"), "prod@dai.example", "28/03/2024 19:30", ["--duration", "580"]),
    (occ(PAPER, "2024-02 #1"), "prod@bao.example", "29/02/2024 16:00", ["--url", "/cchc/tong-ket-thang-2.html"]),
    (
        occ(PAPER, "2024-03 #1"),
        "prod@bao.example",
        "05/03/2024 08:00",
        ["--url", "/cchc/day-manh-cai-cach-hanh-chinh-thanh-son.html"],
    ),
    (occ(PAPER, "2024-04 #1"), "prod@bao.example", "01/04/2024 01:30", ["--url", "/cchc/ket-qua-quy-1.html"]),
    (PORTAL, "web@tttt.example", "31/03/2024 07:00", ["--url", SECTION]),
]
PRINT = ["--issue-number", "12", "--page", "3"]


def page(path: str) -> bytes:
    return f"<!doctype html><html lang=vi><meta charset=utf-8><title>{path}</title><h1>{path}</h1></html>".encode()


@pytest.fixture
def newspaper():
    """Báo Phú Thọ's site: its feeds and sitemaps, every article page they
    name (one answers 404)."""
    with HttpServer() as server:
        base = server.url("").encode()
        named: set[str] = set()
        for path, (name, kind) in FEEDS.items():
            body = (SITE / name).read_bytes()
            named.update(p.decode() for p in re.findall(rb"BASE(/[^<\"?]*\.html)", body))
            server.route(path, body=body.replace(b"BASE", base), headers={"Content-Type": kind})
        for path in named - {GONE}:
            server.route(path, body=page(path), headers={"Content-Type": "text/html; charset=utf-8"})
        yield server


@pytest.fixture
def portal():
    with HttpServer() as server:
        server.route(SECTION, body=GOOD.encode(), headers={"Content-Type": "text/html; charset=utf-8"})
        yield server


@pytest.fixture
def world(cli, db_url, tmp_path, monkeypatch, newspaper, portal):
    """The settings of every part (the harvester may ask 127.0.0.1), and a
    ``setup`` that loads the plan with the three production layers and adds
    the people, in the database at ``db_url``."""
    for key, value in {"HARVEST_ALLOW": "127.0.0.0/8", "HARVEST_PAUSE": "0.1", "HARVEST_TIMEOUT": "5"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SMTP_HOST", raising=False)
    layers = [ROOT / "schedules" / "phu-tho-2024.yaml", DATA / "dai-ptth-2024.yaml"]
    for name, text in (
        ("bao-phu-tho-2024.yaml", (DATA / "bao-phu-tho-layer.yaml").read_text("utf-8")),
        ("so-tttt-2024.yaml", (DATA / "so-tttt-2024.yaml").read_text("utf-8")),
    ):
        text = text.replace("https://baophutho.vn", newspaper.url("")).replace("BASE", portal.url(""))
        (tmp_path / name).write_text(text, "utf-8")
        layers.append(tmp_path / name)

    def setup() -> dict[str, dict]:
        loaded = cli("load", *layers, "--now", LOADED)
        assert loaded.code == 0, loaded.err
        tokens = {}
        for who, (role, agency) in PEOPLE.items():
            assert cli("users", "add", who, "--role", role, "--agency", agency).code == 0
            made = cli("tokens", "create", "--user", who)
            tokens[who] = {"Authorization": f"Bearer {made.out.strip().splitlines()[-1]}"}
        # February's first episode was recorded by hand, as in the labelled month.
        typed = cli("deliver", occ(STATION, "2024-02 #1"), "--by", "prod@dai.example", "--at", "08/02/2024 19:30",
                    "--duration", "10m", "--title", "Cải cách hành chính số 3", "--now", "2024-02-09")  # fmt: skip
        assert typed.code == 0, typed.err
        return tokens

    return Settings.load(), setup


def _fresh(request, db_url: str) -> None:
    """An empty database at the same address."""
    if db_url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(db_url[len("sqlite:///") :] + suffix).unlink(missing_ok=True)
    else:
        request.getfixturevalue("postgres").reset()


def _reports(cli, tmp_path: Path) -> dict[str, dict]:
    """The report for March and the first quarter (``main.py report``), as JSON."""
    found = {}
    for period in PERIODS:
        out = tmp_path / f"report-{period}.json"
        made = cli("report", "--period", period, "--format", "json", "--out", out, "--now", "2024-04-05 11:00")
        assert made.code == 0, made.err
        found[period] = json.loads(out.read_text("utf-8"))
    return found


def _without_entries(reports: dict[str, dict]) -> dict[str, dict]:
    """The reports without each occurrence's entries (their ledger numbers,
    moments to the microsecond and files differ: a harvested record keeps
    the snapshot or the log)."""
    return {
        period: {**r, "occurrences": [{k: v for k, v in o.items() if k != "evidence"} for o in r["occurrences"]]}
        for period, r in reports.items()
    }


def _compliance(db_url: str) -> tuple[dict, dict]:
    """Totals for March and the first quarter, and each occurrence's state."""
    db = Database(db_url)
    try:
        with db.transaction() as s:
            scope = Scope(PLAN)
            found = {label: totals(s, scope, report_period(label), TZ, LATER, LATER) for label in PERIODS}
            states = {o: d["state"] for o, d in s.execute(select(OccurrenceRow.id, OccurrenceRow.delivery)) if d}
        return found, states
    finally:
        db.close()


def _proposals(db: Database) -> list[ProposalRow]:
    with db.transaction() as s:
        rows = list(s.scalars(select(ProposalRow).order_by(ProposalRow.id)))
        s.expunge_all()
        return rows


def _labelled() -> Counter:
    """(kind, occurrence) of each proposal a person would make of the month's rows."""
    words = {"on_time": kinds.ON_TIME, "short": kinds.SHORT, "outside": kinds.OUTSIDE, "not_owed": kinds.NOT_OWED}
    wanted = {}
    for row in csv.DictReader(st.MONTH.read_text("utf-8").splitlines(), delimiter=";"):
        kind, _, label = row[st.LABEL].partition(" ")
        if kind in words:  # a two-part episode is two rows and one proposal
            wanted[(words[kind], occ(STATION, label) if label else None, row["Ngày"] if not label else "")] = 1
    found = Counter((kind, o) for kind, o, _ in wanted)
    for obligation, label in st.NOT_AIRED:
        found[(kinds.NOT_AIRED, occ(obligation, label))] += 1
    return found


def _harvest(settings: Settings, db: Database, at: datetime, owner: str = "w1", only=None) -> dict:
    rt = runtime(settings, db, Clock(TZ, at))
    rt.owner = owner
    return harvest_jobs.harvest(rt, only=only)


def test_a_month_harvested_and_confirmed_gives_the_compliance_of_the_month_typed(
    request, world, cli, db_url, newspaper, portal, tmp_path
):
    settings, setup = world
    # The second database first: a person types the deliveries.
    setup()
    typed_db = Database(db_url)
    with typed_db.transaction() as s:  # the delivery form preselects the occurrence's topics, as confirming does
        topics = {o.id: (o.shown or {}).get("topics") or [] for o in s.scalars(select(OccurrenceRow))}
    typed_db.close()
    for occurrence, who, at, extra in TYPED:
        extra = [newspaper.url(v) if v.startswith("/cchc") else portal.url(v) if v == SECTION else v for v in extra]
        more = (PRINT if PAPER in occurrence else []) + [a for t in topics[occurrence] for a in ("--topic", t)]
        typed = cli("deliver", occurrence, "--by", who, "--at", at, *extra, *more, "--now", "2024-04-05 10:00")
        assert typed.code == 0, (occurrence, typed.err)
    by_hand, typed_reports = _compliance(db_url), _reports(cli, tmp_path)
    assert newspaper.seen == [] and portal.seen == []  # typing fetches nothing

    _fresh(request, db_url)
    tokens = setup()
    db = Database(db_url)
    store = EvidenceStore(settings.outputs_dir / "evidence", settings.evidence_limit)
    try:
        # a. The station's March as-run log: the proposals a person would record.
        ran = cli("harvest", "asrun", st.MONTH, "--outlet", "dai-ptth", "--now", "2024-04-02 09:00")
        assert ran.code == 0, ran.err
        station = [p for p in _proposals(db) if p.outlet == "dai-ptth"]
        assert Counter((p.kind, p.occurrence_id) for p in station) == _labelled()
        assert Counter(p.kind for p in station) == {
            kinds.ON_TIME: 1, kinds.SHORT: 1, kinds.OUTSIDE: 1, kinds.NOT_OWED: 1, kinds.NOT_AIRED: 1
        }  # fmt: skip
        assert all(store.exists(p.source["file_sha256"]) for p in station)

        # d. The portal section: good, broken on 28 March, mailed that day; the quarter proposed on its last day.
        _portal_quarter(settings, db, portal, store)

        # b. The newspaper's feeds and sitemap, read by the daemon's job with the safe fetcher.
        # e. Two workers at once (two runtimes in threads): each feed, sitemap and page asked once.
        runs = _two_workers(settings, db, HARVESTED)
        assert sum(r.get("fetched", 0) for r in runs) == 4 and not any(r.get("failed") for r in runs), runs
        asked = Counter(newspaper.paths())
        assert [asked[p] for p in ("/rss/thoi-su.rss", "/atom/xa-hoi.xml", "/sitemap-index.xml")] == [1, 1, 1]
        assert all(n == 1 for n in asked.values()), asked
        assert newspaper.most_at_once == 1  # one request per host at a time
        articles = [p for p in _proposals(db) if p.kind == kinds.ARTICLE]
        first_of = {p.occurrence_id: p for p in articles if "xác nhận một bài" not in p.detail}
        assert set(first_of) == {occ(PAPER, "2024-02 #1"), occ(PAPER, "2024-03 #1"), occ(PAPER, "2024-04 #1")}
        assert len(articles) == 8
        kept = [p for p in articles if p.evidence["files"]]
        assert len(kept) == 7  # every page but the one answering 404
        for p in kept:
            digest = p.source["snapshot_sha256"]
            assert p.evidence["files"][0]["sha256"] == digest and store.exists(digest)
            assert store.path(digest).read_bytes() == page(p.evidence["url"].removeprefix(newspaper.url("")))
        pages = Counter(path for path in newspaper.paths() if path.endswith(".html"))
        assert pages and all(n == 1 for n in pages.values()), pages
        # An hour later the feeds are due again: read again, nothing new, no page asked again.
        again = _harvest(settings, db, HARVESTED + timedelta(minutes=61), only=("feed", "sitemap"))
        assert again["fetched"] == 3, again
        assert Counter(newspaper.paths())["/rss/thoi-su.rss"] == 2
        assert Counter(path for path in newspaper.paths() if path.endswith(".html")) == pages
        assert len([p for p in _proposals(db) if p.kind == kinds.ARTICLE]) == 8

        # c. The producers confirm every recordable proposal; the other articles of a month are rejected.
        _confirm_all(settings, db, tokens)
        confirmed = _compliance(db_url)
        assert confirmed == by_hand
        reports = _reports(cli, tmp_path)
        assert _without_entries(reports) == _without_entries(typed_reports)
        assert reports["2024-Q1"]["totals"]["on_time"] >= 5
        march = confirmed[0]["2024-03"]
        assert march[("dai-ptth", STATION)]["on_time"] == 1 and march[("dai-ptth", STATION)]["non_conforming"] == 1
        assert cli("verify", "--now", "2024-04-05 11:00").code == 0
        with db.transaction() as s:
            entries = [parse_content(r.content) for r in s.scalars(select(LedgerRow))]
            by_proposal = {p.id: p for p in _proposals(db) if p.state == kinds.CONFIRMED}
            sourced = [e for e in entries if "source" in e["payload"]]
            producer_of = {agency: who for who, (_, agency) in PEOPLE.items()}
            assert len(sourced) == len(by_proposal) == 7
            for e in sourced:
                proposal = by_proposal[e["payload"]["source"]["proposal"]]
                assert e["payload"]["source"] == {**proposal.source, "proposal": proposal.id}
                assert e["recorded_by"] == proposal.decided_by == producer_of[proposal.outlet]
    finally:
        db.close()


def _two_workers(settings: Settings, db: Database, at: datetime) -> list[dict]:
    """The harvest job run by two workers at once, each its own runtime."""
    results: list[dict] = []

    def work(owner: str) -> None:
        results.append(_harvest(settings, db, at, owner))

    workers = [threading.Thread(target=work, args=(owner,)) for owner in ("w1", "w2")]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


def _portal_quarter(settings: Settings, db: Database, portal: HttpServer, store: EvidenceStore) -> None:
    for day in range(25, 32):
        at = datetime(2024, 3, day, 7, 0, tzinfo=TZ)
        if day == 28:
            portal.route(SECTION, status=404, body=b"<html>Khong tim thay</html>")
        if day == 29:
            portal.route(SECTION, body=GOOD.encode(), headers={"Content-Type": "text/html; charset=utf-8"})
        done = _harvest(settings, db, at, only=("check",))
        assert done.get("fetched", 0) + done.get("failed", 0) == 1, (day, done)
        with db.transaction() as s:
            warned = list(s.scalars(select(OutboxRow).where(OutboxRow.kind == "check_failed")))
            contacts = contacts_map(s, ["so-tttt"])["so-tttt"]
            attested = s.scalars(select(ProposalRow.id).where(ProposalRow.kind == kinds.ATTESTATION)).all()
        assert len(attested) == (day == 31)  # proposed on the quarter's last day, not before
        if day < 28:
            assert warned == []
            continue
        # The same day: one message to each of the host's contacts, sent at once.
        assert sorted(w.recipient for w in warned) == sorted(contacts) and "cttdt@sotttt.phutho.example" in contacts
        if day == 28:
            rt = runtime(settings, db, Clock(TZ, at + timedelta(minutes=5)))
            assert JOBS["send_outbox"](rt)["sent"] == len(contacts)
            [eml] = [p for p in (settings.outputs_dir / "mail").glob("*.eml") if "cttdt" in p.read_text()]
            message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
            assert message["To"] == "cttdt@sotttt.phutho.example"
            assert re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", str(message["Subject"]))
            assert portal.url(SECTION) in str(message["Subject"]) + message.get_body(("plain",)).get_content()
            retry = _harvest(settings, db, at + timedelta(minutes=61), only=("check",))  # still broken: no second mail
            assert retry["failed"] == 1
    with db.transaction() as s:
        assert len(list(s.scalars(select(OutboxRow).where(OutboxRow.kind == "check_failed")))) == len(contacts)
        [quarter] = s.scalars(select(ProposalRow).where(ProposalRow.kind == kinds.ATTESTATION)).all()
        assert quarter.occurrence_id == PORTAL
        [history] = quarter.evidence["files"]
        assert history["sha256"] == quarter.source["history_sha256"] and store.exists(history["sha256"])
        rows = store.path(history["sha256"]).read_text("utf-8-sig").splitlines()
        assert len(rows) == 1 + 8 and sum("28/03/2024" in r and "404" in r for r in rows) == 2
    # The occurrence page shows the failed check.
    app = create_app(settings, db, Clock(TZ, datetime(2024, 3, 28, 9, 0, tzinfo=TZ)))
    with db.transaction() as s:
        set_password(s, find_user(s, "web@tttt.example"), PASSWORD, datetime(2024, 3, 1, tzinfo=TZ))
    shown = signed_in(app, "web@tttt.example", PASSWORD).get(f"/o/{PORTAL}")
    assert shown.status_code == 200
    assert "404" in html(shown).text() and portal.url(SECTION) in shown.text


def _confirm_all(settings: Settings, db: Database, tokens: dict[str, dict]) -> None:
    """Every recordable proposal confirmed by a producer of its outlet (the
    March article through the page's form, the rest through the API)."""
    producer = {agency: who for who, (_, agency) in PEOPLE.items()}
    app = create_app(settings, db, Clock(TZ, AFTER))
    with db.transaction() as s:
        for who in PEOPLE:
            set_password(s, find_user(s, who), PASSWORD, AFTER)
    api = TestClient(app)
    by_form = None
    for p in _proposals(db):
        if p.kind not in kinds.RECORDABLE:
            continue
        headers = tokens[producer[p.outlet]]
        if "xác nhận một bài" in p.detail:  # another article of a month already offered one
            done = api.post(f"/api/proposals/{p.id}/reject", headers=headers, json={"reason": "đã có bài khác"})
            assert done.status_code == 200, done.text
            continue
        fields = {"issue_number": "12", "page": "3"} if p.evidence.get("needs") else {}
        if p.occurrence_id == occ(PAPER, "2024-03 #1"):
            by_form = p
            continue
        done = api.post(f"/api/proposals/{p.id}/confirm", headers=headers, json={"fields": fields})
        assert done.status_code == 201, done.text
    assert by_form is not None
    browser = signed_in(app, "prod@bao.example", PASSWORD)
    me = browser.get("/me")
    csrf = html(me).all("input", name="csrf")[0].attrs["value"]
    form = {"csrf": csrf, "next": "/me", "issue_number": "12", "page": "3"}
    done = browser.post(f"/proposals/{by_form.id}/confirm", data=form)
    assert done.status_code == 303, done.text
    assert {p.id: p.state for p in _proposals(db)}[by_form.id] == kinds.CONFIRMED
