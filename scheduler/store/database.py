"""Opening the database: SQLite (WAL) under outputs/ by default, PostgreSQL
when DATABASE_URL says so; migrations run on open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant will do: it serialises migrations between processes on PostgreSQL.
_MIGRATION_LOCK = 7_202_401


def sqlalchemy_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use psycopg 3 for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a recorded delivery survives a power cut
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class UnusableUrl(Exception):
    """DATABASE_URL is not an address of a database this service can open:
    ``unknown`` when its kind (the part before ``:``) has no driver here."""

    def __init__(self, unknown: bool):
        super().__init__("unknown kind of database" if unknown else "not a database URL")
        self.unknown = unknown


def create(url: str) -> Engine:
    url = sqlalchemy_url(url)
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, future=True)
    except (NoSuchModuleError, ImportError):  # "foo://", or mysql:// without its driver
        raise UnusableUrl(unknown=True) from None
    except (ArgumentError, ValueError):  # not a URL, a port that is not a number
        raise UnusableUrl(unknown=False) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def migrate(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """An engine with its schema up to date, and transactions on it."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create(url)
        migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed whole, or rolled back whole."""
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()
