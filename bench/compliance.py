"""Compliance summary benchmark (issue 5, item 4); not part of .ci/run.

    python bench/compliance.py [--scale small|medium|national]
        [--provinces N --agencies N --obligations N --years N]
        [--db sqlite,postgresql] [--postgres-url URL] [--repeat N] [--seed N]
        [--explain] [--index-experiment] [--pg-set NAME=VALUE] [--keep]
        [--sqlite-file PATH] [--no-build]

It generates a data set straight into the tables (the schema made by
``Database(url)``, i.e. the Alembic migrations, and only the indexes those
create): one plan per province per year (``p07-2024``), agencies, obligations
(monthly quotas of 2, monthly, quarterly, yearly windows, local midnights in
Asia/Ho_Chi_Minh stored as UTC), their occurrences (a few cancelled), and
ledger rows in recorded order (deliveries for about 80 % of occurrences, some
late, some non-conforming, some corrected by a superseding entry, a few
excuses and extras; the hash chain is not measured, so hashes are zeros).
Then, after ANALYZE (VACUUM ANALYZE on PostgreSQL), as of one moment ``NOW`` it times, warm, the median of
at least ``--repeat`` runs (more for quick queries), the two alternating:

- the product: ``scheduler.store.compliance.totals`` (a province's 2024 plan,
  and the whole country: no plan in the scope), period 2024;
- the hand-written query: one SQL string per dialect with GROUP BY agency,
  obligation, status, the way one would write it for speed (one MAX over the
  live entries of each occurrence instead of an EXISTS per status), computing
  the same numbers;

and prints the ratio (goal <= 1.2, at least <= 1.5) and whether the numbers
per (agency, obligation) are equal. It stops with an error if they are not.
When the scope is small enough it also checks both against the pure rules
(``scheduler.compliance.summarize``).

``--index-experiment`` measures again on copies of the database with extra
indexes the product does not create (the measured database keeps only the
product's); ``--explain`` prints both query plans; ``--pg-set jit=off``
measures PostgreSQL with a session setting (both queries alike).

SQLite runs in a temporary file; PostgreSQL on a throwaway server started by
``tests/pg_server.py`` unless ``--postgres-url`` is given (its database is
then emptied, ``DROP SCHEMA public CASCADE``, and filled: give it a scratch
database). ``--keep`` leaves both behind (the run prints where); ``--no-build``
then measures them again without generating (the national set takes minutes):
``--no-build --sqlite-file DIR/bench.db --postgres-url URL`` (migrations still
run, so a new index reaches the kept data; ANALYZE runs again).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, insert, text
from sqlalchemy.orm import Session

from scheduler.compliance.status import COUNTS, ReportPeriod, rate, report_period, risk_horizon, summarize
from scheduler.plan.workdays import WorkCalendar
from scheduler.store import compliance as store_compliance
from scheduler.store.compliance import Scope, facts_and_entries, totals
from scheduler.store.database import Database
from scheduler.store.tables import AgencyRow, LedgerRow, ObligationRow, OccurrenceRow, PlanRow, UTCDateTime

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
YEAR = 2024  # the year measured; data covers the years up to it
# As of a Thursday late in November: November's windows (closing 1 December)
# are at risk, December's, Q4's and the year's are pending, earlier ones are
# decided; entries recorded after it (up to HORIZON) exist but do not count.
NOW = datetime(YEAR, 11, 28, 10, 0, tzinfo=TZ)
HORIZON = datetime(YEAR, 12, 31, 23, 0, tzinfo=TZ)  # the data's "today": nothing recorded later
AT_RISK_DAYS = 3  # the setting's default
GOAL, AT_LEAST = 1.2, 1.5
PURE_CHECK_LIMIT = 30_000  # occurrences in scope up to which the pure rules are checked too

SCALES = {  # provinces, agencies, obligations per agency, years
    "small": (1, 40, 12, 1),
    "medium": (5, 40, 12, 2),
    "national": (34, 40, 12, 5),
}
# Obligation k of an agency has cadence CADENCES[k % 4]: (kind, occurrences per window).
CADENCES = (("monthly", 2), ("monthly", 1), ("quarterly", 1), ("yearly", 1))


# --------------------------------------------------------------------------
# The hand-written query. Per occurrence in scope, its live entries (recorded
# by :now, not extra, not superseded by an entry of the same occurrence
# recorded by :now) fold into one number by one MAX: the best thing recorded,
# in the order of scheduler.compliance.status (excuse 4, on time 3, late 2,
# non-conforming 1, nothing NULL); the status follows from it, then the
# counts. One pass over the entries instead of one EXISTS per status.
#
# Written per dialect, each the fastest of the forms tried (see the report of
# issue 5): SQLite has only nested loops, so one LEFT JOIN through
# ix_ledger_occurrence_id with the anti-join probing the same index;
# PostgreSQL does better with the scope's entries gathered once (hash or
# index join), the supersession anti-join inside that small set.

STATUS_OF_BEST = """
       CASE
           WHEN s.cancelled_at IS NOT NULL AND s.cancelled_at <= :now THEN 'cancelled'
           WHEN s.best = 4 THEN 'excused'
           WHEN s.best = 3 THEN 'on_time'
           WHEN s.best = 2 THEN 'late'
           WHEN s.best = 1 THEN 'non_conforming'
           WHEN s.window_end <= :now THEN 'missing'
           WHEN s.window_end <= :risk_until THEN 'at_risk'
           ELSE 'pending'
       END"""
BEST = """MAX(CASE WHEN e.kind = 'excuse' THEN 4
                    WHEN e.kind = 'delivery' AND e.conforming AND NOT e.late THEN 3
                    WHEN e.kind = 'delivery' AND e.conforming THEN 2
                    WHEN e.kind = 'delivery' THEN 1 END)"""

HAND_SQL = {
    "sqlite": f"""
