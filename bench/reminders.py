"""Reminder throughput and the idle daemon (issue 6, item 7); not part of .ci/run.

    python bench/reminders.py [--n 2000] [--db sqlite|postgresql] [--idle-seconds 60]
                              [--batch 10] [--warmup 3] [--what-if-n N] [--no-what-if] [--profile]
                              [--smtp-in-process] [--build-when-sent] [--keep] [--json PATH]

Self-contained, stops by itself, all traffic on 127.0.0.1:

1. An aiosmtpd ``Controller`` on a free port of 127.0.0.1 whose handler only
   counts messages (and their distinct Message-IDs), no delay. It runs in a
   child process (this script, ``--phase smtp``), so its parsing does not
   share the bench's interpreter lock and its CPU can be read apart;
   ``--smtp-in-process`` puts it in a thread of the bench instead.
2. Ceiling: plain ``smtplib`` over ONE connection, ``sendmail`` of N
   prebuilt messages, each the bytes ``scheduler.message.compose`` +
   ``build`` make of a realistic "due" reminder, dated (only the Message-ID
   differs, same length). Measured before and after ours; the better round
   is the ceiling (the conservative choice).
3. Ours: a fresh database, N "due" reminders planned as ``plan_reminders``
   plans them: enqueued with ``scheduler.store.outbox.enqueue`` (the context
   ``reminders.owed`` stores for the 2024 plan), then composed and built
   once by ``scheduler.jobs.build_outbox``, their bytes kept in the rows
   (timed apart: "planning", outside the ratio); then
   ``scheduler.jobs.send_outbox(rt)`` in a loop, as the daemon's tick calls
   it, until the outbox is empty: claim a batch, date the kept bytes, one
   SMTP attempt on the kept connection, one commit per message (SQLite WAL +
   synchronous=FULL as ``Database`` opens it; PostgreSQL with fsync=on).
   Logging is configured as ``main.py`` does (INFO, one line per message),
   into a file. Ratio ours/ceiling, goal >= 0.5. Every run checks that N
   messages with N distinct Message-IDs arrived. ``--build-when-sent``
   leaves the bytes unbuilt, as rows from before migration 0007 are: each is
   composed and built when sent.
4. Where the time goes: a second run on a fresh database with wrappers
   installed by this script only (compose and its Jinja renders; build and
   its yagmail/email parts, when a row has no bytes; dating the bytes; SMTP
   MAIL, RCPT, DATA; the claim's and the release's transactions split into
   their statements and their commit; marking sent, one autocommitted UPDATE
   that is its own durable commit, timed whole; the working-hours check;
   logging); "other" is the rest of the wall time. Each bucket's wall time
   is split into CPU (CLOCK_THREAD_CPUTIME_ID), waiting for a CPU (run_delay
   in /proc/thread-self/schedstat) and blocked (replies, fsync). On a busy
   machine the waits for a CPU dominate, so every run also shows the bench's
   and the servers' CPU and waits (/proc/PID/task/*/schedstat), the cores
   other processes used meanwhile, and "wall - bench wait", an estimate for
   a quiet machine. What-if runs (``--no-what-if`` skips them): SQLite
   synchronous=NORMAL (no fsync per commit: NOT durable, for scale only) or
   PostgreSQL fsync=off; a claim batch of 50 instead of 10; rows without
   their bytes (built when sent, as before migration 0007). ``--profile``
   adds a cProfile run (top functions by own time).
5. Idle daemon: ``python main.py load`` into a fresh database, then
   ``python main.py worker --now "2024-03-16 22:00"`` (a Saturday night:
   nothing may be sent) with no SMTP (it would write .eml files) and the
   default TICK_SECONDS=30; after its five jobs have run once and
   ``--warmup`` seconds more, /proc/PID/stat utime+stime and
   /proc/PID/status VmRSS every second for ``--idle-seconds``; goals under
   1% of one core and under 150 MB. Then SIGTERM, which must exit 0.

``--db postgresql`` uses tests/pg_server.py for a throwaway server (or
TEST_DATABASE_URL, whose public schema is dropped as the tests do); the test
server runs with fsync=off, so the bench restarts a server it owns with
fsync=on for the durable runs.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import logging
import os
import pstats
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

HOST = "127.0.0.1"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 3, 14, 9, 0, tzinfo=TZ)  # a Thursday, inside working hours: reminders may go
SEND_AT = datetime(2024, 3, 14, 8, 0, tzinfo=TZ)
IDLE_NOW = "2024-03-16 22:00"  # a Saturday night: the daemon has nothing it may send
LOAD_NOW = "2024-02-20"
MAIL_FROM = "Lịch tuyên truyền <lich@phutho.example>"
RECIPIENTS = (
    "bientap@daiptth.phutho.example",
    "toasoan@baophutho.phutho.example",
    "congthongtin@sotttt.phutho.example",
    "cchc@sonoivu.phutho.example",
)
TITLES = (
    ('Chuyên mục "Cải cách hành chính"', '"Administrative Reform" program', "cchc-radio-tv", "dai-ptth"),
    ('Bài viết "Chuyển đổi số"', '"Digital transformation" article', "bao-phu-tho-cds", "bao-phu-tho"),
    ("Tin bài phổ biến pháp luật", "Legal awareness news", "cong-ttdt-pbpl", "so-tttt"),
)

GOAL_RATIO = 0.7  # issue 18: one durable commit per message allows about 0.77 here
GOAL_CPU = 1.0  # % of one core
GOAL_RSS_MB = 150.0
MID = re.compile(rb"^Message-ID:\s*(\S+)", re.I | re.M)
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------
# The SMTP server: aiosmtpd, counting only.


class CountingHandler:
    """Accepts everything; counts messages, their distinct Message-IDs and bytes."""

    def __init__(self):
        self.count = 0
        self.bytes = 0
        self.ids: set[bytes] = set()

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        self.bytes += len(envelope.content)
        found = MID.search(envelope.content)
        self.ids.add(found.group(1) if found else b"")
        return "250 OK"

    def snapshot(self) -> tuple[int, int, int]:
        return self.count, len(self.ids), self.bytes

    def reset(self) -> None:
        self.count, self.bytes, self.ids = 0, 0, set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def smtp_phase() -> int:
    """Child process: the server; answers "count", "reset", "quit" on stdin."""
    from aiosmtpd.controller import Controller

    handler = CountingHandler()
    controller = Controller(handler, hostname=HOST, port=free_port())
    controller.start()
    print(f"PORT {controller.port}", flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "count":
                print("COUNT %d %d %d" % handler.snapshot(), flush=True)
            elif command == "reset":
                handler.reset()
                print("OK", flush=True)
            elif command == "quit":
                break
    finally:
        controller.stop()
    return 0


class SmtpChild:
    """The counting server in its own process."""

    where = "child process"

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--phase", "smtp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        try:
            line = self._read(30)
            if not line.startswith("PORT "):
                raise RuntimeError(f"the SMTP server did not start: {line!r}")
        except BaseException:
            self.stop()
            raise
        self.port = int(line.split()[1])
        self.pid = self.proc.pid

    def _read(self, timeout: float) -> str:
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not result:
            raise RuntimeError("the SMTP server stopped answering")
        return result[0].strip()

    def _ask(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read(30)

    def snapshot(self) -> tuple[int, int, int]:
        _, count, ids, size = self._ask("count").split()
        return int(count), int(ids), int(size)

    def reset(self) -> None:
        self._ask("reset")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class SmtpThread:
    """The counting server in a thread of this process (``--smtp-in-process``)."""

    where = "thread of the bench"

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.handler = CountingHandler()
        self.controller = Controller(self.handler, hostname=HOST, port=free_port())
        self.controller.start()
        self.port = self.controller.port
        self.pid = None

    def snapshot(self) -> tuple[int, int, int]:
        return self.handler.snapshot()

    def reset(self) -> None:
        self.handler.reset()

    def stop(self) -> None:
        self.controller.stop()


# --------------------------------------------------------------------------
# /proc


def proc_cpu(pid: int) -> float:
    """utime + stime of a process, seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


