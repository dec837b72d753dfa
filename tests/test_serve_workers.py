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
        return r.status, r.read().replace(b"\r\n ", b"")  # iCalendar lines unfolded


EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.2"
NEW_TITLE = "Chuyên mục đổi tên qua một tiến trình khác"


def _revise(url: str) -> None:
    """A new revision of one occurrence and its feed items, in one
    transaction, from another process than the workers (as a load or a
    page served by another worker writes it)."""
    from datetime import UTC, datetime

    from scheduler.settings import Settings
    from scheduler.store.database import Database
    from scheduler.store.feed_items import write_items
    from scheduler.store.tables import OccurrenceRow

    db = Database(url)
    try:
        with db.transaction() as s:
            row = s.get(OccurrenceRow, EPISODE)
            row.shown = {**row.shown, "title": NEW_TITLE, "title_en": NEW_TITLE}
            row.revision += 1
            row.updated_at = datetime(2024, 6, 1, tzinfo=UTC)
            s.flush()
            write_items(s, [EPISODE], Settings.load().base_url)
    finally:
        db.close()


def test_two_workers_on_postgresql(postgres, tmp_path, monkeypatch):
    """Two web workers answer; a change written elsewhere is in the feed
    every worker serves a little over a second later (each cache follows the
    database's change counter); SIGTERM stops them and the parent's jobs."""
    import io
    import re

    import main

    postgres.reset()
    port = _free_port()
    env = {"DATABASE_URL": postgres.url, "OUTPUTS_DIR": str(tmp_path / "outputs"), "SCHEDULER_LANG": "en"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = io.StringIO()
    assert main.run(["load", "--now", "2024-01-02"], out, io.StringIO()) == 0
    args = ["subscribe", "--email", "watch@x.example", "--obligation", "cchc-radio-tv", "--no-milestones"]
    assert main.run(args, out, io.StringIO()) == 0
    feed = f"http://127.0.0.1:{port}/feeds/" + re.search(r"/feeds/([A-Za-z0-9_-]+)\.ics", out.getvalue())[1] + ".ics"

    def change_and_fetch() -> None:
        assert all(NEW_TITLE.encode() not in _get(feed)[1] for _ in range(8))  # every worker's cache warm
        _revise(postgres.url)
        time.sleep(1.5)
        seen = [NEW_TITLE.encode() in _get(feed)[1] for _ in range(12)]
        assert all(seen), seen

    with open(tmp_path / "serve.log", "wb") as log:
        _serve_two_workers(log, port, {**os.environ, **env}, tmp_path, change_and_fetch)
    text = (tmp_path / "serve.log").read_text()
    assert text.count("Started server process") == 2, text  # two web workers
    assert text.count("scheduler started with jobs") == 1, text  # the jobs in the parent alone
    assert "Traceback" not in text, text


def _serve_two_workers(log, port: int, env: dict, tmp_path: Path, meanwhile) -> None:
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
        meanwhile()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, (tmp_path / "serve.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_parents_flags_and_now_reach_a_worker(monkeypatch, tmp_path):
    """What the parent was given on its command line (settings flags and
    --now) reaches a worker's app through the environment, read back with
    Settings.load; a secret never goes on a command line."""
    import argparse
    from datetime import datetime, timedelta

    from scheduler.cli.context import DEFAULT_TZ, Context
    from scheduler.cli.serve_workers import hand_down
    from scheduler.settings import Settings
    from scheduler.web import factory

    for key in (factory.FLAGS, factory.ZONE, factory.NOW):
        monkeypatch.setenv(key, "")  # set here, so that the test's end removes what hand_down writes
    monkeypatch.setenv("OUTPUTS_DIR", str(tmp_path / "outputs"))
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    args = argparse.Namespace(base_url="https://lich.example", database_url=url, workers=2)
    settings = Settings.load(flags={"base_url": "https://lich.example", "database_url": url})
    now = datetime(2025, 3, 14, 9, 0, tzinfo=DEFAULT_TZ)
    hand_down(Context(settings, now, None, None, now_given=True), args)
    app = factory.app_from_environment()
    services = app.state.services
    try:
        assert services.settings.base_url == "https://lich.example"
        assert services.settings.database_url == url
        assert services.daemon is None  # the workers serve the web only
        assert abs(services.clock.now() - now) < timedelta(seconds=30)
    finally:
        services.db.close()


def test_a_slow_starting_worker_is_given_time():
    """uvicorn's supervisor kills a worker that does not answer its ping in
    5 s by default, starting up included; on a busy machine every new
    worker was killed that way. serve --workers gives them a minute."""
    import inspect

    from uvicorn import Config

    from scheduler.cli.serve_workers import WORKER_HEALTHCHECK_S, healthcheck_option

    assert "timeout_worker_healthcheck" in inspect.signature(Config).parameters  # the uvicorn installed here
    assert healthcheck_option() == {"timeout_worker_healthcheck": WORKER_HEALTHCHECK_S}
    assert WORKER_HEALTHCHECK_S >= 30
    config = Config("scheduler.web.factory:app_from_environment", factory=True, workers=2, **healthcheck_option())
    assert config.timeout_worker_healthcheck == WORKER_HEALTHCHECK_S
