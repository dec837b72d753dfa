"""One occurrence moved or skipped from the web (issue 16, item 5), through
the real app over HTTP on SQLite and PostgreSQL: who may, what the feed and
the outbox show, what a later load does with it, the export read back as a
production file, and bad input answered with the field named."""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime
from pathlib import Path

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from html_tree import html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.settings import Settings
from scheduler.store import feed_cache
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.store.tables import MilestoneRow, OccurrenceExceptionRow, OccurrenceRow, OutboxRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password

ROOT = Path(__file__).resolve().parent.parent
APRIL = "phu-tho-2024.cchc-radio-tv.2024-04.1"
APRIL_2 = "phu-tho-2024.cchc-radio-tv.2024-04.2"
NOW = "2024-03-20 10:00"
PASSWORD = "mat-khau-du-dai"
PEOPLE = {
    "prod@dai.example": ("producer", "dai-ptth"),
    "prod@bao.example": ("producer", "bao-phu-tho"),
    "ed@dai.example": ("editor", "dai-ptth"),
    "ed@none.example": ("editor", None),
    "admin@x.example": ("admin", None),
}


class Site:
    """The bundled plan loaded from a folder of our own, its people, and the
    app as if it were 20/03/2024 10:00."""

    def __init__(self, db: Database, cli, files: Path):
        self.db, self.cli, self.files = db, cli, files
        self.app = create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ)))

    def client(self, email: str) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        form = html(client.get("/login")).one("form", id="login")
        csrf = form.one("input", name="csrf").attrs["value"]
        r = client.post("/login", data={"csrf": csrf, "email": email, "password": PASSWORD, "next": "/calendar"})
        assert r.status_code == 303, r.text
        return client

    def change(self, client: TestClient, oid: str = APRIL, **fields):
        page = html(client.get(f"/o/{oid}"))
        csrf = page.one("form", id="change-form").one("input", name="csrf").attrs["value"]
        return client.post(f"/o/{oid}/changes", data={"csrf": csrf, **fields})

    def row(self, oid: str = APRIL) -> OccurrenceRow:
        with self.db.transaction() as s:
            row = s.get(OccurrenceRow, oid)
            s.expunge(row)
            return row

    def exceptions(self) -> list[OccurrenceExceptionRow]:
        with self.db.transaction() as s:
            rows = list(s.scalars(select(OccurrenceExceptionRow).order_by(OccurrenceExceptionRow.id)))
            s.expunge_all()
            return rows

    def load(self):
        result = self.cli("load", self.files, "--now", NOW)
        assert result.code == 0, result.err
        return result


@pytest.fixture
def site(cli, db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(feed_cache, "REFRESH_SECONDS", 0.0)  # a feed asked right after a change sees it
    files = tmp_path / "files"
    files.mkdir()
    shutil.copy(ROOT / "schedules" / "phu-tho-2024.yaml", files)
    assert cli("load", files, "--now", "2024-01-02").code == 0
    for email, (role, agency) in PEOPLE.items():
        assert cli("users", "add", email, "--role", role, *(["--agency", agency] if agency else [])).code == 0
    db = Database(db_url)
    with db.transaction() as s:
        for email in PEOPLE:
            set_password(s, find_user(s, email), PASSWORD, parse_now(NOW, DEFAULT_TZ))
    yield Site(db, cli, files)
    db.close()


def _events(body: bytes) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}


def _feed(site: Site, token: str) -> dict[str, icalendar.Event]:
    r = TestClient(site.app).get(f"/feeds/{token}.ics")
    assert r.status_code == 200
    return {uid: e for uid, e in _events(r.content).items() if APRIL in uid and "milestone" not in uid.lower()}


def test_the_host_s_producer_moves_one_occurrence_and_the_feed_and_outbox_follow(site):
    subscribed = site.cli("subscribe", "--email", "bientap@dai.example", "--obligation", "cchc-radio-tv")
    token = re.search(r"/feeds/([A-Za-z0-9_-]+)\.ics", subscribed.out)[1]
    before_feed = _feed(site, token)
    assert len(before_feed) == 1
    uid, before_event = next(iter(before_feed.items()))
    before = site.row()
    client = site.client("prod@dai.example")
    page = html(client.get(f"/o/{APRIL}"))
    assert page.one("form", id="change-form").attrs["action"] == f"/o/{APRIL}/changes"

    r = site.change(client, action="move", slot="2024-04-10T20:00", due="", reason="Trùng lịch phát sóng đặc biệt")
    assert r.status_code == 303 and r.headers["location"].startswith(f"/o/{APRIL}"), r.text

    after = site.row()
    local = after.slot.astimezone(DEFAULT_TZ)
    assert (local.date(), local.hour, local.minute) == (date(2024, 4, 10), 20, 0)
    assert after.due == after.slot and after.revision == before.revision + 1
    assert after.reason == "Trùng lịch phát sóng đặc biệt" and after.status == "scheduled"
    with site.db.transaction() as s:
        days = [m.day for m in s.scalars(select(MilestoneRow).where(MilestoneRow.occurrence_id == APRIL))]
        notices = list(s.scalars(select(OutboxRow).where(OutboxRow.kind == "moved", OutboxRow.about.contains(APRIL))))
    assert days and max(days) <= date(2024, 4, 10) and min(days) < date(2024, 4, 10)
    assert {n.recipient for n in notices} >= {"bientap@daiptth.phutho.example"}

    event = _feed(site, token)[uid]  # the same UID, a higher SEQUENCE, the new start
    assert int(event["SEQUENCE"]) > int(before_event["SEQUENCE"])
    assert event.decoded("DTSTART").astimezone(DEFAULT_TZ) == datetime(2024, 4, 10, 20, 0, tzinfo=DEFAULT_TZ)
    shown = html(client.get(f"/o/{APRIL}")).text()
    assert "Trùng lịch phát sóng đặc biệt" in shown
    (ex,) = site.exceptions()
    assert (ex.action, ex.made_by, ex.overridden_at) == ("move", "prod@dai.example", None)


