"""Durations as plans state them ("15 ± 2 phút", "không quá 12 phút"):
read from tests/data/forms/durations.yaml, judged on deliveries through the
real CLI and API on SQLite and PostgreSQL, and shown as the plan states them
on the occurrence's page and in its calendar event."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import icalendar
import pytest
from fastapi.testclient import TestClient

from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.errors import SchedulerError
from scheduler.plan.durations import parse_nominal
from scheduler.plan.occurrences import expand
from scheduler.plan.production import read_files
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.web.app import create_app
from scheduler.web.auth import set_password
from web_session import signed_in

ROOT = Path(__file__).resolve().parent.parent
FILE = ROOT / "tests" / "data" / "forms" / "durations.yaml"
NOW = "2024-03-20 10:00"
PASSWORD = "mat-khau-du-dai"


@pytest.mark.parametrize(
    ("written", "nominal", "tolerance"),
    [
        ("15 phút", 900, None),
        ("15 ± 2 phút", 900, 120),
        ("15 +- 2 phút", 900, 120),
        ("15±2m", 900, 120),
        ("15 ±2 min", 900, 120),
        ("10 phút ± 30 giây", 600, 30),
        ("1 giờ ± 5 phút", 3600, 300),
        ("00:15:00", 900, None),
    ],
)
def test_the_forms_plans_write(written, nominal, tolerance):
    length, given = parse_nominal(written)
    assert length == timedelta(seconds=nominal)
    assert given == (timedelta(seconds=tolerance) if tolerance is not None else None)


@pytest.mark.parametrize("written", ["15 ± phút", "± 2 phút", "15 ± 2 ± 1 phút", "15 ± 15 phút", "mười lăm phút"])
def test_what_is_not_a_length_is_refused_with_the_forms(written):
    with pytest.raises(SchedulerError) as caught:
        parse_nominal(written)
    assert written in caught.value.render()


def test_the_effective_minimum_is_kept_as_before_and_the_rest_only_where_stated():
    plan = read_files([FILE]).plans[0]
    first = {o.obligation: o for o in expand(plan) if o.number == 1}
    assert (first["chuyen-muc-cchc"].min_duration, first["chuyen-muc-cchc"].shown()["duration_tolerance"]) == (780, 120)
    assert first["ban-tin-cchc"].min_duration == 570 and first["ban-tin-cchc"].shown()["max_duration"] == 720
    assert first["phong-su-quy"].min_duration == 900 and "duration_tolerance" not in first["phong-su-quy"].shown()
    assert first["toa-dam"].min_duration == 1800
    assert not {"duration", "duration_tolerance", "max_duration"} & set(first["toa-dam"].shown())
    bundled = expand(read_files([ROOT / "schedules" / "phu-tho-2024.yaml"]).plans[0])
    assert not any({"duration", "duration_tolerance", "max_duration"} & set(o.shown()) for o in bundled)


@pytest.fixture
def station(cli, db_url):
    assert cli("load", FILE, "--now", "2024-01-02").code == 0
    assert cli("users", "add", "p@dai.example", "--role", "producer", "--agency", "dai-ptth").code == 0
    db = Database(db_url)
    with db.transaction() as s:
        set_password(s, find_user(s, "p@dai.example"), PASSWORD, parse_now(NOW, DEFAULT_TZ))
    yield create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ)))
    db.close()


def _deliver(cli, occurrence: str, duration: str, at: str = "2024-03-05 19:30"):
    return cli(
        "deliver", occurrence, "--by", "p@dai.example", "--at", at, "--duration", duration, "--now", NOW, "--lang", "en"
    )


def test_shorter_than_the_tolerance_does_not_conform_longer_does_unless_a_maximum(cli, station):
    episode = "forms-durations.chuyen-muc-cchc.2024-03.1"
    short = _deliver(cli, episode, "12m")
    assert short.code == 0 and "state: non_conforming" in short.out
    assert "shorter than 15 ± 2 min: 12 min < 13 min" in short.out
    within = _deliver(cli, episode, "13m", "2024-03-06 19:30")
    assert "state: on_time" in within.out and "not conforming" not in within.out
    long = _deliver(cli, "forms-durations.chuyen-muc-cchc.2024-03.2", "25m")
    assert "state: on_time" in long.out  # no maximum stated: longer conforms

    bulletin = "forms-durations.ban-tin-cchc.2024-03.1"
    over = _deliver(cli, bulletin, "12m30s")
    assert "longer than the maximum: 12.5 min > 12 min" in over.out and "non_conforming" in over.out
    in_range = _deliver(cli, bulletin, "9m30s", "2024-03-06 19:30")
    assert "state: on_time" in in_range.out

    nominal_alone = _deliver(cli, "forms-durations.phong-su-quy.2024-Q1.1", "14m")
    assert "shorter than the minimum: 14 min < 15 min" in nominal_alone.out


def test_the_api_gives_the_reason_in_the_readers_language(cli, station):
    token = cli("tokens", "create", "--user", "p@dai.example").out.strip().splitlines()[-1]
    r = TestClient(station).post(
        "/api/occurrences/forms-durations.chuyen-muc-cchc.2024-03.1/deliveries",
        headers={"Authorization": f"Bearer {token}"},
        data={"aired_at": "2024-03-05 19:30", "duration": "12m"},
    )
    assert r.status_code == 201 and r.json()["state"] == "non_conforming"
    assert r.json()["reasons"] == ["ngắn hơn 15 ± 2 phút: 12 phút < 13 phút"]


def test_the_page_and_the_feed_show_the_length_as_the_plan_states_it(cli, station):
    client = signed_in(station, "p@dai.example", PASSWORD)
    page = client.get("/o/forms-durations.ban-tin-cchc.2024-03.1")
    assert page.status_code == 200
    assert "Thời lượng" in page.text and "10 phút ± 30 giây, ≤ 12 phút" in page.text
    minimum = client.get("/o/forms-durations.toa-dam.2024-H1.1")
    assert "Thời lượng tối thiểu" in minimum.text and "30 phút" in minimum.text

    result = cli("subscribe", "--email", "watch@x.example", "--obligation", "chuyen-muc-cchc", "--no-milestones")
    token = result.out.split("/feeds/")[1].split(".ics")[0]
    time.sleep(1.05)
    calendar = icalendar.Calendar.from_ical(client.get(f"/feeds/{token}.ics").content)
    event = next(e for e in calendar.walk("VEVENT") if "chuyen-muc-cchc.2024-03.1" in str(e["UID"]))
    assert str(event["SUMMARY"]).endswith("(15 ± 2 phút)")
    assert "Thời lượng: 15 ± 2 phút" in str(event["DESCRIPTION"])

    listed = cli("occurrences", "--obligation", "chuyen-muc-cchc", "--to", "2024-01-31")
    assert "15 ± 2 phút" in listed.out, listed.out  # the table shows the length as stated
    (first, *_) = json.loads(cli("occurrences", "--obligation", "chuyen-muc-cchc", "--format", "json").out)
    assert (first["min_duration"], first["duration"], first["duration_tolerance"]) == (780, 900, 120)