def proc_status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def mib(value: str) -> float:
    return int(value.split()[0]) / 1024  # "12345 kB" -> MiB


def machine_cpu() -> tuple[float, float]:
    """(busy, total) seconds of all CPUs, from /proc/stat (busy excludes idle and iowait)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal
    return (total - values[3] - values[4]) / CLK_TCK, total / CLK_TCK


def sched(pid: int | str) -> tuple[float, float]:
    """(on a CPU, runnable but waiting for a CPU) seconds, all threads of a
    process, from /proc/PID/task/*/schedstat."""
    cpu = wait = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                on, queued, _ = f.read().split()
            cpu, wait = cpu + int(on), wait + int(queued)
    return cpu / 1e9, wait / 1e9


class ThreadClock:
    """This thread's (on a CPU, waiting for a CPU) seconds, cheaply: the CPU
    time from CLOCK_THREAD_CPUTIME_ID (schedstat's own CPU field is only
    brought up to date at ticks and switches), the wait (run_delay, updated
    each time the thread gets a CPU back, so exact when read by the thread)
    from /proc/thread-self/schedstat."""

    def __init__(self):
        self.fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)

    def __call__(self) -> tuple[float, float]:
        return time.thread_time(), int(os.pread(self.fd, 128, 0).split()[1]) / 1e9

    def close(self) -> None:
        os.close(self.fd)


def family(pid: int) -> list[int]:
    """A process and its children (PostgreSQL's postmaster and its backends)."""
    found = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
    return found


def sched_all(pids: list[int]) -> tuple[float, float]:
    cpu = wait = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            a, b = sched(pid)
            cpu, wait = cpu + a, wait + b
    return cpu, wait


class Meter:
    """Wall time of a run, split: the bench's time on a CPU and waiting for
    one, the SMTP server's, PostgreSQL's (a server we started), and the CPU
    that other processes used meanwhile."""

    def __init__(self, server, db_pid: int | None = None):
        self.server, self.db = server, family(db_pid) if db_pid else []
        self.t0 = time.perf_counter()
        self.machine0 = machine_cpu()
        self.bench0 = self._bench()
        self.server0 = self._server()
        self.db0 = sched_all(self.db)

    def _bench(self) -> tuple[float, float]:
        """The bench's main thread, which runs the measured loop."""
        with open(f"/proc/self/task/{os.getpid()}/schedstat") as f:
            on, queued, _ = f.read().split()
        return int(on) / 1e9, int(queued) / 1e9

    def _server(self) -> tuple[float, float]:
        if self.server.pid:
            return sched(self.server.pid)
        return tuple(a - b for a, b in zip(sched("self"), self._bench()))  # its threads in this process

    def stop(self, n: int) -> dict:
        wall = time.perf_counter() - self.t0
        busy, total = machine_cpu()
        bench = [b - a for a, b in zip(self.bench0, self._bench())]
        srv = [b - a for a, b in zip(self.server0, self._server())]
        db = [b - a for a, b in zip(self.db0, sched_all(self.db))]
        cores = len(os.sched_getaffinity(0))
        span = (total - self.machine0[1]) / cores
        others = max(0.0, (busy - self.machine0[0] - bench[0] - srv[0] - db[0]) / span) if span > 0 else 0.0
        per = lambda seconds: seconds / n * 1000  # noqa: E731
        return {
            "n": n,
            "seconds": wall,
            "rate": n / wall,
            "ms": per(wall),
            "client_cpu": bench[0] / wall * 100,
            "server_cpu": srv[0] / wall * 100,
            "others": others,
            "bench_cpu_ms": per(bench[0]),
            "bench_wait_ms": per(bench[1]),
            "bench_blocked_ms": per(max(0.0, wall - bench[0] - bench[1])),
            "server_cpu_ms": per(srv[0]),
            "server_wait_ms": per(srv[1]),
            "db_cpu_ms": per(db[0]),
            "db_wait_ms": per(db[1]),
            "quiet_ms": per(wall - bench[1]),
        }


# --------------------------------------------------------------------------
# The messages


def reminders(n: int):
    """N "due" reminders shaped as ``reminders.owed`` makes them for the 2024 plan."""
    from scheduler.reminders.outbox import Message

    out = []
    for i in range(n):
        title, title_en, obligation, agency = TITLES[i % len(TITLES)]
        n_before = (7, 1, 0)[i % 3]
        number = 1 + (i // 3) % 2
        due = datetime(2024, 3, 15 + 7 * (number - 1), 17, 0, tzinfo=TZ)
        occurrence = f"phu-tho-2024.{obligation}-{i // 6:05d}.2024-03.{number}"
        context = {
            "tz": "Asia/Ho_Chi_Minh",
            "occurrence": occurrence,
            "plan": "phu-tho-2024",
            "obligation": obligation,
            "agency": agency,
            "title": title,
            "title_en": title_en,
            "period": "2024-03",
            "number": number,
            "count": 2,
            "due": due.isoformat(),
            "slot": None,
            "window_start": "2024-03-01T00:00:00+07:00",
            "window_end": "2024-04-01T00:00:00+07:00",
            "state": None,
            "working_days_before": n_before,
        }
        out.append(
            Message(
                "due",
                f"{occurrence}#D-{n_before}",
                RECIPIENTS[i % len(RECIPIENTS)],
                due,
                SEND_AT,
                due,
                "vi",
                (),
                context,
            )
        )
    return out


def settings_for(outputs: Path, url: str, port: int | None):
    from scheduler.settings import Settings

    env = {"OUTPUTS_DIR": str(outputs), "DATABASE_URL": url, "MAIL_FROM": MAIL_FROM}
    if port is not None:
        env.update(SMTP_HOST=HOST, SMTP_PORT=str(port), SMTP_SECURITY="none")
    return Settings.load(env=env)


def direct_build(mail) -> bytes:
    """A sketch for scale only (not the product's): the same parts built once
    with email.mime and serialised once, without yagmail's string round trip."""
    from email.header import Header
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText
    from email.policy import compat32
    from email.utils import formataddr, formatdate, parseaddr

    name, address = parseaddr(mail.sender)
    message = MIMEMultipart()
    for key, value in mail.headers.items():
        message[key] = value
    message["Date"] = formatdate()
    message["Subject"] = Header(mail.subject, "utf-8", header_name="Subject")
    message["From"] = formataddr((name, address)) if name else address  # RFC 2047 for a non-ASCII name
    message["To"] = ", ".join(mail.to)
    message["Message-ID"] = mail.message_id
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText(mail.text, "plain", "utf-8"))
    alternative.attach(MIMEText(mail.html, "html", "utf-8"))
    message.attach(alternative)
    return message.as_bytes(policy=compat32.clone(linesep="\r\n"))


def sample_bytes(port: int) -> tuple[str, list[str], bytes, dict]:
    """One real message (compose + build), and what each costs in a warm loop
    (CPU time of this thread, so waits for a CPU on a busy machine do not count)."""
    from scheduler.notifiers.letter import build, compose, stamp
    from scheduler.plan.reminder_policy import Policy
    from scheduler.plan.workdays import WorkCalendar
    from scheduler.reminders.outbox import message_id
    from scheduler.reminders.policy import within_hours

    within_hours(NOW, Policy(), WorkCalendar(), TZ)  # the year's holidays, computed once per process
    settings = settings_for(Path(tempfile.gettempdir()), "sqlite://", port)
    message = reminders(1)[0]
    mid = message_id(message.key, "127.0.0.1")
    for _ in range(20):  # warm: templates compiled, gettext loaded
        outgoing = compose(message, mid, settings.mail_from, settings.base_url)
        sender, rcpts, data = build(outgoing)
        direct_build(outgoing)
    costs = {}
    for name, call in (
        ("compose", lambda: compose(message, mid, settings.mail_from, settings.base_url)),
        ("build", lambda: build(outgoing)),
        ("direct", lambda: direct_build(outgoing)),
    ):
        t0 = time.thread_time()
        for _ in range(100):
            call()
        costs[name] = (time.thread_time() - t0) / 100 * 1000
    costs["direct_bytes"] = len(direct_build(outgoing))
    return sender, rcpts, stamp(data, NOW), costs


# --------------------------------------------------------------------------
# Ceiling: smtplib over one connection


def ceiling(port: int, n: int, sender: str, rcpts: list[str], data: bytes, server) -> dict:
    import smtplib

    found = MID.search(data)
    old = found.group(1)
    left, _, domain = old.rpartition(b"@")
    digits = len(left) - 1  # "<" + hex digits, then "@domain>": the same length for every copy
    prebuilt = [data.replace(old, b"<%0*x@%s" % (digits, i, domain), 1) for i in range(n)]
    server.reset()
    conn = smtplib.SMTP(HOST, port, timeout=30)
    conn.ehlo()
    meter = Meter(server)
    for message in prebuilt:
        refused = conn.sendmail(sender, rcpts, message)
        if refused:
            raise RuntimeError(f"ceiling: refused {refused}")
    result = meter.stop(n)
    conn.quit()
    count, ids, size = server.snapshot()
    if count != n or ids != n:
        raise RuntimeError(f"ceiling: the server got {count} messages, {ids} distinct, expected {n}")
    return {**result, "bytes": size / n}


# --------------------------------------------------------------------------
# Ours: the outbox


class Backend:
    """Fresh databases for each run: a new SQLite file, or an emptied PostgreSQL schema."""

    def __init__(self, kind: str, work: Path):
        self.kind, self.work, self.server, self.runs = kind, work, None, 0
        self.fsync = None
        if kind == "postgresql":
            import pg_server

            reason = pg_server.postgres_unavailable_reason()
            if reason:
                raise SystemExit(f"--db postgresql: {reason}")
            self.server = pg_server.start("bench_reminders")
            try:
                self.set_fsync(True)
            except BaseException:
                self.stop()
                raise

    def fresh(self) -> tuple[Path, str]:
        self.runs += 1
        outputs = self.work / f"run-{self.runs}" / "outputs"
        outputs.mkdir(parents=True)
        if self.server is None:
            return outputs, f"sqlite:///{outputs / 'scheduler.sqlite3'}"
        self.server.reset()
        return outputs, self.server.url

    def set_fsync(self, on: bool) -> str:
        """Restart a server we own with fsync on or off; report what it runs with."""
        import pg_server

        s = self.server
        if s.owned:  # as tests/pg_server.py starts it, but for fsync
            opts = (
                f"-p {s.port} -k {shlex.quote(s.basedir)} -c listen_addresses={HOST} -c fsync={'on' if on else 'off'}"
            )
            subprocess.run(
                pg_server._as_postgres(
                    [
                        os.path.join(s.bindir, "pg_ctl"),
                        "-D",
                        s.datadir,
                        "-o",
                        opts,
                        "-w",
                        "-t",
                        "60",
                        "-l",
                        s.logfile,
                        "restart",
                    ]
                ),
                cwd=s.basedir,
                env=pg_server._child_env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                check=True,
            )
        with s.connect(autocommit=True) as conn:
            values = [conn.execute(f"SHOW {name}").fetchone()[0] for name in ("fsync", "synchronous_commit")]
        self.fsync = f"fsync={values[0]}, synchronous_commit={values[1]}"
        return self.fsync

    def postmaster(self) -> int | None:
        if self.server is None or not self.server.owned:
            return None
        with contextlib.suppress(OSError, ValueError):
            return int(Path(self.server.datadir, "postmaster.pid").read_text().split()[0])
        return None

    def describe(self) -> str:
        if self.server is None:
            return "SQLite WAL, synchronous=FULL (Database's pragmas)"
        return f"PostgreSQL {self.version()}, {self.fsync}"

    def version(self) -> str:
        with self.server.connect(autocommit=True) as conn:
            return conn.execute("SHOW server_version").fetchone()[0].split()[0]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


class Timings:
    """Seconds and calls per bucket; nested buckets are named "parent: child"."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)  # of which on a CPU
        self.wait: dict[str, float] = defaultdict(float)  # of which runnable, waiting for a CPU
        self.calls: dict[str, int] = defaultdict(int)
        self.each: dict[str, list[float]] = defaultdict(list)
        self.clock = ThreadClock()

    def add(self, name: str, seconds: float, cpu: float = 0.0, wait: float = 0.0) -> None:
        self.seconds[name] += seconds
        self.cpu[name] += cpu
        self.wait[name] += wait
        self.calls[name] += 1
        self.each[name].append(seconds)

    def start(self) -> tuple[float, float, float]:
        return (time.perf_counter(), *self.clock())

    def done(self, name: str, started: tuple[float, float, float]) -> None:
        cpu, wait = self.clock()
        self.add(name, time.perf_counter() - started[0], cpu - started[1], wait - started[2])

    def quantiles(self, name: str) -> tuple[float, float] | None:
        """p50 and p99 of one call, ms."""
        values = sorted(self.each.get(name) or ())
        if not values:
            return None
        pick = lambda q: values[min(len(values) - 1, int(q * len(values)))] * 1000  # noqa: E731
        return pick(0.50), pick(0.99)


def timed(timings: Timings, name: str, function, active=None):
    def wrapper(*args, **kwargs):
        if active is not None and not active():
            return function(*args, **kwargs)
        started = timings.start()
        try:
            return function(*args, **kwargs)
        finally:
            timings.done(name, started)

    wrapper.__wrapped__ = function
    return wrapper


@contextlib.contextmanager
def instrumented(db, timings: Timings):
    """Timing wrappers around the drain's parts, in this process only, removed after."""
    import email
    import email.message
    import smtplib

    import yagmail

    import scheduler.daemon.jobs as jobs
    import scheduler.notifiers.letter as message
    import scheduler.notifiers.mail as mail
    import scheduler.store.outbox as store

    label: list[str] = []
    depth = {"build": 0}

    def in_build() -> bool:
        return depth["build"] > 0

    original_build = message.build

    def build(*args, **kwargs):
        depth["build"] += 1
        started = timings.start()
        try:
            return original_build(*args, **kwargs)
        finally:
            timings.done("build", started)
            depth["build"] -= 1

    def labelled(name, function):
        def wrapper(*args, **kwargs):
            label.append(name)
            return function(*args, **kwargs)

        return wrapper

    @contextlib.contextmanager
    def transaction():
        label.clear()
        t0 = timings.start()
        with db._sessions() as session:
            with session.begin():
                t1 = timings.start()
                yield session
                t2 = timings.start()
            t3 = timings.start()
        t4 = timings.start()
        kind = label[-1] if label else "empty"
        timings.add(f"db {kind}: statements", *(b - a for a, b in zip(t1, t2)))
        timings.add(f"db {kind}: commit", *(b - a for a, b in zip(t2, t3)))
        timings.add("db session open/close", *((b - a) + (d - c) for a, b, c, d in zip(t0, t1, t3, t4)))

    patches = [
        (jobs, "compose", timed(timings, "compose", jobs.compose)),
        (message, "render", timed(timings, "compose: Jinja render (txt + html)", message.render)),
        (message, "build", build),
        (mail, "stamp", timed(timings, "stamp Date", mail.stamp)),
        (yagmail, "SMTP", timed(timings, "build: yagmail.SMTP()", yagmail.SMTP, in_build)),
        (
            yagmail.SMTP,
            "prepare_send",
            timed(timings, "build: yagmail prepare_send", yagmail.SMTP.prepare_send, in_build),
        ),
        (email, "message_from_string", timed(timings, "build: email re-parse", email.message_from_string, in_build)),
        (
            email.message.Message,
            "as_bytes",
            timed(timings, "build: as_bytes", email.message.Message.as_bytes, in_build),
        ),
        (mail.SmtpMailer, "send", timed(timings, "mailer.send", mail.SmtpMailer.send)),
        (smtplib.SMTP, "mail", timed(timings, "smtp: MAIL FROM", smtplib.SMTP.mail)),
        (smtplib.SMTP, "rcpt", timed(timings, "smtp: RCPT TO", smtplib.SMTP.rcpt)),
        (smtplib.SMTP, "data", timed(timings, "smtp: DATA", smtplib.SMTP.data)),
        (jobs, "within_hours", timed(timings, "working-hours check", jobs.within_hours)),
        (jobs, "WorkCalendar", timed(timings, "working-hours check", jobs.WorkCalendar)),
        (jobs, "kept", timed(timings, "kept bytes -> letter", jobs.kept)),
        (jobs, "_tz", timed(timings, "working-hours check", jobs._tz)),
        (store, "claim", labelled("claim", store.claim)),
        (store, "mark_sent", timed(timings, "db mark_sent", store.mark_sent)),  # autocommit: its own commit
        (store, "mark_retry", labelled("mark_retry", store.mark_retry)),
        (store, "mark_failed", labelled("mark_failed", store.mark_failed)),
        (store, "release", labelled("release", store.release)),
    ]
    saved = [
        (obj, name, obj.__dict__[name] if isinstance(obj, type) else getattr(obj, name)) for obj, name, _ in patches
    ]
    for obj, name, value in patches:
        setattr(obj, name, value)
    db.transaction = transaction
    try:
        yield
    finally:
        del db.transaction
        for obj, name, value in reversed(saved):
            setattr(obj, name, value)


class TimedHandler(logging.FileHandler):
    """main.py's logging (INFO), into a file, timed."""

    def __init__(self, path: Path):
        super().__init__(path, encoding="utf-8")
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.timings: Timings | None = None

    def emit(self, record):
        if self.timings is None:
            return super().emit(record)
        started = self.timings.start()
        try:
            return super().emit(record)
        finally:
            self.timings.done("logging (one INFO line per message)", started)


def ours(
    backend: Backend,
    server,
    n: int,
    batch: int,
    handler: TimedHandler,
    *,
    instrument: bool = False,
    profile: bool = False,
    sqlite_normal: bool = False,
    build: bool = True,
    serial: bool = False,
) -> dict:
    """Plan N reminders in a fresh database (enqueue, then build once, as
    plan_reminders does; timed apart) and drain the outbox with send_outbox."""
    from sqlalchemy import event, func, select

    from scheduler.clock import Clock
    from scheduler.daemon.jobs import build_outbox, runtime, send_outbox
    from scheduler.store import outbox
    from scheduler.store.database import Database
    from scheduler.store.tables import OutboxRow

    outputs, url = backend.fresh()
    db = Database(url)
    if sqlite_normal:

        def normal(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        event.listen(db.engine, "connect", normal)  # after Database's own pragmas
        db.engine.dispose()
    timings = Timings()
    try:
        rt = runtime(settings_for(outputs, url, server.port), db, Clock(TZ, NOW))
        messages = reminders(n)
        t0, c0 = time.perf_counter(), time.thread_time()
        with db.transaction() as s:
            outbox.enqueue(s, messages, SEND_AT, "127.0.0.1")
        t1, c1 = time.perf_counter(), time.thread_time()
        built = build_outbox(rt) if build else 0
        t2, c2 = time.perf_counter(), time.thread_time()
        if built != (n if build else 0):
            raise RuntimeError(f"ours: {built} of {n} messages built")
        planning = {
            "enqueue_ms": (t1 - t0) / n * 1000,
            "enqueue_cpu_ms": (c1 - c0) / n * 1000,
            "build_ms": (t2 - t1) / n * 1000,
            "build_cpu_ms": (c2 - c1) / n * 1000,
            "built": built,
        }
        server.reset()
        handler.timings = timings if instrument else None
        profiler = cProfile.Profile() if profile else None
        deadline = time.monotonic() + max(120.0, n / 5)
        calls = 0
        with contextlib.ExitStack() as stack:
            if instrument:
                stack.enter_context(instrumented(db, timings))
            if serial:
                stack.enter_context(serial_marks())
            meter = Meter(server, backend.postmaster())
            if profiler:
                profiler.enable()
            while True:
                result = send_outbox(rt, limit=batch)
                calls += 1
                if result["retried"] or result["failed"]:
                    raise RuntimeError(f"ours: {result} (see the log)")
                if not result["sent"]:
                    with db.transaction() as s:
                        left = s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.state != "sent"))
                    if not left:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("ours: the outbox did not drain in time")
            if profiler:
                profiler.disable()
            result = meter.stop(n)
        handler.timings = None
        rt.mailer.close()
        count, ids, size = server.snapshot()
        if count != n or ids != n:
            raise RuntimeError(f"ours: the server got {count} messages, {ids} distinct, expected {n}")
        return {
            **result,
            "bytes": size / n,
            "send_outbox_calls": calls,
            "timings": timings,
            "profiler": profiler,
            "planning": planning,
        }
    finally:
        handler.timings = None
        timings.clock.close()
        db.close()


class SerialMarks:
    """Before issue 18's pipelining: each mark committed inline, on the
    sender's own thread, before the next message goes (for the comparison)."""

    def __init__(self, engine, owner: str):
        from scheduler.store import outbox

        self.outbox, self.owner = outbox, owner
        self.conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def sent(self, row_id, at, refused, secret) -> None:
        self.outbox.mark_sent(self.conn, row_id, self.owner, at, refused, secret)

    def wait(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.conn.close()


@contextlib.contextmanager
def serial_marks():
    import scheduler.daemon.jobs as jobs

    saved, jobs.Marks = jobs.Marks, SerialMarks
    try:
        yield
    finally:
        jobs.Marks = saved


BUCKETS = (  # (label, timed names added together, names subtracted); "  " marks a part of the line above
    ("compose (templates/mail, Jinja + i18n)", ("compose",), ()),
    ("  of which Jinja render (txt + html)", ("compose: Jinja render (txt + html)",), ()),
    ("MIME build (yagmail + email)", ("build",), ()),
    ("  of which yagmail.SMTP() per message", ("build: yagmail.SMTP()",), ()),
    ("  of which yagmail prepare_send", ("build: yagmail prepare_send",), ()),
    ("  of which re-parse (message_from_string)", ("build: email re-parse",), ()),
    ("  of which as_bytes", ("build: as_bytes",), ()),
    ("kept bytes -> letter (envelope, day)", ("kept bytes -> letter",), ()),
    ("stamp Date (bytes, no parse)", ("stamp Date",), ()),
    ("SMTP round trip (MAIL, RCPT, DATA)", ("mailer.send",), ("stamp Date", "logging (one INFO line per message)")),
    ("  of which MAIL FROM", ("smtp: MAIL FROM",), ()),
    ("  of which RCPT TO", ("smtp: RCPT TO",), ()),
    ("  of which DATA", ("smtp: DATA",), ()),
    ("db claim (SELECT + UPDATE, per batch)", ("db claim: statements",), ()),
    ("db claim commit", ("db claim: commit",), ()),
    ("db mark_sent: UPDATE, its own durable commit", ("db mark_sent",), ()),
    (
        "db release + empty transactions",
        ("db release: statements", "db release: commit", "db empty: statements", "db empty: commit"),
        (),
    ),
    ("db session open/close (claim, release)", ("db session open/close",), ()),
    ("working-hours check (WorkCalendar, zone)", ("working-hours check",), ()),
    ("logging (one INFO line per message)", ("logging (one INFO line per message)",), ()),
)
OTHER = "other (send_outbox loop, rows -> Message, glue)"


def buckets(run: dict) -> list[dict]:
    """Each bucket's seconds (wall, on a CPU, waiting for a CPU), calls and
    per-call quantiles; "other" is the rest of the run's wall time."""
    t = run["timings"]
    out = []
    for label, plus, minus in BUCKETS:
        value = {
            k: sum(getattr(t, k)[n] for n in plus) - sum(getattr(t, k)[n] for n in minus)
            for k in ("seconds", "cpu", "wait")
        }
        calls = t.calls[plus[0]] if len(plus) == 1 else t.calls[plus[1]] + t.calls[plus[3]]
        out.append(
            {
                "name": label,
                **value,
                "calls": calls,
                "q": t.quantiles(plus[0]) if len(plus) == 1 and not minus else None,
            }
        )
    tops = [b for b in out if not b["name"].startswith("  ")]
    n = run["n"]
    out.append(
        {
            "name": OTHER,
            "seconds": run["seconds"] - sum(b["seconds"] for b in tops),
            "cpu": run["bench_cpu_ms"] * n / 1000 - sum(b["cpu"] for b in tops),
            "wait": run["bench_wait_ms"] * n / 1000 - sum(b["wait"] for b in tops),
            "calls": 0,
            "q": None,
        }
    )
    return out


# --------------------------------------------------------------------------
# Commit cost alone: raw sqlite3 on the same file system


def commit_micro(folder: Path, count: int = 300) -> dict:
    out = {}
    for sync in ("FULL", "NORMAL"):
        path = folder / f"commit-{sync}.sqlite3"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={sync}")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, state TEXT, n INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?, 'sending', 0)", [(i,) for i in range(count)])
        t0 = time.perf_counter()
        for i in range(count):
            conn.execute("BEGIN")
            conn.execute("UPDATE t SET state='sent', n=n+1 WHERE id=?", (i,))
            conn.execute("COMMIT")
        out[sync] = (time.perf_counter() - t0) / count * 1000
        conn.close()
    fd = os.open(folder / "fsync.bin", os.O_WRONLY | os.O_CREAT)
    t0 = time.perf_counter()
    for _ in range(count):
        os.write(fd, b"x" * 4096)
        os.fdatasync(fd)
    out["fdatasync"] = (time.perf_counter() - t0) / count * 1000
    os.close(fd)
    return out


# --------------------------------------------------------------------------
# The idle daemon


def child_env(outputs: Path, url: str) -> dict[str, str]:
    from scheduler.settings import SETTINGS

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    for s in SETTINGS:  # no SMTP, default TICK_SECONDS, nothing from a settings file
        env.pop(s.env, None)
    env.pop("SETTINGS_FILE", None)
    env.update(OUTPUTS_DIR=str(outputs), DATABASE_URL=url)
    return env


def idle(backend: Backend, seconds: int, warmup: float) -> dict:
    outputs, url = backend.fresh()
    env = child_env(outputs, url)
    t0 = time.perf_counter()
    loaded = subprocess.run(
        [sys.executable, "main.py", "load", "--now", LOAD_NOW],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if loaded.returncode != 0:
        raise RuntimeError(f"main.py load failed:\n{loaded.stderr[-2000:]}")
    load_seconds = time.perf_counter() - t0
    log_path = outputs.parent / "worker.log"
    with open(log_path, "wb") as log_file:
        started = time.perf_counter()
        worker = subprocess.Popen(
            [sys.executable, "main.py", "worker", "--now", IDLE_NOW],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            start_new_session=True,
        )
        try:
            return _watch(worker, log_path, seconds, warmup, started, load_seconds, outputs)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


def _watch(
    worker, log_path: Path, seconds: int, warmup: float, started: float, load_seconds: float, outputs: Path
) -> dict:
    from scheduler.daemon.runner import INTERVALS

    deadline = started + 90
    ran: set[str] = set()
    while len(ran) < len(INTERVALS):  # each job's first run, 1 to 5 s after the start
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}:\n{log_path.read_text()[-2000:]}")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"the worker's jobs did not all run within 90 s:\n{log_path.read_text()[-2000:]}")
        text = log_path.read_text(encoding="utf-8", errors="replace")
        ran = {j for j in INTERVALS if re.search(rf'Job "{j} .*(executed successfully|raised an exception)', text)}
        time.sleep(0.2)
    ready = time.perf_counter() - started
    startup_cpu = proc_cpu(worker.pid)
    time.sleep(warmup)
    pid = worker.pid
    cpu0, wall0 = proc_cpu(pid), time.perf_counter()
    samples = []  # (seconds since start of sampling, cpu % over the last second, rss MB)
    last_cpu, last_wall = cpu0, wall0
    end = wall0 + seconds
    next_tick = wall0 + 1
    while True:
        time.sleep(max(0.0, next_tick - time.perf_counter()))
        now, cpu = time.perf_counter(), proc_cpu(pid)
        status = proc_status(pid)
        samples.append((now - wall0, (cpu - last_cpu) / (now - last_wall) * 100, mib(status["VmRSS"])))
        last_cpu, last_wall = cpu, now
        next_tick += 1
        if now >= end - 0.01:
            break
    total_cpu, wall = proc_cpu(pid) - cpu0, time.perf_counter() - wall0
    status = proc_status(pid)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    runs_in_window = len(re.findall(r'Job "send_outbox .*executed successfully', text)) - 1  # after its first
    t0 = time.perf_counter()
    worker.send_signal(signal.SIGTERM)
    try:
        code = worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        code = None
    stop_seconds = time.perf_counter() - t0
    mails = len(list((outputs / "mail").glob("*.eml"))) if (outputs / "mail").exists() else 0
    return {
        "load_seconds": load_seconds,
        "ready_seconds": ready,
        "startup_cpu_seconds": startup_cpu,
        "seconds": wall,
        "cpu": total_cpu / wall * 100,
        "cpu_max_1s": max(s[1] for s in samples),
        "rss_max": max(s[2] for s in samples),
        "rss_last": samples[-1][2],
        "hwm": mib(status["VmHWM"]),
        "threads": int(status["Threads"]),
        "send_outbox_ticks": runs_in_window,
        "exit": code,
        "stop_seconds": stop_seconds,
        "eml_written": mails,
        "samples": samples,
        "errors": len(re.findall(r" (ERROR|WARNING) ", text)),
        "log": str(log_path),
    }


# --------------------------------------------------------------------------
# Output


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths)))

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="reminders to send (default 2000)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--idle-seconds", type=int, default=60, help="idle daemon sampling, seconds (default 60)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=3.0,
        help="seconds after the daemon's first runs of its jobs before sampling (default 3)",
    )
    parser.add_argument("--batch", type=int, default=10, help="send_outbox's limit, as the daemon calls it (10)")
    parser.add_argument("--what-if-n", type=int, help="reminders per what-if run (default N/4, at least 100)")
    parser.add_argument("--no-what-if", action="store_true", help="skip the what-if runs")
    parser.add_argument("--profile", action="store_true", help="add a cProfile run of the drain")
    parser.add_argument("--smtp-in-process", action="store_true", help="run aiosmtpd in a thread of the bench")
    parser.add_argument(
        "--build-when-sent",
        action="store_true",
        help="plan without building (rows from before migration 0007): compose and build when sent",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", help="write every measurement to this file")
    parser.add_argument("--phase", choices=("smtp",), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase == "smtp":
        return smtp_phase()
    if args.n < 1 or args.idle_seconds < 1 or args.batch < 1:
        parser.error("--n, --idle-seconds and --batch must be at least 1")
    what_if_n = args.what_if_n or max(100, args.n // 4)

    os.chdir(ROOT)
    work = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
    handler = TimedHandler(work / "bench.log")
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)  # as main.py, into a file
    logging.getLogger("alembic").setLevel(logging.WARNING)
    started = time.perf_counter()
    load_before = _loadavg()
    server = backend = None
    try:
        server = SmtpThread() if args.smtp_in_process else SmtpChild()
        backend = Backend(args.db, work)
        machine = (
            f"nproc {len(os.sched_getaffinity(0))} ({_cpu_model()}), Python {sys.version.split()[0]}, "
            f"{_filesystem(work)} for {work}"
        )
        print(f"machine: {machine}; load average at the start {load_before}")
        print(f"database: {backend.describe()}; SMTP: aiosmtpd on {HOST}:{server.port} ({server.where}), counting only")
        sender, rcpts, data, costs = sample_bytes(server.port)
        print(
            f"message: {len(data)} bytes (multipart text + HTML, Vietnamese); CPU in a warm loop: compose "
            f"{costs['compose']:.3f} ms, build {costs['build']:.3f} ms (the same parts built once with email.mime, "
            f"a sketch: {costs['direct']:.3f} ms, {costs['direct_bytes']} bytes)"
        )

        print(f"\n[1/5] ceiling: smtplib, one connection, {args.n} prebuilt messages ...", flush=True)
        ceilings = [ceiling(server.port, args.n, sender, rcpts, data, server)]
        print(f"      {ceilings[0]['rate']:.0f} msg/s")
        build = not args.build_when_sent
        print(
            f"[2/5] ours: plan {args.n} ({'enqueue, build once' if build else 'enqueue only'}), "
            f"send_outbox(limit={args.batch}) until empty ...",
            flush=True,
        )
        clean = ours(backend, server, args.n, args.batch, handler, build=build)
        p = clean["planning"]
        print(
            f"      planning: enqueue {p['enqueue_ms']:.3f} ms/msg, build once {p['build_ms']:.3f} ms/msg; "
            f"sending: {clean['rate']:.0f} msg/s"
        )
        print("      before pipelining (each mark committed inline, as before issue 18) ...", flush=True)
        serial = ours(backend, server, args.n, args.batch, handler, build=build, serial=True)
        print(f"      sending, marks inline: {serial['rate']:.0f} msg/s")
        clean["serial"] = _plain(serial)
        print("[3/5] ours again on a fresh database, instrumented (where the time goes) ...", flush=True)
        runs = [
            ("durable (as shipped)", ours(backend, server, args.n, args.batch, handler, instrument=True, build=build))
        ]
        print(f"      {runs[0][1]['rate']:.0f} msg/s")
        ceilings.append(ceiling(server.port, args.n, sender, rcpts, data, server))
        print(f"      ceiling again: {ceilings[1]['rate']:.0f} msg/s")

        if not args.no_what_if:
            print(f"[4/5] what-if runs, {what_if_n} reminders each, instrumented ...", flush=True)
            if backend.server is None:
                runs.append(
                    (
                        "SQLite synchronous=NORMAL (NOT durable)",
                        ours(
                            backend,
                            server,
                            what_if_n,
                            args.batch,
                            handler,
                            instrument=True,
                            sqlite_normal=True,
                            build=build,
                        ),
                    )
                )
            elif backend.server.owned:
                backend.set_fsync(False)
                runs.append(
                    (
                        "PostgreSQL fsync=off (NOT durable)",
                        ours(backend, server, what_if_n, args.batch, handler, instrument=True, build=build),
                    )
                )
                backend.set_fsync(True)
            runs.append(
                ("send_outbox(limit=50)", ours(backend, server, what_if_n, 50, handler, instrument=True, build=build))
            )
            if build:
                runs.append(
                    (
                        "built when sent (rows from before 0007)",
                        ours(backend, server, what_if_n, args.batch, handler, instrument=True, build=False),
                    )
                )
            for label, r in runs[1:]:
                print(f"      {label}: {r['rate']:.0f} msg/s")
        prof_text = ""
        if args.profile:
            r = ours(backend, server, args.n, args.batch, handler, profile=True, build=build)
            stream = io.StringIO()
            pstats.Stats(r["profiler"], stream=stream).sort_stats("tottime").print_stats(25)
            prof_text = stream.getvalue()
        micro = commit_micro(work) if backend.server is None else None

        print(f'[5/5] idle daemon: load, worker --now "{IDLE_NOW}", {args.idle_seconds} s of samples ...', flush=True)
        daemon = idle(backend, args.idle_seconds, args.warmup)

        best = max(ceilings, key=lambda c: c["rate"])
        _print_report(
            args,
            machine,
            backend,
            server,
            data,
            ceilings,
            best,
            clean,
            runs,
            micro,
            daemon,
            prof_text,
            time.perf_counter() - started,
            load_before,
            costs,
        )
        if args.json:
            per_message = lambda b, r: {**b, **{k: b[k] / r["n"] * 1000 for k in ("seconds", "cpu", "wait")}}  # noqa
            report = {
                "args": vars(args),
                "machine": machine,
                "database": backend.describe(),
                "message_bytes": len(data),
                "cpu_costs_ms": costs,
                "ceilings": ceilings,
                "ours": _plain(clean),
                "ratio": clean["rate"] / best["rate"],
                "commit_micro": micro,
                "idle": daemon,
                "instrumented": [
                    {"label": label, **_plain(r), "buckets_ms_per_message": [per_message(b, r) for b in buckets(r)]}
                    for label, r in runs
                ],
            }
            Path(args.json).write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
        return 0  # the verdicts are printed; an error raises
    finally:
        if server is not None:
            server.stop()
        if backend is not None:
            backend.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _plain(run: dict) -> dict:
    return {k: v for k, v in run.items() if k not in ("timings", "profiler")}


def _loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as lines:
        for line in lines:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "?"


def _filesystem(path: Path) -> str:
    best = ("", "?", "?")
    with contextlib.suppress(OSError), open("/proc/mounts") as lines:
        for line in lines:
            device, point, kind = line.split()[:3]
            if str(path).startswith(point) and len(point) >= len(best[0]):
                best = (point, kind, device)
    return f"{best[1]} on {best[2]}"


def _print_report(
    args,
    machine,
    backend,
    server,
    data,
    ceilings,
    best,
    clean,
    runs,
    micro,
    daemon,
    prof_text,
    elapsed,
    load_before,
    costs,
) -> None:
    ratio = clean["rate"] / best["rate"]
    print("\n" + "=" * 110)
    print(f"Reminder throughput ({backend.describe()}; aiosmtpd in a {server.where})")

    def row(label, r, goal=""):
        return [
            label,
            str(r["n"]),
            f"{r['rate']:.0f}",
            f"{r['ms']:.3f}",
            f"{r['client_cpu']:.0f}%",
            f"{r['server_cpu']:.0f}%",
            f"{r['others']:.2f}",
            f"{r['rate'] / best['rate']:.2f}",
            goal,
        ]

    named = [(f"ceiling: smtplib sendmail, one connection, round {i + 1}", c) for i, c in enumerate(ceilings)]
    named.append((f"ours: outbox + send_outbox(limit={args.batch}), 1 commit/message", clean))
    if "serial" in clean:
        named.append(("before issue 18's pipelining: each mark inline, 1 commit/message", clean["serial"]))
    named += [(f"ours, instrumented: {label}", r) for label, r in runs]
    rows = [
        row(label, r, f"{verdict(ratio >= GOAL_RATIO)} (>= {GOAL_RATIO})" if r is clean else "") for label, r in named
    ]
    print(table(rows, ["run", "N", "msg/s", "ms/msg", "bench CPU", "server CPU", "others (cores)", "ratio", "goal"]))
    print(
        f"(ratio = msg/s over the better ceiling round, {best['rate']:.0f} msg/s; CPU = % of one core during the "
        f"run; others = cores busy with other processes meanwhile, of {len(os.sched_getaffinity(0))}; messages "
        f"{len(data)} bytes, ours {clean['bytes']:.0f} on average; every run checked: N messages and N distinct "
        f"Message-IDs arrived)"
    )

    print(
        "\nThe same runs in ms per message, from /proc/PID/task/*/schedstat: the bench on a CPU, runnable but "
        "waiting for a CPU,\nand blocked (SMTP replies, fsync); the SMTP server's CPU and wait for a CPU; and the "
        "wall time less the bench's waits\nfor a CPU, an estimate for a machine with nothing else running (it "
        "keeps the server's waits, which are partly\nhidden behind the bench's own work):"
    )
    rows = []
    pg = backend.postmaster() is not None
    for label, r in named:
        rows.append(
            [
                label,
                f"{r['ms']:.3f}",
                f"{r['bench_cpu_ms']:.3f}",
                f"{r['bench_wait_ms']:.3f}",
                f"{r['bench_blocked_ms']:.3f}",
                f"{r['server_cpu_ms']:.3f}",
                f"{r['server_wait_ms']:.3f}",
                *([f"{r.get('db_cpu_ms', 0):.3f}", f"{r.get('db_wait_ms', 0):.3f}"] if pg else []),
                f"{r['quiet_ms']:.3f}",
            ]
        )
    print(
        table(
            rows,
            [
                "run",
                "wall",
                "bench CPU",
                "bench wait",
                "blocked",
                "server CPU",
                "server wait",
                *(["PG CPU", "PG wait"] if pg else []),
                "wall - bench wait",
            ],
        )
    )
    best_quiet = min(c["quiet_ms"] for c in ceilings)
    quiet_ratio = best_quiet / clean["quiet_ms"]
    print(f"ratio on the estimate (wall - bench wait): {best_quiet:.3f} / {clean['quiet_ms']:.3f} = {quiet_ratio:.2f}")

    inst = runs[0][1]
    print(
        f"\nWhere the time goes (instrumented run, N={inst['n']}: ms per message; wall = CPU + wait for a CPU + "
        f"blocked;\nshare of its {inst['ms']:.3f} ms; p50/p99 of one call; then the what-if runs' wall ms per "
        f"message):"
    )
    columns = [{b["name"]: b for b in buckets(r)} for _, r in runs]
    rows = []
    for b in buckets(inst):
        n = inst["n"]
        per = lambda k: f"{b[k] / n * 1000:.3f}"  # noqa: E731, B023 (used in this turn only)
        blocked = (b["seconds"] - b["cpu"] - b["wait"]) / n * 1000
        q = b["q"]
        line = [
            b["name"],
            per("seconds"),
            per("cpu"),
            per("wait"),
            f"{blocked:.3f}",
            f"{b['seconds'] / inst['seconds'] * 100:.1f}%",
            str(b["calls"] or ""),
            f"{q[0]:.3f}/{q[1]:.3f}" if q else "",
        ]
        line += [f"{col[b['name']]['seconds'] / r['n'] * 1000:.3f}" for col, (_, r) in zip(columns[1:], runs[1:])]
        rows.append(line)
    print(
        table(
            rows,
            [
                "bucket",
                "wall",
                "CPU",
                "wait",
                "blocked",
                "share",
                "calls",
                "p50/p99 ms",
                *[label for label, _ in runs[1:]],
            ],
        )
    )
    for label, r in (("uninstrumented run", clean), ("instrumented run", inst)):
        p = r["planning"]
        print(
            f"planning, {label} (once per message, before sending, outside the ratio: plan_reminders enqueues, "
            f"then jobs.build_outbox composes and builds\n  {p['built']} of {r['n']} and keeps their bytes): enqueue "
            f"{p['enqueue_ms']:.3f} ms/msg (CPU {p['enqueue_cpu_ms']:.3f}), build {p['build_ms']:.3f} ms/msg "
            f"(CPU {p['build_cpu_ms']:.3f})"
        )
    if micro:
        print(
            f"raw sqlite3 on the same file system, a one-row UPDATE + COMMIT in WAL: synchronous=FULL "
            f"{micro['FULL']:.3f} ms, NORMAL {micro['NORMAL']:.3f} ms; a 4 KiB write + fdatasync "
            f"{micro['fdatasync']:.3f} ms"
        )

    top = {b["name"]: b for b in buckets(inst)}
    quiet = {k: (b["seconds"] - b["wait"]) / inst["n"] * 1000 for k, b in top.items()}  # without the CPU waits
    total_quiet = inst["quiet_ms"]
    budget = best_quiet / GOAL_RATIO
    print(
        f"\nAt the goal a message may take {budget:.3f} ms ({1 / GOAL_RATIO:.2f} x the ceiling's "
        f"{best_quiet:.3f}, both without "
        f"waits for a CPU);\nthe instrumented run took {total_quiet:.3f}. The ratio if one bucket cost nothing "
        f"(arithmetic on those numbers):"
    )
    rows = []
    names = [
        "compose (templates/mail, Jinja + i18n)",
        "MIME build (yagmail + email)",
        "SMTP round trip (MAIL, RCPT, DATA)",
        "db mark_sent: UPDATE, its own durable commit",
        "logging (one INFO line per message)",
    ]
    for name in names:
        rows.append([f"without {name}", f"{quiet[name]:.3f}", f"{best_quiet / (total_quiet - quiet[name]):.2f}"])
    both = quiet[names[0]] + quiet[names[1]]
    rows.append(
        [
            "without compose + build (bytes prebuilt, as the ceiling has them)",
            f"{both:.3f}",
            f"{best_quiet / (total_quiet - both):.2f}",
        ]
    )
    db = sum(v for k, v in quiet.items() if k.startswith("db "))
    rows.append(["without any database work", f"{db:.3f}", f"{best_quiet / (total_quiet - db):.2f}"])
    saved = quiet[names[1]] * (1 - costs["direct"] / costs["build"])
    rows.append(
        [
            "build done once with email.mime (the sketch's CPU share of build)",
            f"{saved:.3f}",
            f"{best_quiet / (total_quiet - saved):.2f}",
        ]
    )
    floor = quiet["db mark_sent: UPDATE, its own durable commit"] + quiet["SMTP round trip (MAIL, RCPT, DATA)"]
    rows.append(
        [
            "nothing left but marking sent (durable) and the SMTP round trip",
            f"{total_quiet - floor:.3f}",
            f"{best_quiet / floor:.2f}",
        ]
    )
    print(table(rows, ["if", "saves ms/msg", "ratio"]))
    if prof_text:
        print("\ncProfile of one more drain (top 25 by own time; cProfile slows everything down):")
        print(prof_text)

    d = daemon
    print(
        f'\nIdle daemon: main.py worker --now "{IDLE_NOW}", TICK_SECONDS=30 (default), no SMTP (.eml files), '
        f"{backend.describe().split(',')[0]}"
    )
    rows = [
        [
            "CPU, average over the window (% of one core)",
            f"{d['cpu']:.2f}",
            f"< {GOAL_CPU:g}",
            verdict(d["cpu"] < GOAL_CPU),
        ],
        ["CPU, busiest second (% of one core)", f"{d['cpu_max_1s']:.1f}", "", ""],
        [
            "RSS, max of the samples (MB)",
            f"{d['rss_max']:.1f}",
            f"< {GOAL_RSS_MB:g}",
            verdict(d["rss_max"] < GOAL_RSS_MB),
        ],
        ["RSS, peak since start (VmHWM, MB)", f"{d['hwm']:.1f}", "", ""],
        ["exit code after SIGTERM", str(d["exit"]), "0", verdict(d["exit"] == 0)],
    ]
    print(table(rows, ["measure", "value", "goal", ""]))
    print(
        f"(window {d['seconds']:.1f} s, {len(d['samples'])} samples, from {args.warmup:g} s after the five jobs' "
        f"first runs, which ended {d['ready_seconds']:.1f} s after the start and used "
        f"{d['startup_cpu_seconds']:.2f} s CPU;\nCPU resolution one clock tick, {100 / CLK_TCK:g}% of a core in one "
        f"second; send_outbox runs in the window: {d['send_outbox_ticks']}; threads {d['threads']}; stopped in "
        f"{d['stop_seconds']:.2f} s;\n.eml written: {d['eml_written']}; warnings/errors in its log: {d['errors']}; "
        f"load took {d['load_seconds']:.1f} s)"
    )

    print("\n" + "=" * 110)
    print("Summary")
    rows = [
        ["throughput ratio ours/ceiling (wall)", f"{ratio:.2f}", f">= {GOAL_RATIO}", verdict(ratio >= GOAL_RATIO)],
        ["  ours (msg/s)", f"{clean['rate']:.0f}", "", ""],
        ["  ceiling (msg/s)", f"{best['rate']:.0f}", "", ""],
        [
            "  planning before sending: enqueue + build once (ms/msg, wall)",
            f"{clean['planning']['enqueue_ms'] + clean['planning']['build_ms']:.3f}",
            "",
            "",
        ],
        [
            "  ratio without waits for a CPU (estimate, quiet machine)",
            f"{quiet_ratio:.2f}",
            f">= {GOAL_RATIO}",
            verdict(quiet_ratio >= GOAL_RATIO),
        ],
        ["idle daemon CPU (% of one core)", f"{d['cpu']:.2f}", f"< {GOAL_CPU:g}", verdict(d["cpu"] < GOAL_CPU)],
        ["idle daemon RSS max (MB)", f"{d['rss_max']:.1f}", f"< {GOAL_RSS_MB:g}", verdict(d["rss_max"] < GOAL_RSS_MB)],
        ["idle daemon exit code after SIGTERM", str(d["exit"]), "0", verdict(d["exit"] == 0)],
    ]
    print(table(rows, ["measure", "value", "goal", ""]))
    print(
        f"(N={args.n}, --db {args.db}, --idle-seconds {args.idle_seconds}; {machine}; load average "
        f"{load_before} at the start, {_loadavg()} at the end; other processes used "
        f"{statistics.mean(r['others'] for _, r in named):.2f} cores on average during the throughput runs; "
        f"bench took {elapsed:.0f} s)"
    )


if __name__ == "__main__":
    sys.exit(main())