def test_another_agency_is_refused_and_an_editor_of_the_host_may(site):
    other = site.client("prod@bao.example")
    assert not html(other.get(f"/o/{APRIL}")).all("form", id="change-form")
    csrf = html(other.get("/calendar")).all("input", name="csrf")[0].attrs["value"]
    r = other.post(f"/o/{APRIL}/changes", data={"csrf": csrf, "action": "skip", "reason": "không"})
    assert r.status_code == 403 and "dai-ptth" in html(r).text()
    lonely = site.client("ed@none.example")
    csrf = html(lonely.get("/calendar")).all("input", name="csrf")[0].attrs["value"]
    assert lonely.post(f"/o/{APRIL}/changes", data={"csrf": csrf, "action": "skip", "reason": "x"}).status_code == 403
    assert site.row().revision == 1 and site.exceptions() == []

    editor = site.client("ed@dai.example")
    r = site.change(editor, action="move", due="2024-04-12T17:00", reason="Biên tập đề nghị")
    assert r.status_code == 303
    assert site.row().due.astimezone(DEFAULT_TZ) == datetime(2024, 4, 12, 17, 0, tzinfo=DEFAULT_TZ)


def test_skip_with_a_reason_cancels_it_and_tells_the_people(site):
    r = site.change(site.client("admin@x.example"), action="skip", reason="Nghỉ lễ 30/4")
    assert r.status_code == 303
    row = site.row()
    assert (row.status, row.reason, row.revision) == ("cancelled", "Nghỉ lễ 30/4", 2)
    with site.db.transaction() as s:
        assert s.scalar(select(OutboxRow).where(OutboxRow.kind == "cancelled", OutboxRow.about.contains(APRIL)))


def test_a_load_that_does_not_touch_it_keeps_it(site):
    assert (
        site.change(site.client("prod@dai.example"), action="move", slot="2024-04-10T20:00", reason="Dời").status_code
        == 303
    )
    moved = site.row()
    result = site.load()
    assert "warning" not in result.err
    kept = site.row()
    assert (kept.revision, kept.slot, kept.fingerprint) == (moved.revision, moved.slot, moved.fingerprint)
    assert site.exceptions()[0].overridden_at is None


def test_a_file_exception_on_the_same_occurrence_wins_and_says_so(site):
    assert (
        site.change(site.client("prod@dai.example"), action="move", slot="2024-04-10T20:00", reason="Dời").status_code
        == 303
    )
    (site.files / "dai-ptth.yaml").write_text(
        "production:\n  plan: phu-tho-2024\n  owner: dai-ptth\nobligations:\n  cchc-radio-tv:\n    exceptions:\n"
        '      - occurrence: "2024-04 #1"\n        reason: Lịch của đài\n        due: 2024-04-08 17:00\n',
        encoding="utf-8",
    )
    result = site.load()
    assert "2024-04 #1" in result.err and "prod@dai.example" in result.err and "plan export" in result.err
    row = site.row()
    assert row.due.astimezone(DEFAULT_TZ) == datetime(2024, 4, 8, 17, 0, tzinfo=DEFAULT_TZ) and row.slot is None
    (ex,) = site.exceptions()
    assert ex.overridden_at is not None and ex.overridden_by.endswith("phu-tho-2024.yaml")


