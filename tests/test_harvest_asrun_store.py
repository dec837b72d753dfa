"""As-run logs into stored proposals (issue 17), on SQLite and PostgreSQL:
the command, the upload page over real HTTP, a re-harvest that adds
nothing, one transaction, the file kept by its hash, another agency's
producer refused, and LibreTime's API answer through ``process_playout``."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import asrun_station as st
from html_tree import html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.harvest import proposals as kinds
from scheduler.harvest.proposals import Fetched, FetchFailed
from scheduler.settings import Settings
from scheduler.store import harvest_asrun as stored
from scheduler.store.database import Database
from scheduler.store.files import EvidenceStore
from scheduler.store.harvest_playout import process_playout
from scheduler.store.people import find_user
from scheduler.store.tables import HarvestSourceRow, ObligationRow, PlanRow, ProposalRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password
from test_harvest_asrun import libretime_answers
from web_session import signed_in

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = "2024-04-02 09:00"
PASSWORD = "mat-khau-du-dai"


@pytest.fixture
def station(cli, db_url, tmp_path, monkeypatch):
    """The plan and the station's layer loaded by ``main.py load`` (its
    ``match`` and as-run layout read from the layer file)."""
    assert cli("load", st.PLAN, st.LAYER, "--now", "2024-01-02").code == 0
    for email, agency in (("prod@dai.example", "dai-ptth"), ("prod@bao.example", "bao-phu-tho")):
        assert cli("users", "add", email, "--role", "producer", "--agency", agency).code == 0
    assert cli("users", "add", "admin@tinh.example", "--role", "admin").code == 0
    db = Database(db_url)
    with db.transaction() as s:
        assert s.get(ObligationRow, ("phu-tho-2024", "cchc-radio-tv")).definition["match"]["codes"] == ["CCHC"]
        [outlet] = s.get(PlanRow, "phu-tho-2024").definition["outlets"]
        assert (outlet["outlet"], outlet["asrun"]["title"]) == ("dai-ptth", "Tên chương trình")
        for email in ("prod@dai.example", "prod@bao.example", "admin@tinh.example"):
            set_password(s, find_user(s, email), PASSWORD, parse_now(NOW, DEFAULT_TZ))
    # February's first episode was recorded by hand, as in the labelled month.
    delivered = cli("deliver", "phu-tho-2024.cchc-radio-tv.2024-02.1", "--by", "prod@dai.example", "--at",
                    "08/02/2024 19:30", "--duration", "10m", "--title", "Cải cách hành chính số 3", "--now",
                    "2024-02-09")  # fmt: skip
    assert delivered.code == 0, delivered.err
    yield db
    db.close()


def _proposals(db: Database) -> list[ProposalRow]:
    with db.transaction() as s:
        rows = s.scalars(select(ProposalRow).order_by(ProposalRow.id)).all()
        s.expunge_all()
        return list(rows)


def _expected(rows: list[ProposalRow]) -> None:
    got = sorted((r.kind, r.occurrence_id or "") for r in rows)
    assert got == sorted(
        [
            (kinds.OUTSIDE, "phu-tho-2024.cchc-radio-tv.2024-02.2"),
            (kinds.ON_TIME, "phu-tho-2024.cchc-radio-tv.2024-03.1"),
            (kinds.SHORT, "phu-tho-2024.cchc-radio-tv.2024-03.2"),
            (kinds.NOT_OWED, ""),
            (kinds.NOT_AIRED, "phu-tho-2024.dai-bieu-cu-tri.2024.1"),
        ]
    )


def test_the_command_proposes_the_month_once(station, cli, tmp_path):
    first = cli("harvest", "asrun", st.MONTH, "--outlet", "dai-ptth", "--now", NOW, "--lang", "en")
    assert first.code == 0, first.err
    assert "25 aired items, 5 new proposals" in first.out
    assert "aired short" in first.out and "9 phút 40 giây, thiếu 20 giây" in first.out
    rows = _proposals(station)
    _expected(rows)
    digest = hashlib.sha256(st.MONTH.read_bytes()).hexdigest()
    short = next(r for r in rows if r.kind == kinds.SHORT)
    assert short.source == {"type": "asrun", "name": st.MONTH.name, "file_sha256": digest, "rows": [21, 23]}
    assert short.evidence["files"][0]["sha256"] == digest
    assert EvidenceStore(tmp_path / "outputs" / "evidence", 1 << 30).exists(digest)
    # The same airings again, re-exported (other bytes, so another file hash): nothing new.
    again = tmp_path / "re-export.csv"
    again.write_bytes(b"\xef\xbb\xbf" + st.MONTH.read_bytes().replace(b"\n", b"\r\n"))
    second = cli("harvest", "asrun", again, "--outlet", "dai-ptth", "--now", NOW, "--json")
    assert second.code == 0, second.err
    summary = json.loads(second.out)
    assert summary["new"] == 0 and len(summary["proposals"]) == 5
    assert len(_proposals(station)) == 5


def test_the_command_in_vietnamese_and_its_errors(station, cli, tmp_path):
    vi = cli("harvest", "asrun", st.MONTH, "--outlet", "dai-ptth", "--now", NOW, "--lang", "vi")
    assert vi.code == 0, vi.err
    assert vi.out.startswith("dai-ptth-2024-03.csv: 25 mục đã phát, 5 đề xuất mới\n")
    assert "  phát thiếu thời lượng: 1\n" in vi.out
    assert "  phát lại (không tính là lần thực hiện mới): 4\n" in vi.out
    assert "thiếu 20 giây [21, 23]" in vi.out
    unknown = cli("harvest", "asrun", st.MONTH, "--outlet", "khong-co", "--now", NOW, "--lang", "en")
    assert unknown.code == 1 and '--outlet: no agency "khong-co"' in unknown.err
    broken = tmp_path / "broken.csv"
    broken.write_text("Giờ phát;Kết thúc;Tên chương trình\n2024-03-01 10:00;xx;T\n", "utf-8")
    bad = cli("harvest", "asrun", broken, "--outlet", "dai-ptth", "--now", NOW, "--lang", "en", "--format", "csv")
    assert bad.code == 1 and "broken.csv:2: column 2 (Kết thúc)" in bad.err, bad.err
    assert len(_proposals(station)) == 5


def test_an_episode_recorded_by_hand_airing_again_is_a_rerun(station, cli):
    """February's second episode was typed in; its airing on 2 March is then a rerun."""
    typed = cli("deliver", "phu-tho-2024.cchc-radio-tv.2024-02.2", "--by", "prod@dai.example", "--at",
                "22/02/2024 19:30", "--duration", "10m", "--title", "Cải cách hành chính số 4: Một cửa liên thông",
                "--now", "2024-02-23")  # fmt: skip
    assert typed.code == 0, typed.err
    summary = json.loads(cli("harvest", "asrun", st.MONTH, "--outlet", "dai-ptth", "--now", NOW, "--json").out)
    assert summary["outcomes"]["rerun"] == 5
    assert sorted(p["kind"] for p in summary["proposals"]) == sorted(
        [kinds.ON_TIME, kinds.SHORT, kinds.NOT_OWED, kinds.NOT_AIRED]
    )


