"""Shared fixtures: a fixed ``now``, named test data, a database over SQLite
and a real PostgreSQL, and the real command line."""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import light_hashes  # noqa: F401  (before any test hashes a password)
import pg_server

pytest_plugins = ["browser_fixtures"]  # chromium, site, phone: for every browser test module

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def now() -> datetime:
    return datetime(2024, 3, 15, 9, 0, tzinfo=TZ)


@pytest.fixture
def data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL server for the session (or TEST_DATABASE_URL).
    Under pytest-xdist each worker is its own session, so each has its own
    server on its own free port: no database is shared between workers."""
    reason = pg_server.postgres_unavailable_reason()
    if reason:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES=1) but unavailable: {reason}")
        pytest.skip(f"no PostgreSQL here: {reason}")
    server = pg_server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """The same test on the embedded SQLite and on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'scheduler.sqlite3'}"
    server = request.getfixturevalue("postgres")
    server.reset()
    return server.url


@pytest.fixture
def database(db_url):
    from scheduler.store.database import Database

    db = Database(db_url)
    yield db
    db.close()


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(monkeypatch, tmp_path, db_url):
    """Run ``main.py`` in-process with its own outputs folder and database."""
    import main

    monkeypatch.setenv("OUTPUTS_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("SCHEDULER_LANG", raising=False)
    monkeypatch.chdir(ROOT)

    def run(*args: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main.run([str(a) for a in args], out, err)
        return Result(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def smtp(monkeypatch):
    """A real SMTP server on 127.0.0.1; the service is configured to use it."""
    from smtp_server import SmtpServer

    with SmtpServer() as server:
        for key, value in server.env.items():
            monkeypatch.setenv(key, value)
        yield server
