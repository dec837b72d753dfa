"""Agency groups (docs/schedule-format.md 3.3.1): a group's members each owe
its obligations, with ids that carry the member and never change; each has
its own feed, reminders, permission and compliance row; reports roll the
members up into the group. Real files, SQLite and PostgreSQL, real HTTP."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from scheduler.errors import ScheduleError
from scheduler.plan.occurrences import expand
from scheduler.plan.production import read_texts
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.loading import save_schedules
from scheduler.store.tables import AgencyMemberRow, LoadRow, OccurrenceRow

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "tests" / "data" / "forms"
GROUPS = FORMS / "groups.yaml"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MEMBERS = ("thon-dong", "thon-trung", "to-dan-pho-1")
NOW = "2026-03-20 10:00"


def read(*texts: tuple[str, str]):
    return read_texts(list(texts))


def groups_text() -> str:
    return GROUPS.read_text(encoding="utf-8")


# ------------------------------------------------------------------ reading


def test_a_group_lists_its_members():
    plan = read(("groups.yaml", groups_text())).plans[0]
    group = plan.agency("cac-thon")
    assert group.kind == "group" and group.members == MEMBERS
    assert plan.agency("thon-dong").members == ()


def test_each_member_owes_its_own_occurrences_with_the_member_in_the_id():
    occurrences = expand(read(("groups.yaml", groups_text())).plans[0])
    assert len(occurrences) == 12
    assert [o.id for o in occurrences[:4]] == [
        f"forms-groups.sinh-hoat-thon.thon-dong.2026-Q{q}.1" for q in range(1, 5)
    ]
    assert [(o.agency, o.member) for o in occurrences[::4]] == [(m, m) for m in MEMBERS]
    assert {o.period for o in occurrences if o.agency == "to-dan-pho-1"} == {f"2026-Q{q}" for q in range(1, 5)}
    assert "member" not in occurrences[0].shown()  # the agency is shown; the member is the key


def test_an_exception_with_member_moves_only_that_members_occurrence_and_without_it_every_one():
    occurrences = {o.id: o for o in expand(read(("groups.yaml", groups_text())).plans[0])}
    moved = occurrences["forms-groups.sinh-hoat-thon.thon-trung.2026-Q3.1"]
    assert moved.due == datetime(2026, 9, 15, 17, 0, tzinfo=TZ) and moved.reason.startswith("Thôn Trung")
    assert occurrences["forms-groups.sinh-hoat-thon.thon-dong.2026-Q3.1"].due == datetime(2026, 9, 30, 17, tzinfo=TZ)
    every = groups_text().replace("        member: thon-trung\n", "")
    dues = {o.agency: o.due for o in expand(read(("g.yaml", every)).plans[0]) if o.period == "2026-Q3"}
    assert set(dues.values()) == {datetime(2026, 9, 15, 17, 0, tzinfo=TZ)} and len(dues) == 3


def test_an_exception_naming_a_non_member_is_an_error():
    text = groups_text().replace("member: thon-trung", "member: ubnd-xa")
    with pytest.raises(ScheduleError) as caught:
        read(("g.yaml", text))
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "member: ubnd-xa" in s)
    assert [p.render() for p in caught.value.problems] == [
        f'g.yaml:{line}: obligations[0].exceptions[0].member: "ubnd-xa" is not a member of cac-thon, which hosts '
        "this obligation (members: thon-dong, thon-trung, to-dan-pho-1)"
    ]


def test_hosts_that_are_not_groups_keep_their_ids():
    plan = read(("p.yaml", (ROOT / "schedules" / "phu-tho-2024.yaml").read_text(encoding="utf-8"))).plans[0]
    for o in expand(plan):
        assert o.member == "" and o.id == f"{plan.code}.{o.obligation}.{o.period}.{o.number}"


def test_a_group_without_members_warns_and_owes_nothing():
    path = FORMS / "groups-no-members.yaml"
    schedules = read((str(path), path.read_text(encoding="utf-8")))
    assert [w.render() for w in schedules.warnings] == [
        f"{path}:12: agencies[1].code: group cac-phong has no members yet; obligations it hosts owe nothing "
        "until members are listed"
    ]
    occurrences = expand(schedules.plans[0])
    assert {o.obligation for o in occurrences} == {"trang-tin-xa"}


def test_vietnamese_readers_are_told_in_vietnamese():
    from scheduler.i18n import gettext_for

    path = FORMS / "groups-no-members.yaml"
    warning = read((str(path), path.read_text(encoding="utf-8"))).warnings[0]
    assert "nhóm cac-phong chưa có thành viên" in warning.render(gettext_for("vi"))


# -------------------------------------------------------------------- store


def _load(db: Database, text: str, now: datetime):
    schedules = read(("groups.yaml", text))
    with db.transaction() as s:
        return save_schedules(s, schedules.plans, {}, now, Settings.load())[0][1]


def test_stored_per_member_and_stable_across_a_reload_that_renames_a_member(database):
    now = datetime(2026, 1, 5, 9, tzinfo=TZ)
    created = _load(database, groups_text(), now)
    assert len(created.created) == 12
    with database.transaction() as s:
        rows = {r.id: r for r in s.scalars(select(OccurrenceRow))}
        members = [(m.group_code, m.member_code) for m in s.scalars(select(AgencyMemberRow))]
    assert sorted(members) == sorted(("cac-thon", m) for m in MEMBERS)
    row = rows["forms-groups.sinh-hoat-thon.to-dan-pho-1.2026-Q2.1"]
    assert (row.member, row.agency_code, row.period, row.number) == ("to-dan-pho-1", "to-dan-pho-1", "2026-Q2", 1)
    renamed = groups_text().replace("name: Tổ dân phố số 1", "name: Tổ dân phố Hòa Bình")
    again = _load(database, renamed, now)
    assert (len(again.created), len(again.revised), len(again.cancelled), again.unchanged) == (0, 0, 0, 12)
    with database.transaction() as s:
        assert set(rows) == {r.id for r in s.scalars(select(OccurrenceRow))}
        assert s.scalars(select(LoadRow.unchanged).order_by(LoadRow.id.desc())).first() == 12


def test_a_member_dropped_from_the_group_has_its_occurrences_cancelled(database):
    now = datetime(2026, 1, 5, 9, tzinfo=TZ)
    _load(database, groups_text(), now)
    fewer = _load(database, groups_text().replace("thon-trung, to-dan-pho-1]", "thon-trung]"), now)
    assert sorted(i for i, _ in fewer.cancelled) == [
        f"forms-groups.sinh-hoat-thon.to-dan-pho-1.2026-Q{q}.1" for q in range(1, 5)
    ]
    with database.transaction() as s:
        assert [m for (m,) in s.execute(select(AgencyMemberRow.member_code).order_by(AgencyMemberRow.position))] == [
            "thon-dong",
            "thon-trung",
        ]


# --------------------------------------------------- CLI, HTTP, feeds, reports


def _token(cli, email: str) -> str:
    result = cli("tokens", "create", "--user", email)
    assert result.code == 0, result.err
    return result.out.strip().splitlines()[-1]


@pytest.fixture
def village(cli, db_url):
    """The commune plan loaded; a producer of Thôn Đồng, one of Thôn Trung,
    and the DHA, each with a token; the app as of 20/03/2026 10:00."""
    from scheduler.cli.context import DEFAULT_TZ
    from scheduler.clock import Clock, parse_now
    from scheduler.web.app import create_app

    loaded = cli("load", GROUPS, "--now", "2026-01-05")
    assert loaded.code == 0, loaded.err
    tokens = {}
    for key, email, role, agency in (
        ("dong", "dong@thon.example", "producer", "thon-dong"),
        ("trung", "trung@thon.example", "producer", "thon-trung"),
        ("dha", "dha@xa.example", "dha", "ubnd-xa"),
    ):
        assert cli("users", "add", email, "--role", role, "--agency", agency).code == 0
        tokens[key] = {"Authorization": f"Bearer {_token(cli, email)}"}
    db = Database(db_url)
    client = TestClient(create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ))))
    yield client, tokens, db
    db.close()


DONG_Q1 = "forms-groups.sinh-hoat-thon.thon-dong.2026-Q1.1"
TRUNG_Q1 = "forms-groups.sinh-hoat-thon.thon-trung.2026-Q1.1"
HELD = {"published_at": "18/03/2026 19:30", "title": "Sinh hoạt thôn quý I"}


def test_a_members_producer_records_its_own_occurrence_and_not_another_members(village):
    client, tokens, _ = village
    own = client.post(f"/api/occurrences/{DONG_Q1}/deliveries", headers=tokens["dong"], data=HELD)
    assert own.status_code == 201, own.text
    other = client.post(f"/api/occurrences/{TRUNG_Q1}/deliveries", headers=tokens["dong"], data=HELD)
    assert other.status_code == 403 and "thon-trung" in other.json()["detail"]
    # by obligation and period: the producer's own member's occurrence, whoever is listed first
    by_period = client.post(
        "/api/obligations/sinh-hoat-thon/deliveries", params={"period": "2026-Q1"}, headers=tokens["trung"], data=HELD
    )
    assert by_period.status_code == 201, by_period.text
    assert by_period.json()["occurrence"] == TRUNG_Q1
    trung = client.get(f"/api/occurrences/{TRUNG_Q1}", headers=tokens["dha"]).json()
    assert [e["recorded_by"] for e in trung["entries"]] == ["trung@thon.example"]


def test_each_member_has_its_own_feed(cli, village):
    client, _, _ = village
    result = cli("subscribe", "--email", "watch@x.example", "--agency", "thon-dong", "--no-milestones")
    assert result.code == 0, result.err
    token = result.out.split("/feeds/")[1].split(".ics")[0]
    time.sleep(1.05)
    cal = icalendar.Calendar.from_ical(client.get(f"/feeds/{token}.ics").content)
    uids = sorted(str(e["UID"]) for e in cal.walk("VEVENT"))
    assert len(uids) == 4 and all(".thon-dong.2026-Q" in u for u in uids), uids
    listed = cli("occurrences", "--agency", "cac-thon", "--format", "json")  # the group: its members' occurrences
    assert listed.code == 0, listed.err
    assert len(json.loads(listed.out)) == 12 and DONG_Q1 in listed.out


def test_reminders_go_to_the_members_own_contacts(village):
    from scheduler.store.watch import watched

    _, _, db = village
    with db.transaction() as s:
        found = watched(s, datetime(2026, 3, 20, 10, tzinfo=TZ), "ubnd-xa")
    items = {w.id: w for w in found["forms-groups"][1]}
    assert items[DONG_Q1].recipients == ("truongthon.dong@example.vn",)
    assert TRUNG_Q1 not in items  # Thôn Trung has no contacts yet: no one to remind


def test_reports_roll_members_up_into_the_group_and_filter_by_it(cli, village, tmp_path):
    client, tokens, _ = village
    assert client.post(f"/api/occurrences/{DONG_Q1}/deliveries", headers=tokens["dong"], data=HELD).status_code == 201
    out = tmp_path / "report.json"
    result = cli("report", "--period", "2026-Q1", "--format", "json", "--out", out, "--now", "2026-04-02 09:00")
    assert result.code == 0, result.err
    report = json.loads(out.read_text(encoding="utf-8"))
    (group,) = [a for a in report["agencies"] if a["agency"] == "cac-thon"]
    assert [m["agency"] for m in group["members"]] == list(MEMBERS)
    assert (group["required"], group["on_time"], group["missing"]) == (3, 1, 2)
    assert group["agency_name"] == "Các thôn, tổ dân phố"
    assert not {a["agency"] for a in report["agencies"]} & set(MEMBERS), "members are listed under their group"
    assert report["totals"]["required"] == 3
    filtered = tmp_path / "group.json"
    args = ("report", "--period", "2026-Q1", "--agency", "cac-thon", "--format", "json", "--out", filtered)
    assert cli(*args, "--now", "2026-04-02 09:00").code == 0
    rows = json.loads(filtered.read_text(encoding="utf-8"))["rows"]
    assert sorted(r["agency"] for r in rows) == sorted(MEMBERS)
    api = client.get("/api/compliance", params={"period": "2026-Q1", "agency": "cac-thon"}, headers=tokens["dha"])
    assert api.status_code == 200, api.text
    assert sorted(r["agency"] for r in api.json()["rows"]) == sorted(MEMBERS)
    member = client.get("/api/compliance", params={"period": "2026-Q1", "agency": "thon-dong"}, headers=tokens["dha"])
    assert [a["agency"] for a in member.json()["agencies"]] == ["thon-dong"], "a member asked for stands alone"
    html = cli("report", "--period", "2026-Q1", "--format", "html", "--out", tmp_path / "r.html", "--now", NOW)
    assert html.code == 0, html.err
    printed = (tmp_path / "r.html").read_text(encoding="utf-8").split('<table class="data results">')[1]
    printed = printed.split("</table>")[0]  # section II: by agency and obligation
    assert printed.index("Các thôn, tổ dân phố") < printed.index("Thôn Đồng") < printed.index("Tổ dân phố số 1")


def _signed_in(village, email: str) -> TestClient:
    from scheduler.cli.context import DEFAULT_TZ
    from scheduler.clock import parse_now
    from scheduler.store.people import find_user
    from scheduler.web.auth import set_password
    from web_session import sign_in

    client, _, db = village
    with db.transaction() as s:
        set_password(s, find_user(s, email), "một mật khẩu đủ dài 2026", parse_now(NOW, DEFAULT_TZ))
    answer = sign_in(client, email, "một mật khẩu đủ dài 2026")  # this client follows the redirect
    assert answer.history and answer.history[0].status_code == 303, answer.text  # signed in, sent on
    return client


def test_the_dashboard_lists_members_under_their_group(village):
    client = _signed_in(village, "dha@xa.example")
    page = client.get("/dashboard", params={"plan": "forms-groups", "period": "2026-Q1"})
    assert page.status_code == 200, page.text
    assert 'data-key="cac-thon"' in page.text
    for m in MEMBERS:
        assert f'data-key="{m}" class="member" data-group="cac-thon"' in page.text
    assert page.text.index('data-key="cac-thon"') < page.text.index('data-key="thon-dong"')
    group = client.get("/dashboard/agencies/cac-thon", params={"plan": "forms-groups", "period": "2026-Q1"})
    assert group.status_code == 200 and "Các thôn, tổ dân phố" in group.text
    one = client.get(
        "/dashboard/agencies/thon-dong/obligations/sinh-hoat-thon", params={"plan": "forms-groups", "period": "2026-Q1"}
    )
    assert one.status_code == 200 and DONG_Q1 in one.text


def test_the_period_page_records_for_the_members_own_occurrence(village):
    client = _signed_in(village, "trung@thon.example")
    params = {"period": "2026-Q1", "plan": "forms-groups"}
    page = client.get("/obligations/sinh-hoat-thon/deliver", params=params)
    assert page.status_code == 200, page.text
    assert "0/1" in page.text, "the quota is Thôn Trung's own, not the group's 0/3"
    assert TRUNG_Q1 in page.text and DONG_Q1 not in page.text


# ---------------------------------------------------------------- migration


def test_the_migration_keeps_stored_occurrences_and_puts_the_member_in_the_key(db_url):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from scheduler.store import database as store_database

    engine = store_database.create(db_url)
    config = Config()
    config.set_main_option("script_location", str(store_database.MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0008")
    at = datetime(2026, 1, 5, 2, 0)
    occurrence = text(
        "INSERT INTO occurrences (id, plan_code, obligation_code, agency_code, period, number, title, title_en, "
        "window_start, window_end, due, status, reason, revision, fingerprint, shown, created_at, updated_at) "
        "VALUES (:id, 'xa', 'ob', :agency, '2026-Q1', 1, 'T', '', :t, :t, :t, 'scheduled', '', 1, 'f', '{}', :t, :t)"
    )
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO plans (code, title, title_en, issuer, timezone, period_start, period_end, source, "
                "source_sha256, definition, loaded_at) VALUES ('xa', 'T', '', 'I', 'Asia/Ho_Chi_Minh', "
                "'2026-01-01', '2027-01-01', 's', 'x', '{}', :t)"
            ),
            {"t": at},
        )
        connection.execute(occurrence, {"id": "xa.ob.2026-Q1.1", "agency": "van-phong", "t": at})
    store_database.migrate(engine)
    with engine.begin() as connection:
        assert connection.execute(text("SELECT id, member FROM occurrences")).all() == [("xa.ob.2026-Q1.1", "")]
        # two members owe the same period and number: allowed now
        for member in ("thon-dong", "thon-trung"):
            connection.execute(
                text(occurrence.text.replace("agency_code,", "agency_code, member,").replace(":agency,", ":m, :m,")),
                {"id": f"xa.ob.{member}.2026-Q1.1", "m": member, "t": at},
            )
    with pytest.raises(IntegrityError), engine.begin() as connection:  # the same member twice is not
        connection.execute(
            text(occurrence.text.replace("agency_code,", "agency_code, member,").replace(":agency,", ":m, :m,")),
            {"id": "xa.ob.thon-dong.again", "m": "thon-dong", "t": at},
        )
    engine.dispose()
