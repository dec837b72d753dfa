"""The daemon's harvest job on SQLite and PostgreSQL against real servers
on 127.0.0.1: due sources read once, their answers handed to the kind's
processor (test processors here: the real ones are other modules'), the
history kept, the next read scheduled (backoff, the daily check and its
retry), the LibreTime key sent and never logged, one request per host at a
time, two workers never reading the same source twice, a dead worker's
lease taken over, and ``harvest run``."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from http_fixtures import HttpServer
from scheduler.clock import Clock
from scheduler.daemon import harvest_jobs
from scheduler.daemon.jobs import JOBS, runtime
from scheduler.daemon.runner import INTERVALS
from scheduler.fetching.client import host_key
from scheduler.settings import Settings
from scheduler.store import harvest_leases
from scheduler.store.database import Database
from scheduler.store.tables import HarvestFetchRow, HarvestHostRow, HarvestSourceRow

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 3, 15, 9, 0, tzinfo=TZ)


def settings_for(tmp_path, db_url: str) -> Settings:
    return Settings.load(
        env={
            "HARVEST_ALLOW": "127.0.0.0/8",
            "HARVEST_PAUSE": "0.1",
            "HARVEST_TIMEOUT": "3",
            "OUTPUTS_DIR": str(tmp_path / "outputs"),
            "DATABASE_URL": db_url,
            "BASE_URL": "https://lich.example.vn",
        }
    )


def make_rt(tmp_path, db_url, database, owner="w1", at=NOW):
    rt = runtime(settings_for(tmp_path, db_url), database, Clock(TZ, at))
    rt.owner = owner
    return rt


def add_source(database, url: str, kind: str = "feed", at: datetime = NOW, **extra) -> int:
    with database.transaction() as s:
        row = HarvestSourceRow(
            kind=kind,
            url=url,
            host=host_key(url),
            outlet="bao-phu-tho",
            plan_code="phu-tho-2024",
            obligation_code="",
            config=extra.pop("config", {}),
            active=True,
            next_at=at,
            etag="",
            last_modified="",
            failures=0,
            **extra,
        )
        s.add(row)
        s.flush()
        return row.id


def source_row(database, source_id: int) -> HarvestSourceRow:
    with database.transaction() as s:
        row = s.get(HarvestSourceRow, source_id)
        assert row is not None
        return row


def history(database, source_id: int) -> list[HarvestFetchRow]:
    with database.transaction() as s:
        return list(
            s.scalars(
                select(HarvestFetchRow).where(HarvestFetchRow.source_id == source_id).order_by(HarvestFetchRow.id)
            )
        )


class Recorder:
    """Test processors: what each kind was handed, and a proposal count."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple[str, int, bytes]] = []
        self.lock = threading.Lock()
        for kind in ("feed", "sitemap", "playout"):
            monkeypatch.setitem(harvest_jobs.PROCESSORS, kind, self._processor(kind))
        monkeypatch.setitem(harvest_jobs.PROCESSORS, "check", self.check)

    def _processor(self, kind):
        def process(session, source, fetched, fetch, store, settings):
            with self.lock:
                self.calls.append((kind, source.id, fetched.body))
            return 2

        return process

    def check(self, session, source, fetched, error, fetch, store, settings, now=None):
        ok = fetched is not None and b"dichvucong.gov.vn" in fetched.body
        row = HarvestFetchRow(
            source_id=source.id,
            at=fetched.fetched_at if fetched else source.next_at,
            ok=ok,
            status=fetched.status if fetched else None,
            error=error or ("" if ok else "no link"),
            size=len(fetched.body) if fetched else 0,
            found=0,
            detail={},
        )
        session.add(row)
        with self.lock:
            self.calls.append(("check", source.id, fetched.body if fetched else b""))
        return row


@pytest.fixture
def server():
    with HttpServer() as s:
        yield s


def test_the_job_is_registered_in_the_daemon():
    assert INTERVALS["harvest"] == 2 and JOBS["harvest"] is harvest_jobs.harvest