SELECT s.agency_code, s.obligation_code, {STATUS_OF_BEST} AS status, COUNT(*) AS n
FROM (
    SELECT o.agency_code, o.obligation_code, o.cancelled_at, o.window_end,
           {BEST} AS best
    FROM occurrences o
    LEFT JOIN ledger e
           ON e.occurrence_id = o.id AND e.recorded_at <= :now AND NOT e.extra
          AND NOT EXISTS (SELECT 1 FROM ledger later
                          WHERE later.occurrence_id = e.occurrence_id AND later.supersedes = e.seq
                            AND later.recorded_at <= :now)
    WHERE o.window_end > :start AND o.window_end <= :end {{plan_filter}}
    GROUP BY o.id
) s
GROUP BY 1, 2, 3
""",
    "postgresql": f"""
WITH scoped AS (
    SELECT o.id, o.agency_code, o.obligation_code, o.cancelled_at, o.window_end
    FROM occurrences o
    WHERE o.window_end > :start AND o.window_end <= :end {{plan_filter}}
),
known AS (
    SELECT e.seq, e.occurrence_id, e.kind, e.conforming, e.late, e.extra, e.supersedes
    FROM scoped o JOIN ledger e ON e.occurrence_id = o.id
    WHERE e.recorded_at <= :now
),
best AS (
    SELECT e.occurrence_id, {BEST} AS best
    FROM known e
    WHERE NOT e.extra
      AND NOT EXISTS (SELECT 1 FROM known later
                      WHERE later.occurrence_id = e.occurrence_id AND later.supersedes = e.seq)
    GROUP BY e.occurrence_id
)
SELECT s.agency_code, s.obligation_code, {STATUS_OF_BEST} AS status, COUNT(*) AS n
FROM (SELECT o.*, b.best FROM scoped o LEFT JOIN best b ON b.occurrence_id = o.id) s
GROUP BY 1, 2, 3
""",
}


def hand_statement(dialect: str, plan: str | None):
    sql = HAND_SQL[dialect].format(plan_filter="AND o.plan_code = :plan" if plan else "")
    params = [bindparam(name, type_=UTCDateTime()) for name in ("start", "end", "now", "risk_until")]
    return text(sql).bindparams(*params)


def hand_totals(
    session: Session, plan: str | None, period: ReportPeriod, now: datetime, risk_until: datetime
) -> dict[tuple[str, str], dict]:
    """The hand-written query, its rows shaped like ``totals``' answer."""
    start = datetime.combine(period.start, dtime(0), tzinfo=TZ)
    end = datetime.combine(period.end, dtime(0), tzinfo=TZ)
    values = {"start": start, "end": end, "now": now, "risk_until": risk_until}
    if plan:
        values["plan"] = plan
    groups: dict[tuple[str, str], dict] = {}
    statement = hand_statement(session.get_bind().dialect.name, plan)
    for agency, obligation, status, count in session.execute(statement, values):
        counts = groups.setdefault((agency, obligation), dict.fromkeys(COUNTS, 0))
        counts[status] += count
        if status != "cancelled":
            counts["required"] += count
    return {k: {**v, "rate": rate(v)} for k, v in sorted(groups.items())}


