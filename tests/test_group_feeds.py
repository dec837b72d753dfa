"""A calendar subscribed to a group's code holds its members' occurrences
(in the group's plan) and nothing else, through the feed cache, and stays
right when a later load changes the members; the calendar page filtered by
the group shows the same. Real files, SQLite and PostgreSQL, real HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from scheduler.people.accounts import FeedScope
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.tables import LoadRow, OccurrenceRow

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ROOT / "tests" / "data" / "forms" / "groups.yaml"
NOW = "2026-03-20 10:00"
# Beside the group's own obligation: one of an agency outside the group, one
# of a member on its own (a member's occurrences are the group's too, as the
# reports and the calendar filter count them), and a second group that hosts
# nothing (its members can change while no occurrence does).
EXTRA_AGENCIES = """  - code: thon-moi
    name: Thôn Mới
    kind: village
  - code: thon-lon
    name: Các thôn lớn
    kind: group
    members: [thon-dong]
"""
EXTRA_OBLIGATIONS = """  - code: trang-tin-xa
    title: Chuyên mục cải cách hành chính trên trang thông tin điện tử xã
    host: van-phong
    channels: [online]
    cadence: 1 per quarter
  - code: loa-thon-dong
    title: Tin cải cách hành chính trên loa truyền thanh thôn Đồng
    host: thon-dong
    channels: [loudspeaker]
    cadence: 1 per quarter
"""


def plan_text(members: str = "thon-dong, thon-trung, to-dan-pho-1", big: str = "thon-dong") -> str:
    """The commune plan of tests/data/forms/groups.yaml with the extras, its
    group's members (and the second group's) as given; Thôn Mới is declared."""
    text = GROUPS.read_text(encoding="utf-8")
    text = text.replace("members: [thon-dong, thon-trung, to-dan-pho-1]", f"members: [{members}]")
    extra = EXTRA_AGENCIES.replace("[thon-dong]", f"[{big}]")
    text = text.replace("\nobligations:\n", extra + "\nobligations:\n")
    return text + EXTRA_OBLIGATIONS


def occurrences_of(db: Database, *agencies: str) -> set[str]:
    with db.transaction() as s:
        return set(s.scalars(select(OccurrenceRow.id).where(OccurrenceRow.agency_code.in_(agencies))))


def events(body: bytes) -> tuple[str, set[str]]:
    """The calendar's name and the occurrence ids of its events."""
    cal = icalendar.Calendar.from_ical(body)
    ids = {str(e["UID"]).removeprefix("occurrence-").split("@")[0] for e in cal.walk("VEVENT")}
    return str(cal["X-WR-CALNAME"]), ids


@pytest.fixture
def commune(cli, db_url, tmp_path):
    """The plan loaded from a file the tests rewrite; the app as of 20/03/2026."""
    from scheduler.cli.context import DEFAULT_TZ
    from scheduler.clock import Clock, parse_now
    from scheduler.web.app import create_app

    path = tmp_path / "xa.yaml"
    path.write_text(plan_text(), encoding="utf-8")
    loaded = cli("load", path, "--now", "2026-01-05")
    assert loaded.code == 0, loaded.err
    db = Database(db_url)
    client = TestClient(create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ))))
    yield client, db, path
    db.close()


def subscribe(cli, *args: str) -> str:
    result = cli("subscribe", "--email", "watch@x.example", *args, "--no-milestones")
    assert result.code == 0, result.err
    return "/feeds/" + result.out.split("/feeds/")[1].split(".ics")[0] + ".ics"


def reload(cli, path: Path, text: str, now: str) -> None:
    path.write_text(text, encoding="utf-8")
    loaded = cli("load", path, "--now", now)
    assert loaded.code == 0, loaded.err
    time.sleep(1.05)  # the cache looks at the database at most once a second


def test_the_groups_feed_holds_every_members_occurrences_and_nothing_else(cli, commune):
    client, db, _ = commune
    url = subscribe(cli, "--agency", "cac-thon")
    time.sleep(1.05)
    answer = client.get(url)
    assert answer.status_code == 200, answer.text
    name, ids = events(answer.content)
    assert "Các thôn, tổ dân phố" in name  # the group's name, not a member's
    expected = occurrences_of(db, "thon-dong", "thon-trung", "to-dan-pho-1")
    assert len(expected) == 16  # 3 members × 4 quarters, and Thôn Đồng's own loudspeaker 4
    assert ids == expected
    assert not ids & occurrences_of(db, "van-phong", "ubnd-xa", "thon-moi")