def test_one_transaction(station, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    settings = Settings.load()
    with pytest.raises(RuntimeError), station.transaction() as s:
        stored.harvest_asrun(s, "dai-ptth", st.MONTH.read_bytes(), st.MONTH.name, parse_now(NOW, TZ), settings)
        assert s.scalar(select(func.count()).select_from(ProposalRow)) == 5
        broken()
    assert _proposals(station) == []


def _site(db: Database) -> TestClient:
    return create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ)))


def _client(app, email: str) -> TestClient:
    return signed_in(app, email, PASSWORD)


def _send(client: TestClient, data: bytes, **fields: str):
    page = html(client.get("/harvest/asrun"))
    token = page.one("form", id="asrun").one("input", name="csrf").attrs["value"]
    files = {"file": ("thang-3.csv", data, "text/csv")}
    return client.post("/harvest/asrun", data={"csrf": token, **fields}, files=files)


def test_the_upload_page_over_http(station):
    client = _client(_site(station), "prod@dai.example")
    page = client.get("/harvest/asrun")
    assert page.status_code == 200
    outlets = [o.attrs["value"] for o in html(page).one("select", id="outlet").all("option")]
    assert outlets == ["dai-ptth"]
    answer = _send(client, st.MONTH.read_bytes(), outlet="dai-ptth")
    assert answer.status_code == 200, answer.text
    rows = html(answer).one("table", id="asrun-proposals").all("tr", class_="proposal")
    assert len(rows) == 5 and all(r.attrs["data-new"] == "yes" for r in rows)
    assert 'href="/o/phu-tho-2024.cchc-radio-tv.2024-03.1"' in answer.text
    _expected(_proposals(station))
    again = _send(client, st.MONTH.read_bytes(), outlet="dai-ptth")
    table = html(again).one("table", id="asrun-proposals")
    assert {r.attrs["data-new"] for r in table.all("tr", class_="proposal")} == {"no"}
    assert len(_proposals(station)) == 5


