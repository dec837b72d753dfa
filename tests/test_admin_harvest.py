"""The harvest as administrators see and steer it, over real HTTP on SQLite
and PostgreSQL: every source the files name with its state and last error,
a source's history, "read at the next pass", a pause that outlives loading
the same files again; the API for administrators and the DHA, bounded; the
``harvest sources`` command."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import web_session
from html_tree import html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.store.tables import HarvestFetchRow, HarvestSourceRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password

FORMS = Path(__file__).parent / "data" / "forms"
FILES = ("production-plan.yaml", "harvest.yaml", "continuous.yaml", "harvest-checks.yaml")
NOW = "2024-03-18 07:30"  # half an hour after the failed check
AT = parse_now(NOW, DEFAULT_TZ)
PASSWORD = "mat-khau-du-dai"
ADMIN, DHA, PRODUCER = "quantri@tttt.example", "dha@snv.example", "prod@baophutho.example"
FEED = "https://baophutho.example/rss/cai-cach-hanh-chinh.rss"
PORTAL = "https://sotttt.phutho.example/cchc"


class Site:
    def __init__(self, db: Database, cli, schedules: Path, tokens: dict[str, dict]):
        self.db, self.cli, self.schedules, self.tokens = db, cli, schedules, tokens
        self.app = create_app(Settings.load(), db, Clock(DEFAULT_TZ, AT))

    def client(self, email: str | None = None) -> TestClient:
        if email is None:
            return TestClient(self.app, follow_redirects=False)
        return web_session.signed_in(self.app, email, PASSWORD)

    def source(self, url: str) -> HarvestSourceRow:
        with self.db.transaction() as s:
            row = s.scalars(select(HarvestSourceRow).where(HarvestSourceRow.url == url)).one()
            s.expunge(row)
            return row

    def load(self):
        result = self.cli("load", self.schedules, "--now", "2024-03-21")
        assert result.code == 0, result.err


def _token(cli, email: str) -> dict:
    result = cli("tokens", "create", "--user", email)
    assert result.code == 0, result.err
    return {"Authorization": f"Bearer {result.out.strip().splitlines()[-1]}"}


@pytest.fixture
def site(cli, db_url, tmp_path):
    """The newspaper's feed and sitemap and the department's two portal
    checks loaded; the portal page read three times, the last one a 404."""
    schedules = tmp_path / "schedules"
    schedules.mkdir()
    for name in FILES:
        shutil.copy(FORMS / name, schedules / name)
    assert cli("load", schedules, "--now", "2024-03-15").code == 0
    people = {ADMIN: ("admin", None), DHA: ("dha", None), PRODUCER: ("producer", "bao-phu-tho")}
    for email, (role, agency) in people.items():
        assert cli("users", "add", email, "--role", role, *(["--agency", agency] if agency else [])).code == 0, email
    tokens = {email: _token(cli, email) for email in people}
    db = Database(db_url)
    with db.transaction() as s:
        for email in people:
            set_password(s, find_user(s, email), PASSWORD, AT)
        portal = s.scalars(select(HarvestSourceRow).where(HarvestSourceRow.url == PORTAL)).one()
        for day, ok, status, error in (
            (16, True, 200, ""),
            (17, True, 200, ""),
            (18, False, 404, "máy chủ trả lời 404 Not Found"),
        ):
            at = datetime(2024, 3, day, 0, 0, tzinfo=DEFAULT_TZ) + timedelta(hours=7)
            s.add(HarvestFetchRow(source_id=portal.id, at=at, ok=ok, status=status, error=error, size=2048 * ok,
                                  found=0, detail={}))  # fmt: skip
        portal.last_at, portal.last_ok, portal.failures = at, False, 1
        portal.next_at = datetime(2024, 3, 18, 8, 0, tzinfo=DEFAULT_TZ)  # an hour after
    yield Site(db, cli, schedules, tokens)
    db.close()


def csrf(page) -> str:
    return page.all("input", name="csrf")[0].attrs["value"]


def rows(page) -> dict[str, dict[str, str]]:
    return {
        r.attrs["data-id"]: {"state": r.attrs["data-state"], "kind": r.attrs["data-kind"], "text": r.text()}
        for r in page.one("table", id="sources").all("tr")
        if "data-id" in r.attrs
    }


def test_the_admin_sees_every_source_its_last_error_and_its_history(site):
    admin = site.client(ADMIN)
    answer = admin.get("/admin/harvest")
    assert answer.status_code == 200
    page = html(answer)
    found = rows(page)
    assert sorted(r["kind"] for r in found.values()) == ["check", "check", "feed", "sitemap"]
    portal = site.source(PORTAL)
    assert found[str(portal.id)]["state"] == "failing"
    assert "lỗi: máy chủ trả lời 404 Not Found" in found[str(portal.id)]["text"]  # the error in words
    assert "18/03/2024 08:00" in found[str(portal.id)]["text"]  # next read, in Vietnam's time
    assert "chưa đọc lần nào" in found[str(site.source(FEED).id)]["text"]
    assert page.one("a", href="/admin/harvest").attrs.get("aria-current") == "page"  # in the admin menu
    assert set(rows(html(admin.get("/admin/harvest?kind=check")))) == {
        str(portal.id),
        str(site.source("https://sotttt.phutho.example/").id),
    }
    assert set(rows(html(admin.get("/admin/harvest?state=failing")))) == {str(portal.id)}
    assert {r["kind"] for r in rows(html(admin.get("/admin/harvest?outlet=bao-phu-tho"))).values()} == {
        "feed",
        "sitemap",
    }
    detail = html(admin.get(f"/admin/harvest/{portal.id}"))
    history = [r for r in detail.one("table", id="fetches").all("tr") if "data-ok" in r.attrs]
    assert [r.attrs["data-ok"] for r in history] == ["no", "yes", "yes"]  # the newest first
    assert "18/03/2024 07:00" in history[0].text() and "404" in history[0].text()
    assert "máy chủ trả lời 404 Not Found" in history[0].text()
    assert "16/03/2024 07:00" in history[2].text() and "2048" in history[2].text()
    for bad, field in (("kind=tv", "kind"), ("state=broken", "state"), ("page=0", "page"), ("page=x", "page")):
        refused = admin.get(f"/admin/harvest?{bad}")
        assert refused.status_code == 422 and f"({field})" in refused.text, bad
    assert admin.get("/admin/harvest?outlet=" + "x" * 101).status_code == 422
    for missing in ("999999", "abc", "9" * 30):
        assert admin.get(f"/admin/harvest/{missing}").status_code == 404


def test_the_list_is_paged(site):
    with site.db.transaction() as s:
        for i in range(60):
            s.add(HarvestSourceRow(kind="feed", url=f"https://tin.example/{i:02}.rss", host="tin.example",
                                   outlet="bao-tin", plan_code="forms-production", obligation_code="", config={},
                                   active=True, next_at=AT, etag="", last_modified="", failures=0))  # fmt: skip
    admin = site.client(ADMIN)
    first = html(admin.get("/admin/harvest?outlet=bao-tin"))
    assert len(rows(first)) == 50
    assert "60" in first.one("p", id="source-count").text()
    second = html(admin.get(first.one("a", id="next-page").attrs["href"]))
    assert len(rows(second)) == 10 and not second.all("a", id="next-page")
    assert set(rows(first)).isdisjoint(rows(second))
    assert len(rows(html(admin.get("/admin/harvest?outlet=bao-tin&page=3")))) == 0


def test_others_may_not_see_or_steer_the_harvest(site):
    portal = site.source(PORTAL)
    for email in (PRODUCER, DHA):
        client = site.client(email)
        token = csrf(html(client.get("/me")))
        for path in ("/admin/harvest", f"/admin/harvest/{portal.id}"):
            assert client.get(path).status_code == 403, (email, path)
        for action in ("fetch-now", "pause", "resume"):
            assert client.post(f"/admin/harvest/{portal.id}/{action}", data={"csrf": token}).status_code == 403
    assert site.client().get("/admin/harvest").status_code == 303  # to sign in
    after = site.source(PORTAL)
    assert (after.next_at, after.active, after.config) == (portal.next_at, portal.active, portal.config)


def test_fetch_now_makes_the_source_due_at_once(site):
    admin = site.client(ADMIN)
    portal = site.source(PORTAL)
    assert portal.next_at > AT
    page = html(admin.get(f"/admin/harvest/{portal.id}"))
    assert admin.post(f"/admin/harvest/{portal.id}/fetch-now", data={"csrf": "wrong"}).status_code == 403
    assert site.source(PORTAL).next_at == portal.next_at
    answer = admin.post(f"/admin/harvest/{portal.id}/fetch-now", data={"csrf": csrf(page)})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/admin/harvest/{portal.id}?done=fetch-now"
    assert AT <= site.source(PORTAL).next_at < AT + timedelta(minutes=1)  # the service clock runs on from AT
    shown = html(admin.get(answer.headers["location"]))
    assert "lần thu thập tiếp theo" in shown.one("p", id="done").text()
    assert admin.post("/admin/harvest/999999/fetch-now", data={"csrf": csrf(page)}).status_code == 404


def test_a_pause_outlives_loading_the_same_files_and_resume_undoes_it(site):
    admin = site.client(ADMIN)
    feed = site.source(FEED)
    token = csrf(html(admin.get(f"/admin/harvest/{feed.id}")))
    assert admin.post(f"/admin/harvest/{feed.id}/pause", data={"csrf": token}).status_code == 303
    paused = site.source(FEED)
    assert paused.active is False and paused.config.get("paused") is True
    site.load()  # the same files again: the administrator's pause stays
    again = site.source(FEED)
    assert again.active is False and again.config.get("paused") is True and again.id == feed.id
    assert html(admin.get(f"/admin/harvest/{feed.id}")).one("dd", id="source-state").text() == "tạm dừng"
    assert set(rows(html(admin.get("/admin/harvest?state=paused")))) == {str(feed.id)}
    refused = admin.post(f"/admin/harvest/{feed.id}/fetch-now", data={"csrf": token})
    assert refused.status_code == 409 and "không được đọc" in refused.text
    assert admin.post(f"/admin/harvest/{feed.id}/resume", data={"csrf": token}).status_code == 303
    resumed = site.source(FEED)
    assert resumed.active is True and "paused" not in resumed.config and resumed.next_at <= AT
    site.load()
    assert site.source(FEED).active is True
    assert all(site.source(u).active for u in (PORTAL, "https://baophutho.example/sitemap-news.xml"))


def test_resuming_a_source_the_files_no_longer_name_leaves_it_retired(site):
    admin = site.client(ADMIN)
    feed = site.source(FEED)
    token = csrf(html(admin.get(f"/admin/harvest/{feed.id}")))
    assert admin.post(f"/admin/harvest/{feed.id}/pause", data={"csrf": token}).status_code == 303
    (site.schedules / "harvest.yaml").unlink()  # the newspaper's section is gone
    site.load()
    assert site.source(FEED).active is False
    assert admin.post(f"/admin/harvest/{feed.id}/resume", data={"csrf": token}).status_code == 303
    resumed = site.source(FEED)
    assert resumed.active is False and "paused" not in resumed.config
    assert html(admin.get(f"/admin/harvest/{feed.id}")).one("dd", id="source-state").text() == "không còn trong các tệp"
    shutil.copy(FORMS / "harvest.yaml", site.schedules / "harvest.yaml")  # named again: read again
    site.load()
    assert site.source(FEED).active is True


def test_the_api_lists_sources_and_history_for_admins_and_the_dha_within_bounds(site):
    api = site.client()
    portal = site.source(PORTAL)
    for email in (ADMIN, DHA):
        answer = api.get("/api/harvest/sources", headers=site.tokens[email])
        assert answer.status_code == 200
        body = answer.json()
        assert body["total"] == 4 and len(body["sources"]) == 4
    listed = {s["url"]: s for s in body["sources"]}
    assert listed[PORTAL]["state"] == "failing" and listed[PORTAL]["last_error"] == "máy chủ trả lời 404 Not Found"
    assert listed[PORTAL]["last_at"] == "2024-03-18T07:00:00+07:00" and listed[PORTAL]["failures"] == 1
    assert listed[FEED]["last_ok"] is None and listed[FEED]["obligation"] is None
    one = api.get("/api/harvest/sources?limit=1&offset=1&kind=check", headers=site.tokens[DHA]).json()
    assert one["total"] == 2 and len(one["sources"]) == 1 and one["sources"][0]["kind"] == "check"
    history = api.get(f"/api/harvest/sources/{portal.id}/fetches", headers=site.tokens[ADMIN]).json()
    assert history["source"]["id"] == portal.id
    assert [(f["ok"], f["status"]) for f in history["fetches"]] == [(False, 404), (True, 200), (True, 200)]
    limited = api.get(f"/api/harvest/sources/{portal.id}/fetches?limit=1", headers=site.tokens[ADMIN]).json()
    assert len(limited["fetches"]) == 1 and limited["fetches"][0]["at"] == "2024-03-18T07:00:00+07:00"
    for path, where in (
        ("/api/harvest/sources?limit=501", ["query", "limit"]),
        ("/api/harvest/sources?limit=0", ["query", "limit"]),
        ("/api/harvest/sources?offset=-1", ["query", "offset"]),
        ("/api/harvest/sources?kind=tv", ["query", "kind"]),
        ("/api/harvest/sources?state=broken", ["query", "state"]),
        (f"/api/harvest/sources/{portal.id}/fetches?limit=101", ["query", "limit"]),
        ("/api/harvest/sources/0/fetches", ["path", "source_id"]),
    ):
        refused = api.get(path, headers=site.tokens[ADMIN])
        assert refused.status_code == 422, path
        assert refused.json()["detail"][0]["loc"] == where, path
    missing = api.get("/api/harvest/sources/999999/fetches", headers=site.tokens[ADMIN])
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]
    for path in ("/api/harvest/sources", f"/api/harvest/sources/{portal.id}/fetches"):
        assert api.get(path, headers=site.tokens[PRODUCER]).status_code == 403
        assert api.get(path).status_code == 401


def test_the_me_page_leads_a_producer_to_the_as_run_upload_and_the_proposals(site):
    page = html(site.client(PRODUCER).get("/me"))
    assert page.one("a", id="asrun-link").attrs["href"] == "/harvest/asrun"
    assert page.one("section", id="proposals")


def test_harvest_sources_lists_what_the_page_lists(site):
    result = site.cli("harvest", "sources", "--format", "json")
    assert result.code == 0, result.err
    listed = json.loads(result.out)
    assert sorted(s["kind"] for s in listed) == ["check", "check", "feed", "sitemap"]
    portal = next(s for s in listed if s["url"] == PORTAL)
    assert portal["state"] == "failing" and portal["last_error"] == "máy chủ trả lời 404 Not Found"
    table = site.cli("harvest", "sources", "--kind", "check")
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].startswith("Số\tLoại") or "Loại" in lines[0]  # Vietnamese first
    assert len(lines) == 3
    failing = next(line for line in lines if PORTAL in line)
    assert "lỗi: máy chủ trả lời 404 Not Found" in failing and "18/03/2024 08:00" in failing
    only = json.loads(site.cli("harvest", "sources", "--outlet", "bao-phu-tho", "--format", "json").out)
    assert {s["kind"] for s in only} == {"feed", "sitemap"}
    short = site.cli("harvest", "sources", "--limit", "1")
    assert short.code == 0 and "… và 3 nguồn nữa" in short.out
    bad = site.cli("harvest", "sources", "--limit", "0")
    assert bad.code != 0 and "--limit" in bad.err
    with pytest.raises(SystemExit):  # argparse names the choices
        site.cli("harvest", "sources", "--kind", "tv")