def test_a_due_feed_is_read_processed_kept_and_read_again_conditionally(
    tmp_path, db_url, database, server, monkeypatch
):
    seen = Recorder(monkeypatch)
    server.route("/rss", body=b"<rss>1</rss>", etag='"e1"')
    feed = add_source(database, server.url("/rss"))
    later = add_source(database, server.url("/later"), at=NOW + timedelta(hours=2))  # not due yet
    rt = make_rt(tmp_path, db_url, database)
    result = harvest_jobs.harvest(rt)
    assert result["fetched"] == 1 and seen.calls == [("feed", feed, b"<rss>1</rss>")]
    row = source_row(database, feed)
    assert row.etag == '"e1"' and row.last_ok is True and row.failures == 0
    assert row.next_at - row.last_at == timedelta(minutes=60)
    [kept] = history(database, feed)
    assert (kept.ok, kept.status, kept.size, kept.found, kept.error) == (True, 200, 12, 2, "")
    assert history(database, later) == [] and "/later" not in server.paths()
    assert server.seen[0].headers["user-agent"].startswith("LichTuyenTruyen/0.1 (+https://lich.example.vn")
    # nothing due: nothing asked; then due again: a conditional GET, 304, the processor not called
    assert harvest_jobs.harvest(rt).get("fetched", 0) == 0 and len(server.seen) == 1
    with database.transaction() as s:
        s.get(HarvestSourceRow, feed).next_at = NOW
    assert harvest_jobs.harvest(rt)["unchanged"] == 1
    assert len(seen.calls) == 1 and server.seen[1].headers["if-none-match"] == '"e1"'
    row, kept = source_row(database, feed), history(database, feed)[-1]
    assert (kept.ok, kept.status, kept.size) == (True, 304, 0) and row.etag == '"e1"' and row.last_at > NOW
    with database.transaction() as s:  # the lease went back
        host = s.get(HarvestHostRow, host_key(server.url("/rss")))
        assert host.lease_owner is None and host.last_request_at is not None


def test_failures_back_off_doubling_up_to_a_day(tmp_path, db_url, database, server, monkeypatch):
    Recorder(monkeypatch)
    feed = add_source(database, server.url("/gone"))  # 404
    rt = make_rt(tmp_path, db_url, database)
    for failures, wait in ((1, 120), (2, 240), (3, 480)):
        assert harvest_jobs.harvest(rt)["failed"] == 1
        row = source_row(database, feed)
        assert row.failures == failures and row.last_ok is False
        assert row.next_at - row.last_at == timedelta(minutes=wait)
        with database.transaction() as s:
            s.get(HarvestSourceRow, feed).next_at = NOW
    with database.transaction() as s:
        s.get(HarvestSourceRow, feed).failures = 9
    harvest_jobs.harvest(rt)
    row = source_row(database, feed)
    assert row.failures == 10 and row.next_at - row.last_at == timedelta(days=1)
    kept = history(database, feed)[-1]
    assert (kept.ok, kept.status) == (False, 404) and "404" in kept.error
    server.route("/gone", body=b"<rss/>")  # back: the counter starts again
    with database.transaction() as s:
        s.get(HarvestSourceRow, feed).next_at = NOW
    harvest_jobs.harvest(rt)
    assert source_row(database, feed).failures == 0


def test_a_check_runs_daily_at_seven_and_a_failed_one_an_hour_later(tmp_path, db_url, database, server, monkeypatch):
    seen = Recorder(monkeypatch)
    server.route("/cchc", body=b'<a href="https://dichvucong.gov.vn">DVC</a>')
    server.route("/broken", body=b"<p>nothing</p>")
    good, bad = add_source(database, server.url("/cchc"), "check"), add_source(database, server.url("/broken"), "check")
    down = add_source(database, "http://127.0.0.1:9/down", "check")  # nothing listens: the processor hears why
    harvest_jobs.harvest(make_rt(tmp_path, db_url, database))
    assert source_row(database, good).next_at == datetime(2024, 3, 16, 7, 0, tzinfo=TZ)
    for failed in (bad, down):
        row = source_row(database, failed)
        assert row.last_ok is False and row.next_at - row.last_at == timedelta(hours=1)
    assert [c[0] for c in seen.calls] == ["check"] * 3
    [gone] = history(database, down)
    assert gone.status is None and "127.0.0.1:9" in gone.error
    # late in the evening, a failed check waits for the next morning's
    row = HarvestSourceRow(kind="check", failures=0)
    harvest_jobs.reschedule(row, datetime(2024, 3, 15, 23, 30, tzinfo=TZ), False, 60, TZ)
    assert row.next_at == datetime(2024, 3, 16, 7, 0, tzinfo=TZ) and row.failures == 1


