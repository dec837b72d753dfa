"""The one registry of agencies shared by code across plans, and the plan's
province (docs/schedule-format.md 3.1 and 3.3.2): every load registers its
plan's agencies; the first name stays and a plan naming an agency otherwise
is warned at its line; contacts are the union over the plans; ``agencies
list``; the upload page's preview says the same; the Phú Thọ plan loads
unchanged with its province. Real files, SQLite and PostgreSQL, the real
command line and real HTTP."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

import web_session
from html_tree import html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.errors import ScheduleError
from scheduler.plan.production import read_texts
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.loading import save_schedules
from scheduler.store.people import find_user
from scheduler.store.registry import (
    agency_name,
    backfill,
    contacts_of,
    names,
    province_of,
    register_agencies,
)
from scheduler.store.tables import AgencyRow, OccurrenceRow, PlanRow, RegistryAgencyRow, SuccessionRow
from scheduler.store.watch import watched
from scheduler.web.app import create_app
from scheduler.web.auth import set_password

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "registry"
PHU_THO = ROOT / "schedules" / "phu-tho-2024.yaml"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 3, 15, 9, tzinfo=TZ)
SO_NOI_VU = ("vanphong@sonoivu.phutho.example",)


def text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def source(name: str) -> tuple[str, str]:
    return (f"tests/data/registry/{name}", text(name))


def load(db: Database, *files: tuple[str, str], now: datetime = NOW):
    """Load the files in one transaction, as ``main.py load`` does."""
    schedules = read_texts(list(files))
    with db.transaction() as s:
        return save_schedules(s, schedules.plans, {}, now, Settings.load())


def line_of(name: str, needle: str) -> int:
    return next(i for i, line in enumerate(text(name).splitlines(), 1) if needle in line)


def registry(db: Database) -> dict[str, RegistryAgencyRow]:
    with db.transaction() as s:
        rows = {r.code: r for r in s.scalars(select(RegistryAgencyRow))}
        s.expunge_all()
    return rows


def without_province(path: Path) -> str:
    """The file as it was before it named its province."""
    whole = path.read_text(encoding="utf-8")
    added = "  # The province whose DHA follows this plan (docs/schedule-format.md 3.1).\n  province: phu-tho\n"
    assert added in whole
    return whole.replace(added, "")


# ------------------------------------------------------------------ reading


def test_the_province_is_read_and_absent_means_none():
    (plan,) = read_texts([source("tinh-2024.yaml")]).plans
    assert plan.province == "phu-tho"
    (bare,) = read_texts([("tinh.yaml", text("tinh-2024.yaml").replace("  province: phu-tho\n", ""))]).plans
    assert bare.province == ""


def test_a_province_that_is_not_a_code_is_an_error_at_its_line():
    broken = text("tinh-2024.yaml").replace("province: phu-tho", "province: Phú Thọ")
    with pytest.raises(ScheduleError) as e:
        read_texts([("tinh-2024.yaml", broken)])
    (problem,) = e.value.problems
    assert (problem.source, problem.line, problem.where) == ("tinh-2024.yaml", 8, "plan.province")
    assert "lowercase letters" in problem.render()


# -------------------------------------------------------------------- store


def test_the_first_plan_names_the_agency_and_a_later_one_is_warned_at_its_line(database):
    ((_, first),) = load(database, source("tinh-2024.yaml"))
    assert first.warnings == []
    ((_, second),) = load(database, source("huyen-2024.yaml"))
    rendered = [w.render() for w in second.warnings]
    assert rendered == [
        f"tests/data/registry/huyen-2024.yaml:{line_of('huyen-2024.yaml', 'code: so-noi-vu')}: agencies[1].name: "
        'agency "so-noi-vu" is named "Sở Nội vụ tỉnh Phú Thọ" here; the registry keeps "Sở Nội vụ" '
        "(rename it with `agencies rename` if the name changed)",
        f"tests/data/registry/huyen-2024.yaml:{line_of('huyen-2024.yaml', 'code: dai-ptth')}: agencies[2].kind: "
        'agency "dai-ptth" is of kind "media" here; the registry keeps "broadcaster"',
    ]
    doc = (ROOT / "docs" / "schedule-format.md").read_text(encoding="utf-8")
    assert f"  warning: {rendered[0]}\n" in doc  # the document quotes what loading says
    rows = registry(database)
    assert (rows["so-noi-vu"].name, rows["so-noi-vu"].name_en, rows["so-noi-vu"].kind) == (
        "Sở Nội vụ",
        "Department of Home Affairs",
        "department",
    )
    assert rows["dai-ptth"].kind == "broadcaster"
    assert rows["cac-co-quan-bao-chi"].kind == "group"  # a group is registered too
    assert rows["ubnd-huyen"].name == "Ủy ban nhân dân huyện Ngọc Sơn"  # a new code from the second plan
    assert {r.province for r in rows.values()} == {"phu-tho"}
    with database.transaction() as s:  # each plan keeps the name it wrote
        assert s.get(AgencyRow, ("huyen-2024", "so-noi-vu")).name == "Sở Nội vụ tỉnh Phú Thọ"
        assert s.get(AgencyRow, ("tinh-2024", "so-noi-vu")).name == "Sở Nội vụ"
        assert names(s, ["so-noi-vu", "ubnd-huyen", "khong-co"]) == {
            "so-noi-vu": ("Sở Nội vụ", "Department of Home Affairs"),
            "ubnd-huyen": ("Ủy ban nhân dân huyện Ngọc Sơn", ""),
            "khong-co": ("khong-co", ""),
        }
        assert agency_name(s, "so-noi-vu", "en") == "Department of Home Affairs"
        assert agency_name(s, "ubnd-huyen", "en") == "Ủy ban nhân dân huyện Ngọc Sơn"
        assert agency_name(s, "so-noi-vu", "vi") == "Sở Nội vụ"


def test_a_name_the_successions_record_is_no_warning(database):
    load(database, source("tinh-2024.yaml"))
    with database.transaction() as s:
        s.add(
            SuccessionRow(
                kind="rename",
                agency_code="so-noi-vu",
                successor="",
                effective_on=date(2023, 1, 1),
                old_name="Sở Nội vụ tỉnh Phú Thọ",
                new_name="Sở Nội vụ",
                source="test",
                recorded_at=NOW,
                recorded_by="admin@phutho.example",
            )
        )
    ((_, changes),) = load(database, source("huyen-2024.yaml"))
    assert [w.where for w in changes.warnings] == ["agencies[2].kind"]  # the old name is known; the kind is not


def test_contacts_are_the_union_over_the_plans_and_reminders_use_them(database):
    load(database, source("tinh-2024.yaml"), source("huyen-2024.yaml"))
    union = ["cchc@sonoivu.phutho.example", "vanphong@sonoivu.phutho.example"]  # huyen-2024's, then tinh-2024's
    with database.transaction() as s:
        assert contacts_of(s, "so-noi-vu") == union
        assert contacts_of(s, "ubnd-huyen") == ["vanphong@ngocson.example"]
        assert contacts_of(s, "khong-co") == []
        assert s.get(AgencyRow, ("tinh-2024", "so-noi-vu")).contacts == list(SO_NOI_VU)  # each plan keeps its own
        ids = list(s.scalars(select(OccurrenceRow.id).where(OccurrenceRow.agency_code == "so-noi-vu")))
        seen = {w.plan: w.recipients for _, items in watched(s, NOW, "so-noi-vu", ids=ids).values() for w in items}
    assert seen == {"huyen-2024": tuple(union), "tinh-2024": tuple(union)}


def test_the_province_is_set_only_where_the_registry_has_none_and_others_are_untouched(database):
    load(database, ("tests/data/registry/tinh-2024.yaml", text("tinh-2024.yaml").replace("  province: phu-tho\n", "")))
    assert {r.province for r in registry(database).values()} == {""}
    later = NOW + timedelta(days=1)
    load(database, source("huyen-2024.yaml"), now=later)
    rows = registry(database)
    assert rows["so-noi-vu"].province == "phu-tho" and rows["so-noi-vu"].updated_at == later
    assert rows["bao-tinh"].province == "" and rows["bao-tinh"].updated_at == NOW  # named only by tinh-2024
    other = text("huyen-2024.yaml").replace("province: phu-tho", "province: ha-noi")
    load(database, ("tests/data/registry/huyen-2024.yaml", other), now=later + timedelta(days=1))
    assert registry(database)["so-noi-vu"].province == "phu-tho"  # set once; a reorganisation moves it
    with database.transaction() as s:
        assert s.get(PlanRow, "huyen-2024").province == "ha-noi"
        assert province_of(s, "so-noi-vu") == "phu-tho"
        assert province_of(s, "khong-co") == ""


def test_nothing_is_deleted_when_a_plan_drops_an_agency(database):
    load(database, source("tinh-2024.yaml"), source("huyen-2024.yaml"))
    fewer = text("huyen-2024.yaml").split("  - code: dai-ptth")[0] + text("huyen-2024.yaml").split("kind: media\n")[1]
    load(database, ("tests/data/registry/huyen-2024.yaml", fewer), now=NOW + timedelta(days=1))
    rows = registry(database)
    assert "dai-ptth" in rows and len(rows) == 5
    with database.transaction() as s:
        assert s.get(AgencyRow, ("huyen-2024", "dai-ptth")) is not None  # the plan's rows stay as loads leave them


def test_backfill_registers_plans_loaded_before_the_registry_in_load_order(database):
    load(database, source("tinh-2024.yaml"))
    load(database, source("huyen-2024.yaml"))  # loaded second, although first by code
    with database.transaction() as s:
        s.execute(delete(RegistryAgencyRow))  # a database of before the registry
        assert names(s, ["so-noi-vu"]) == {"so-noi-vu": ("Sở Nội vụ tỉnh Phú Thọ", "")}  # fallback: first plan by code
        assert province_of(s, "so-noi-vu") == "phu-tho"  # fallback: a plan naming it
        assert backfill(s, NOW) == 5
        assert backfill(s, NOW) == 0
    rows = registry(database)
    assert sorted(rows) == ["bao-tinh", "cac-co-quan-bao-chi", "dai-ptth", "so-noi-vu", "ubnd-huyen"]
    assert rows["so-noi-vu"].name == "Sở Nội vụ"  # the first plan loaded named it first
    assert rows["dai-ptth"].kind == "broadcaster" and rows["so-noi-vu"].province == "phu-tho"


def test_a_load_backfills_first(database):
    load(database, source("tinh-2024.yaml"))
    with database.transaction() as s:
        s.execute(delete(RegistryAgencyRow))
    ((_, changes),) = load(database, source("huyen-2024.yaml"))
    assert [w.where for w in changes.warnings] == ["agencies[1].name", "agencies[2].kind"]
    assert len(registry(database)) == 5


def test_register_agencies_is_what_the_load_calls(database):
    (plan,) = read_texts([source("huyen-2024.yaml")]).plans
    with database.transaction() as s:
        assert register_agencies(s, plan, NOW) == []  # an empty registry: everything is new
        assert register_agencies(s, plan, NOW) == []  # and again: the same names
        assert len(list(s.scalars(select(RegistryAgencyRow)))) == 3


# ------------------------------------------------------------ Phú Thọ 2024


def test_phu_tho_loads_unchanged_when_its_province_is_added(database):
    ((_, before),) = load(database, (str(PHU_THO.relative_to(ROOT)), without_province(PHU_THO)))
    assert len(before.created) == 50
    with database.transaction() as s:
        prints = {r.id: r.fingerprint for r in s.execute(select(OccurrenceRow.id, OccurrenceRow.fingerprint))}
        assert s.get(PlanRow, "phu-tho-2024").province == ""
    ((plan, after),) = load(database, (str(PHU_THO.relative_to(ROOT)), PHU_THO.read_text(encoding="utf-8")))
    assert plan.province == "phu-tho"
    assert (len(after.created), len(after.revised), len(after.cancelled), after.unchanged) == (0, 0, 0, 50)
    assert after.warnings == []
    with database.transaction() as s:
        assert {r.id: r.fingerprint for r in s.execute(select(OccurrenceRow.id, OccurrenceRow.fingerprint))} == prints
        assert set(s.scalars(select(OccurrenceRow.revision))) == {1}
        assert s.get(PlanRow, "phu-tho-2024").province == "phu-tho"
        assert province_of(s, "dai-ptth") == "phu-tho"


# --------------------------------------------------------------------- CLI


def test_agencies_list_shows_the_registry(cli):
    files = [DATA / "tinh-2024.yaml", DATA / "huyen-2024.yaml"]
    loaded = cli("load", *files, "--now", "2024-03-15")
    assert loaded.code == 0, loaded.err
    warning = next(line for line in loaded.err.splitlines() if "agencies[1].name" in line)
    assert warning.startswith("cảnh báo: ") and 'sổ cơ quan giữ tên "Sở Nội vụ"' in warning  # Vietnamese first
    listed = cli("agencies", "list", "--format", "json")
    assert listed.code == 0, listed.err
    records = {r["code"]: r for r in json.loads(listed.out)}
    assert records["so-noi-vu"] == {
        "code": "so-noi-vu",
        "name": "Sở Nội vụ",
        "name_en": "Department of Home Affairs",
        "kind": "department",
        "province": "phu-tho",
        "plans": ["huyen-2024", "tinh-2024"],
        "dissolved_on": None,
    }
    assert len(records) == 5
    table = cli("agencies", "list")
    assert table.code == 0, table.err
    header, rule, *rows = table.out.splitlines()
    assert header.split() == ["Mã", "Cơ", "quan", "Loại", "Tỉnh", "Kế", "hoạch", "Ngày", "giải", "thể"]
    row = next(r for r in rows if r.startswith("so-noi-vu "))
    assert "Sở Nội vụ" in row and "huyen-2024, tinh-2024" in row and row.endswith("—")
    english = cli("agencies", "list", "--lang", "en", "--province", "phu-tho")
    assert "Department of Home Affairs" in english.out and english.out.splitlines()[0].startswith("Code")


def test_agencies_list_by_province_and_an_unknown_province(cli):
    cli("load", DATA / "tinh-2024.yaml", "--now", "2024-03-15")
    other = DATA.parent / "plans" / "ngoc-son-2024.yaml"
    assert cli("load", other, "--now", "2024-03-15").code == 0
    mine = json.loads(cli("agencies", "list", "--province", "phu-tho", "--format", "json").out)
    assert {r["province"] for r in mine} == {"phu-tho"} and "so-noi-vu" in {r["code"] for r in mine}
    wrong = cli("agencies", "list", "--province", "ha-noi", "--lang", "en")
    assert wrong.code == 1
    assert wrong.err.strip() == '--province: no agency or plan of province "ha-noi" is loaded (known: phu-tho)'


# --------------------------------------------------------------------- web


def test_the_upload_preview_shows_the_registrys_warning_in_vietnamese(cli, db_url):
    assert cli("load", DATA / "tinh-2024.yaml", "--now", "2024-03-15").code == 0
    assert cli("users", "add", "quantri@tinh.example", "--role", "admin").code == 0
    db = Database(db_url)
    try:
        with db.transaction() as s:
            set_password(s, find_user(s, "quantri@tinh.example"), "mat-khau-du-dai", NOW)
        app = create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now("2024-03-15 10:00", DEFAULT_TZ)))
        admin = web_session.signed_in(app, "quantri@tinh.example", "mat-khau-du-dai")
        token = html(admin.get("/admin/schedules")).all("input", name="csrf")[0].attrs["value"]
        answer = admin.post(
            "/admin/schedules/check",
            data={"csrf": token},
            files=[("files", ("huyen-2024.yaml", text("huyen-2024.yaml").encode(), "application/yaml"))],
        )
        assert answer.status_code == 200, answer.text
        shown = [li.text() for li in html(answer).one("ul", id="warnings").all("li")]
        line = line_of("huyen-2024.yaml", "code: so-noi-vu")
        assert any(
            f"huyen-2024.yaml:{line}: agencies[1].name:" in w and 'sổ cơ quan giữ tên "Sở Nội vụ"' in w for w in shown
        ), shown
        with db.transaction() as s:  # a preview: nothing registered
            assert s.get(RegistryAgencyRow, "ubnd-huyen") is None
    finally:
        db.close()