def test_a_member_added_by_a_load_appears_in_the_same_feed_and_one_removed_goes(cli, commune):
    client, db, path = commune
    url = subscribe(cli, "--agency", "cac-thon")
    time.sleep(1.05)
    before = client.get(url)
    _, ids = events(before.content)
    assert not ids & occurrences_of(db, "thon-moi")
    reload(cli, path, plan_text("thon-dong, thon-trung, to-dan-pho-1, thon-moi"), "2026-01-06")
    after = client.get(url)
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    _, now_ids = events(after.content)
    added = occurrences_of(db, "thon-moi")
    assert len(added) == 4 and now_ids == ids | added
    reload(cli, path, plan_text("thon-dong, thon-trung, thon-moi"), "2026-01-07")
    _, fewer = events(client.get(url).content)
    assert fewer == now_ids - occurrences_of(db, "to-dan-pho-1") and len(fewer) == 16


def test_members_changed_alone_change_the_feed_and_its_date(cli, commune):
    """Thôn lớn hosts nothing: a load that adds Thôn Trung to it changes no
    occurrence, yet its feed now holds Thôn Trung's, and a client asking by
    date (Apple Calendar) is not told 304."""
    client, db, path = commune
    url = subscribe(cli, "--agency", "thon-lon")
    time.sleep(1.05)
    before = client.get(url)
    assert events(before.content)[1] == occurrences_of(db, "thon-dong")
    reload(cli, path, plan_text(big="thon-dong, thon-trung"), "2026-01-06")
    with db.transaction() as s:
        last = s.scalars(select(LoadRow).order_by(LoadRow.id.desc())).first()
        assert (last.created, last.revised, last.cancelled) == (0, 0, 0)
    after = client.get(url, headers={"If-Modified-Since": before.headers["last-modified"]})
    assert after.status_code == 200
    assert after.headers["last-modified"] != before.headers["last-modified"]
    assert events(after.content)[1] == occurrences_of(db, "thon-dong", "thon-trung")
    again = client.get(url, headers={"If-Modified-Since": after.headers["last-modified"]})
    assert again.status_code == 304


def test_the_exported_file_of_a_group_subscription_holds_its_members(cli, commune, tmp_path):
    _, db, _ = commune
    subscribe(cli, "--agency", "cac-thon")
    exported = cli("feeds", "export")
    assert exported.code == 0, exported.err
    (path,) = (tmp_path / "outputs" / "feeds").glob("*.ics")
    assert events(path.read_bytes())[1] == occurrences_of(db, "thon-dong", "thon-trung", "to-dan-pho-1")


def test_the_calendar_page_filtered_by_the_group_shows_its_members_and_subscribes_to_them(cli, commune):
    from urllib.parse import urlsplit

    from html_tree import html
    from scheduler.cli.context import DEFAULT_TZ
    from scheduler.clock import parse_now
    from scheduler.store.people import find_user
    from scheduler.web.auth import set_password

    client, db, _ = commune
    assert cli("users", "add", "dha@xa.example", "--role", "dha", "--agency", "ubnd-xa").code == 0
    with db.transaction() as s:
        set_password(s, find_user(s, "dha@xa.example"), "một mật khẩu đủ dài 2026", parse_now(NOW, DEFAULT_TZ))
    token = html(client.get("/login")).one("form", id="login").one("input", name="csrf").attrs["value"]
    form = {"csrf": token, "email": "dha@xa.example", "password": "một mật khẩu đủ dài 2026", "next": "/"}
    assert client.post("/login", data=form).status_code in (200, 303)
    answer = client.get("/calendar", params={"agency": "cac-thon", "month": "2026-03"})
    assert answer.status_code == 200, answer.text
    page = html(answer)
    shown = {li.attrs["data-id"] for li in page.one("table", id="month-grid").all("li", cls="occurrence")}
    members = occurrences_of(db, "thon-dong", "thon-trung", "to-dan-pho-1")
    assert shown == {i for i in members if ".2026-Q1." in i} and len(shown) == 4  # 3 meetings, 1 loudspeaker
    assert "forms-groups.trang-tin-xa.2026-Q1.1" in occurrences_of(db, "van-phong")  # due in March, not shown
    # the page's "subscribe to this view", then its feed
    csrf = page.one("form", action="/logout").one("input", name="csrf").attrs["value"]
    made = client.post("/subscriptions", data={"csrf": csrf, "agency": "cac-thon", "milestones": "0"})
    assert made.status_code == 201, made.text
    url = urlsplit(html(made).one("input", id="feed-url").attrs["value"]).path
    time.sleep(1.05)
    assert events(client.get(url).content)[1] == members


def test_a_group_scope_admits_its_members_in_its_plan_only():
    scope = FeedScope(agency="cac-thon", members=frozenset({("xa", "thon-dong"), ("xa", "thon-trung")}))
    assert scope.admits("xa", "thon-dong", "o", " meeting ", "occurrence")
    assert scope.admits("xa", "cac-thon", "o", " meeting ", "occurrence")
    assert not scope.admits("other", "thon-dong", "o", " meeting ", "occurrence")
    assert not scope.admits("xa", "van-phong", "o", " meeting ", "occurrence")
    assert scope != FeedScope(agency="cac-thon")  # another member list is another feed