def test_a_processor_that_fails_is_kept_as_a_failed_read(tmp_path, db_url, database, server, monkeypatch):
    def broken(*args):
        raise RuntimeError("bug")

    monkeypatch.setitem(harvest_jobs.PROCESSORS, "sitemap", broken)
    server.route("/sitemap.xml", body=b"<urlset/>")
    sitemap = add_source(database, server.url("/sitemap.xml"), "sitemap")
    assert harvest_jobs.harvest(make_rt(tmp_path, db_url, database))["failed"] == 1
    kept = history(database, sitemap)[-1]
    assert not kept.ok and kept.status == 200 and "RuntimeError" in kept.error
    assert source_row(database, sitemap).failures == 1


def test_the_libretime_key_is_read_at_fetch_time_and_never_logged(
    tmp_path, db_url, database, server, monkeypatch, caplog
):
    seen = Recorder(monkeypatch)
    key_file = tmp_path / "libretime.key"
    key_file.write_text("k3y-s3cret\n")
    server.route("/api/v2/schedule", body=b"[]")
    playout = add_source(database, server.url("/api/v2/schedule"), "playout", config={"api_key_file": str(key_file)})
    missing = add_source(database, server.url("/api/v2/files"), "playout", config={"api_key_file": str(tmp_path / "x")})
    rt = make_rt(tmp_path, db_url, database)
    with caplog.at_level(logging.DEBUG):
        harvest_jobs.harvest(rt)
    assert server.seen[0].headers["authorization"] == "Api-Key k3y-s3cret"
    assert seen.calls == [("playout", playout, b"[]")] and len(server.seen) == 1
    assert "k3y-s3cret" not in caplog.text
    error = history(database, missing)[0].error  # in the service's language, Vietnamese by default
    assert error.startswith("không đọc được tệp khóa API") and str(tmp_path / "x") in error


def test_two_sources_of_one_host_are_asked_one_at_a_time(tmp_path, db_url, database, server, monkeypatch):
    Recorder(monkeypatch)
    server.route("/a", body=b"a", delay=0.2)
    server.route("/b", body=b"b", delay=0.2)
    add_source(database, server.url("/a"))
    add_source(database, server.url("/b"), "sitemap")
    result = harvest_jobs.harvest(make_rt(tmp_path, db_url, database))
    assert result["fetched"] == 2 and server.most_at_once == 1
    first, second = sorted(server.seen, key=lambda s: s.started)
    assert second.started - first.ended >= 0.08  # the pause (0.1 s)


