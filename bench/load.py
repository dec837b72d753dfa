"""Load benchmark (issue 18, item 2); not part of .ci/run.

    python bench/load.py [--quick] [--rows KIND:SIZE,...] [--postgres] [--database-url URL] [--scale-down] [--keep]

Two kinds of rows, each a fresh database loaded by ``python main.py load``
in a child process (imports and the schema check included, as a user sees
it), then the same files loaded again unchanged:

- ``N× bundled``: N copies of ``schedules/phu-tho-2024.yaml`` (the real
  plan, 50 occurrences), each under its own plan code, in one folder, one
  load: 1×, 10×, 100× (``--quick``: 1× and 10×).
- ``E events``: ``bench/feeds.py``'s ``schedule_yaml(E)`` plan (weekly TV
  slots, a weekly newspaper quota, a monthly training, three milestones
  each: four events per occurrence). 10,000 events is the issue's goal
  (2,505 occurrences, under 3 s) and 100,000 its "linear to ten times"
  (``--quick``: 10,000 only).

Printed per row: occurrences, feed events (items stored), wall and CPU
seconds of the child process, events per CPU second, and the ratio to
linear: (CPU per event at this size) / (CPU per event of the smallest row of
its kind); 1.0 is linear, below 1 the fixed cost (imports, about 1 s)
spread thinner. On SQLite always; on PostgreSQL too with ``--postgres`` (a
throwaway server as the tests start one) or ``--database-url``/
``DATABASE_URL``. ``--scale-down`` (for tests/test_bench_load.py) runs only
1× bundled and 1,000 events.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
BUNDLED = ROOT / "schedules" / "phu-tho-2024.yaml"
NOW = "2024-01-02"


@dataclass
class Row:
    kind: str
    size: int
    backend: str
    occurrences: int = 0
    events: int = 0
    first_wall: float = 0.0
    first_cpu: float = 0.0
    again_wall: float = 0.0
    again_cpu: float = 0.0


def copies(folder: Path, n: int) -> None:
    """N copies of the bundled plan, each under its own code."""
    text = BUNDLED.read_text(encoding="utf-8")
    code = re.search(r"^  code: (\S+)$", text, re.M)[1]
    for i in range(n):
        name = code if i == 0 else f"{code}-{i}"
        (folder / f"{name}.yaml").write_text(text.replace(f"  code: {code}\n", f"  code: {name}\n", 1), "utf-8")


def events_plan(folder: Path, events: int) -> None:
    from feeds import schedule_yaml

    text, _obligations, _events = schedule_yaml(events)
    (folder / "bench.yaml").write_text(text, encoding="utf-8")


def run_load(folder: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one ``main.py load`` child, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "load", str(folder), "--now", NOW],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"load failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, done.stdout


def counts(url: str) -> tuple[int, int]:
    query = "SELECT (SELECT count(*) FROM occurrences), (SELECT count(*) FROM feed_items)"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            occurrences, events = conn.execute(query).fetchone()
        return occurrences, events
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        occurrences, events = conn.execute(query).fetchone()
    return occurrences, events


def measure(row: Row, url: str | None, reset, work: Path) -> Row:
    folder = work / f"{row.kind}-{row.size}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (copies if row.kind == "bundled" else events_plan)(folder, row.size)
    outputs = work / "outputs"
    shutil.rmtree(outputs, ignore_errors=True)
    outputs.mkdir()
    env = {**os.environ, "OUTPUTS_DIR": str(outputs), "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    if url:
        reset()
        env["DATABASE_URL"] = url
    row.first_wall, row.first_cpu, _ = run_load(folder, env)
    row.again_wall, row.again_cpu, out = run_load(folder, env)
    assert " 0 mới" in out or " 0 new" in out, out  # unchanged: nothing created
    row.occurrences, row.events = counts(url or f"sqlite:///{outputs}/scheduler.sqlite3")
    return row


def report(rows: list[Row]) -> None:
    print(
        f"{'rows':<16} {'db':<10} {'occ.':>7} {'events':>8} {'first s':>8} {'cpu s':>7} {'ev/cpu s':>9} "
        f"{'×linear':>8} {'again s':>8} {'cpu s':>7} {'again/first':>11}"
    )
    base: dict[tuple[str, str], float] = {}
    for r in rows:
        per_event = r.first_cpu / max(r.events, 1)
        base.setdefault((r.kind, r.backend), per_event)
        label = f"{r.size}× bundled" if r.kind == "bundled" else f"{r.size:,} events"
        print(
            f"{label:<16} {r.backend:<10} {r.occurrences:>7,} {r.events:>8,} {r.first_wall:>8.2f} {r.first_cpu:>7.2f} "
            f"{r.events / max(r.first_cpu, 1e-9):>9,.0f} {per_event / base[(r.kind, r.backend)]:>8.2f} "
            f"{r.again_wall:>8.2f} {r.again_cpu:>7.2f} {r.again_cpu / max(r.first_cpu, 1e-9):>11.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1× and 10× bundled, 10,000 events")
    parser.add_argument("--scale-down", action="store_true", help="1× bundled and 1,000 events (the test)")
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL server")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="also on this (emptied)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL rows only")
    parser.add_argument("--rows", help="only these rows, e.g. bundled:100,events:100000")
    args = parser.parse_args(argv)
    if args.scale_down:
        sizes = [("bundled", 1), ("events", 1000)]
    elif args.quick:
        sizes = [("bundled", 1), ("bundled", 10), ("events", 10_000)]
    else:
        sizes = [("bundled", 1), ("bundled", 10), ("bundled", 100), ("events", 10_000), ("events", 100_000)]
    if args.rows:
        sizes = [(kind, int(size)) for kind, size in (part.split(":") for part in args.rows.split(","))]
        if any(kind not in ("bundled", "events") for kind, _ in sizes):
            raise SystemExit("--rows: KIND:SIZE,… with KIND bundled or events")
    one, five, _ = os.getloadavg()
    print(f"load average {one:.2f} (5 min {five:.2f}); {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    backends: list[tuple[str, str | None, object]] = [] if args.no_sqlite else [("sqlite", None, lambda: None)]
    server = None
    sys.path.insert(0, str(ROOT))
    if args.database_url or args.postgres:
        from tests import pg_server

        if args.database_url:
            server = pg_server.Server(args.database_url)
            owned = None
        else:
            reason = pg_server.postgres_unavailable_reason()
            if reason:
                raise SystemExit(f"PostgreSQL: {reason} (or give --database-url)")
            server = owned = pg_server.start("bench_load")
        backends.append(("postgresql", server.url, server.reset))
    rows = []
    try:
        for backend, url, reset in backends:
            for kind, size in sizes:
                rows.append(measure(Row(kind, size, backend), url, reset, work))
                print(f"  {backend} {kind} {size}: {rows[-1].first_wall:.2f} s", file=sys.stderr, flush=True)
    finally:
        if server is not None and owned is not None:
            owned.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(rows)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
