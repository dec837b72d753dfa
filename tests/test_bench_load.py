"""bench/load.py, scaled down: both kinds of rows load, re-load unchanged and
print their figures. Keeps the benchmark working between runs by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import load


def test_the_scaled_down_bench_prints_every_row(capsys):
    assert load.main(["--scale-down"]) == 0
    out = capsys.readouterr().out
    lines = {line.split("  ")[0]: line.split() for line in out.splitlines() if " sqlite " in line}
    assert set(lines) == {"1× bundled", "1,000 events"}
    bundled, events = lines["1× bundled"], lines["1,000 events"]
    assert bundled[3:5] == ["50", "184"]  # occurrences and feed events of the bundled plan
    assert events[3:5] == ["246", "984"]
    assert float(events[8]) == 1.0  # the first row of its kind is the base of the ratio


def test_copies_take_their_own_codes(tmp_path):
    load.copies(tmp_path, 3)
    codes = sorted(p.stem for p in tmp_path.iterdir())
    assert codes == ["phu-tho-2024", "phu-tho-2024-1", "phu-tho-2024-2"]
    assert "  code: phu-tho-2024-2\n" in (tmp_path / "phu-tho-2024-2.yaml").read_text("utf-8")


def test_rows_name_a_kind_the_bench_knows():
    with pytest.raises(SystemExit, match="KIND bundled or events"):
        load.main(["--rows", "bundled:1,weekly:3"])