def test_two_workers_read_each_due_source_exactly_once(tmp_path, db_url, database, monkeypatch):
    seen = Recorder(monkeypatch)
    monkeypatch.setattr(harvest_jobs, "HOSTS_PER_CLAIM", 1)  # the workers take the hosts turn by turn
    servers = [HttpServer().__enter__() for _ in range(3)]
    try:
        ids = []
        for server in servers:
            for n in range(3):
                server.route(f"/feed{n}", body=f"{server.port}/{n}".encode(), delay=0.05)
                ids.append(add_source(database, server.url(f"/feed{n}")))
        other = Database(db_url)  # a second process's connection
        workers = [make_rt(tmp_path, db_url, database, "w1"), make_rt(tmp_path, db_url, other, "w2")]
        results: list[dict] = []
        threads = [threading.Thread(target=lambda rt=rt: results.append(harvest_jobs.harvest(rt))) for rt in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        other.close()
        assert sorted(source_id for _, source_id, _ in seen.calls) == sorted(ids)  # each once
        assert sum(r.get("fetched", 0) for r in results) == 9 and not any(r.get("failed") for r in results)
        assert all(r["hosts"] >= 1 for r in results)  # both worked, on different hosts
        for server in servers:
            assert sorted(server.paths()) == ["/feed0", "/feed1", "/feed2"] and server.most_at_once == 1
    finally:
        for server in servers:
            server.__exit__(None, None, None)


def test_a_lease_that_ran_out_lets_another_worker_take_over(tmp_path, db_url, database, server, monkeypatch):
    seen = Recorder(monkeypatch)
    server.route("/rss", body=b"<rss/>")
    feed = add_source(database, server.url("/rss"))
    host = host_key(server.url("/rss"))
    with database.transaction() as s:
        assert harvest_leases.claim_hosts(s, "dead", NOW, timedelta(minutes=10), 5) == [host]
    with database.transaction() as s:  # a second claim while the lease runs: nothing
        assert harvest_leases.claim_hosts(s, "w2", NOW + timedelta(minutes=5), timedelta(minutes=10), 5) == []
    assert harvest_jobs.harvest(make_rt(tmp_path, db_url, database, "w2", NOW + timedelta(minutes=5))) == {"hosts": 0}
    assert seen.calls == []
    taken = harvest_jobs.harvest(make_rt(tmp_path, db_url, database, "w2", NOW + timedelta(minutes=11)))
    assert taken["fetched"] == 1 and seen.calls == [("feed", feed, b"<rss/>")]
    with database.transaction() as s:  # the dead worker's late release changes nothing
        harvest_leases.release(s, "dead", host, NOW)
        assert harvest_leases.renew(s, "dead", host, NOW, timedelta(minutes=1)) is False


def test_harvest_run_reads_what_is_due_now(cli, db_url, server, monkeypatch):
    seen = Recorder(monkeypatch)
    monkeypatch.setenv("HARVEST_ALLOW", "127.0.0.0/8")
    monkeypatch.setenv("HARVEST_PAUSE", "0.1")
    server.route("/rss", body=b"<rss/>")
    server.route("/cchc", body=b"dichvucong.gov.vn")
    database = Database(db_url)
    try:
        add_source(database, server.url("/rss"))
        add_source(database, server.url("/cchc"), "check")
        add_source(database, server.url("/gone"), "sitemap")
    finally:
        database.close()
    done = cli("harvest", "run", "--only", "feed,sitemap", "--now", "2024-03-15 09:30", "--lang", "en")
    assert done.code == 0, done.err
    assert f"feed {server.url('/rss')}: read, 2 new proposals" in done.out
    assert f"sitemap {server.url('/gone')}: failed:" in done.out and "404" in done.out
    assert "/cchc" not in server.paths() and [c[0] for c in seen.calls] == ["feed"]
    assert "/cchc" in cli("harvest", "run", "--now", "2024-03-15 09:30").out  # the check, in Vietnamese
    wrong = cli("harvest", "run", "--only", "feed,rss", "--lang", "en")
    assert wrong.code == 1 and 'unknown kind "rss"' in wrong.err


def test_a_worker_that_lost_its_lease_mid_fetch_records_nothing(tmp_path, db_url, database, server, monkeypatch):
    Recorder(monkeypatch)
    server.route("/slow", body=b"<rss/>", delay=0.6)
    feed = add_source(database, server.url("/slow"))
    host = host_key(server.url("/slow"))

    def steal():  # the lease ran out while the answer was coming, and another worker took it
        with database.transaction() as s:
            s.get(HarvestHostRow, host).lease_owner = "w2"

    thief = threading.Timer(0.3, steal)
    thief.start()
    result = harvest_jobs.harvest(make_rt(tmp_path, db_url, database, "w1"))
    thief.join()
    assert result.get("lost") == 1 and not result.get("fetched")
    assert history(database, feed) == [] and source_row(database, feed).last_at is None  # still due, for w2
    with database.transaction() as s:
        assert s.get(HarvestHostRow, host).lease_owner == "w2"  # w1's release did not free w2's lease
