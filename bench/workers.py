"""Requests per CPU-second of ``serve --workers N`` (issue 18, item 3); not part of .ci/run.

    python bench/workers.py [--sizes 1000,10000] [--workers 1,2] [--seconds 10] [--connections 8]
                            [--rounds 3] [--generator wrk|python] [--postgres-url URL] [--keep] [--json PATH]

On a throwaway PostgreSQL (``tests/pg_server.py``; or ``--postgres-url``, a
scratch database whose public schema is dropped), for each size it loads
``bench/feeds.py``'s ``schedule_yaml`` plan with the real CLI and subscribes
to everything, as bench/feeds.py does, then starts for each N:

- ``python main.py serve --workers N`` as an operator runs it (one process
  for N = 1; for N > 1 the parent, which runs the jobs and uvicorn's
  supervisor, and N web workers);
- the cached-bytes app of bench/feeds.py (the feed's bytes in one bytes
  object, the same headers) under uvicorn with ``workers=N`` on the same
  stack (uvloop, httptools, access log on), the same process shape.

It drives warm feed GETs (and ``/healthz`` of ``serve``) with wrk when
installed, else bench/feeds.py's clients, in alternated rounds after a warm-up
that builds every worker's cache, and reports requests per CPU-second of ALL
the server's processes (utime + stime of the process tree from /proc, after
less before), the median round of each. Nothing is pinned: N = 2 needs both
cores, so the load generator shares them and raw throughput cannot show
scaling; requests per CPU-second can (1.0 for N = 2 / N = 1 is perfect).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import feeds  # bench/feeds.py: its plan, load generators and /proc CPU

ROOT = feeds.ROOT
BODY = "BENCH_WORKERS_BODY"  # the file the bytes app's workers read
GOAL_PER_CPU = 1 / feeds.GOAL_CPU  # item 1's CPU goal, as requests per CPU-second against the bytes app


def bytes_factory():
    """The cached-bytes app in a uvicorn worker (``factory=True``: each
    worker process builds it, reading the feed's bytes from ``BODY``)."""
    from scheduler.web.app import install_log_masks

    install_log_masks()  # as serve's workers have them (after uvicorn configured its loggers)
    return feeds.bytes_app(Path(os.environ[BODY]).read_bytes())


def phase_bytes(args) -> None:
    """uvicorn with ``workers=N`` serving ``bytes_factory``: one process for
    N = 1, its multiprocess supervisor and N workers above (as serve)."""
    import uvicorn

    from scheduler.cli.serve_workers import healthcheck_option
    from scheduler.cli.service import server_stack

    os.environ[BODY] = args.static_file
    uvicorn.run(
        "workers:bytes_factory",
        factory=True,
        host=feeds.HOST,
        port=args.port,
        workers=args.n,
        log_level="info",
        app_dir=str(Path(__file__).resolve().parent),
        **server_stack(),
        **(healthcheck_option() if args.n > 1 else {}),  # as serve --workers N
    )


def own_cpu(pid: int) -> float:
    """utime + stime of the one process (the parent's share)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / feeds.CLOCK_TICKS


def measure(target: dict, path: str, opts, env: dict) -> dict:
    """One load on one server: throughput, CPU of its whole process tree,
    and requests per CPU-second; the parent's own CPU beside."""
    pid = target["server"].pid
    parent = own_cpu(pid)
    result = feeds.load(target["port"], path, [], opts, 200, (None, None), pid, env)
    result["parent_cpu_s"] = own_cpu(pid) - parent
    result["processes"] = len(feeds.process_tree(pid))
    result["per_cpu_s"] = result["requests"] / max(1e-9, result["cpu_s"])
    return result


def web_processes(pid: int) -> list[int]:
    """The processes that answer requests: ``pid`` alone, or uvicorn's
    workers under it (multiprocessing's resource tracker left out)."""
    tree = feeds.process_tree(pid)
    workers = []
    for each in tree[1:]:
        try:
            cmdline = Path(f"/proc/{each}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            workers.append(each)
    return workers or [pid]


def warm_up(target: dict, path: str, opts, env: dict, attempts: int = 5) -> None:
    """Loads not counted, until every web process has worked in one of them
    (so that each worker has built its feed cache before a round counts)."""
    pending = set(web_processes(target["server"].pid))
    for _ in range(attempts):
        before = {p: own_cpu(p) for p in pending}
        measure(target, path, opts, env)
        pending = {p for p in pending if own_cpu(p) <= before[p]}
        if not pending:
            return
    raise RuntimeError(f"{path}: processes {sorted(pending)} answered nothing in {attempts} warm-up loads")


def _median(results: list[dict]) -> dict:
    ordered = sorted(results, key=lambda r: r["per_cpu_s"])
    median = dict(ordered[(len(ordered) - 1) // 2])
    return {**median, "rounds_per_cpu_s": [r["per_cpu_s"] for r in results]}


def start_servers(env: dict, work: Path, counts: list[int], static_file: Path | None) -> dict:
    """``serve --workers N`` for each N (static_file None), or the bytes app."""
    targets = {}
    for n in counts:
        port = feeds.free_port()
        if static_file is None:
            name = f"serve-{n}"
            cmd = [sys.executable, "main.py", "serve", "--workers", str(n), "--port", str(port), "--now", feeds.NOW]
        else:
            name = f"bytes-{n}"
            cmd = [sys.executable, __file__, "--phase", "bytes", "--port", str(port), "--n", str(n)]
            cmd += ["--static-file", str(static_file)]
        server, out = feeds.start(cmd, env, work / f"{name}.log")
        targets[name] = {"n": n, "port": port, "server": server, "out": out, "log": work / f"{name}.log"}
    return targets


def bench_size(size: int, url: str, counts: list[int], opts) -> dict:
    from tests import pg_server

    work = Path(tempfile.mkdtemp(prefix=f"bench-workers-{size}-"))
    pg_server.Server(url).reset()
    env = {
        **os.environ,
        "OUTPUTS_DIR": str(work / "outputs"),
        "DATABASE_URL": url,
        "BASE_URL": feeds.BASE_URL,
        "SCHEDULER_LANG": "vi",
        "PUBLIC_FEED": "off",
        "PYTHONPATH": str(ROOT),
    }
    targets: dict = {}
    try:
        text, obligations, expected = feeds.schedule_yaml(size)
        plan = work / "bench.yaml"
        plan.write_text(text, encoding="utf-8")
        t = time.perf_counter()
        loaded = feeds.cli(env, "load", str(plan), "--now", feeds.NOW).strip()
        load_s = time.perf_counter() - t
        out = feeds.cli(env, "subscribe", "--email", feeds.EMAIL, "--now", feeds.NOW)
        path = "/feeds/" + re.search(r"/feeds/([A-Za-z0-9_-]+)\.ics", out).group(1) + ".ics"
        log(f"size {size:,}: about {expected:,} events, loaded into PostgreSQL in {load_s:.1f} s ({loaded})")
        targets = start_servers(env, work, counts, None)
        for t_ in targets.values():
            feeds.wait_ready(t_["port"], t_["server"])
        status, _headers, body = feeds.http_get(next(iter(targets.values()))["port"], path)
        if status != 200:
            raise RuntimeError(f"feed GET: {status}")
        static_file = work / "static.ics"
        static_file.write_bytes(body)
        bytes_targets = start_servers(env, work, counts, static_file)
        targets.update(bytes_targets)
        for t_ in bytes_targets.values():
            if feeds.wait_for(t_["port"], "/", t_["server"])[2] != body:
                raise RuntimeError("the bytes app does not answer the feed's bytes")
        warm = argparse.Namespace(**{**vars(opts), "seconds": float(max(1, round(opts.seconds / 4)))})
        for name, t_ in targets.items():  # every worker's cache built before anything counts
            warm_up(t_, path if name.startswith("serve") else "/", warm, env)
        events = body.count(b"BEGIN:VEVENT\r\n")
        log(
            f"  {events:,} events, {len(body):,} bytes; {opts.rounds} rounds of {', '.join(targets)} and /healthz "
            f"({opts.generator}, {opts.connections} connections, nothing pinned); load average {loadavg()}"
        )
        rounds: dict[str, list[dict]] = {}
        for k in range(opts.rounds):  # alternated, so that drift hits all alike
            for name, t_ in targets.items():
                rounds.setdefault(name, []).append(measure(t_, path if name.startswith("serve") else "/", opts, env))
            for n in counts:
                rounds.setdefault(f"healthz-{n}", []).append(measure(targets[f"serve-{n}"], "/healthz", opts, env))
            log(f"    round {k + 1}: " + ", ".join(f"{n} {r[-1]['per_cpu_s']:,.0f}/CPU-s" for n, r in rounds.items()))
        result = {name: _median(rs) for name, rs in rounds.items()}
    finally:
        for t_ in targets.values():
            feeds.stop(t_["server"], t_["out"])
        logs = {name: t_["log"].read_text(errors="replace") for name, t_ in targets.items()}
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"  kept {work}")
    for name, text in logs.items():
        if "Traceback" in text:
            raise RuntimeError(f"{name}: a traceback in its log:\n{text[-4000:]}")
    # uvicorn's supervisor kills and replaces a worker that does not answer its ping in time
    # (timeout_worker_healthcheck): the new one starts cold, so the run says how often.
    restarts = {name: len(re.findall(r"Child process \[\d+\] died", text)) for name, text in logs.items()}
    return {
        "size": size,
        "events": events,
        "bytes": len(body),
        "load_s": load_s,
        "results": result,
        "restarts": restarts,
    }


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def log(text: str) -> None:
    feeds.log(text)


def rows_for(r: dict, counts: list[int]) -> list[dict]:
    res, rows = r["results"], []
    for n in counts:
        s, b, h = res[f"serve-{n}"], res[f"bytes-{n}"], res[f"healthz-{n}"]
        ratio = s["per_cpu_s"] / b["per_cpu_s"]
        rows.append(
            {
                "events": f"{r['events']:,}",
                "workers": str(n),
                "processes": str(s["processes"]),
                "serve req/s": f"{s['rps']:,.0f}",
                "serve req/CPU-s": f"{s['per_cpu_s']:,.0f}",
                "parent CPU %": f"{s['parent_cpu_s'] / max(1e-9, s['cpu_s']):.1%}" if n > 1 else "-",
                "bytes req/s": f"{b['rps']:,.0f}",
                "bytes req/CPU-s": f"{b['per_cpu_s']:,.0f}",
                f"serve/bytes ≥{GOAL_PER_CPU:.2f}": f"{ratio:.2f} {feeds.verdict(ratio >= GOAL_PER_CPU)}",
                "/healthz req/CPU-s": f"{h['per_cpu_s']:,.0f}",
            }
        )
    return rows


def scaling_lines(r: dict, counts: list[int]) -> list[str]:
    """Each N against N = 1 (per CPU-second: 1.0 means the extra processes cost nothing)."""
    res, lines = r["results"], []
    first = counts[0]
    for n in counts[1:]:
        parts = [
            f"{kind} {res[f'{kind}-{n}']['per_cpu_s'] / res[f'{kind}-{first}']['per_cpu_s']:.2f}"
            for kind in ("serve", "bytes", "healthz")
        ]
        lines.append(f"  {r['events']:,} events, {n} workers / {first}, requests per CPU-second: {', '.join(parts)}")
    return lines


def details(r: dict) -> list[str]:
    restarted = ", ".join(f"{name} {k}" for name, k in r["restarts"].items() if k)
    lines = [
        f"  {r['events']:,} events: workers replaced by uvicorn's supervisor (no answer to its ping in time): "
        + (restarted or "none")
    ]
    for name, x in r["results"].items():
        rounds = "/".join(f"{v:,.0f}" for v in x["rounds_per_cpu_s"])
        lines.append(
            f"  {name} at {r['events']:,} events: {x['requests']:,} requests in {x['seconds']:.1f} s, "
            f"{x['cpu_s']:.2f} CPU-s in {x['processes']} process(es) (parent {x['parent_cpu_s']:.2f}), "
            f"p50 {x['p50_ms']:.2f} ms, p99 {x['p99_ms']:.2f} ms; rounds {rounds} req/CPU-s"
        )
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="feed sizes in events, comma-separated")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated (the first is the base)")
    parser.add_argument("--seconds", type=float, default=10, help="length of each measurement")
    parser.add_argument("--requests", type=int, default=20000, help="request limit per measurement (python clients)")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections of the load generator")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds; the median round is reported")
    parser.add_argument(
        "--generator",
        choices=("wrk", "python"),
        default="wrk" if shutil.which("wrk") else "python",
        help="wrk when installed, else bench/feeds.py's clients (one process per connection)",
    )
    parser.add_argument("--postgres-url", help="a scratch PostgreSQL database (its public schema is dropped)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    parser.add_argument("--phase", choices=("bytes",), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--static-file", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.phase:
        sys.path.insert(0, str(ROOT))
        phase_bytes(opts)
        return 0
    sizes = [int(s.replace("_", "")) for s in opts.sizes.split(",") if s.strip()]
    counts = [int(n) for n in opts.workers.split(",") if n.strip()]
    sys.path.insert(0, str(ROOT))
    server = None
    url = opts.postgres_url
    if url is None:
        from tests import pg_server

        reason = pg_server.postgres_unavailable_reason()
        if reason:
            raise SystemExit(f"PostgreSQL: {reason} (or give --postgres-url)")
        server = pg_server.start("bench_workers")
        url = server.url
    log(
        f"workers benchmark: sizes {sizes}, workers {counts}, {opts.seconds:g} s per measurement, {opts.rounds} "
        f"rounds; {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average {loadavg()}"
    )
    try:
        results = [bench_size(size, url, counts, opts) for size in sizes]
    finally:
        if server is not None:
            server.stop()
    print()
    print(feeds.table([row for r in results for row in rows_for(r, counts)]))
    print()
    for r in results:
        print("\n".join(scaling_lines(r, counts)))
    for r in results:
        print("\n".join(details(r)))
    print(
        f"\nRequests per CPU-second = requests / (utime + stime of every process of the server: serve's parent, "
        f"which runs the jobs and the supervisor, and its workers). Nothing is pinned; the load generator "
        f"({opts.generator}) shares the {os.cpu_count()} cores, so req/s cannot show scaling. serve/bytes is "
        f"compared with {GOAL_PER_CPU:.2f} = 1 / item 1's CPU-per-request goal ({feeds.GOAL_CPU:g}×)."
    )
    log(f"done; load average at the end {loadavg()} (other processes on this machine skew every number)")
    if opts.json:
        opts.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
