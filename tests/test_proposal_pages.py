"""Proposals on the pages and the API (issue 17, part 4), over the real app on
SQLite and PostgreSQL: *Việc của tôi* lists the agency's open proposals with
a one-click confirm and a reject with a reason, the occurrence page shows its
proposals and where a record's proof came from (with the kept snapshot), and
the API lists, confirms and rejects with 403/404/409/422 at the right field."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from html_tree import html
from scheduler.clock import Clock
from scheduler.harvest.proposals import ARTICLE, ON_TIME, Proposal, proposal_key
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.files import EvidenceStore
from scheduler.store.people import find_user
from scheduler.store.proposals import save_proposals
from scheduler.web.app import create_app
from scheduler.web.auth import set_password
from web_session import signed_in

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 4, 5, 10, 0, tzinfo=TZ)
PASSWORD = "mat-khau-du-dai"
FIRST = "phu-tho-2024.cchc-radio-tv.2024-03.1"
PAPER = "phu-tho-2024.bao-phu-tho-cchc.2024-03.1"
PEOPLE = {
    "prod@dai.example": ("producer", "dai-ptth"),
    "prod@bao.example": ("producer", "bao-phu-tho"),
    "dha@snv.example": ("dha", "so-noi-vu"),
}
SNAPSHOT = "<html><body><h1>Đẩy mạnh cải cách hành chính</h1></body></html>".encode()


def _token(cli, email: str) -> dict:
    result = cli("tokens", "create", "--user", email)
    assert result.code == 0, result.err
    return {"Authorization": f"Bearer {result.out.strip().splitlines()[-1]}"}


@pytest.fixture
def site(cli, db_url):
    """The bundled plan, a producer of the station and of the newspaper, the
    DHA; an airing and an article proposed (its page kept as a snapshot)."""
    assert cli("load", "--now", "2024-01-02").code == 0
    for email, (role, agency) in PEOPLE.items():
        assert cli("users", "add", email, "--role", role, "--agency", agency).code == 0
    tokens = {email: _token(cli, email) for email in PEOPLE}
    settings = Settings.load()
    store = EvidenceStore(settings.outputs_dir / "evidence", settings.evidence_limit)
    with store.writer("bai-viet.html", "text/html") as w:
        w.write(SNAPSHOT)
        pending = w.finish()
    snapshot = store.commit(pending)
    db = Database(db_url)
    with db.transaction() as s:
        for email in PEOPLE:
            set_password(s, find_user(s, email), PASSWORD, NOW)
        airing = Proposal(
            ON_TIME,
            "dai-ptth",
            "phu-tho-2024",
            "cchc-radio-tv",
            FIRST,
            proposal_key("asrun", 12),
            {"moment": "2024-03-05T19:30:00+07:00", "moment_kind": "aired", "duration": 630, "title": "CCHC số 1"},
            {"type": "asrun", "file_sha256": "a" * 64, "rows": [12, 13], "name": "asrun-03.csv"},
        )
        article = Proposal(
            ARTICLE,
            "bao-phu-tho",
            "phu-tho-2024",
            "bao-phu-tho-cchc",
            PAPER,
            proposal_key("https://baophutho.vn/cchc-thang-3"),
            {
                "moment": "2024-03-10T08:00:00+07:00",
                "moment_kind": "published",
                "url": "https://baophutho.vn/cchc-thang-3",
                "title": "Đẩy mạnh cải cách hành chính",
                "needs": ["issue_number", "page"],
                "files": [
                    {"sha256": snapshot.sha256, "size": snapshot.size, "name": snapshot.name, "type": snapshot.type}
                ],
            },
            {
                "type": "feed",
                "url": "https://baophutho.vn/cchc-thang-3",
                "feed": "https://baophutho.vn/rss",
                "fetched_at": "2024-03-10T09:00:00+07:00",
                "snapshot_sha256": snapshot.sha256,
            },
        )
        ids = {r.occurrence_id: r.id for r in save_proposals(s, [airing, article], NOW, settings.base_url)}
    app = create_app(settings, db, Clock(TZ, NOW))
    yield app, ids, tokens, snapshot
    db.close()


def _csrf(page) -> str:
    return html(page).all("input", name="csrf")[0].attrs["value"]


def test_my_work_lists_the_agencys_open_proposals_and_confirms_in_one_click(site):
    app, ids, _tokens, _snapshot = site
    client = signed_in(app, "prod@dai.example", PASSWORD)
    page = client.get("/me")
    assert page.status_code == 200
    tree = html(page)
    item = tree.one("li", id=f"proposal-{ids[FIRST]}")
    assert "phát đúng khung giờ" in item.text() and "Nhật ký phát sóng tệp asrun-03.csv dòng 12–13" in item.text()
    assert item.one("a", href=f"/o/{FIRST}")
    assert not tree.all("li", id=f"proposal-{ids[PAPER]}")  # the newspaper's is not theirs

    form = item.one("form", cls="confirm-proposal")
    done = client.post(form.attrs["action"], data={"csrf": _csrf(page), "next": "/me"})
    assert done.status_code == 303 and done.headers["location"].startswith(f"/me?proposal={ids[FIRST]}")
    after = client.get(done.headers["location"])
    assert f"Đề xuất #{ids[FIRST]} đã được xác nhận" in html(after).one("p", id="proposal-done").text()
    assert not html(after).all("li", id=f"proposal-{ids[FIRST]}")  # no longer open

    occurrence = html(client.get(f"/o/{FIRST}"))
    source = occurrence.one("dd", cls="entry-source")
    assert source.attrs["data-type"] == "asrun" and f"đề xuất #{ids[FIRST]}" in source.text()
    assert "prod@dai.example" in occurrence.one("ol", id="history").text()  # who confirmed
    decided = occurrence.one("li", id=f"proposal-{ids[FIRST]}").text()
    assert "Đã xác nhận bởi prod@dai.example" in decided

    twice = client.post(form.attrs["action"], data={"csrf": _csrf(page), "next": "/me"})
    assert twice.status_code == 409 and "prod@dai.example" in twice.text


def test_the_print_half_asks_for_issue_and_page_and_the_snapshot_is_linked(site):
    app, ids, _tokens, snapshot = site
    client = signed_in(app, "prod@bao.example", PASSWORD)
    page = client.get(f"/o/{PAPER}")
    item = html(page).one("li", id=f"proposal-{ids[PAPER]}")
    names = {i.attrs["name"] for i in item.one("form", cls="confirm-proposal").all("input")}
    assert {"issue_number", "page"} <= names
    assert "Bài viết https://baophutho.vn/cchc-thang-3 lúc 10/03/2024 09:00" in item.text()
    done = client.post(
        f"/proposals/{ids[PAPER]}/confirm",
        data={"csrf": _csrf(page), "next": f"/o/{PAPER}", "issue_number": "12", "page": "3"},
    )
    assert done.status_code == 303 and done.headers["location"].startswith(f"/o/{PAPER}?proposal=")

    dha = signed_in(app, "dha@snv.example", PASSWORD)
    seen = html(dha.get(f"/o/{PAPER}"))
    source = seen.one("dd", cls="entry-source")
    assert source.attrs["data-type"] == "feed"
    link = source.one("a").attrs["href"]
    assert link.endswith(snapshot.sha256)
    assert dha.get(link).content == SNAPSHOT  # the kept copy, by the existing evidence route
    history = seen.one("ol", id="history").text()
    assert "12" in history and "prod@bao.example" in history


def test_rejecting_needs_a_reason_and_another_agency_is_refused(site):
    app, ids, _tokens, _snapshot = site
    client = signed_in(app, "prod@dai.example", PASSWORD)
    page = client.get("/me")
    bare = client.post(f"/proposals/{ids[FIRST]}/reject", data={"csrf": _csrf(page), "next": "/me", "reason": " "})
    assert bare.status_code == 422 and "lý do" in bare.text.lower() and "(reason)" in bare.text
    other = client.post(f"/proposals/{ids[PAPER]}/confirm", data={"csrf": _csrf(page), "next": "/me"})
    assert other.status_code == 404
    expired = client.post(f"/proposals/{ids[FIRST]}/confirm", data={"csrf": "x", "next": "/me"})
    assert expired.status_code == 403
    away = client.post(
        f"/proposals/{ids[FIRST]}/reject",
        data={"csrf": _csrf(page), "next": "https://evil.example/", "reason": "trùng"},
    )
    assert away.status_code == 303 and away.headers["location"].startswith("/?proposal=")  # never off the site
    occurrence = html(client.get(f"/o/{FIRST}"))
    assert "Đã từ chối bởi prod@dai.example" in occurrence.one("li", id=f"proposal-{ids[FIRST]}").text()
    assert "trùng" in occurrence.one("li", id=f"proposal-{ids[FIRST]}").text()


def test_the_api_lists_confirms_and_rejects_with_the_right_answers(site):
    app, ids, tokens, _snapshot = site
    api = TestClient(app)
    mine = api.get("/api/proposals", headers=tokens["prod@dai.example"])
    assert mine.status_code == 200 and [p["id"] for p in mine.json()] == [ids[FIRST]]
    assert api.get("/api/proposals?outlet=bao-phu-tho", headers=tokens["prod@dai.example"]).status_code == 403
    every = api.get("/api/proposals?state=open", headers=tokens["dha@snv.example"])
    assert {p["id"] for p in every.json()} == set(ids.values())
    bad = api.get("/api/proposals?state=maybe", headers=tokens["dha@snv.example"])
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "state"]
    assert api.get("/api/proposals?limit=0", headers=tokens["dha@snv.example"]).status_code == 422
    assert api.get("/api/proposals").status_code == 401

    other = api.post(f"/api/proposals/{ids[FIRST]}/confirm", headers=tokens["prod@bao.example"], json={})
    assert other.status_code == 404
    dha = api.post(f"/api/proposals/{ids[FIRST]}/confirm", headers=tokens["dha@snv.example"], json={})
    assert dha.status_code == 403
    done = api.post(f"/api/proposals/{ids[FIRST]}/confirm", headers=tokens["prod@dai.example"], json={"note": "ok"})
    assert done.status_code == 201 and done.json()["state"] == "on_time" and done.json()["occurrence"] == FIRST
    seq = done.json()["seq"]
    twice = api.post(f"/api/proposals/{ids[FIRST]}/confirm", headers=tokens["prod@dai.example"])
    assert twice.status_code == 409 and twice.json()["detail"][0]["loc"] == ["body", "proposal"]
    entry = api.get(f"/api/occurrences/{FIRST}", headers=tokens["dha@snv.example"]).json()["entries"][0]
    assert entry["seq"] == seq and entry["recorded_by"] == "prod@dai.example"
    assert entry["payload"]["source"]["proposal"] == ids[FIRST] and entry["payload"]["source"]["rows"] == [12, 13]

    paper = f"/api/proposals/{ids[PAPER]}"
    no_reason = api.post(f"{paper}/reject", headers=tokens["prod@bao.example"], json={})
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0]["loc"] == ["body", "reason"]
    blank = api.post(f"{paper}/reject", headers=tokens["prod@bao.example"], json={"reason": "  "})
    assert blank.status_code == 422 and blank.json()["detail"][0]["loc"][-1] == "reason"
    long = api.post(f"{paper}/reject", headers=tokens["prod@bao.example"], json={"reason": "x" * 1001})
    assert long.status_code == 422
    bad_field = api.post(f"{paper}/confirm", headers=tokens["prod@bao.example"], json={"fields": {"colour": "x"}})
    assert bad_field.status_code == 422 and bad_field.json()["detail"][0]["loc"][-1] == "colour"
    rejected = api.post(f"{paper}/reject", headers=tokens["prod@bao.example"], json={"reason": "bài cũ"})
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    assert (
        api.post("/api/proposals/999999/reject", headers=tokens["prod@bao.example"], json={"reason": "x"}).status_code
        == 404
    )
    huge = api.post("/api/proposals/4294967296/confirm", headers=tokens["prod@bao.example"], json={})
    assert huge.status_code == 404  # beyond any stored id, on PostgreSQL too
    ledger = api.get("/api/ledger/verify", headers=tokens["dha@snv.example"])
    assert ledger.status_code == 200 and ledger.json()["ok"] is True
