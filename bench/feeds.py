"""Calendar feed benchmark (issue 3, item 7); not part of .ci/run.

    python bench/feeds.py [--sizes 1000,10000] [--requests 2000] [--seconds 15] [--connections 8]
                          [--generator wrk|python] [--no-nginx] [--no-radicale]
                          [--rounds 3] [--repeat 3] [--keep] [--json PATH]

For each size it writes a schedule file whose expansion gives about that many
feed events, loads it with the real CLI into a fresh SQLite database in a
temporary OUTPUTS_DIR, subscribes to everything, then measures, each part in
a fresh process so that nothing is warm that should not be:

- cold build: ``FeedCache(Database(url))``, ``refresh()``, ``feed()``
  (``--repeat`` fresh processes, the median reported; the translation
  catalog is compiled before the timing starts, as in the naive build);
- naive build, side by side: the same feed rebuilt from the database rows
  with icalendar (``render_items`` for every occurrence, then joined), which
  is what serving without stored items would cost on every request; its
  bytes must equal the cached feed's;
- incremental: in each cold process, five times, one occurrence changes the
  way a later load changes it (new revision, ``write_items``), then
  ``refresh()`` + ``feed()``; the median of all is reported;
- memory: peak RSS growth and tracemalloc peak of a cold build, against the
  feed's size in bytes;
- HTTP on 127.0.0.1, each server one process pinned to one core and the
  load generator on the other (``taskset``): the real app as ``main.py
  serve`` runs it (uvicorn with uvloop and httptools, access log on) against
  a cached-bytes ASGI app on the same stack (the feed's bytes in one bytes
  object, the same headers; once with the access log as ``serve`` has it,
  once without), nginx serving the same file when installed, and Radicale's
  GET of the same calendar (uploaded whole) when installed; warm feed GETs
  (throughput, p50, p99, server CPU per request from /proc/PID/stat utime +
  stime before and after), conditional GETs (304), in ``--rounds`` alternated
  rounds (the median round reported), the first GET after a change,
  ``/healthz`` probed meanwhile (the longest wait shows whether a build
  blocked the event loop), and the server's peak RSS (VmHWM).

The load generator is wrk when installed (one thread, ``--connections``
keep-alive connections), else this script (``--phase client`` processes, one
keep-alive connection each, raw sockets); the run says which, and what it
skipped. All traffic stays on 127.0.0.1; every loop is bounded by a request
count and a time limit. Temporary folders are removed at the end unless
``--keep``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
BASE_URL = "http://127.0.0.1:8000"  # as at load time, so the server rerenders nothing at start
NOW = "2024-01-01"
EMAIL = "bench@example.org"

GOAL_COLD = 0.10  # cold build / naive rebuild, at most
GOAL_INCREMENTAL = 0.05  # next request after one change / cold build, under
GOAL_WARM = 0.90  # warm feed req/s / the cached-bytes app's on the same stack, at least
GOAL_CPU = 1.2  # server CPU per warm request / the cached-bytes app's, at most
GOAL_NGINX = 1.0  # warm feed req/s / nginx serving the same file, at least
GOAL_RADICALE = 300.0  # warm feed req/s / Radicale's GET of the same calendar, at least
GOAL_MEMORY = 3.0  # peak memory / feed bytes, under


# --------------------------------------------------------------------------
# The schedule: obligations of three shapes, cycled until the target is met.

# Events one obligation of each shape gives in 2024 (occurrence + default
# milestones, checked with ``expand``): weekly timed slots on TV (52 x 4),
# a weekly newspaper quota (53 x 4, all-day), a monthly training (12 x 4).
SHAPES = (
    (
        208,
        """  - code: ban-tin-{i}
    title: Bản tin "Cải cách hành chính" số {i}
    title_en: Administrative reform bulletin {i}
    host: {agency}
    coordinators: [{partner}]
    channels: [tv, radio]
    topics: [chuyen-doi-so, cchc]
    min_duration: 10m
    cadence: {{slots: "FREQ=WEEKLY;BYDAY=TH", at: "19:30"}}
""",
    ),
    (
        212,
        """  - code: bai-viet-{i}
    title: Bài viết chuyên đề cải cách hành chính {i}
    title_en: Articles on administrative reform {i}
    host: {agency}
    coordination: Các cơ quan, đơn vị liên quan
    channels: [print, online]
    topics: [cchc]
    cadence: 1 per week
""",
    ),
    (
        48,
        """  - code: tap-huan-{i}
    title: Hội nghị tập huấn nghiệp vụ {i}
    title_en: Training conference {i}
    host: {agency}
    coordinators: [{partner}]
    channels: [training]
    cadence: 1 per month
""",
    ),
)
AGENCIES = 40


def schedule_yaml(target_events: int) -> tuple[str, int, int]:
    """A plan file of about ``target_events`` events; (text, obligations, expected events)."""
    lines = [
        """plan:
  code: bench
  title: Kế hoạch tuyên truyền thử tải
  title_en: Benchmark communication plan
  issuer: Ủy ban nhân dân tỉnh Phú Thọ
  period: 2024

topics:
  - code: chuyen-doi-so
    title: Chuyển đổi số
    title_en: Digital transformation
  - code: cchc
    title: Cải cách hành chính
    title_en: Administrative reform

agencies:
"""
    ]
    for a in range(AGENCIES):
        lines.append(f"""  - code: co-quan-{a}
    name: Cơ quan truyền thông số {a} tỉnh Phú Thọ
    name_en: Media agency {a}
    kind: media