def test_another_agency_is_refused_and_errors_are_shown(station):
    app = _site(station)
    other = _client(app, "prod@bao.example")
    assert _send(other, st.MONTH.read_bytes(), outlet="dai-ptth").status_code == 403
    assert _proposals(station) == []
    anonymous = TestClient(app, follow_redirects=False)
    assert anonymous.get("/harvest/asrun").status_code in (303, 302)
    admin = _client(app, "admin@tinh.example")
    broken = _send(admin, b"a;b\n1;2\n", outlet="dai-ptth")
    assert (
        broken.status_code == 422
        and 'thang-3.csv:1: dòng tiêu đề không có cột "Giờ phát"' in html(broken).one("p", id="asrun-error").text()
    )
    fine = _send(admin, st.MONTH.read_bytes(), outlet="dai-ptth")
    assert fine.status_code == 200
    assert len(_proposals(station)) == 5


def test_libretime_api_answer_through_process_playout(station, tmp_path):
    answers = libretime_answers()
    asked = []

    def fetch(url: str) -> Fetched:
        asked.append(url)
        path = "/" + url.split("/", 3)[3]
        if path not in answers:
            raise FetchFailed("404")
        return Fetched(url, url, 200, "application/json", answers[path], parse_now(NOW, TZ))

    base = "http://127.0.0.1:8900/api/v2/schedule?starts_after=2024-03-01T00:00:00Z"
    fetched = Fetched(base, base, 200, "application/json", answers["/api/v2/schedule"], parse_now(NOW, TZ))
    store = EvidenceStore(tmp_path / "ev", 1 << 30)
    with station.transaction() as s:
        source = HarvestSourceRow(kind="playout", url=base, host="127.0.0.1:8900", outlet="dai-ptth",
                                  plan_code="phu-tho-2024", obligation_code="", config={},
                                  next_at=datetime(2024, 4, 2, tzinfo=TZ))  # fmt: skip
        s.add(source)
        s.flush()
        assert process_playout(s, source, fetched, fetch, store, Settings.load()) == 5
        assert process_playout(s, source, fetched, fetch, store, Settings.load()) == 0
    rows = _proposals(station)
    _expected(rows)
    assert all(r.source["url"] == base for r in rows)
    assert "http://127.0.0.1:8900/api/v2/files/1" in asked
    kept = store.path(rows[0].source["file_sha256"]).read_bytes()
    assert json.loads(kept)["schedule"] == json.loads(answers["/api/v2/schedule"])


def test_a_kept_libretime_answer_reads_again_from_the_command(station, cli, tmp_path):
    answers = libretime_answers()
    schedule = json.loads(answers["/api/v2/schedule"])
    files = [json.loads(v) for k, v in answers.items() if k.startswith("/api/v2/files/")]
    saved = tmp_path / "libretime.json"
    saved.write_text(json.dumps({"schedule": schedule, "files": files}), "utf-8")
    run = cli("harvest", "asrun", saved, "--outlet", "dai-ptth", "--format", "libretime-api", "--now", NOW, "--json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["new"] == 5
    _expected(_proposals(station))


def test_an_upload_over_the_harvest_limit_is_refused(station, monkeypatch):
    monkeypatch.setenv("HARVEST_MAX_BYTES", "1KiB")
    client = _client(_site(station), "prod@dai.example")
    answer = _send(client, st.MONTH.read_bytes(), outlet="dai-ptth")
    assert answer.status_code == 413, answer.text
    assert _proposals(station) == []
