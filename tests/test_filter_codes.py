"""A mistyped code in a filter is an error that lists the known codes (as
``users add --agency`` has long done), never an empty answer: every command
that filters by plan, agency or obligation, ``report --period`` outside every
loaded plan, and /api/compliance (422 at the parameter); on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.web.app import create_app

NOW = "2024-03-20 10:00"


@pytest.fixture
def loaded(cli):
    assert cli("load", "--now", "2024-01-02").code == 0
    assert cli("users", "add", "p@dai.example", "--role", "producer", "--agency", "dai-ptth").code == 0
    assert cli("users", "add", "dha@snv.example", "--role", "dha", "--agency", "so-noi-vu").code == 0
    return cli


AGENCY = '--agency: no agency "dai-truyen-hinh" in the loaded plans (known: '
PLAN = '--plan: no plan "phu-tho-2025" is loaded (known: phu-tho-2024)'
OBLIGATION = '--obligation: no obligation "chuyen-muc" in the loaded plans (known: '

BY = ["--by", "p@dai.example", "--at", "2024-03-05 19:30"]

PROBES = {
    "occurrences --agency": (["occurrences", "--agency", "dai-truyen-hinh"], AGENCY),
    "occurrences --plan": (["occurrences", "--plan", "phu-tho-2025"], PLAN),
    "occurrences --obligation": (["occurrences", "--obligation", "chuyen-muc", "--format", "json"], OBLIGATION),
    "milestones --agency": (["milestones", "--agency", "dai-truyen-hinh"], AGENCY),
    "milestones --plan": (["milestones", "--plan", "phu-tho-2025", "--from", "2024-03-01"], PLAN),
    "milestones --obligation": (["milestones", "--obligation", "chuyen-muc"], OBLIGATION),
    "report --agency": (["report", "--period", "2024-03", "--agency", "dai-truyen-hinh"], AGENCY),
    "report --plan": (["report", "--period", "2024-03", "--plan", "phu-tho-2025"], PLAN),
    "report --obligation": (["report", "--period", "2024-03", "--obligation", "chuyen-muc"], OBLIGATION),
    "report --period": (
        ["report", "--period", "2019"],
        "--period: 2019 is outside every loaded plan (known: phu-tho-2024 01/01/2024–31/12/2024)",
    ),
    "deliver --obligation": (
        [
            "deliver",
            "--obligation",
            "chuyen-muc",
            "--period",
            "2024-03",
            "--by",
            "p@dai.example",
            "--at",
            "2024-03-05 19:30",
        ],
        OBLIGATION,
    ),
    "deliver --plan": (
        [
            "deliver",
            "--obligation",
            "cchc-radio-tv",
            "--period",
            "2024-03",
            "--plan",
            "phu-tho-2025",
            *BY,
        ],
        PLAN,
    ),
    "subscribe --plan": (["subscribe", "--email", "w@x.example", "--plan", "phu-tho-2025"], PLAN),
    "subscribe --obligation": (["subscribe", "--email", "w@x.example", "--obligation", "chuyen-muc"], OBLIGATION),
    "users add --agency": (
        ["users", "add", "x@x.example", "--role", "producer", "--agency", "dai-truyen-hinh"],
        AGENCY,
    ),
}


@pytest.mark.parametrize("name", PROBES)
def test_an_unknown_code_is_named_with_the_known_ones(loaded, name):
    args, message = PROBES[name]
    result = loaded(*args, "--now", NOW, "--lang", "en")
    assert result.code == 1 and result.out == ""
    (line,) = result.err.strip().splitlines()
    assert line.startswith(message), line
    if "agency" in message:
        assert "dai-ptth" in line and "so-noi-vu" in line
    if "obligation" in message:
        assert "cchc-radio-tv" in line


def test_in_vietnamese_first(loaded):
    result = loaded("occurrences", "--agency", "dai-truyen-hinh")
    assert result.code == 1
    assert 'không có cơ quan "dai-truyen-hinh"' in result.err and "dai-ptth" in result.err


def test_known_codes_still_filter(loaded):
    result = loaded("occurrences", "--agency", "dai-ptth", "--obligation", "cchc-radio-tv", "--format", "json")
    assert result.code == 0 and "phu-tho-2024.cchc-radio-tv.2024-03.1" in result.out
    report = loaded("report", "--period", "2024-03", "--plan", "phu-tho-2024", "--now", NOW)
    assert report.code == 0 and '"cchc-radio-tv"' in report.out


def test_the_api_answers_422_at_the_parameter(loaded, db_url):
    """To who sees every plan (a national user) an unknown code is a 422 at
    its parameter listing the known ones; a DHA held to its province (the Sở
    Nội vụ is Phú Thọ's) is told only that no such plan is loaded."""
    assert loaded("users", "add", "quocgia@bnv.example", "--role", "national").code == 0
    token = loaded("tokens", "create", "--user", "quocgia@bnv.example").out.strip().splitlines()[-1]
    held = loaded("tokens", "create", "--user", "dha@snv.example").out.strip().splitlines()[-1]
    db = Database(db_url)
    try:
        client = TestClient(create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ))))
        auth = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        for query, field, fragment in (
            ("agency=dai-truyen-hinh", "agency", "dai-ptth"),
            ("plan=phu-tho-2025", "plan", "phu-tho-2024"),
            ("obligation=chuyen-muc", "obligation", "cchc-radio-tv"),
        ):
            r = client.get(f"/api/compliance?period=2024-03&{query}", headers=auth)
            assert r.status_code == 422, r.text
            (detail,) = r.json()["detail"]
            assert detail["loc"] == ["query", field] and fragment in detail["msg"]
        outside = client.get("/api/compliance?period=2019", headers=auth)
        assert outside.status_code == 422 and outside.json()["detail"][0]["loc"] == ["query", "period"]
        assert "phu-tho-2024" in outside.json()["detail"][0]["msg"]
        assert client.get("/api/compliance?period=2024-03&agency=dai-ptth", headers=auth).status_code == 200
        province = {"Authorization": f"Bearer {held}", "Accept-Language": "en"}
        unknown = client.get("/api/compliance?period=2024-03&plan=phu-tho-2025", headers=province)
        assert unknown.status_code == 404 and "phu-tho-2024" not in unknown.text
        assert client.get("/api/compliance?period=2024-03&plan=phu-tho-2024", headers=province).status_code == 200
    finally:
        db.close()
