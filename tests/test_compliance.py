"""Compliance: the pure rules, the SQL that computes the same totals, and the
report the DHA pulls in every format."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.compliance.status import Entry, Facts, report_period, risk_horizon, status, summarize
from scheduler.plan.workdays import WorkCalendar
from scheduler.store.compliance import Scope, facts_and_entries, totals
from scheduler.store.tables import LedgerRow, OccurrenceRow

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MARCH = Facts("o", "a", "ob", "2024-03", datetime(2024, 3, 1, tzinfo=TZ), datetime(2024, 4, 1, tzinfo=TZ), None)


def entry(
    seq, kind="delivery", at=datetime(2024, 3, 10, tzinfo=TZ), conforming=True, late=False, extra=False, supersedes=None
):
    return Entry(seq, "o", kind, at, supersedes, conforming, late, extra)


def judged(entries, now, risk=None):
    return status(MARCH, entries, now, risk or now + timedelta(days=1))


def test_every_status():
    mid, after = datetime(2024, 3, 15, tzinfo=TZ), datetime(2024, 4, 5, tzinfo=TZ)
    assert judged([], mid) == "pending"
    assert judged([], datetime(2024, 3, 28, tzinfo=TZ), risk=datetime(2024, 4, 2, tzinfo=TZ)) == "at_risk"
    assert judged([], after) == "missing"
    assert judged([entry(1)], mid) == "on_time"
    assert judged([entry(1, late=True)], after) == "late"
    assert judged([entry(1, conforming=False)], after) == "non_conforming"
    assert judged([entry(1, conforming=False), entry(2, kind="excuse")], after) == "excused"
    assert judged([entry(1, extra=True)], after) == "missing"
    cancelled = Facts("o", "a", "ob", "2024-03", MARCH.window_start, MARCH.window_end, datetime(2024, 3, 2, tzinfo=TZ))
    assert status(cancelled, [entry(1)], mid, mid) == "cancelled"
    assert status(cancelled, [], datetime(2024, 3, 1, 12, tzinfo=TZ), mid) == "pending"  # not cancelled yet then


def test_as_of_means_recorded_by_then():
    recorded_late = entry(1, at=datetime(2024, 4, 3, tzinfo=TZ))  # aired in March, recorded in April
    assert judged([recorded_late], datetime(2024, 4, 2, tzinfo=TZ)) == "missing"
    assert judged([recorded_late], datetime(2024, 4, 4, tzinfo=TZ)) == "on_time"
    short = entry(1, conforming=False)
    fixed = entry(2, at=datetime(2024, 4, 10, tzinfo=TZ), supersedes=1)
    assert judged([short, fixed], datetime(2024, 4, 5, tzinfo=TZ)) == "non_conforming"
    assert judged([short, fixed], datetime(2024, 4, 11, tzinfo=TZ)) == "on_time"


def test_risk_horizon_counts_working_days():
    friday = datetime(2024, 3, 29, 10, tzinfo=TZ)
    assert risk_horizon(friday, 1, WorkCalendar()) == datetime(2024, 4, 2, tzinfo=TZ)  # end of Monday
    before_tet = datetime(2024, 2, 7, 10, tzinfo=TZ)
    assert risk_horizon(before_tet, 1, WorkCalendar()) == datetime(2024, 2, 16, tzinfo=TZ)  # Tết is no working day


@pytest.mark.parametrize(
    "text,cutoff,start,last",
    [
        ("2024", False, date(2024, 1, 1), date(2024, 12, 31)),
        ("2024-Q3", False, date(2024, 7, 1), date(2024, 9, 30)),
        ("2024-H1", False, date(2024, 1, 1), date(2024, 6, 30)),
        ("2024-03", False, date(2024, 3, 1), date(2024, 3, 31)),
        ("2024-03-01..2024-05-31", False, date(2024, 3, 1), date(2024, 5, 31)),
        ("2024-03", True, date(2024, 2, 15), date(2024, 3, 14)),
        ("2024-Q1", True, date(2023, 12, 15), date(2024, 3, 14)),
        ("2024", True, date(2023, 12, 15), date(2024, 12, 14)),
    ],
)
def test_report_periods(text, cutoff, start, last):
    period = report_period(text, cutoff)
    assert (period.start, period.last_day) == (start, last)


def test_a_bad_period_says_what_is_allowed():
    with pytest.raises(Exception, match="2024-Q3"):
        report_period("quý 3")


def _random_ledger(database, seed: int) -> None:
    """Random deliveries, corrections, excuses and cancellations straight into
    the tables (the chain does not matter here, only the projection)."""
    rng = random.Random(seed)
    with database.transaction() as s:
        rows = list(s.scalars(select(OccurrenceRow)))
        seq = 0
        for o in rows:
            if rng.random() < 0.1:
                o.cancelled_at, o.status = datetime(2024, rng.randint(1, 12), 1, tzinfo=TZ), "cancelled"
            mine: list[int] = []
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                seq += 1
                start = o.window_start
                recorded = start + timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
                supersedes = rng.choice(mine) if mine and rng.random() < 0.3 else None
                mine.append(seq)
                kind = "excuse" if rng.random() < 0.1 else "delivery"
                s.add(
                    LedgerRow(
                        seq=seq,
                        occurrence_id=o.id,
                        kind=kind,
                        recorded_at=recorded,
                        recorded_by="x@y.z",
                        supersedes=supersedes,
                        content="{}",
                        prev_hash="0" * 64,
                        hash="0" * 64,
                        moment=recorded,
                        conforming=kind == "excuse" or rng.random() < 0.8,
                        late=rng.random() < 0.3,
                        extra=rng.random() < 0.1,
                    )
                )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_and_the_pure_rules_agree(cli, database, seed):
    assert cli("load", "--now", "2024-01-01").code == 0
    _random_ledger(database, seed)
    calendar = WorkCalendar()
    for text in ("2024", "2024-Q2", "2024-03", "2024-06"):
        period = report_period(text)
        for now in (
            datetime(2024, 3, 31, 12, tzinfo=TZ),
            datetime(2024, 7, 2, tzinfo=TZ),
            datetime(2025, 2, 1, tzinfo=TZ),
        ):
            risk = risk_horizon(now, 3, calendar)
            with database.transaction() as s:
                in_sql = totals(s, Scope("phu-tho-2024"), period, TZ, now, risk)
                facts, entries = facts_and_entries(s, Scope("phu-tho-2024"), period, TZ)
            _, pure, _ = summarize(facts, entries, now, risk)
            assert in_sql == pure, (text, now)


@pytest.fixture
def recorded(cli):
    """Known outcomes in March 2024: on time, late, short, missing, excused."""
    assert cli("load", "--now", "2024-01-02").code == 0
    assert cli("users", "add", "p@dai.example", "--role", "producer", "--agency", "dai-ptth").code == 0
    assert cli("users", "add", "n@bao.example", "--role", "producer", "--agency", "bao-phu-tho").code == 0
    assert cli("users", "add", "dha@snv.example", "--role", "dha", "--agency", "so-noi-vu").code == 0
    steps = [
        (
            "deliver",
            "phu-tho-2024.cchc-radio-tv.2024-03.1",
            "--by",
            "p@dai.example",
            "--at",
            "2024-03-14 19:30",
            "--duration",
            "10m",
            "--url",
            "https://vod.example/1",
            "--topic",
            "mot-cua",
        ),
        (
            "deliver",
            "phu-tho-2024.cchc-radio-tv.2024-03.2",
            "--by",
            "p@dai.example",
            "--at",
            "2024-03-28 19:30",
            "--duration",
            "7m",
        ),  # short: non-conforming
        (
            "deliver",
            "phu-tho-2024.cchc-radio-tv.2024-02.1",
            "--by",
            "p@dai.example",
            "--at",
            "2024-03-02 19:30",
            "--duration",
            "10m",
        ),  # late
        ("excuse", "phu-tho-2024.cchc-radio-tv.2024-02.2", "--by", "dha@snv.example", "--reason", "Phát sóng khẩn cấp"),
    ]
    for step in steps:
        result = cli(*step, "--now", "2024-04-03 09:00")
        assert result.code == 0, result.err
    return cli


def test_report_numbers_match_what_was_recorded(recorded):
    result = recorded("report", "--period", "2024-Q1", "--agency", "dai-ptth", "--now", "2024-04-05 09:00")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    row = next(r for r in report["rows"] if r["obligation"] == "cchc-radio-tv")
    # Jan: 2 missing; Feb: 1 late, 1 excused; Mar: 1 on time, 1 short
    assert (row["required"], row["on_time"], row["late"], row["non_conforming"], row["missing"], row["excused"]) == (
        6,
        1,
        1,
        1,
        2,
        1,
    )
    assert row["rate"] == pytest.approx(2 / 5)
    assert report["totals"]["required"] == 6
    assert {t["code"] for t in report["topics"]["covered"]} == {"mot-cua"}
    statuses = {o["id"]: o["status"] for o in report["occurrences"]}
    assert statuses["phu-tho-2024.cchc-radio-tv.2024-03.2"] == "non_conforming"
    march = next(w for w in report["windows"] if w["period"] == "2024-03")
    assert (march["owed"], march["met"]) == (2, 1)
    before = json.loads(
        recorded("report", "--period", "2024-Q1", "--agency", "dai-ptth", "--now", "2024-04-02 09:00").out
    )  # before anything was recorded
    row = next(r for r in before["rows"] if r["obligation"] == "cchc-radio-tv")
    assert row["missing"] == 6 and row["on_time"] == 0


def test_the_dha_pulls_every_format_over_http(recorded, db_url, monkeypatch):
    from fastapi.testclient import TestClient

    from scheduler.clock import Clock, parse_now
    from scheduler.settings import Settings
    from scheduler.store.database import Database
    from scheduler.web.app import create_app

    token = recorded("tokens", "create", "--user", "dha@snv.example").out.strip().splitlines()[-1]
    producer = recorded("tokens", "create", "--user", "n@bao.example").out.strip().splitlines()[-1]
    db = Database(db_url)
    client = TestClient(create_app(Settings.load(), db, Clock(TZ, parse_now("2024-04-05 09:00", TZ))))
    auth = {"Authorization": f"Bearer {token}"}
    as_json = client.get("/api/compliance?period=2024-Q1&format=json", headers=auth)
    assert as_json.status_code == 200
    totals_ = as_json.json()["totals"]
    as_csv = client.get("/api/compliance?period=2024-Q1&format=csv", headers=auth)
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert any("Chuyên mục" in cell for r in table for cell in r)
    as_xlsx = client.get("/api/compliance?period=2024-Q1&format=xlsx", headers=auth)
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(as_xlsx.content))
    assert len(book.sheetnames) >= 2
    as_html = client.get("/api/compliance?period=2024-Q1&format=html", headers=auth)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in as_html.text and "<svg" in as_html.text
    assert totals_["required"] > 0
    own = client.get("/api/compliance?period=2024-Q1", headers={"Authorization": f"Bearer {producer}"})
    assert own.status_code == 200 and {r["agency"] for r in own.json()["rows"]} == {"bao-phu-tho"}
    other = client.get(
        "/api/compliance?period=2024-Q1&agency=dai-ptth", headers={"Authorization": f"Bearer {producer}"}
    )
    assert other.status_code == 403
    db.close()
