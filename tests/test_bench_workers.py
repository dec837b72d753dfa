"""bench/workers.py, small: a real run on PostgreSQL of ``serve --workers 1``
and ``--workers 2`` beside the cached-bytes app with uvicorn workers 1 and
2, through the script's own load generator; the table and every figure are
printed and positive. Keeps the bench working between the runs made by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_requests_per_cpu_second_for_one_and_two_workers(postgres, tmp_path):
    postgres.reset()
    out = tmp_path / "workers.json"
    cmd = [sys.executable, "bench/workers.py", "--postgres-url", postgres.url, "--sizes", "100"]
    cmd += ["--workers", "1,2", "--seconds", "1", "--rounds", "1", "--generator", "python", "--connections", "2"]
    cmd += ["--requests", "400", "--json", str(out)]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "OUTPUTS_DIR")}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]

    (result,) = json.loads(out.read_text())
    assert result["events"] == 96 and result["bytes"] > 10_000
    figures = result["results"]
    assert set(figures) == {"serve-1", "serve-2", "bytes-1", "bytes-2", "healthz-1", "healthz-2"}
    for name, x in figures.items():
        assert x["requests"] > 0 and x["cpu_s"] > 0 and x["per_cpu_s"] > 0, name
        assert x["per_cpu_s"] == x["requests"] / x["cpu_s"], name
    assert figures["serve-1"]["processes"] == 1 and figures["bytes-1"]["processes"] == 1
    assert figures["serve-2"]["processes"] >= 3 and figures["bytes-2"]["processes"] >= 3  # parent and two workers
    assert figures["serve-2"]["parent_cpu_s"] < figures["serve-2"]["cpu_s"]  # the workers' CPU is counted too

    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| events"))
    assert "serve req/CPU-s" in header and "bytes req/CPU-s" in header and "/healthz req/CPU-s" in header
    rows = [line for line in lines if line.startswith("|") and line.split("|")[1].strip() == "96"]
    assert [row.split("|")[2].strip() for row in rows] == ["1", "2"]
    assert any("2 workers / 1, requests per CPU-second: serve" in line for line in lines)
    assert f"the load generator (python) shares the {os.cpu_count()} cores" in done.stdout
