"""Throwaway PostgreSQL server for the test session.

Plain functions and one class, no pytest code; ``tests/conftest.py`` wraps them
in fixtures.

API
---
``postgres_unavailable_reason() -> str | None``
    ``None`` when a database can be provided (``TEST_DATABASE_URL`` is set, or
    PostgreSQL server binaries were found and, when running as root, the
    ``postgres`` system user and ``runuser``/``su`` exist).  Otherwise a
    human-readable reason, for ``pytest.skip`` / ``pytest.fail``.

``start(dbname="scheduler_test") -> Server | None``
    If ``TEST_DATABASE_URL`` is set, returns a ``Server`` wrapping that URL
    (nothing is started; ``stop()`` is a no-op).  Otherwise, when
    ``postgres_unavailable_reason()`` is not ``None``, returns ``None``.
    Otherwise initialises a fresh cluster in a new ``/tmp/scheduler-pg-*``
    folder (owned by ``postgres`` when running as root), starts it on a free
    127.0.0.1 port with ``fsync=off``, creates the database and returns a
    ``Server``.  Raises ``RuntimeError`` (with the tail of the server log) if
    the server cannot be started; nothing is left running in that case.

``Server.url``
    SQLAlchemy URL, e.g. ``postgresql+psycopg://postgres@127.0.0.1:PORT/scheduler_test``.

``Server.reset()``
    ``DROP SCHEMA public CASCADE; CREATE SCHEMA public;`` so the next test
    starts from an empty database.  Dispose SQLAlchemy engines / close
    connections first, or the DROP waits for their locks (it gives up after
    ``lock_timeout`` = 10 s with an error rather than hanging).

``Server.stop()``
    ``pg_ctl stop -m fast`` and removes the data folder.  Idempotent.  A
    ``Server`` is also a context manager (``with start() as srv: ...``).

Nothing global is registered (no atexit hooks, no environment changes).
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile

ENV_URL = "TEST_DATABASE_URL"
DEFAULT_DBNAME = "scheduler_test"
SUPERUSER = "postgres"
_START_ATTEMPTS = 3  # retries only cover a lost race for the free port

__all__ = ["Server", "find_bindir", "postgres_unavailable_reason", "start"]


# --------------------------------------------------------------------------
# discovery


def _version_key(path: str) -> tuple:
    # /usr/lib/postgresql/15/bin/initdb -> (15,)
    ver = path.split(os.sep)[-3]
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.]", ver))


def find_bindir() -> str | None:
    """Directory holding ``initdb`` and ``pg_ctl``, or ``None``."""

    def ok(d: str | None) -> bool:
        return bool(d) and all(os.access(os.path.join(d, exe), os.X_OK) for exe in ("initdb", "pg_ctl"))

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key, reverse=True)
    for initdb in candidates:
        d = os.path.dirname(initdb)
        if ok(d):
            return d
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            d = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            d = ""
        if ok(d):
            return d
    initdb = shutil.which("initdb")
    if initdb:
        d = os.path.dirname(os.path.realpath(initdb))
        if ok(d):
            return d
    return None


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def postgres_unavailable_reason() -> str | None:
    """Why no test database can be provided, or ``None`` if one can."""
    if os.environ.get(ENV_URL):
        return None
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg (v3) is not installed"
    if find_bindir() is None:
        return (
            "no PostgreSQL server binaries found (looked for "
            "/usr/lib/postgresql/*/bin/initdb, `pg_config --bindir`, initdb on PATH); "
            f"install PostgreSQL or set {ENV_URL}"
        )
    if _is_root():
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            return f"running as root but there is no '{SUPERUSER}' system user to run PostgreSQL"
        if not (shutil.which("runuser") or shutil.which("su")):
            return "running as root but neither runuser nor su is available"
    return None


# --------------------------------------------------------------------------
# helpers


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """Prefix *cmd* so it runs as the postgres user when we are root."""
    if not _is_root():
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", SUPERUSER, "--", *cmd]
    return ["su", "-s", "/bin/sh", SUPERUSER, "-c", shlex.join(cmd)]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("PG"):
            env.pop(key)  # PGDATA, PGPORT, PGHOST... must not leak into our cluster
    env["LC_ALL"] = "C"
    env["LANG"] = "C"
    return env


def _tail(path: str, lines: int = 40) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError as exc:
        return f"(no server log: {exc})"


def _libpq_url(url: str) -> str:
    """SQLAlchemy URL -> libpq URI (drop the ``+driver`` part)."""
    return re.sub(r"^postgres(?:ql)?(\+\w+)?://", "postgresql://", url)


# --------------------------------------------------------------------------
# server


class Server:
    """A running (or external) PostgreSQL database; see the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        bindir: str | None = None,
        basedir: str | None = None,
        datadir: str | None = None,
        port: int | None = None,
    ) -> None:
        self.url = url
        self.bindir = bindir
        self.basedir = basedir  # None for an external TEST_DATABASE_URL
        self.datadir = datadir
        self.port = port
        self.logfile = os.path.join(basedir, "postgres.log") if basedir else None

    @property
    def owned(self) -> bool:
        """True when this object started the server (and stop() stops it)."""
        return self.basedir is not None

    def connect(self, **kwargs):
        """A psycopg 3 connection to the test database."""
        import psycopg

        return psycopg.connect(_libpq_url(self.url), **kwargs)

    def reset(self) -> None:
        """Drop and recreate the public schema (empty database)."""
        with self.connect(autocommit=True) as conn:
            conn.execute("SET lock_timeout = '10s'")
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
            conn.execute("GRANT ALL ON SCHEMA public TO PUBLIC")

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its folder. Idempotent."""
        if not self.owned:
            return
        basedir, self.basedir = self.basedir, None
        try:
            if self.datadir and os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
                pg_ctl = os.path.join(self.bindir, "pg_ctl")
                for mode in ("fast", "immediate"):
                    res = subprocess.run(
                        _as_postgres([pg_ctl, "-D", self.datadir, "-m", mode, "-w", "-t", "30", "stop"]),
                        cwd=basedir,
                        env=_child_env(),
                        stdin=subprocess.DEVNULL,
                        capture_output=True,
                        text=True,
                    )
                    if res.returncode == 0:
                        break
        finally:
            shutil.rmtree(basedir, ignore_errors=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Server(url={self.url!r}, owned={self.owned})"


def _run(cmd: list[str], cwd: str, what: str, logfile: str | None = None) -> None:
    res = subprocess.run(
        _as_postgres(cmd),
        cwd=cwd,
        env=_child_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        msg = f"{what} failed (exit {res.returncode}): {shlex.join(cmd)}\n{res.stdout}{res.stderr}"
        if logfile:
            msg += f"\n--- tail of {logfile} ---\n{_tail(logfile)}"
        raise RuntimeError(msg)


def _start_local(bindir: str, dbname: str) -> Server:
    import psycopg

    base = tempfile.mkdtemp(prefix="scheduler-pg-", dir="/tmp" if os.path.isdir("/tmp") else None)
    server = Server("", bindir=bindir, basedir=base, datadir=os.path.join(base, "data"))
    try:
        if _is_root():
            pw = pwd.getpwnam(SUPERUSER)
            os.chown(base, pw.pw_uid, pw.pw_gid)
        os.chmod(base, 0o700)

        _run(
            [
                os.path.join(bindir, "initdb"),
                "-D",
                server.datadir,
                "--auth=trust",
                "-U",
                SUPERUSER,
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            cwd=base,
            what="initdb",
        )

        last_error: Exception | None = None
        for _ in range(_START_ATTEMPTS):
            port = _free_port()
            opts = f"-p {port} -k {shlex.quote(base)} -c listen_addresses=127.0.0.1 -c fsync=off"
            try:
                _run(
                    [
                        os.path.join(bindir, "pg_ctl"),
                        "-D",
                        server.datadir,
                        "-o",
                        opts,
                        "-w",
                        "-t",
                        "60",
                        "-l",
                        server.logfile,
                        "start",
                    ],
                    cwd=base,
                    what="pg_ctl start",
                    logfile=server.logfile,
                )
            except RuntimeError as exc:
                last_error = exc
                if "already in use" not in _tail(server.logfile):
                    break  # a real failure, not a lost port race
                continue
            server.port = port
            break
        if server.port is None:
            raise last_error or RuntimeError("pg_ctl start failed")

        admin = f"host=127.0.0.1 port={server.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        server.url = f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{server.port}/{dbname}"
        return server
    except BaseException as exc:
        log = _tail(server.logfile) if server.logfile else ""
        server.stop()
        if isinstance(exc, RuntimeError) or not isinstance(exc, Exception):
            raise
        raise RuntimeError(
            f"could not start the test PostgreSQL server: {exc}\n--- tail of server log ---\n{log}"
        ) from exc


def start(dbname: str = DEFAULT_DBNAME) -> Server | None:
    """Start a throwaway server (or wrap ``TEST_DATABASE_URL``); see module docstring."""
    url = os.environ.get(ENV_URL)
    if url:
        return Server(url)
    if postgres_unavailable_reason() is not None:
        return None
    bindir = find_bindir()
    assert bindir is not None
    return _start_local(bindir, dbname)
