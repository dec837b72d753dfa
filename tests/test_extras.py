"""Extras and minimums, through the real CLI, the API and the pages on SQLite
and PostgreSQL: an extra is recorded against an obligation and period the
same way from all three; an occurrence already met refuses and names its open
sibling on all three; reports show the extras as a surplus beside the counts,
and say "tối thiểu" / "at least" where the count is a minimum. Also the slot
rule's extra air dates (``beyond_quota: extra``)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient

from html_tree import html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.errors import ScheduleError
from scheduler.plan.production import read_files, read_texts
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.loading import save_schedules
from scheduler.store.people import find_user
from scheduler.web.app import create_app
from scheduler.web.auth import set_password
from web_session import signed_in

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "tests" / "data" / "forms"
FIRST = "phu-tho-2024.cchc-radio-tv.2024-03.1"
SECOND = "phu-tho-2024.cchc-radio-tv.2024-03.2"
NOW = "2024-03-20 10:00"
PASSWORD = "mat-khau-du-dai"
BY_PERIOD = ["--obligation", "cchc-radio-tv", "--period", "2024-03", "--by", "p@dai.example", "--now", NOW]


@pytest.fixture
def world(cli, db_url):
    """The bundled plan; a producer of the station, the DHA; the app as of 20/03/2024 10:00."""
    assert cli("load", "--now", "2024-01-02").code == 0
    assert cli("users", "add", "p@dai.example", "--role", "producer", "--agency", "dai-ptth").code == 0
    assert cli("users", "add", "dha@snv.example", "--role", "dha", "--agency", "so-noi-vu").code == 0
    db = Database(db_url)
    with db.transaction() as s:
        for email in ("p@dai.example", "dha@snv.example"):
            set_password(s, find_user(s, email), PASSWORD, parse_now(NOW, DEFAULT_TZ))
    app = create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ)))
    yield app, db
    db.close()


def _token(cli, email: str) -> dict[str, str]:
    token = cli("tokens", "create", "--user", email).out.strip().splitlines()[-1]
    return {"Authorization": f"Bearer {token}"}


def _signed_in(app, email: str) -> TestClient:
    return signed_in(app, email, PASSWORD)


LATER = "2024-03-20 12:00"  # after what the app (whose clock runs on from NOW) recorded


def _report(cli, *args: str) -> dict:
    result = cli("report", "--period", "2024-03", "--now", LATER, "--format", "json", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)


def _radio_row(report: dict) -> dict:
    return next(r for r in report["rows"] if r["obligation"] == "cchc-radio-tv")


def test_the_cli_records_by_period_then_an_extra_and_the_report_shows_the_surplus(cli, world):
    first = cli("deliver", *BY_PERIOD, "--at", "2024-03-07 19:30", "--duration", "10m", "--lang", "en")
    assert first.code == 0, first.err
    assert f"delivery for {FIRST} recorded" in first.out and "extra" not in first.out
    second = cli("deliver", *BY_PERIOD, "--at", "2024-03-14 19:30", "--duration", "10m", "--lang", "en")
    assert f"delivery for {SECOND} recorded" in second.out and "extra" not in second.out
    extra = cli("deliver", *BY_PERIOD, "--at", "2024-03-19 19:30", "--duration", "10m")
    assert extra.code == 0, extra.err
    assert SECOND in extra.out and "vượt định mức" in extra.out  # the last occurrence carries the extra

    row = _radio_row(_report(cli))
    assert (row["required"], row["on_time"], row["surplus"], row["minimum"]) == (2, 2, 1, False)
    report = _report(cli)
    assert report["totals"]["surplus"] == 1 and report["totals"]["on_time"] == 2  # the extra counts beside, not in
    station = next(a for a in report["agencies"] if a["agency"] == "dai-ptth")
    assert station["surplus"] == 1

    as_csv = cli("report", "--period", "2024-03", "--now", LATER, "--format", "csv")
    table = list(csv.reader(io.StringIO(as_csv.out)))
    assert table[0][-2:] == ["Tỷ lệ", "Vượt định mức"]
    radio = next(r for r in table if r[1] == 'Chuyên mục "Cải cách hành chính"')
    assert radio[-1] == "1" and table[-1][-1] == "1"


def test_the_api_and_the_page_record_the_extra_the_same_way(cli, world):
    app, _db = world
    for at in ("2024-03-07 19:30", "2024-03-14 19:30"):
        assert cli("deliver", *BY_PERIOD, "--at", at, "--duration", "10m").code == 0
    api = TestClient(app).post(
        "/api/obligations/cchc-radio-tv/deliveries?period=2024-03&plan=phu-tho-2024",
        headers=_token(cli, "p@dai.example"),
        data={"aired_at": "2024-03-18 19:30", "duration": "10m"},
    )
    assert api.status_code == 201 and api.json()["extra"] and api.json()["occurrence"] == SECOND
    page = _signed_in(app, "p@dai.example")
    form = html(page.get("/obligations/cchc-radio-tv/deliver?period=2024-03&plan=phu-tho-2024"))
    csrf = form.one("form", id="deliver").elements()[0].attrs["value"]
    r = page.post(
        form.one("form", id="deliver").attrs["action"],
        data={"csrf": csrf, "aired_at": "2024-03-19T19:30", "duration": "00:10:30"},
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"/o/{SECOND}?recorded=")
    assert _radio_row(_report(cli))["surplus"] == 2


def test_a_met_occurrence_refuses_and_names_the_open_sibling_on_every_path(cli, world):
    app, db = world
    done = cli("deliver", FIRST, "--by", "p@dai.example", "--at", "2024-03-07 19:30", "--duration", "10m", "--now", NOW)
    assert done.code == 0, done.err
    again = cli(
        "deliver", FIRST, "--by", "p@dai.example", "--at", "2024-03-08 19:30", "--duration", "10m", "--now", NOW
    )
    assert again.code == 1 and SECOND in again.err and again.err.count("\n") == 1
    api = TestClient(app).post(
        f"/api/occurrences/{FIRST}/deliveries",
        headers=_token(cli, "p@dai.example"),
        data={"aired_at": "2024-03-08 19:30", "duration": "10m"},
    )
    assert api.status_code == 422 and SECOND in api.json()["detail"][0]["msg"]
    page = _signed_in(app, "p@dai.example")
    form = html(page.get(f"/o/{FIRST}"))
    csrf = form.one("form", id="deliver").elements()[0].attrs["value"]
    r = page.post(f"/o/{FIRST}/deliveries", data={"csrf": csrf, "aired_at": "2024-03-08T19:30", "duration": "10m"})
    assert r.status_code == 422 and SECOND in r.text
    assert _radio_row(_report(cli))["on_time"] == 1  # the refusals stored nothing


def test_deliver_takes_an_occurrence_or_an_obligation_and_period(cli, world):
    both = cli("deliver", FIRST, *BY_PERIOD, "--at", "2024-03-07 19:30", "--lang", "en")
    assert both.code == 1 and "not both" in both.err
    half = cli(
        "deliver", "--obligation", "cchc-radio-tv", "--by", "p@dai.example", "--at", "2024-03-07", "--lang", "en"
    )
    assert half.code == 1 and "--period" in half.err
    nothing = cli("deliver", "--by", "p@dai.example", "--at", "2024-03-07 19:30", "--now", NOW, "--lang", "en")
    assert nothing.code == 1 and "--obligation CODE and --period LABEL" in nothing.err
    period = [a if a != "2024-03" else "2023-03" for a in BY_PERIOD]
    none_owed = cli("deliver", *period, "--at", "2024-03-07 19:30", "--lang", "en")
    assert none_owed.code == 1 and "owes nothing" in none_owed.err


def test_a_minimum_says_at_least_in_every_report_form(cli, world, now, tmp_path):
    """The quota's ``minimum`` (read from "tối thiểu" / "ít nhất" by the plan's
    words) reaches the reports: set here on the loaded plan itself."""
    app, db = world
    schedules = read_files([ROOT / "schedules" / "phu-tho-2024.yaml"])
    plan = schedules.plans[0]
    radio = plan.obligation("cchc-radio-tv")
    minimum = dataclasses.replace(radio, cadence=dataclasses.replace(radio.cadence, minimum=True))
    plan = dataclasses.replace(plan, obligations=tuple(minimum if o is radio else o for o in plan.obligations))
    with db.transaction() as s:
        save_schedules(s, [plan], {}, now, Settings.load())
    row = _radio_row(_report(cli))
    assert row["minimum"] is True
    vi = cli("report", "--period", "2024-03", "--now", LATER, "--format", "csv")
    assert 'Chuyên mục ""Cải cách hành chính"" (tối thiểu)' in vi.out
    en = cli("report", "--period", "2024-03", "--now", LATER, "--format", "csv", "--lang", "en")
    assert "(at least)" in en.out
    page = cli("report", "--period", "2024-03", "--now", LATER, "--format", "html")
    assert "(tối thiểu)" in page.out and "Vượt định mức" in page.out
    book = cli("report", "--period", "2024-03", "--now", LATER, "--format", "xlsx", "--out", tmp_path / "r.xlsx")
    assert book.code == 0, book.err
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx").worksheets[0]
    values = [c.value for r in sheet.iter_rows() for c in r]
    assert any(isinstance(v, str) and v.endswith("(tối thiểu)") for v in values) and "Vượt định mức" in values
    dashboard = _signed_in(app, "dha@snv.example")
    agency = dashboard.get("/dashboard/agencies/dai-ptth?plan=phu-tho-2024&period=2024-03")
    assert agency.status_code == 200 and "(tối thiểu)" in agency.text
    table = html(agency).one("table", id="obligations")
    assert table.all("td", data_count="surplus")


# ---- extra air dates: beyond_quota ----------------------------------------------------------------


def test_extra_air_dates_are_not_owed_and_silence_only_the_more_slots_warning():
    plain = read_files([FORMS / "slots-mismatch.yaml"])
    said = read_files([FORMS / "extra-air-days.yaml"])
    assert [w.where for w in plain.warnings] == ["obligations[0].slots", "obligations[1].slots"]
    assert [w.where for w in said.warnings] == ["obligations[1].slots"]  # fewer slots than owed still warns
    from scheduler.plan.occurrences import expand

    owed = [o for o in expand(said.plans[0]) if o.obligation == "cchc-radio-tv"]
    february = [o for o in owed if o.period == "2024-02"]
    assert len(owed) == 48 and len(february) == 4  # the fifth Thursday (29/02) is not owed
    assert [o.slot.day for o in february] == [1, 8, 15, 22]


LAYER = """\
production:
  plan: forms-production
  owner: dai-ptth
obligations:
  cchc-radio-tv:
    slots: {rule: "FREQ=WEEKLY;BYDAY=TH", at: "19:30", beyond_quota: %s}
"""


def test_a_production_file_says_it_too_and_a_wrong_value_is_named():
    plan = (str(FORMS / "production-plan.yaml"), (FORMS / "production-plan.yaml").read_text(encoding="utf-8"))
    loud = read_texts([plan, ("layer.yaml", LAYER.replace(", beyond_quota: %s", ""))])
    quiet = read_texts([plan, ("layer.yaml", LAYER % "thêm")])
    assert any(w.source == "layer.yaml" for w in loud.warnings)
    assert not any(w.source == "layer.yaml" for w in quiet.warnings)
    with pytest.raises(ScheduleError) as caught:
        read_texts([plan, ("layer.yaml", LAYER % "always")])
    (problem,) = caught.value.problems
    assert problem.where == "obligations.cchc-radio-tv.slots.beyond_quota" and problem.line == 6
    assert '"extra"' in problem.render() and '"always"' in problem.render()
