"""bench/feeds.py's HTTP comparison, small: the cached-bytes app on the same
stack as ``serve`` answers the feed's bytes with the feed's headers, and one
measurement through the script's own load generator gives a throughput and
the server's CPU per request (from /proc). Keeps the bench working between
the runs made by hand; ``schedule_yaml`` keeps its shape for outside checks."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import feeds as bench


def test_schedule_yaml_keeps_its_shape():
    text, obligations, events = bench.schedule_yaml(1000)
    assert text.startswith("plan:\n  code: bench\n")
    assert (obligations, events) == (7, 984)  # what the figures in bench/README.md were measured on


def test_cpu_seconds_reads_proc():
    before = bench.cpu_seconds(os.getpid())
    while bench.cpu_seconds(os.getpid()) - before < 0.05:
        sum(range(10_000))
    assert bench.cpu_seconds(os.getpid()) > before


def test_the_bytes_app_and_one_measurement(tmp_path):
    body = b"BEGIN:VCALENDAR\r\n" + b"X" * 200_000 + b"\r\nEND:VCALENDAR\r\n"
    feed = tmp_path / "feed.ics"
    feed.write_bytes(body)
    port = bench.free_port()
    env = {**os.environ, "OUTPUTS_DIR": str(tmp_path / "outputs"), "PYTHONPATH": str(bench.ROOT)}
    cmd = [sys.executable, str(Path(bench.__file__)), "--phase", "bytes", "--port", str(port)]
    server, out = bench.start([*cmd, "--static-file", str(feed)], env, tmp_path / "bytes.log")
    try:
        status, headers, got = bench.wait_for(port, "/", server, limit=60)
        assert (status, got) == (200, body)
        assert headers["content-type"] == "text/calendar; charset=utf-8"
        assert headers["cache-control"] == "private, no-cache" and headers["content-length"] == str(len(body))
        opts = argparse.Namespace(generator="python", connections=2, seconds=1.0, requests=200)
        result = bench.load(port, "/", [], opts, 200, (None, None), server.pid, env)
        assert result["requests"] > 0 and result["rps"] > 0 and result["lengths"] == [len(body)]
        assert result["cpu_s"] >= 0 and result["cpu_ms_per_req"] == result["cpu_s"] * 1000 / result["requests"]
    finally:
        bench.stop(server, out)
    assert server.returncode is not None
    assert "not installed" not in (tmp_path / "bytes.log").read_text()  # no fallback: the same stack as serve
