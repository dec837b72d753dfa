"""plan roll: next year's file from this year's, renames and merges, and it loads."""

from __future__ import annotations

import json

from scheduler.plan.production import read_files
from scheduler.plan.rolling import roll, shift_text


def test_shift_text_moves_every_written_date_and_keeps_leap_days_real():
    assert shift_text("Q4/2024", 1) == "Q4/2025"
    assert shift_text("before 30/09/2024", 1) == "before 30/09/2025"
    assert shift_text("29/02/2024 - 2024-02-29", 1) == "28/02/2025 - 2025-02-28"
    assert shift_text("FREQ=WEEKLY;UNTIL=20241231T170000Z", 2) == "FREQ=WEEKLY;UNTIL=20261231T170000Z"


def test_roll_2024_to_2025_with_the_merged_outlet_loads_as_it_is(cli, tmp_path):
    out = tmp_path / "phu-tho-2025.yaml"
    result = cli(
        "plan",
        "roll",
        "schedules/phu-tho-2024.yaml",
        "--year",
        "2025",
        "--rename",
        "bao-phu-tho=bao-ptth-phu-tho",
        "--rename",
        "dai-ptth=bao-ptth-phu-tho",
        "--name",
        "bao-ptth-phu-tho=Báo và Phát thanh, Truyền hình Phú Thọ",
        "--out",
        out,
    )
    assert result.code == 0, result.err
    text = out.read_text(encoding="utf-8")
    assert "Reading:" in text  # the readings' comments travel with the file
    assert "dai-ptth" not in text.replace("daiptth", "") and "host: bao-phu-tho" not in text
    (plan,) = read_files([out]).plans
    assert plan.code == "phu-tho-2025" and plan.period.start.year == 2025
    assert "2025" in plan.title
    merged = plan.agency("bao-ptth-phu-tho")
    assert merged.name == "Báo và Phát thanh, Truyền hình Phú Thọ"
    assert set(merged.contacts) == {"bientap@daiptth.phutho.example", "toasoan@baophutho.phutho.example"}
    assert plan.obligation("bao-phu-tho-cchc").host == "bao-ptth-phu-tho"
    assert 'đã hợp nhất cơ quan "bao-phu-tho" vào "bao-ptth-phu-tho"' in result.err
    loaded = cli("load", out, "--now", "2025-01-01")
    assert loaded.code == 0, loaded.err
    occ = json.loads(
        cli("occurrences", "--plan", "phu-tho-2025", "--obligation", "toa-dam-cchc", "--format", "json").out
    )
    assert occ[0]["window_start"] == "2025-10-01T00:00:00+07:00"
    # legal basis is history: it is not rewritten
    assert "Quyết định số 35/QĐ-BNV ngày 22/01/2024" in text


def test_roll_drops_year_specific_details_and_refuses_to_overwrite(cli, tmp_path, data):
    source = tmp_path / "p-2024.yaml"
    source.write_text(
        "plan:\n  code: p-2024\n  title: Kế hoạch năm 2024\n  issuer: UBND\n  period: 2024\n"
        "  number: 12/KH-UBND\n  working_days:\n    holidays: [02/01/2024]\n"
        "agencies:\n  - code: a\n    name: A\n"
        "obligations:\n  - code: o\n    title: O\n    host: a\n    channels: [radio]\n"
        "    cadence: 1 per month\n    exceptions:\n      - {occurrence: '2024-02 #1', skip: true, reason: Tết}\n",
        encoding="utf-8",
    )
    rolled = roll(source.read_text(encoding="utf-8"), str(source), 2025, {}, {})
    assert rolled.code == "p-2025"
    assert "number" not in rolled.text and "working_days" not in rolled.text and "exceptions" not in rolled.text
    assert {n.params.get("field") for n in rolled.notes} >= {"number"}
    first = cli("plan", "roll", source, "--year", "2025")
    assert first.code == 0 and (tmp_path / "p-2025.yaml").exists()
    again = cli("plan", "roll", source, "--year", "2025")
    assert again.code == 1 and "--force" in again.err
    unknown = cli("plan", "roll", source, "--year", "2025", "--rename", "khong-co=x", "--force")
    assert unknown.code == 1 and "khong-co" in unknown.err
