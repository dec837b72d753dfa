"""The command line over a real database: listings, filters, errors."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import datetime

import pytest

REQUIRED = {
    "id",
    "plan",
    "obligation",
    "agency",
    "title",
    "channels",
    "period",
    "window_start",
    "window_end",
    "due",
    "slot",
    "revision",
    "status",
}


@pytest.fixture
def loaded(cli):
    result = cli("load", "--now", "2024-01-01")
    assert result.code == 0, result.err
    return cli


def test_occurrences_json_carries_the_whole_2024_plan(loaded):
    result = loaded("occurrences", "--plan", "phu-tho-2024", "--format", "json")
    occ = json.loads(result.out)
    assert all(set(o) >= REQUIRED for o in occ)
    counts = Counter(o["obligation"] for o in occ)
    assert counts["cchc-radio-tv"] == 24 and counts["bao-phu-tho-cchc"] == 12
    radio = [o for o in occ if o["obligation"] == "cchc-radio-tv"]
    for month in range(1, 13):
        pair = [o for o in radio if o["period"] == f"2024-{month:02d}"]
        assert len(pair) == 2 and pair[0]["window_start"] == pair[1]["window_start"]
    talk = next(o for o in occ if o["obligation"] == "toa-dam-cchc")
    assert (talk["window_start"], talk["window_end"]) == ("2024-10-01T00:00:00+07:00", "2025-01-01T00:00:00+07:00")
    contest = next(o for o in occ if o["obligation"] == "thi-tim-hieu-cchc")
    assert (contest["window_start"], contest["window_end"]) == (
        "2024-07-01T00:00:00+07:00",
        "2024-10-01T00:00:00+07:00",
    )
    training = next(o for o in occ if o["obligation"] == "tap-huan-cchc")
    assert training["window_start"].startswith("2024-04-01") and training["window_end"].startswith("2025-01-01")
    assert counts["cong-tttt-chuyen-trang"] == 4 and counts["lien-ket-dich-vu-cong"] == 4
    for o in occ:  # moments are ISO 8601 with the plan's offset
        assert datetime.fromisoformat(o["due"]).utcoffset().total_seconds() == 7 * 3600
        assert o["status"] == "scheduled"


def test_filters_by_agency_obligation_and_due_days(loaded):
    occ = json.loads(
        loaded(
            "occurrences", "--agency", "dai-ptth", "--from", "01/03/2024", "--to", "31/03/2024", "--format", "json"
        ).out
    )
    assert [o["id"] for o in occ] == ["phu-tho-2024.cchc-radio-tv.2024-03.1", "phu-tho-2024.cchc-radio-tv.2024-03.2"]
    occ = json.loads(loaded("occurrences", "--obligation", "bao-phu-tho-cchc", "--format", "json").out)
    assert len(occ) == 12


def test_table_is_vietnamese_with_dd_mm_yyyy(loaded):
    out = loaded("occurrences", "--from", "2024-03-01", "--to", "2024-03-31").out
    assert "Hạn" in out.splitlines()[0]
    assert "15/03/2024 17:00" in out and "01/03/2024–31/03/2024" in out
    assert 'Chuyên mục "Cải cách hành chính"' in out
    english = loaded("occurrences", "--from", "2024-03-01", "--to", "2024-03-31", "--lang", "en").out
    assert "Due" in english.splitlines()[0] and '"Administrative Reform" program' in english


def test_csv_and_milestones(loaded):
    rows = list(csv.DictReader(io.StringIO(loaded("occurrences", "--format", "csv").out)))
    assert len(rows) == 50 and rows[0]["id"]
    ms = json.loads(
        loaded(
            "milestones",
            "--from",
            "2024-02-01",
            "--to",
            "2024-02-29",
            "--obligation",
            "cchc-radio-tv",
            "--format",
            "json",
        ).out
    )
    days = [m["day"] for m in ms]
    assert days == sorted(days) and "2024-02-08" not in days  # Tết is no working day
    assert {m["step"] for m in ms} == {"script", "recording", "handover"}


def test_bad_arguments_get_a_clear_error(loaded):
    result = loaded("occurrences", "--from", "31/02/2024")
    assert result.code == 1 and "--from" in result.err
    result = loaded("occurrences", "--now", "yesterday")
    assert result.code == 1 and "--now" in result.err
    result = loaded("load", "does-not-exist.yaml")
    assert result.code == 1 and "does-not-exist.yaml" in result.err


def test_broken_file_reports_every_problem_with_its_line(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "plan:\n  code: x-2024\n  title: T\n  issuer: I\n  period: 2024\n  colour: red\n"
        "agencies:\n  - code: a\n    name: A\n"
        "obligations:\n  - code: o\n    title: O\n    host: b\n    channels: [radio]\n"
        "    cadence: 2 moi thang\n",
        encoding="utf-8",
    )
    result = cli("load", bad, "--lang", "en")
    assert result.code == 1
    lines = result.err.splitlines()
    assert f"{bad}:6: plan.colour: unknown field" in lines[0]
    assert any(line.startswith(f'{bad}:13: obligations[0].host: unknown agency "b"') for line in lines)
    assert any(
        line.startswith(
            f'{bad}:15: obligations[0].cadence: expected "N per week|month|quarter|half-year|year", got "2 moi thang"'
        )
        for line in lines
    )


@pytest.fixture
def served(cli, monkeypatch):
    """``serve`` run in-process up to the uvicorn Config it builds (the server
    itself is replaced, so nothing listens and no signal handler stays)."""
    import signal

    import uvicorn

    configs = []

    class Server:
        def __init__(self, config):
            configs.append(config)

        def run(self):
            pass

    monkeypatch.setattr(uvicorn, "Server", Server)
    monkeypatch.setattr(signal, "signal", lambda *_: None)

    def run():
        result = cli("serve", "--no-scheduler", "--port", "8123")
        assert result.code == 0, result.err
        (config,) = configs
        config.load()  # resolves "uvloop"/"httptools" to the classes it will run on
        return config

    return run


def test_serve_runs_on_uvloop_and_httptools(served):
    import httptools
    import uvloop
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    config = served()
    assert (config.loop, config.http) == ("uvloop", "httptools")
    assert config.http_protocol_class is HttpToolsProtocol
    assert httptools and uvloop
    assert config.port == 8123 and not config.proxy_headers  # what it had before: no proxy believed by default


def test_serve_falls_back_to_asyncio_and_h11_and_says_so(served, monkeypatch, caplog):
    import importlib.util

    from uvicorn.protocols.http.h11_impl import H11Protocol

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name, *a))
    with caplog.at_level("WARNING", logger="scheduler.serve"):
        config = served()
    assert (config.loop, config.http) == ("asyncio", "h11")
    assert config.http_protocol_class is H11Protocol
    assert "uvloop not installed" in caplog.text