# --------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Spec:
    provinces: int
    agencies: int
    obligations: int
    years: int

    @property
    def year_list(self) -> list[int]:
        return list(range(YEAR - self.years + 1, YEAR + 1))


def _utc(day: date) -> datetime:
    """Local midnight of ``day`` in Asia/Ho_Chi_Minh, as an aware UTC datetime."""
    return datetime.combine(day, dtime(0), tzinfo=TZ).astimezone(UTC)


def _windows(year: int, kind: str) -> list[tuple[str, datetime, datetime]]:
    """(label, start, end) of the year's windows of a cadence, in UTC."""
    if kind == "yearly":
        return [(str(year), _utc(date(year, 1, 1)), _utc(date(year + 1, 1, 1)))]
    if kind == "quarterly":
        return [
            (f"{year}-Q{q}", _utc(date(year, 3 * q - 2, 1)), _utc(date(year + (q == 4), 3 * q + 1 if q < 4 else 1, 1)))
            for q in range(1, 5)
        ]
    return [
        (f"{year}-{m:02d}", _utc(date(year, m, 1)), _utc(date(year + (m == 12), m % 12 + 1, 1))) for m in range(1, 13)
    ]


OCCURRENCE_COLUMNS = (
    "id",
    "plan_code",
    "obligation_code",
    "agency_code",
    "period",
    "number",
    "title",
    "title_en",
    "window_start",
    "window_end",
    "due",
    "slot",
    "status",
    "reason",
    "revision",
    "fingerprint",
    "shown",
    "delivery",
    "cancelled_at",
    "created_at",
    "updated_at",
)
LEDGER_COLUMNS = (
    "seq",
    "occurrence_id",
    "kind",
    "recorded_at",
    "recorded_by",
    "supersedes",
    "content",
    "prev_hash",
    "hash",
    "moment",
    "conforming",
    "late",
    "extra",
)
ZERO_HASH = "0" * 64


def _plan_rows(spec: Spec, province: int, year: int, loaded_at: datetime):
    code = f"p{province:02d}-{year}"
    plan = {
        "code": code,
        "title": f"Kế hoạch tuyên truyền cải cách hành chính tỉnh {province:02d} năm {year}",
        "title_en": f"Administrative reform communication plan, province {province:02d}, {year}",
        "issuer": f"UBND tỉnh {province:02d}",
        "timezone": "Asia/Ho_Chi_Minh",
        "period_start": date(year, 1, 1),
        "period_end": date(year, 12, 31),
        "source": f"{code}.yaml",
        "source_sha256": ZERO_HASH,
        "definition": {"topics": [], "extra_holidays": [], "extra_workdays": []},
        "loaded_at": loaded_at,
        "province": f"tinh-{province:02d}",
    }
    agencies, obligations = [], []
    for a in range(1, spec.agencies + 1):
        agency = f"p{province:02d}-a{a:02d}"
        agencies.append(
            {
                "plan_code": code,
                "code": agency,
                "name": f"Cơ quan {a:02d} tỉnh {province:02d}",
                "name_en": f"Agency {a:02d}",
                "kind": "press" if a % 3 else "department",
                "contacts": [{"name": "Liên hệ", "email": f"{agency}@example.org"}],
            }
        )
        for k in range(spec.obligations):
            kind, count = CADENCES[k % len(CADENCES)]
            obligations.append(
                {
                    "plan_code": code,
                    "code": f"a{a:02d}-o{k + 1:02d}",
                    "title": f"Chuyên mục cải cách hành chính {k + 1:02d}",
                    "title_en": f"Administrative reform programme {k + 1:02d}",
                    "host": agency,
                    "cadence": f"{kind} x{count}",
                    "definition": {"kind": kind, "count": count},
                    "active": True,
                    "_kind": kind,
                    "_count": count,
                }
            )
    return plan, agencies, obligations


