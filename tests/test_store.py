"""The database edge: migrations match the tables, times keep their zone,
transactions are all or nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from scheduler.store.database import Database, sqlalchemy_url
from scheduler.store.tables import Base, PlanRow


def test_migrations_create_exactly_the_tables_of_the_code(database):
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_opening_twice_migrates_once(db_url):
    Database(db_url).close()
    Database(db_url).close()  # no error: already at head


def _plan_row(code: str, loaded_at: datetime) -> PlanRow:
    return PlanRow(
        code=code,
        title="T",
        title_en="",
        issuer="I",
        timezone="Asia/Ho_Chi_Minh",
        period_start=date(2024, 1, 1),
        period_end=date(2025, 1, 1),
        source="s",
        source_sha256="0" * 64,
        definition={"k": "Việt"},
        loaded_at=loaded_at,
    )


def test_moments_come_back_aware_and_equal(database, now):
    with database.transaction() as s:
        s.add(_plan_row("p", now))
    with database.transaction() as s:
        row = s.scalar(select(PlanRow))
    assert row.loaded_at == now and row.loaded_at.utcoffset() == timedelta(0)
    assert row.definition == {"k": "Việt"}


def test_a_failed_transaction_writes_nothing(database, now):
    with pytest.raises(RuntimeError):
        with database.transaction() as s:
            s.add(_plan_row("p", now))
            s.flush()
            raise RuntimeError("crash in the middle of a load")
    with database.transaction() as s:
        assert s.scalar(select(PlanRow)) is None


def test_naive_moments_are_refused(database):
    with pytest.raises(Exception, match="naive"):
        with database.transaction() as s:
            s.add(_plan_row("p", datetime(2024, 1, 1)))


def test_plain_postgresql_urls_use_psycopg_3():
    assert sqlalchemy_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert sqlalchemy_url("sqlite:///x.db") == "sqlite:///x.db"


def test_sqlite_runs_in_wal_mode(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with db.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    db.close()