def test_the_export_reads_back_as_a_production_file_with_the_same_occurrences(site, tmp_path):
    client = site.client("prod@dai.example")
    assert site.change(client, action="move", slot="2024-04-10T20:00", reason='Dời "đặc biệt": #1').status_code == 303
    assert site.change(client, APRIL_2, action="skip", reason="Nghỉ").status_code == 303
    shown = {oid: site.row(oid).shown for oid in (APRIL, APRIL_2)}
    revisions = {oid: site.row(oid).revision for oid in (APRIL, APRIL_2)}
    out = tmp_path / "web.yaml"
    result = site.cli("plan", "export", "--plan", "phu-tho-2024", "--out", out)
    assert result.code == 0, result.err
    text = out.read_text(encoding="utf-8")
    assert "prod@dai.example" in text and text.count("# cchc-radio-tv 2024-04") == 2
    admin = site.client("admin@x.example")
    assert (
        html(admin.get("/admin/schedules")).one("a", id="web-changes").attrs["href"] == "/admin/schedules/web-changes"
    )
    download = admin.get("/admin/schedules/web-changes")
    assert download.status_code == 200 and download.content.decode("utf-8") == text
    assert client.get("/admin/schedules/web-changes").status_code == 403
    shutil.copy(out, site.files / "web.yaml")
    result = site.load()  # the file now names both: it wins, and says so
    assert result.err.count("prod@dai.example") == 2 and "plan export" not in result.err  # kept by the file now
    for oid in (APRIL, APRIL_2):
        assert site.row(oid).shown == shown[oid] and site.row(oid).revision == revisions[oid]
    assert all(ex.overridden_at is not None for ex in site.exceptions())
    assert site.cli("plan", "export", "--plan", "nope").code != 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"action": "move", "slot": "2024-05-10T20:00", "reason": "Dời"}, "slot"),
        ({"action": "move", "due": "31/03/2024 17:00", "reason": "Dời"}, "due"),
        ({"action": "move", "slot": "2024-04-10T20:00", "reason": "  "}, "reason"),
        ({"action": "move", "slot": "not a moment", "reason": "Dời"}, "slot"),
        ({"action": "move", "reason": "Dời"}, "slot"),
        ({"action": "postpone", "reason": "Dời"}, "action"),
    ],
)
def test_bad_input_is_refused_with_its_field_named(site, fields, field):
    client = site.client("prod@dai.example")
    r = site.change(client, **fields)
    assert r.status_code == 422, r.text
    page = html(r)
    assert page.one("p", id="change-error").attrs["data-field"] == field
    assert page.one("form", id="change-form")  # the form again, with its values
    assert site.row().revision == 1 and site.exceptions() == []


def test_a_huge_reason_is_refused_and_the_api_answers_the_same_rule(site, cli):
    client = site.client("prod@dai.example")
    r = site.change(client, action="skip", reason="x" * 20_000)
    assert r.status_code == 422 and "reason" in html(r).text()
    token = {"Authorization": f"Bearer {cli('tokens', 'create', '--user', 'prod@dai.example').out.split()[-1]}"}
    api = TestClient(site.app)
    bad = api.post(
        f"/api/occurrences/{APRIL}/changes",
        json={"action": "move", "slot": "2024-06-01 10:00", "reason": "x"},
        headers=token,
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "slot"]
    unknown = api.post(f"/api/occurrences/{APRIL}/changes", json={"action": "later", "reason": "x"}, headers=token)
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"][-1] == "action"
    other = {"Authorization": f"Bearer {cli('tokens', 'create', '--user', 'prod@bao.example').out.split()[-1]}"}
    assert (
        api.post(f"/api/occurrences/{APRIL}/changes", json={"action": "skip", "reason": "x"}, headers=other).status_code
        == 403
    )
    assert (
        api.post("/api/occurrences/nope/changes", json={"action": "skip", "reason": "x"}, headers=token).status_code
        == 404
    )
    ok = api.post(
        f"/api/occurrences/{APRIL}/changes",
        json={"action": "move", "slot": "2024-04-10 20:00", "reason": "Dời"},
        headers=token,
    )
    assert ok.status_code == 201 and ok.json()["revision"] == 2 and ok.json()["made_by"] == "prod@dai.example"


def test_a_group_member_moves_its_own_occurrence_and_the_export_names_the_member(site, cli, tmp_path):
    shutil.copy(ROOT / "tests" / "data" / "plans" / "ngoc-son-2024.yaml", site.files)
    site.load()
    assert cli("users", "add", "xa@hb.example", "--role", "producer", "--agency", "xa-hoa-binh").code == 0
    with site.db.transaction() as s:
        set_password(s, find_user(s, "xa@hb.example"), PASSWORD, parse_now(NOW, DEFAULT_TZ))
        query = select(OccurrenceRow).where(
            OccurrenceRow.obligation_code == "loa-xa",
            OccurrenceRow.member == "xa-hoa-binh",
            OccurrenceRow.window_start >= datetime(2024, 4, 1, tzinfo=DEFAULT_TZ),
        )
        row = s.scalars(query.order_by(OccurrenceRow.due)).first()
        oid, day, host = row.id, row.due.astimezone(DEFAULT_TZ).date(), row.agency_code
    assert host == "xa-hoa-binh"
    client = site.client("xa@hb.example")
    r = site.change(client, oid, action="move", slot=f"{day.isoformat()}T06:30", reason="Mất điện")
    assert r.status_code == 303, r.text
    moved = site.row(oid)
    assert moved.slot.astimezone(DEFAULT_TZ).time().isoformat() == "06:30:00"
    site.load()
    assert site.row(oid).revision == moved.revision  # kept
    out = tmp_path / "group.yaml"
    assert cli("plan", "export", "--plan", "ngoc-son-2024", "--out", out).code == 0
    text = out.read_text(encoding="utf-8")
    assert "owner: cac-xa-thi-tran" in text and "member: xa-hoa-binh" in text
    shutil.copy(out, site.files / "group.yaml")
    site.load()
    assert site.row(oid).shown == moved.shown and site.row(oid).revision == moved.revision