def _occurrences_and_entries(
    rng: random.Random, plan: dict, obligations: list[dict], loaded_at: datetime, entries: list[list]
):
    """The plan's occurrences (dicts); appends its ledger entries (lists, temporary
    ids, seq assigned later in recorded order) to ``entries``."""
    year = plan["period_start"].year
    windows = {kind: _windows(year, kind) for kind in ("monthly", "quarterly", "yearly")}
    horizon, rows = HORIZON.astimezone(UTC), []
    for ob in obligations:
        for label, start, end in windows[ob["_kind"]]:
            count, span = ob["_count"], int((end - start).total_seconds())
            for n in range(1, count + 1):
                oid = f"{plan['code']}.{ob['code']}.{label}.{n}"
                # 14:00 local on the last day of its share of the window
                due = start + timedelta(seconds=span * n // count) - timedelta(hours=10)
                cancelled_at = None
                if rng.random() < 0.01:  # dropped from the plan, some of them after NOW
                    cancelled_at = start + timedelta(seconds=rng.randrange(-30 * 86400, span))
                shown = {
                    "agency": ob["host"],
                    "title": ob["title"],
                    "title_en": ob["title_en"],
                    "period": label,
                    "number": n,
                    "count": count,
                    "window_start": start.astimezone(TZ).isoformat(),
                    "window_end": end.astimezone(TZ).isoformat(),
                    "due": due.astimezone(TZ).isoformat(),
                    "slot": None,
                    "channels": ["radio", "tv"],
                    "coordinators": [],
                    "coordination": "",
                    "topics": ["cchc"],
                    "audiences": [],
                    "min_duration": 600,
                    "status": "cancelled" if cancelled_at else "scheduled",
                    "reason": "",
                    "milestones": [
                        ["script", "Kịch bản", "Script", (due - timedelta(days=7)).date().isoformat()],
                        ["record", "Ghi hình", "Recording", (due - timedelta(days=3)).date().isoformat()],
                    ],
                }
                rows.append(
                    {
                        "id": oid,
                        "plan_code": plan["code"],
                        "obligation_code": ob["code"],
                        "agency_code": ob["host"],
                        "period": label,
                        "number": n,
                        "title": ob["title"],
                        "title_en": ob["title_en"],
                        "window_start": start,
                        "window_end": end,
                        "due": due,
                        "slot": None,
                        "status": "cancelled" if cancelled_at else "scheduled",
                        "reason": "Điều chỉnh kế hoạch" if cancelled_at else "",
                        "revision": 1,
                        "fingerprint": ZERO_HASH,
                        "shown": shown,
                        "delivery": None,
                        "cancelled_at": cancelled_at,
                        "created_at": loaded_at,
                        "updated_at": cancelled_at or loaded_at,
                    }
                )
                _entries_for(rng, oid, start, end, span, horizon, entries)
    return rows


def _entries_for(rng, oid, start, end, span, horizon, entries):
    """[recorded_at, occurrence, kind, conforming, late, extra, supersedes (temporary id), temporary id]."""
    mine: list[list] = []

    def add(at, kind, conforming, late, extra=False, supersedes=None):
        if at <= horizon:
            entry = [at, oid, kind, conforming, late, extra, supersedes, len(entries)]
            entries.append(entry)
            mine.append(entry)
            return entry
        return None

    u = rng.random()
    if u < 0.80:  # delivered
        late = rng.random() < 0.12
        at = (
            end + timedelta(seconds=rng.randrange(3600, 20 * 86400))
            if late
            else start + timedelta(seconds=rng.randrange(0, span - 60))
        )
        conforming = rng.random() < 0.90
        first = add(at, "delivery", conforming, late)
        if first is not None:
            if not conforming and rng.random() < 0.5:  # corrected later
                again = at + timedelta(seconds=rng.randrange(86400, 15 * 86400))
                add(again, "delivery", True, again >= end, supersedes=first[7])
            elif conforming and rng.random() < 0.03:  # re-checked: actually short
                again = at + timedelta(seconds=rng.randrange(3600, 10 * 86400))
                add(again, "delivery", False, late or again >= end, supersedes=first[7])
    elif u < 0.83:  # excused
        add(start + timedelta(seconds=rng.randrange(0, span)), "excuse", True, False)
    if rng.random() < 0.02:  # an extra broadcast on top of what is owed
        add(start + timedelta(seconds=rng.randrange(0, span)), "delivery", True, False, extra=True)
    return mine


# --------------------------------------------------------------------------
# Writing


class Writer:
    """Bulk inserts: SQLAlchemy Core executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, db: Database):
        self.db = db
        self.postgres = db.engine.dialect.name == "postgresql"

    def write(self, table, rows: list[dict], columns: tuple[str, ...] | None = None) -> None:
        if not rows:
            return
        if self.postgres:
            self._copy(table, rows, columns or tuple(c.name for c in table.columns if c.name in rows[0]))
            return
        with self.db.engine.begin() as conn:
            for i in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[i : i + 5000])

    def _copy(self, table, rows, columns):
        def plain(v):
            if isinstance(v, datetime):
                return v.astimezone(UTC).replace(tzinfo=None)
            if isinstance(v, (dict, list)):
                return json.dumps(v, ensure_ascii=False)
            return v

        raw = self.db.engine.raw_connection()
        try:
            with raw.cursor() as cur:
                with cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row([plain(r[c]) for c in columns])
            raw.commit()
        finally:
            raw.close()


def generate(db: Database, spec: Spec, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    writer = Writer(db)
    counts = {"plans": 0, "agencies": 0, "obligations": 0, "occurrences": 0, "ledger": 0}
    seq = 0
    for year in spec.year_list:
        loaded_at = datetime(year - 1, 12, 20, 9, tzinfo=TZ).astimezone(UTC)
        entries: list[list] = []
        for province in range(1, spec.provinces + 1):
            plan, agencies, obligations = _plan_rows(spec, province, year, loaded_at)
            occurrences = _occurrences_and_entries(rng, plan, obligations, loaded_at, entries)
            writer.write(PlanRow.__table__, [plan])
            writer.write(AgencyRow.__table__, agencies)
            writer.write(
                ObligationRow.__table__, [{k: v for k, v in o.items() if not k.startswith("_")} for o in obligations]
            )
            writer.write(OccurrenceRow.__table__, occurrences, OCCURRENCE_COLUMNS)
            counts["plans"] += 1
            counts["agencies"] += len(agencies)
            counts["obligations"] += len(obligations)
            counts["occurrences"] += len(occurrences)
        # The ledger is append-only: seq follows the recorded moment (per year;
        # late entries of a year may interleave with the next year's early ones).
        entries.sort(key=lambda e: e[0])
        seqs = {}
        for e in entries:
            seq += 1
            seqs[e[7]] = seq
        rows = [
            {
                "seq": seqs[e[7]],
                "occurrence_id": e[1],
                "kind": e[2],
                "recorded_at": e[0],
                "recorded_by": f"{e[1].split('.')[1][:3]}@example.org",
                "supersedes": seqs.get(e[6]) if e[6] is not None else None,
                "content": json.dumps({"kind": e[2], "occurrence": e[1], "payload": {"files": []}}),
                "prev_hash": ZERO_HASH,
                "hash": ZERO_HASH,
                "moment": e[0] - timedelta(hours=2),
                "conforming": e[3],
                "late": e[4],
                "extra": e[5],
            }
            for e in entries
        ]
        for i in range(0, len(rows), 50_000):
            writer.write(LedgerRow.__table__, rows[i : i + 50_000], LEDGER_COLUMNS)
        counts["ledger"] += len(rows)
    return counts


def existing(db: Database) -> dict[str, int]:
    """The row counts of data kept by an earlier run (``--no-build``)."""
    with db.engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in ("plans", "agencies", "obligations", "occurrences", "ledger")
        }


def analyze(db: Database) -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # what autovacuum leaves behind: statistics, visibility map
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def product_indexes(db: Database) -> list[str]:
    if db.engine.dialect.name == "postgresql":
        sql = (
            "SELECT tablename || ': ' || indexdef FROM pg_indexes WHERE tablename IN ('occurrences', 'ledger') "
            "ORDER BY 1"
        )
    else:
        sql = (
            "SELECT tbl_name || ': ' || name || coalesce(' ' || sql, ' (automatic)') FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name IN ('occurrences', 'ledger') ORDER BY 1"
        )
    with db.engine.connect() as conn:
        return [r[0] for r in conn.execute(text(sql))]


# --------------------------------------------------------------------------
# Measuring


BUDGET_S = 4.0  # a quick query is run more often than --repeat, up to about this long per query
MAX_RUNS = 41


def _interleaved(product, hand, repeat: int) -> tuple[float, object, float, object, int]:
    """Median ms of each, the two run alternately after one warm-up run of each
    (so a busy neighbour slows both alike); at least ``repeat`` runs, more for
    quick queries."""
    started = time.perf_counter()
    product_result, hand_result = product(), hand()
    warm = time.perf_counter() - started
    runs = max(repeat, min(MAX_RUNS, int(BUDGET_S * 2 / max(warm, 1e-3))))
    product_times, hand_times = [], []
    for _ in range(runs):
        t = time.perf_counter()
        product_result = product()
        product_times.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        hand_result = hand()
        hand_times.append((time.perf_counter() - t) * 1000)
    return statistics.median(product_times), product_result, statistics.median(hand_times), hand_result, runs


def _counts_only(groups: dict) -> dict:
    return {k: {c: v[c] for c in COUNTS} for k, v in groups.items()}


def _difference(a: dict, b: dict, other: str) -> str:
    keys = sorted(set(a) | set(b))
    diffs = [f"  {k}: product {a.get(k)} / {other} {b.get(k)}" for k in keys if a.get(k) != b.get(k)]
    return f"{len(diffs)} of {len(keys)} (agency, obligation) groups differ, e.g.\n" + "\n".join(diffs[:5])


class Mismatch(Exception):
    """The product and the hand-written query (or the pure rules) disagree."""


def measure(
    db: Database,
    label: str,
    repeat: int,
    check_pure: bool = True,
    explain: bool = False,
    settings: tuple[str, ...] = (),
) -> list[dict]:
    period = report_period(str(YEAR))
    risk_until = risk_horizon(NOW, AT_RISK_DAYS, WorkCalendar())
    results = []
    for scope_name, plan in (("province-year", f"p01-{YEAR}"), ("country-year", None)):
        scope = Scope(plan)
        with Session(db.engine) as session:
            for setting in settings:  # PostgreSQL only; one transaction, so they hold for every query below
                name, _, value = setting.partition("=")
                session.execute(text(f"SET {name.strip()} = {value.strip()}"))
            where = "WHERE window_end > :start AND window_end <= :end" + (" AND plan_code = :plan" if plan else "")
            params = [bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime())]
            values = {
                "start": datetime.combine(period.start, dtime(0), tzinfo=TZ),
                "end": datetime.combine(period.end, dtime(0), tzinfo=TZ),
                **({"plan": plan} if plan else {}),
            }
            in_scope = session.execute(
                text(f"SELECT COUNT(*) FROM occurrences {where}").bindparams(*params), values
            ).scalar_one()
            product_ms, product, hand_ms, hand, runs = _interleaved(
                partial(totals, session, scope, period, TZ, NOW, risk_until),
                partial(hand_totals, session, plan, period, NOW, risk_until),
                repeat,
            )
            equal = _counts_only(product) == _counts_only(hand)
            if not equal:
                raise Mismatch(
                    f"\nNUMBERS DIFFER on {label}, {scope_name}: "
                    + _difference(_counts_only(product), _counts_only(hand), "hand-written")
                )
            pure = "-"
            if check_pure and in_scope <= PURE_CHECK_LIMIT:
                facts, entries = facts_and_entries(session, scope, period, TZ)
                _, by_rules, _ = summarize(facts, entries, NOW, risk_until)
                if _counts_only(by_rules) != _counts_only(product):
                    raise Mismatch(
                        f"\nPRODUCT AND PURE RULES DIFFER on {label}, {scope_name}: "
                        + _difference(_counts_only(product), _counts_only(by_rules), "pure rules")
                    )
                pure = "yes"
            if explain:
                print_plans(session, db, scope, plan, period, risk_until, f"{label}, {scope_name}")
        statuses = {s: sum(v[s] for v in product.values()) for s in COUNTS}
        results.append(
            {
                "db": label,
                "scope": scope_name,
                "occurrences": in_scope,
                "groups": len(product),
                "product_ms": product_ms,
                "hand_ms": hand_ms,
                "ratio": product_ms / hand_ms,
                "equal": "yes",
                "pure": pure,
                "statuses": statuses,
                "runs": runs,
            }
        )
    return results


def print_plans(session, db, scope, plan, period, risk_until, title):
    """EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite, of
    the product's statement (built as ``totals`` builds it) and the hand-written one.
    A one-off execution: psycopg prepares a statement run five times, so the
    timed runs may get PostgreSQL's generic plan instead of this custom one."""
    from sqlalchemy import event

    product = store_compliance._totals_statement(db.engine.dialect.name, False, *store_compliance._shape(scope))
    values = {
        "start": datetime.combine(period.start, dtime(0), tzinfo=TZ),
        "end": datetime.combine(period.end, dtime(0), tzinfo=TZ),
        "now": NOW,
        "risk_until": risk_until,
        **({"plan": plan} if plan else {}),
    }
    product_values = {**values, **store_compliance._scope_values(scope)}
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if db.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "

    def explain(conn, cursor, statement, parameters, context, executemany):
        return prefix + statement, parameters

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", explain, retval=True)
    try:
        hand = hand_statement(db.engine.dialect.name, plan)
        for name, statement, params in (("product", product, product_values), ("hand-written", hand, values)):
            print(f"\n--- {title}: {name} plan ---")
            for row in connection.execute(statement, params):
                print("   ", " | ".join(str(c) for c in row))
    finally:
        event.remove(connection, "before_cursor_execute", explain)


# --------------------------------------------------------------------------
# Extra indexes, measured on a copy

EXTRA_INDEXES = {
    "occurrences(window_end)": "CREATE INDEX bench_occ_window_end ON occurrences (window_end)",
    "ledger(occurrence_id, recorded_at, kind, conforming, late, extra, supersedes, seq)": (
        "CREATE INDEX bench_ledger_cover ON ledger (occurrence_id, recorded_at, kind, conforming, late, extra, "
        "supersedes, seq)"
    ),
}
EXPERIMENTS = ([0], [1], [0, 1])  # which of EXTRA_INDEXES, one copy each


def with_extra_indexes(
    db_url: str, names: list[str], label: str, repeat: int, explain: bool, settings: tuple[str, ...]
) -> list[dict]:
    db = Database(db_url)
    try:
        with db.engine.begin() as conn:
            for name in names:
                conn.execute(text(EXTRA_INDEXES[name]))
        analyze(db)
        return measure(db, label, repeat, check_pure=False, explain=explain, settings=settings)
    finally:
        db.close()


def copy_database(db_url: str, kind: str, workdir: str, n: int) -> str:
    if kind == "sqlite":
        source = db_url[len("sqlite:///") :]
        target = os.path.join(workdir, f"copy{n}.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(source + suffix):
                shutil.copyfile(source + suffix, target + suffix)
        return "sqlite:///" + target
    import psycopg

    base, _, name = db_url.rpartition("/")
    copy_name = f"{name}_copy{n}"
    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://") + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{copy_name}"')
        conn.execute(f'CREATE DATABASE "{copy_name}" TEMPLATE "{name}"')
    return f"{base}/{copy_name}"


def drop_copy(url: str, kind: str) -> None:
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            path = url[len("sqlite:///") :] + suffix
            if os.path.exists(path):
                os.remove(path)
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://") + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


# --------------------------------------------------------------------------
# Output


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'db':<24} {'scope':<13} {'occurrences':>11} {'groups':>6} {'product ms':>10} "
        f"{'hand ms':>9} {'ratio':>6}  {'goal<=1.2':<9} {'<=1.5':<5}  {'equal':<5} {'pure':<4} {'runs':>4}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['db']:<24} {r['scope']:<13} {r['occurrences']:>11,} {r['groups']:>6,} {r['product_ms']:>10.1f} "
            f"{r['hand_ms']:>9.1f} {r['ratio']:>6.2f}  {'PASS' if r['ratio'] <= GOAL else 'MISS':<9} "
            f"{'PASS' if r['ratio'] <= AT_LEAST else 'MISS':<5}  {r['equal']:<5} {r['pure']:<4} {r['runs']:>4}"
        )


