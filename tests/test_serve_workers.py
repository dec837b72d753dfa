"""``serve --workers N``: refused on SQLite (one writing process); on
PostgreSQL a real run of two web workers under uvicorn's supervisor, the
jobs in the parent, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_workers_refused_on_sqlite(monkeypatch, tmp_path):
    import io

    import main

    monkeypatch.setenv("OUTPUTS_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("SCHEDULER_LANG", "en")
    out, err = io.StringIO(), io.StringIO()
    code = main.run(["serve", "--workers", "2", "--port", "1"], out, err)
    assert code != 0
    assert "serve --workers needs PostgreSQL: SQLite allows one writing process" in err.getvalue()
    assert "or serve with one worker" in err.getvalue()
    assert not (tmp_path / "db.sqlite3").exists()  # refused before anything was opened


def test_workers_out_of_range_refused(monkeypatch, tmp_path):
    import io

    import main

    monkeypatch.setenv("OUTPUTS_DIR", str(tmp_path / "outputs"))
    for bad in ("0", "17", "two"):
        err = io.StringIO()
        try:
            code = main.run(["serve", "--workers", bad], io.StringIO(), err)
        except SystemExit as e:
            code = e.code
        assert code != 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read()


def test_two_workers_on_postgresql(postgres, tmp_path):
    postgres.reset()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": postgres.url,
        "OUTPUTS_DIR": str(tmp_path / "outputs"),
        "SCHEDULER_LANG": "en",
    }
    with open(tmp_path / "serve.log", "wb") as log:
        _serve_two_workers(log, port, env, tmp_path)
    text = (tmp_path / "serve.log").read_text()
    assert text.count("Started server process") == 2, text  # two web workers
    assert text.count("scheduler started with jobs") == 1, text  # the jobs in the parent alone
    assert "Traceback" not in text, text


def _serve_two_workers(log, port: int, env: dict, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "main.py", "serve", "--workers", "2", "--port", str(port), "--now", "2025-03-14 09:00"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        assert status == 200
        for _ in range(20):
            assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, (tmp_path / "serve.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