""")
    lines.append("\nobligations:\n")
    events, i = 0, 0
    while True:
        count, text = SHAPES[i % len(SHAPES)]
        if events + count > target_events:  # fill the rest with the smallest shape
            count, text = min(SHAPES)
            if target_events - events < count / 2:
                break
        lines.append(text.format(i=i, agency=f"co-quan-{i % AGENCIES}", partner=f"co-quan-{(i + 1) % AGENCIES}"))
        events += count
        i += 1
    return "".join(lines), i, events


# --------------------------------------------------------------------------
# Phases run in fresh processes; each prints one JSON object.


def _rss_kib(field: str, pid: str = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _change_one(db, settings, tag: str, nth: int = 0) -> str:
    """Give one occurrence (near the median by id) a new revision as a load would:
    its shown title changes, and its items are reserialized in the same
    transaction. Returns the occurrence id."""
    from datetime import datetime

    from sqlalchemy import func, select

    from scheduler.plan.revisions import fingerprint
    from scheduler.store.feed_items import write_items
    from scheduler.store.tables import OccurrenceRow

    with db.transaction() as s:
        total = s.scalar(select(func.count()).select_from(OccurrenceRow))
        oid = s.scalar(select(OccurrenceRow.id).order_by(OccurrenceRow.id).offset(total // 2 + nth).limit(1))
        row = s.get(OccurrenceRow, oid)
        shown = dict(row.shown)
        shown["title"] = f"{shown['title']} (đổi {tag})"
        row.shown, row.title = shown, shown["title"]
        row.revision += 1
        row.updated_at = datetime.now(UTC)
        row.fingerprint = fingerprint(shown)
        s.flush()
        write_items(s, [oid], settings.base_url)
    return oid


class GcTime:
    """Time the cyclic garbage collector spends, via ``gc.callbacks``."""

    def __init__(self):
        import gc

        self.total, self.collections, self._started = 0.0, 0, 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._started
            self.collections += 1


def phase_cold(args) -> dict:
    """Cold build, then one change and the next build, in one fresh process."""
    t = time.perf_counter()
    from scheduler.i18n import gettext_for
    from scheduler.people.accounts import FeedScope
    from scheduler.settings import Settings
    from scheduler.store.database import Database
    from scheduler.store.feed_cache import FeedCache

    imports = time.perf_counter() - t
    settings = Settings.load()
    scope, lang = FeedScope(), "vi"
    t = time.perf_counter()
    gettext_for(lang)  # the catalog is compiled on first use; outside the timing, as in the naive build
    catalog = time.perf_counter() - t

    gc_time = GcTime()
    c0, t0 = time.process_time(), time.perf_counter()
    db = Database(settings.database_url)
    t1 = time.perf_counter()
    rss_before = _rss_kib("VmRSS")  # after the schema check, whose modules are not the feed's memory
    cache = FeedCache(db)
    cache.refresh()
    t2 = time.perf_counter()
    feed = cache.feed(scope, lang)
    t3, c3 = time.perf_counter(), time.process_time()
    hwm_after_build = _rss_kib("VmHWM")
    rss_after_build = _rss_kib("VmRSS")
    cold = {
        "db_open": t1 - t0,
        "refresh": t2 - t1,
        "feed": t3 - t2,
        "total": t3 - t0,
        "cpu": c3 - c0,
        "gc": gc_time.total,
        "gc_collections": gc_time.collections,
    }

    t = time.perf_counter()
    again = cache.feed(scope, lang)
    cached = time.perf_counter() - t
    assert again is feed

    cache.checked_at = float("-inf")
    t = time.perf_counter()
    cache.refresh()  # what every process does once a second anyway
    idle_refresh = time.perf_counter() - t

    changes = []
    previous = feed
    for k in range(args.changes):  # each time one more occurrence changes, as a load would
        tag = f"{args.tag}.{k + 1}"
        t = time.perf_counter()
        oid = _change_one(db, settings, tag, k)
        write = time.perf_counter() - t
        cache.checked_at = float("-inf")  # the next request after the 1 s refresh interval
        gc_before = gc_time.total
        c, t = time.process_time(), time.perf_counter()
        cache.refresh()
        t_refresh = time.perf_counter() - t
        changed = cache.feed(scope, lang)
        t_total, c_total = time.perf_counter() - t, time.process_time() - c
        assert changed.etag != previous.etag, "the ETag did not change after a change"
        assert f"(đổi {tag})".encode() in changed.body, "the change is not in the feed"
        previous = changed
        changes.append(
            {
                "occurrence": oid,
                "write_items": write,
                "refresh": t_refresh,
                "total": t_total,
                "cpu": c_total,
                "gc": gc_time.total - gc_before,
            }
        )
    incremental = {"samples": changes, "bytes": len(previous.body), "sha256": hashlib.sha256(previous.body).hexdigest()}
    db.close()
    return {
        "imports": imports,
        "catalog": catalog,
        "cold": cold,
        "cached_feed": cached,
        "bytes": len(feed.body),
        "events": feed.body.count(b"BEGIN:VEVENT\r\n"),
        "sha256": hashlib.sha256(feed.body).hexdigest(),
        "items": len(cache.built[(scope, lang)].keys),
        "feeds_in_memory": len(cache.built),
        "idle_refresh": idle_refresh,
        "incremental": incremental,
        "rss_before_kib": rss_before,
        "hwm_after_build_kib": hwm_after_build,
        "rss_after_build_kib": rss_after_build,
        "hwm_end_kib": _rss_kib("VmHWM"),
    }


def phase_naive(_args) -> dict:
    """The same feed rebuilt from the rows with icalendar, as a server without
    stored items would on every request."""
    from sqlalchemy import select

    from scheduler.feeds.ical import StoredOccurrence, assemble, calendar_head, feed_name, render_items
    from scheduler.i18n import gettext_for
    from scheduler.settings import Settings
    from scheduler.store.database import Database
    from scheduler.store.feed_items import names_for
    from scheduler.store.tables import MilestoneRow, OccurrenceRow

    settings = Settings.load()
    lang = "vi"
    _ = gettext_for(lang)

    c0, t0 = time.process_time(), time.perf_counter()
    db = Database(settings.database_url)
    with db.transaction() as s:
        occurrences = list(s.scalars(select(OccurrenceRow)))
        steps: dict[str, list[dict]] = {}
        for m in s.scalars(select(MilestoneRow).order_by(MilestoneRow.day, MilestoneRow.step)):
            steps.setdefault(m.occurrence_id, []).append(
                {"step": m.step, "title": m.title, "title_en": m.title_en, "day": m.day, "offset": m.offset}
            )
        names = {code: names_for(s, code, settings.base_url) for code in {o.plan_code for o in occurrences}}
    t1 = time.perf_counter()
    items = []
    for o in occurrences:
        stored = StoredOccurrence(o.id, o.revision, o.created_at, o.updated_at, o.shown)
        items += render_items(stored, steps.get(o.id, []), names[o.plan_code], lang, _)
    t2 = time.perf_counter()
    items.sort(key=lambda item: item.sort_key)
    head = calendar_head(feed_name(lang, _), _("Owed media deliverables and their production milestones"))
    body = assemble(head, [item.ical for item in items])
    t3, c3 = time.perf_counter(), time.process_time()
    db.close()
    return {
        "read": t1 - t0,
        "render": t2 - t1,
        "assemble": t3 - t2,
        "total": t3 - t0,
        "cpu": c3 - c0,
        "bytes": len(body),
        "events": len(items),
        "sha256": hashlib.sha256(body).hexdigest(),
    }


def phase_memory(_args) -> dict:
    """tracemalloc's view of a cold build: peak, what stays, and where."""
    import tracemalloc

    from scheduler.people.accounts import FeedScope
    from scheduler.settings import Settings
    from scheduler.store.database import Database
    from scheduler.store.feed_cache import FeedCache

    settings = Settings.load()
    db = Database(settings.database_url)  # schema check outside the measurement
    tracemalloc.start()
    cache = FeedCache(db)
    cache.refresh()
    after_refresh, refresh_peak = tracemalloc.get_traced_memory()
    feed = cache.feed(FeedScope(), "vi")
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    built = cache.built[(FeedScope(), "vi")]
    db.close()
    return {
        "bytes": feed.length,
        "peak": peak,
        "refresh_peak": refresh_peak,
        "after_refresh": after_refresh,
        "retained": current,
        "pieces": len(built.pieces),
        "digests": len(built.digests),
        "items": len(built.keys),
    }