def print_statuses(rows: list[dict]) -> None:
    print("\nstatuses in scope (product = hand-written):")
    by_scope: dict[str, list[dict]] = {}
    for r in rows:
        if "+idx" not in r["db"]:  # copies hold the same data
            by_scope.setdefault(r["scope"], []).append(r)
    for scope, found in by_scope.items():
        alike = all(r["statuses"] == found[0]["statuses"] for r in found)
        for r in found[:1] if alike else found:
            where = ", ".join(x["db"] for x in found) if alike else r["db"]
            print(f"  {scope:<13} ({where}): " + ", ".join(f"{k} {v:,}" for k, v in r["statuses"].items()))


def run_database(kind: str, spec: Spec, args, workdir: str) -> list[dict]:
    server = None
    if kind == "sqlite":
        url = f"sqlite:///{args.sqlite_file or os.path.join(workdir, 'bench.db')}"
    elif args.postgres_url:
        url = args.postgres_url
    else:
        from tests import pg_server

        reason = pg_server.postgres_unavailable_reason()
        if reason:
            raise SystemExit(f"PostgreSQL: {reason} (or give --postgres-url)")
        server = pg_server.start("bench_compliance")
        url = server.url
    try:
        if kind == "postgresql" and args.postgres_url and not args.no_build:
            from tests import pg_server

            pg_server.Server(url).reset()  # a scratch database: its public schema is dropped and made anew
        db = Database(url)
        t = time.perf_counter()
        counts = existing(db) if args.no_build else generate(db, spec, args.seed)
        generated = time.perf_counter() - t
        t = time.perf_counter()
        analyze(db)
        analyzed = time.perf_counter() - t
        version = ""
        with db.engine.connect() as conn:
            version = conn.execute(
                text("SELECT version()" if kind == "postgresql" else "SELECT sqlite_version()")
            ).scalar_one()
        print(f"\n[{kind}] {version.split(',')[0]}")
        print(
            f"[{kind}] generated in {generated:.1f} s (+ ANALYZE {analyzed:.1f} s): "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
        print(f"[{kind}] indexes on occurrences and ledger (the product's, nothing added):")
        for line in product_indexes(db):
            print(f"    {line}")
        sys.stdout.flush()
        settings = tuple(args.pg_set) if kind == "postgresql" else ()
        label = kind + "".join(f" {s}" for s in settings)
        rows = measure(db, label, args.repeat, explain=args.explain, settings=settings)
        db.close()
        if args.index_experiment:
            for n, chosen in enumerate(EXPERIMENTS, 1):
                names = [list(EXTRA_INDEXES)[i] for i in chosen]
                copy = copy_database(url, kind, workdir, n)
                try:
                    print(f"[{kind}+idx{n}] a copy with extra index(es): {'; '.join(names)}")
                    sys.stdout.flush()
                    rows += with_extra_indexes(copy, names, f"{label} +idx{n}", args.repeat, args.explain, settings)
                finally:
                    drop_copy(copy, kind)
        return rows
    finally:
        if server is not None and not args.keep:
            server.stop()
        elif server is not None:
            print(f"[{kind}] kept running: {server.url} (data in {server.basedir})")


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--provinces", type=int)
    parser.add_argument("--agencies", type=int)
    parser.add_argument("--obligations", type=int, help="per agency")
    parser.add_argument("--years", type=int, help=f"years up to {YEAR}")
    parser.add_argument("--db", default="sqlite,postgresql", help="sqlite, postgresql or both (comma-separated)")
    parser.add_argument("--postgres-url", help="a scratch PostgreSQL database instead of a throwaway server")
    parser.add_argument(
        "--repeat",
        type=int,
        default=7,
        help=f"timed runs per query at least (median), after one warm-up; quick queries run "
        f"more, up to {MAX_RUNS} or about {BUDGET_S:.0f} s",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--explain", action="store_true", help="print both query plans")
    parser.add_argument(
        "--pg-set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the measuring session, e.g. jit=off (repeatable)",
    )
    parser.add_argument(
        "--index-experiment",
        action="store_true",
        help="measure again on copies with indexes the product does not create",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and PostgreSQL server")
    parser.add_argument("--sqlite-file", help="the SQLite database file (default: one in a temporary folder)")
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="measure data kept by an earlier --keep run (needs --sqlite-file and/or --postgres-url)",
    )
    args = parser.parse_args(argv)

    base = SCALES[args.scale]
    spec = Spec(args.provinces or base[0], args.agencies or base[1], args.obligations or base[2], args.years or base[3])
    if min(spec.provinces, spec.agencies, spec.obligations, spec.years) < 1:
        parser.error("--provinces, --agencies, --obligations and --years take whole numbers from 1")
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    if not set(kinds) <= {"sqlite", "postgresql"}:
        parser.error("--db takes sqlite, postgresql or both")
    if args.no_build and (
        "sqlite" in kinds and not args.sqlite_file or "postgresql" in kinds and not args.postgres_url
    ):
        parser.error("--no-build measures kept data: give --sqlite-file for sqlite, --postgres-url for postgresql")
    risk_until = risk_horizon(NOW, AT_RISK_DAYS, WorkCalendar())
    print(
        f"compliance benchmark: {spec.provinces} provinces x {spec.agencies} agencies x {spec.obligations} "
        f"obligations x {spec.years} years ({spec.year_list[0]}-{spec.year_list[-1]}); period {YEAR}, "
        f"as of {NOW.isoformat()}, at risk until {risk_until.isoformat()}"
    )
    print(
        f"machine: {os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average {_load()}"
    )
    workdir = tempfile.mkdtemp(prefix="bench-compliance-")
    rows: list[dict] = []
    started = time.perf_counter()
    try:
        for kind in kinds:
            t = time.perf_counter()
            rows += run_database(kind, spec, args, workdir)
            print(f"[{kind}] done in {time.perf_counter() - t:.1f} s")
    except Mismatch as e:
        if rows:
            print_table(rows)
        print(e, file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print_table(rows)
    print_statuses(rows)
    print(f"\ntotal {time.perf_counter() - started:.1f} s; load average now {_load()}")
    print(
        f"ratio = product / hand-written, each the median of `runs` warm runs (at least --repeat {args.repeat}), "
        f"the two alternating; goal <= {GOAL}, at least <= {AT_LEAST}; pure: also equal to "
        f"scheduler.compliance.summarize (checked up to {PURE_CHECK_LIMIT:,} occurrences)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