def pin(core: int | None) -> None:
    """This process on one core (the servers on one, the load generator on the other)."""
    if core is not None:
        os.sched_setaffinity(0, {core})


def phase_serve(args) -> None:
    """The real app, as ``main.py serve`` runs it (its event loop and HTTP
    parser: ``server_stack()``), on one core."""
    import logging

    import uvicorn

    from scheduler.cli.context import DEFAULT_TZ
    from scheduler.cli.service import server_stack
    from scheduler.clock import Clock
    from scheduler.settings import Settings
    from scheduler.store.database import Database
    from scheduler.store.feed_items import rerender_stale
    from scheduler.web.app import create_app, install_log_masks

    pin(args.core)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.load()
    db = Database(settings.database_url)
    with db.transaction() as s:
        rerender_stale(s, settings.base_url)
    app = create_app(settings, db, Clock(DEFAULT_TZ))
    config = uvicorn.Config(app, host=HOST, port=args.port, proxy_headers=False, log_level="info", **server_stack())
    install_log_masks()
    uvicorn.Server(config).run()


def bytes_app(body: bytes):
    """The baseline's ASGI app: any request answered with ``body`` (held in
    one bytes object) and the feed's headers; bench/workers.py runs it in
    uvicorn workers too."""
    from scheduler.web.feeds import FEED_HEADERS

    headers = [
        (k.lower().encode(), v.encode())
        for k, v in {
            **FEED_HEADERS,
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Length": str(len(body)),
            "ETag": '"static"',
            "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT",
        }.items()
    ]

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def phase_bytes(args) -> None:
    """The baseline: a bare ASGI app that answers any GET with the feed's
    bytes, held in one bytes object, and the same headers, on the same stack
    (uvicorn, the same loop and parser), on the same core. Nothing can serve
    the feed from Python for less."""
    import uvicorn

    from scheduler.cli.service import server_stack
    from scheduler.web.app import install_log_masks

    pin(args.core)
    app = bytes_app(Path(args.static_file).read_bytes())
    # As ``serve`` runs (access log on, with the same masks), or with no access log at all (``--quiet``).
    level, access_log = ("warning", False) if args.quiet else ("info", True)
    config = uvicorn.Config(app, host=HOST, port=args.port, log_level=level, access_log=access_log, **server_stack())
    install_log_masks()
    uvicorn.Server(config).run()


def phase_change(_args) -> dict:
    from scheduler.settings import Settings
    from scheduler.store.database import Database

    settings = Settings.load()
    db = Database(settings.database_url)
    oid = _change_one(db, settings, "http")
    db.close()
    return {"occurrence": oid}


def _read_response(sock: socket.socket, buf: bytearray) -> tuple[int, int, bytes]:
    """One HTTP/1.1 response on a keep-alive socket: (status, body length, first body bytes)."""
    data = b""
    while True:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            break
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    head, rest = data[:end], data[end + 4 :]
    status = int(head[9:12])
    match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    length = int(match.group(1)) if match else 0
    remaining = length - len(rest)
    view = memoryview(buf)
    while remaining > 0:
        n = sock.recv_into(view, min(len(buf), remaining))
        if n == 0:
            raise ConnectionError("server closed the connection mid-body")
        remaining -= n
    return status, length, rest[:64]


def phase_client(args) -> dict:
    """One keep-alive connection: warm up, wait for the common start, then
    send requests one after another until the count or the time is up."""
    pin(args.core)
    headers = "".join(f"{h}\r\n" for h in args.header)
    request = f"GET {args.path} HTTP/1.1\r\nHost: {HOST}:{args.port}\r\n{headers}\r\n".encode()
    sock = socket.create_connection((HOST, args.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray(1 << 20)
    warm_until = time.time() + 0.3
    for _ in range(args.warmup):
        sock.sendall(request)
        _read_response(sock, buf)
        if time.time() > warm_until:
            break
    late = max(0.0, time.time() - args.start_at)
    while time.time() < args.start_at:
        time.sleep(0.001)
    latencies, statuses, lengths = [], {}, set()
    start = time.time()
    stop_at = start + args.seconds
    while len(latencies) < args.requests and time.time() < stop_at:
        t = time.perf_counter_ns()
        sock.sendall(request)
        status, length, _first = _read_response(sock, buf)
        latencies.append(time.perf_counter_ns() - t)
        statuses[status] = statuses.get(status, 0) + 1
        lengths.add(length)
    end = time.time()
    sock.close()
    return {
        "start": start,
        "end": end,
        "late": late,
        "latencies_ns": latencies,
        "statuses": statuses,
        "lengths": sorted(lengths),
    }


PHASES = {
    "cold": phase_cold,
    "naive": phase_naive,
    "memory": phase_memory,
    "serve": phase_serve,
    "bytes": phase_bytes,
    "change": phase_change,
    "client": phase_client,
}


# --------------------------------------------------------------------------
# The driver.


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def run_phase(name: str, env: dict, *extra: str, timeout: float = 1800) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", name, *extra]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"phase {name} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cli(env: dict, *argv: str, timeout: float = 3600) -> str:
    done = subprocess.run(
        [sys.executable, "main.py", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"main.py {' '.join(argv)} failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_get(port: int, path: str, headers: dict | None = None, timeout: float = 600) -> tuple[int, dict, bytes]:
    import http.client

    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def wait_ready(port: int, server: subprocess.Popen, limit: float = 120) -> None:
    deadline = time.time() + limit
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            if http_get(port, "/healthz", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not answer /healthz in time")


def measure(env: dict, port: int, path: str, headers: list[str], opts, expect_status: int, core=None) -> dict:
    """Run ``opts.connections`` client processes against one path; merge."""
    start_at = time.time() + 1.0  # after the clients started and warmed up
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        "client",
        "--port",
        str(port),
        "--path",
        path,
        "--start-at",
        repr(start_at),
        "--requests",
        str(max(1, opts.requests // opts.connections)),
        "--seconds",
        str(opts.seconds),
        "--warmup",
        "5",
    ]
    if core is not None:
        cmd += ["--core", str(core)]
    for h in headers:
        cmd += ["--header", h]
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(opts.connections)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=opts.seconds + 600)
        if p.returncode != 0:
            raise RuntimeError(f"client failed: {err[-2000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    latencies = sorted(x for r in results for x in r["latencies_ns"])
    statuses: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    if set(statuses) != {str(expect_status)}:
        raise RuntimeError(f"{path}: expected only {expect_status}, got {statuses}")
    begin = min(r["start"] for r in results)
    wall = max(r["end"] for r in results) - begin
    return {
        "requests": len(latencies),
        "seconds": wall,
        "rps": len(latencies) / wall,
        "p50_ms": _percentile(latencies, 50) / 1e6,
        "p99_ms": _percentile(latencies, 99) / 1e6,
        "mean_ms": statistics.fmean(latencies) / 1e6,
        "late_s": max(r["late"] for r in results),
        "lengths": sorted({n for r in results for n in r["lengths"]}),
    }


def _median_by(results: list[dict], key) -> dict:
    return dict(sorted(results, key=key)[(len(results) - 1) // 2])


def _ms(seconds: list[float]) -> str:
    return "/".join(f"{s * 1000:,.0f}" if s >= 0.1 else f"{s * 1000:.1f}" for s in seconds)


def _median_round(results: list[dict]) -> dict:
    """The round of median throughput, with every round's throughput beside it."""
    ordered = sorted(results, key=lambda r: r["rps"])
    return {**ordered[(len(ordered) - 1) // 2], "rounds_rps": [r["rps"] for r in results]}


def _percentile(sorted_values: list[int], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


class Probe:
    """``GET /healthz`` one after another from a thread while something else
    runs: the longest wait shows whether that blocked the server's event loop."""

    def __init__(self, port: int):
        import threading

        self.port, self.waits, self.stop = port, [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            t = time.perf_counter()
            http_get(self.port, "/healthz", timeout=60)
            self.waits.append(time.perf_counter() - t)
            time.sleep(0.005)

    def __enter__(self) -> Probe:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        self.thread.join()

    def result(self) -> dict:
        return {"probes": len(self.waits), "max": max(self.waits, default=0.0)}


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def server_cores() -> tuple[int | None, int | None]:
    """(the servers' core, the load generator's core), or no pinning on one core."""
    allowed = sorted(os.sched_getaffinity(0))
    return (allowed[0], allowed[-1]) if len(allowed) > 1 else (None, None)


def process_tree(pid: int) -> list[int]:
    """``pid`` and every live descendant (nginx's worker; the workers of
    ``serve --workers N`` and of uvicorn), through each thread's
    ``/proc/PID/task/TID/children``."""
    found, todo = [], [pid]
    while todo:
        each = todo.pop()
        found.append(each)
        try:
            tasks = os.listdir(f"/proc/{each}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                todo += map(int, Path(f"/proc/{each}/task/{tid}/children").read_text().split())
            except OSError:
                pass
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and all its live descendants, from /proc."""
    total = 0
    for each in process_tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def pinned(cmd: list[str], core: int | None) -> list[str]:
    return ["taskset", "-c", str(core), *cmd] if core is not None and shutil.which("taskset") else cmd


def _wrk_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk_load(port: int, path: str, headers: list[str], opts, core: int | None) -> dict:
    """wrk, one thread with ``--connections`` keep-alive connections, on the client core."""
    cmd = ["wrk", "-t1", f"-c{opts.connections}", f"-d{opts.seconds:g}s", "--latency", "--timeout", "60s"]
    for h in headers:
        cmd += ["-H", h]
    done = subprocess.run(
        pinned([*cmd, f"http://{HOST}:{port}{path}"], core),
        capture_output=True,
        text=True,
        timeout=opts.seconds + 120,
    )
    out = done.stdout
    match = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed: {out}\n{done.stderr}")
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"{path}: wrk saw errors:\n{out}")
    latency = dict(re.findall(r"^\s*(50|99)%\s+([\d.]+[a-z]+)\s*$", out, re.M))
    requests, seconds = int(match.group(1)), _wrk_ms(match.group(2)) / 1000
    return {
        "requests": requests,
        "seconds": seconds,
        "rps": requests / seconds,
        "p50_ms": _wrk_ms(latency["50"]) if "50" in latency else float("nan"),
        "p99_ms": _wrk_ms(latency["99"]) if "99" in latency else float("nan"),
    }


def load(port: int, path: str, headers: list[str], opts, expect: int, cores, pid: int, env: dict) -> dict:
    """Throughput and the server's CPU seconds per request (utime + stime of
    ``pid`` before and after), with wrk when present, else this script's client."""
    before = cpu_seconds(pid)
    if opts.generator == "wrk":
        result = wrk_load(port, path, headers, opts, cores[1])
    else:
        result = measure(env, port, path, headers, opts, expect, cores[1])
    used = cpu_seconds(pid) - before
    return {**result, "cpu_s": used, "cpu_ms_per_req": used * 1000 / max(1, result["requests"])}


def start(cmd: list[str], env: dict, log_path: Path) -> tuple[subprocess.Popen, object]:
    out = log_path.open("w")
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT), out


def stop(server: subprocess.Popen, out, sig: int = 15) -> None:
    if server.poll() is None:
        server.send_signal(sig)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    out.close()


def wait_for(port: int, path: str, server: subprocess.Popen, headers: dict | None = None, limit: float = 120):
    deadline = time.time() + limit
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{path}: the server exited with {server.returncode}")
        try:
            return http_get(port, path, headers, timeout=600)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{path}: no answer in time")


NGINX_CONF = """worker_processes 1;
daemon off;
user root;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {work}/nginx-tmp;
    proxy_temp_path {work}/nginx-tmp;
    fastcgi_temp_path {work}/nginx-tmp;
    uwsgi_temp_path {work}/nginx-tmp;
    scgi_temp_path {work}/nginx-tmp;
    server {{
        listen {host}:{port};
        root {work}/nginx-root;
        location / {{
            default_type "text/calendar; charset=utf-8";
            add_header Cache-Control "private, no-cache";
        }}
    }}
}}
"""
RADICALE_AUTH = "Authorization: Basic YmVuY2g6YmVuY2g="  # bench:bench (auth type none takes any password)


def start_nginx(work: Path, body: bytes, env: dict, core: int | None):
    """nginx serving the same bytes as a file (sendfile on, one worker, no access log)."""
    (work / "nginx-root").mkdir()
    (work / "nginx-tmp").mkdir()
    (work / "nginx-root" / "feed.ics").write_bytes(body)
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(work=work, host=HOST, port=port))
    server, out = start(
        pinned(["nginx", "-c", str(conf), "-e", str(work / "nginx-error.log")], core), env, work / "nginx.log"
    )
    status, _h, got = wait_for(port, "/feed.ics", server)
    assert status == 200 and got == body, "nginx does not serve the feed's bytes"
    return port, server, out


def start_radicale(work: Path, body: bytes, env: dict, core: int | None):
    """Radicale with the same calendar uploaded whole (one PUT of the feed)."""
    import http.client

    port = free_port()
    cmd = [sys.executable, "-m", "radicale", "--server-hosts", f"{HOST}:{port}", "--auth-type", "none"]
    cmd += ["--rights-type", "owner_only", "--storage-filesystem-folder", str(work / "radicale")]
    server, out = start(pinned(cmd, core), env, work / "radicale.log")
    auth = dict([RADICALE_AUTH.split(": ")])
    wait_for(port, "/.web/", server)
    conn = http.client.HTTPConnection(HOST, port, timeout=1800)
    conn.request("PUT", "/bench/calendar/", body=body, headers={**auth, "Content-Type": "text/calendar"})
    answer = conn.getresponse()
    answer.read()
    conn.close()
    if answer.status not in (200, 201):
        raise RuntimeError(f"Radicale refused the calendar: {answer.status}")
    status, _h, got = http_get(port, "/bench/calendar/", auth, timeout=1800)
    events = got.count(b"BEGIN:VEVENT")
    assert status == 200 and events == body.count(b"BEGIN:VEVENT"), f"Radicale: {status}, {events} events"
    return port, server, out


def bench_http(env: dict, token: str, work: Path, opts, expected_sha: str) -> dict:
    cores = server_cores()
    port = free_port()
    static_file = work / "static.ics"
    serve_cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", "serve", "--port", str(port)]
    if cores[0] is not None:
        serve_cmd += ["--core", str(cores[0])]
    server, server_log = start(serve_cmd, env, work / "server.log")
    others: list[tuple[subprocess.Popen, object, int]] = []
    try:
        wait_ready(port, server)
        path = f"/feeds/{token}.ics"
        with Probe(port) as first_probe:
            t = time.perf_counter()
            status, headers, body = http_get(port, path)
            first = time.perf_counter() - t
        if status != 200 or hashlib.sha256(body).hexdigest() != expected_sha:
            raise RuntimeError(f"first feed GET: status {status}, bytes differ from the in-process build")
        static_file.write_bytes(body)
        bytes_port = free_port()
        bytes_cmd = [*serve_cmd[:3], "bytes", "--port", str(bytes_port), "--static-file", str(static_file)]
        bytes_cmd += serve_cmd[6:]
        bytes_server, bytes_log = start(bytes_cmd, env, work / "bytes.log")
        others.append((bytes_server, bytes_log, 15))
        quiet_port = free_port()
        quiet_cmd = [*bytes_cmd[:5], str(quiet_port), *bytes_cmd[6:], "--quiet"]
        quiet_server, quiet_log = start(quiet_cmd, env, work / "bytes-quiet.log")
        others.append((quiet_server, quiet_log, 15))
        assert wait_for(bytes_port, "/", bytes_server)[2] == body
        assert wait_for(quiet_port, "/", quiet_server)[2] == body
        targets = {
            "bytes": (bytes_port, "/", bytes_server.pid),
            "warm": (port, path, server.pid),
            "bytes-quiet": (quiet_port, "/", quiet_server.pid),
        }
        skipped = {}
        if shutil.which("nginx") and not opts.no_nginx:
            nginx_port, nginx, nginx_log = start_nginx(work, body, env, cores[0])
            others.append((nginx, nginx_log, 3))  # SIGQUIT: nginx's graceful stop
            targets["nginx"] = (nginx_port, "/feed.ics", nginx.pid)
        else:
            skipped["nginx"] = "not installed (apt-get install nginx-light)" if not opts.no_nginx else "--no-nginx"
        radicale = None
        if importlib.util.find_spec("radicale") and not opts.no_radicale:
            t = time.perf_counter()
            radicale = start_radicale(work, body, env, cores[0])
            others.append((radicale[1], radicale[2], 15))
            log(f"  Radicale: calendar uploaded in {time.perf_counter() - t:.1f} s")
        else:
            skipped["radicale"] = "not installed (pip install radicale)" if not opts.no_radicale else "--no-radicale"
        etag = headers["etag"]
        log(
            f"  HTTP ({opts.generator}, {opts.connections} connections, servers on core {cores[0]}, load on core "
            f"{cores[1]}): first GET {first * 1000:.0f} ms ({len(body):,} bytes); {opts.rounds} rounds of "
            f"{', '.join(targets)}, 304; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        rounds: dict[str, list[dict]] = {name: [] for name in [*targets, "conditional"]}
        for n in range(opts.rounds):  # alternated, so that drift hits all alike
            for name, (where_port, where, pid) in targets.items():
                rounds[name].append(load(where_port, where, [], opts, 200, cores, pid, env))
            rounds["conditional"].append(
                load(port, path, [f"If-None-Match: {etag}"], opts, 304, cores, server.pid, env)
            )
            log(
                f"    round {n + 1}: "
                + ", ".join(
                    f"{k} {v[-1]['rps']:,.1f} req/s {v[-1]['cpu_ms_per_req']:.2f} ms CPU" for k, v in rounds.items()
                )
            )
        result = {name: _median_round(rs) for name, rs in rounds.items()}
        if radicale is not None:
            # One connection, at least 20 s: a GET takes Radicale a second or more, so eight at once
            # would only queue on its one core and end unfinished (the throughput is the same).
            slow = argparse.Namespace(**{**vars(opts), "connections": 1, "seconds": max(20.0, opts.seconds)})
            where = (radicale[0], "/bench/calendar/", [RADICALE_AUTH])
            result["radicale"] = load(*where, slow, 200, cores, radicale[1].pid, env)
            log(f"    Radicale {result['radicale']['rps']:,.2f} req/s")

        run_phase("change", env)  # another process changes one occurrence, as a load would
        time.sleep(1.2)  # the server looks at the database at most once a second
        with Probe(port) as change_probe:
            t = time.perf_counter()
            status2, headers2, body2 = http_get(port, path)
            after_change = time.perf_counter() - t
        assert status2 == 200 and headers2["etag"] != etag and "(đổi http)".encode() in body2
        t = time.perf_counter()
        http_get(port, path)
        next_warm = time.perf_counter() - t
        hwm = _rss_kib("VmHWM", str(server.pid))
        rss = _rss_kib("VmRSS", str(server.pid))
    finally:
        stop(server, server_log)
        for other, out, sig in others:
            stop(other, out, sig)
    return {
        **result,
        "skipped": skipped,
        "first_get": first,
        "after_change_get": after_change,
        "after_change_next_get": next_warm,
        "first_get_probe": first_probe.result(),
        "after_change_probe": change_probe.result(),
        "server_hwm_kib": hwm,
        "server_rss_kib": rss,
    }


def bench_size(size: int, opts) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"bench-feeds-{size}-"))
    try:
        outputs = work / "outputs"
        env = {
            **os.environ,
            "OUTPUTS_DIR": str(outputs),
            "DATABASE_URL": f"sqlite:///{outputs / 'scheduler.sqlite3'}",
            "BASE_URL": BASE_URL,
            "SCHEDULER_LANG": "vi",
            "PUBLIC_FEED": "off",
            "PYTHONPATH": str(ROOT),
        }
        text, obligations, expected = schedule_yaml(size)
        plan = work / "bench.yaml"
        plan.write_text(text, encoding="utf-8")
        log(f"size {size:,}: {obligations} obligations, about {expected:,} events expected; loading")
        t = time.perf_counter()
        loaded = cli(env, "load", str(plan), "--now", NOW).strip()
        load_s = time.perf_counter() - t
        out = cli(env, "subscribe", "--email", EMAIL, "--now", NOW)
        token = re.search(r"/feeds/([A-Za-z0-9_-]+)\.ics", out).group(1)
        log(f"  loaded in {load_s:.1f} s ({loaded}); cold builds in {opts.repeat} fresh processes")
        colds = [run_phase("cold", env, "--tag", f"cold-{k + 1}") for k in range(opts.repeat)]
        cold = _median_by(colds, lambda r: r["cold"]["total"])
        cold["runs"] = [r["cold"]["total"] for r in colds]
        samples = [x for r in colds for x in r["incremental"]["samples"]]
        cold["incremental"] = {**_median_by(samples, lambda r: r["total"]), "runs": [x["total"] for x in samples]}
        last_sha = colds[-1]["incremental"]["sha256"]  # what the database holds now
        log(
            f"  cold {cold['cold']['total'] * 1000:,.0f} ms (runs {_ms(cold['runs'])}), {cold['bytes']:,} bytes, "
            f"{cold['events']:,} events; incremental {cold['incremental']['total'] * 1000:.1f} ms "
            f"(median of {len(samples)}); naive rebuild in fresh processes"
        )
        naives = [run_phase("naive", env) for _ in range(opts.repeat)]
        naive = _median_by(naives, lambda r: r["total"])
        naive["runs"] = [r["total"] for r in naives]
        if any(r["sha256"] != last_sha for r in naives):
            raise RuntimeError("the naive rebuild's bytes differ from the cached feed's")
        log(
            f"  naive {naive['total'] * 1000:,.0f} ms (runs {_ms(naive['runs'])}), byte-identical to the cached "
            f"feed; memory in a fresh process"
        )
        memory = run_phase("memory", env)
        log(f"  tracemalloc peak {memory['peak'] / 2**20:.0f} MiB for a {memory['bytes'] / 2**20:.1f} MiB feed")
        http = bench_http(env, token, work, opts, last_sha)
        return {
            "size": size,
            "obligations": obligations,
            "load_s": load_s,
            "cold": cold,
            "naive": naive,
            "memory": memory,
            "http": http,
        }
    finally:
        if opts.keep:
            log(f"  kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------
# The report.


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _ratio(h: dict, name: str) -> float | None:
    return h["warm"]["rps"] / h[name]["rps"] if name in h else None


def rows_for(r: dict) -> dict:
    c, n, h = r["cold"], r["naive"], r["http"]
    cold_ms, naive_ms = c["cold"]["total"] * 1000, n["total"] * 1000
    incr_ms = c["incremental"]["total"] * 1000
    rss_delta = (c["hwm_after_build_kib"] - c["rss_before_kib"]) * 1024
    cold_ratio, incr_ratio = cold_ms / naive_ms, incr_ms / cold_ms
    warm_ratio = _ratio(h, "bytes")
    cpu_ratio = h["warm"]["cpu_ms_per_req"] / max(1e-9, h["bytes"]["cpu_ms_per_req"])
    nginx, radicale = _ratio(h, "nginx"), _ratio(h, "radicale")
    mem_ratio = rss_delta / c["bytes"]
    return {
        "size": f"{r['size']:,}",
        "events": f"{c['events']:,}",
        "bytes": f"{c['bytes']:,}",
        "cold/naive ≤10%": f"{cold_ratio:.1%} {verdict(cold_ratio <= GOAL_COLD)}",
        "incr/cold <5%": f"{incr_ratio:.1%} {verdict(incr_ratio < GOAL_INCREMENTAL)}",
        "warm req/s": f"{h['warm']['rps']:,.1f}",
        "bytes-app req/s": f"{h['bytes']['rps']:,.1f}",
        "warm/bytes ≥0.9": f"{warm_ratio:.2f} {verdict(warm_ratio >= GOAL_WARM)}",
        "CPU ms/req": f"{h['warm']['cpu_ms_per_req']:.2f}",
        "bytes CPU ms/req": f"{h['bytes']['cpu_ms_per_req']:.2f}",
        "CPU/bytes ≤1.2": f"{cpu_ratio:.2f} {verdict(cpu_ratio <= GOAL_CPU)}",
        "no access log: warm/bytes, CPU/bytes": f"{h['warm']['rps'] / h['bytes-quiet']['rps']:.2f}, "
        f"{h['warm']['cpu_ms_per_req'] / max(1e-9, h['bytes-quiet']['cpu_ms_per_req']):.2f}",
        "nginx req/s": f"{h['nginx']['rps']:,.1f}" if nginx else "skipped",
        "warm/nginx ≥1.0": f"{nginx:.2f} {verdict(nginx >= GOAL_NGINX)}" if nginx else "skipped",
        "Radicale req/s": f"{h['radicale']['rps']:,.2f}" if radicale else "skipped",
        "×Radicale ≥300": f"{radicale:,.0f} {verdict(radicale >= GOAL_RADICALE)}" if radicale else "skipped",
        "304 req/s": f"{h['conditional']['rps']:,.0f}",
        "build mem/bytes <3×": f"{mem_ratio:.1f}× {verdict(mem_ratio < GOAL_MEMORY)}",
    }


HTTP_ROWS = ("warm", "bytes", "bytes-quiet", "nginx", "radicale", "conditional")


def _http_line(name: str, x: dict) -> str:
    rounds = f" (rounds {_rates(x)} req/s)" if "rounds_rps" in x else ""
    return (
        f"{name} {x['requests']:,} requests in {x['seconds']:.1f} s{rounds}, p50 {x['p50_ms']:.2f} ms, "
        f"p99 {x['p99_ms']:.2f} ms, server CPU {x['cpu_ms_per_req']:.3f} ms/request"
    )


def details_for(r: dict) -> list[str]:
    c, n, m, h = r["cold"], r["naive"], r["memory"], r["http"]
    cc, inc = c["cold"], c["incremental"]
    return [
        f"size {r['size']:,}: {r['obligations']} obligations, load {r['load_s']:.1f} s; "
        f"{c['items']:,} items in memory, in {c['feeds_in_memory']} feed(s) (one scope, one language)",
        f"  cold (median of {_ms(c['runs'])} ms): open db {cc['db_open'] * 1000:.0f} ms + "
        f"refresh {cc['refresh'] * 1000:.0f} ms + feed {cc['feed'] * 1000:.0f} ms, of which garbage collector "
        f"{cc['gc'] * 1000:.0f} ms ({cc['gc_collections']} runs); CPU {cc['cpu'] * 1000:.0f} ms "
        f"vs naive CPU {n['cpu'] * 1000:.0f} ms "
        f"= {cc['cpu'] / n['cpu']:.1%}; repeat feed() {c['cached_feed'] * 1e6:.1f} µs; "
        f"imports {c['imports'] * 1000:.0f} ms and the {c['catalog'] * 1000:.0f} ms catalog compile (not counted, "
        f"as in the naive build)",
        f"  naive (median of {_ms(n['runs'])} ms): read rows {n['read'] * 1000:.0f} ms + "
        f"render {n['render'] * 1000:.0f} ms + join {n['assemble'] * 1000:.0f} ms; "
        f"{n['total'] * 1e6 / max(1, n['events']):.0f} µs/event; bytes identical to the cached feed",
        f"  incremental (median of {len(inc['runs'])}: {_ms(sorted(inc['runs']))} ms); the median one: write_items "
        f"{inc['write_items'] * 1000:.1f} ms (writer, not counted), then refresh {inc['refresh'] * 1000:.1f} ms + "
        f"feed {(inc['total'] - inc['refresh']) * 1000:.1f} ms, of which garbage collector {inc['gc'] * 1000:.0f} ms; "
        f"a refresh with nothing changed {c['idle_refresh'] * 1000:.1f} ms",
        f"  memory: RSS {c['rss_before_kib'] / 1024:.0f} → peak {c['hwm_after_build_kib'] / 1024:.0f} MiB "
        f"(+{(c['hwm_after_build_kib'] - c['rss_before_kib']) / 1024:.0f} MiB, after build "
        f"{c['rss_after_build_kib'] / 1024:.0f} MiB); tracemalloc peak {m['peak'] / 2**20:.0f} MiB "
        f"({m['peak'] / m['bytes']:.1f}× the feed; refresh alone {m['refresh_peak'] / 2**20:.0f} MiB), "
        f"retained {m['retained'] / 2**20:.0f} MiB: the feed {m['bytes'] / 2**20:.1f} MiB in {m['pieces']} "
        f"pieces, digests {m['digests'] / 2**20:.1f} MiB, "
        f"and {(m['retained'] - m['bytes'] - m['digests']) / 2**20:.1f} MiB "
        f"of sort keys, lengths and the rest ({m['items']:,} items)",
        *(f"  http: {_http_line(k, h[k])}" for k in HTTP_ROWS if k in h),
        *(f"  http: {k} skipped: {why}" for k, why in h["skipped"].items()),
        f"  http: first GET {h['first_get'] * 1000:.0f} ms; first GET after a "
        f"change {h['after_change_get'] * 1000:.0f} ms, the one after {h['after_change_next_get'] * 1000:.0f} ms; "
        f"/healthz meanwhile waited at most {h['first_get_probe']['max'] * 1000:.0f} ms during the first GET "
        f"({h['first_get_probe']['probes']} probes) and {h['after_change_probe']['max'] * 1000:.0f} ms during the "
        f"first after a change; server peak RSS {h['server_hwm_kib'] / 1024:.0f} MiB, at end "
        f"{h['server_rss_kib'] / 1024:.0f} MiB",
    ]


def _rates(result: dict) -> str:
    return "/".join(f"{r:,.0f}" for r in result["rounds_rps"])


def table(rows: list[dict]) -> str:
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
    line = "| " + " | ".join(k.ljust(widths[k]) for k in keys) + " |"
    rule = "|" + "|".join("-" * (widths[k] + 2) for k in keys) + "|"
    body = ["| " + " | ".join(r[k].rjust(widths[k]) for k in keys) + " |" for r in rows]
    return "\n".join([line, rule, *body])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="feed sizes in events, comma-separated")
    parser.add_argument("--requests", type=int, default=2000, help="requests per HTTP measurement (all connections)")
    parser.add_argument("--seconds", type=float, default=15, help="time limit of each HTTP measurement")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections of the load generator")
    parser.add_argument(
        "--generator",
        choices=("wrk", "python"),
        default="wrk" if shutil.which("wrk") else "python",
        help="the load generator: wrk when installed, else this script's clients (one process per connection)",
    )
    parser.add_argument("--no-nginx", action="store_true", help="skip the nginx comparison")
    parser.add_argument("--no-radicale", action="store_true", help="skip the Radicale comparison")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="HTTP rounds (bytes app, feed, nginx, 304 alternated); the median round is reported",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="fresh processes for each cold and naive build; the median is reported"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    # Internal: the phases that run in their own processes.
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--header", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=5, help=argparse.SUPPRESS)
    parser.add_argument("--static-file", help=argparse.SUPPRESS)
    parser.add_argument("--core", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="1", help=argparse.SUPPRESS)
    parser.add_argument("--changes", type=int, default=5, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.phase:
        sys.path.insert(0, str(ROOT))
        result = PHASES[opts.phase](opts)
        if result is not None:
            print(json.dumps(result))
        return 0

    sizes = [int(s.replace("_", "")) for s in opts.sizes.split(",") if s.strip()]
    log(
        f"feeds benchmark: sizes {sizes}, {opts.requests} requests or {opts.seconds:g} s per HTTP measurement, "
        f"{opts.connections} connections; {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    started = time.perf_counter()
    results = [bench_size(size, opts) for size in sizes]
    print()
    print(table([rows_for(r) for r in results]))
    print()
    for r in results:
        print("\n".join(details_for(r)))
    print(
        f"\nGoals: cold build ≤ {GOAL_COLD:.0%} of a naive icalendar rebuild; the next build after one change "
        f"< {GOAL_INCREMENTAL:.0%} of a cold build; warm feed req/s ≥ {GOAL_WARM:g}× a cached-bytes ASGI app on the "
        f"same stack (uvicorn, same loop and parser, same core) at ≤ {GOAL_CPU:g}× its server CPU per request, "
        f"≥ {GOAL_NGINX:g}× nginx serving the same file, ≥ {GOAL_RADICALE:g}× Radicale's GET of the calendar; "
        f"peak memory of a cold build (RSS growth) < {GOAL_MEMORY:g}× the feed's bytes."
    )
    log(
        f"done in {time.perf_counter() - started:.0f} s; load average at the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (other processes on this machine skew every number)"
    )
    if opts.json:
        opts.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
