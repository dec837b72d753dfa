"""Scale benchmark (issue 16, item 6); not part of .ci/run.

    python bench/scale.py [--provinces 34 --departments 20 --communes 100 --years 5]
        [--db postgresql|sqlite] [--postgres-url URL] [--runs 7] [--cold 3]
        [--closings 5] [--index-experiment] [--keep] [--seed 1]

A national data set goes straight into the tables by bulk inserts (COPY on
PostgreSQL, SQLAlchemy Core executemany on SQLite; ``bench/compliance.py``'s
``Writer``), never through the load path: per province and year one province
plan and ``--departments`` department plans. The province plan has three
provincial agencies (newspaper, broadcaster, portal), each with a twice-monthly
programme and a quarterly one, and a collective host: an agency of kind group
whose ``--communes`` members (``agency_members`` rows) each owe four news items
a month, a quarterly panel and a monthly report. Each department plan has the
department's monthly column, quarterly campaign and monthly report, and the
newspaper's monthly page. Registry rows carry every agency's province; one dha
user per province (agency: that province's Sở Nội vụ), one national user (role
"national" where the branch has it; else a dha user without agency, who sees
every plan) and an admin. Ledger rows for about 80 % of what was due (12 % of
them late), 3 % excuses, some corrections, 2 % extras: a real hash chain
(``canonical`` + ``entry_hash``) with the head counter, so appending (a
closing) and verifying work. Not written: milestones, feed items, the cached
``occurrences.delivery`` (no measured page reads them; ``verify`` would flag
the cache), load log lines.

Then the real app (``create_app``, run by uvicorn as ``main.py serve`` runs
it, the clock started at ``NOW``) serves on 127.0.0.1 in a child process,
with one bench-only route (``/__bench/queries``, never the product's) that
answers how many statements the app's engine ran since it last asked
(a ``before_cursor_execute`` listener on ``db.engine``). Each page is timed
cold (the first request after a fresh server's sign-in, median over
``--cold`` servers) and warm (median of ``--runs``), with its query count.
Pages come in pairs, a small and a large scope: a query count that differs
within a pair grows with rows and is flagged.

Feature detection: ``scheduler.store.visibility`` (the province rule and the
"national" role), ``scheduler.store.reporting.consolidated_report`` (the
dashboard with ``plan=`` empty = every visible plan, ``province=`` for national
users) and ``scheduler.store.closing.close_period``. Missing ones are printed
as "not available on this branch", and the per-plan pages that exist are
measured instead.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from compliance import Writer, _load, analyze
from sqlalchemy import event, func, select, text

from scheduler.evidence.ledger import GENESIS, canonical, entry_hash
from scheduler.store.database import Database
from scheduler.store.ledger import LEDGER_HEAD
from scheduler.store.tables import (
    AgencyMemberRow,
    AgencyRow,
    CounterRow,
    LedgerRow,
    ObligationRow,
    OccurrenceRow,
    PlanRow,
    RegistryAgencyRow,
    UserRow,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LAST_YEAR = 2025  # the data covers the years up to it
NOW = datetime(LAST_YEAR, 11, 27, 10, 0, tzinfo=TZ)  # the data's today: nothing is recorded later
PASSWORD = "bench-scale-password"
GOALS_MS = {"province": 300, "country": 2000}
HOST = "127.0.0.1"
NATIONAL_EMAIL = "national@bench.example.org"
ADMIN_EMAIL = "admin@bench.example.org"

# (code suffix, title, cadence kind, occurrences per window)
PRESS = (
    ("bao", "Báo tỉnh", "newspaper"),
    ("ptth", "Đài Phát thanh và Truyền hình", "broadcaster"),
    ("cong", "Cổng thông tin điện tử", "portal"),
)
PRESS_OBLIGATIONS = (
    ("chuyen-muc", "Chuyên mục cải cách hành chính", "monthly", 2),
    ("phong-su", "Phóng sự", "quarterly", 1),
)
GROUP_OBLIGATIONS = (
    ("tin-bai", "Tin bài cải cách hành chính", "monthly", 4),
    ("pano", "Pa nô, áp phích", "quarterly", 1),
    ("bao-cao-xa", "Báo cáo kết quả tuyên truyền", "monthly", 1),
)
DEPARTMENT_OBLIGATIONS = (
    ("chuyen-trang", "Chuyên trang của sở", "monthly", 1),
    ("chien-dich", "Đợt tuyên truyền", "quarterly", 1),
    ("bao-cao", "Báo cáo kết quả tuyên truyền", "monthly", 1),
)
NEWSPAPER_PAGE = ("trang-bao", "Trang báo chuyên đề", "monthly", 1)
WINDOWS_PER_YEAR = {"monthly": 12, "quarterly": 4}


@dataclass(frozen=True)
class Spec:
    provinces: int = 34
    departments: int = 20
    communes: int = 100
    years: int = 5

    @property
    def year_list(self) -> list[int]:
        return list(range(LAST_YEAR - self.years + 1, LAST_YEAR + 1))

    def expected(self) -> dict[str, int]:
        """The row counts the builder writes (before ledger rows, which are drawn)."""

        def owed(obligations) -> int:
            return sum(WINDOWS_PER_YEAR[kind] * n for _c, _t, kind, n in obligations)

        per_year = (
            len(PRESS) * owed(PRESS_OBLIGATIONS)
            + self.communes * owed(GROUP_OBLIGATIONS)
            + self.departments * (owed(DEPARTMENT_OBLIGATIONS) + owed([NEWSPAPER_PAGE]))
        )
        plan_years = self.provinces * self.years
        return {
            "plans": plan_years * (1 + self.departments),
            "agencies": plan_years * (len(PRESS) + 1 + self.communes + self.departments * 2),
            "members": plan_years * self.communes,
            "obligations": plan_years
            * (len(PRESS) * len(PRESS_OBLIGATIONS) + len(GROUP_OBLIGATIONS) + self.departments * 4),
            "occurrences": plan_years * per_year,
            "registry": self.provinces * (len(PRESS) + 1 + self.communes + self.departments),
            "users": self.provinces + 2,
        }


def province_code(p: int) -> str:
    return f"tinh-{p:02d}"


def dha_email(p: int) -> str:
    return f"dha-{p:02d}@bench.example.org"


def home_affairs(p: int) -> str:
    """The province's Sở Nội vụ: department 1 (its dha user's agency)."""
    return f"t{p:02d}-so01"


def _utc(day: date) -> datetime:
    return datetime.combine(day, dtime(0), tzinfo=TZ).astimezone(UTC)


def _windows(year: int, kind: str) -> list[tuple[str, datetime, datetime]]:
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
    "member",
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
    "moved_from",
)


class Builder:
    """Rows of one plan at a time, written in bulk; ledger entries kept compact
    (tuples) until the end, when they are numbered in recorded order and chained."""

    def __init__(self, db: Database, spec: Spec, seed: int):
        self.db, self.spec, self.rng = db, spec, random.Random(seed)
        self.writer = Writer(db)
        self.entries: list[tuple] = []  # (recorded_at, occurrence, kind, conforming, late, extra, supersedes tmp, tmp)
        self.counts = dict.fromkeys(("plans", "agencies", "members", "obligations", "occurrences", "ledger"), 0)
        self.horizon = NOW.astimezone(UTC)

    # -- plans ---------------------------------------------------------------

    def build(self) -> dict[str, int]:
        loaded_at = datetime(LAST_YEAR - self.spec.years, 12, 20, 9, tzinfo=TZ).astimezone(UTC)
        self._registry_and_users(loaded_at)
        for year in self.spec.year_list:
            for p in range(1, self.spec.provinces + 1):
                self._province_plan(p, year, loaded_at)
                for d in range(1, self.spec.departments + 1):
                    self._department_plan(p, d, year, loaded_at)
        self._ledger()
        return self.counts

    def _plan(self, code: str, title: str, issuer: str, province: str, year: int, loaded_at: datetime) -> None:
        self.writer.write(
            PlanRow.__table__,
            [
                {
                    "code": code,
                    "title": title,
                    "title_en": "",
                    "issuer": issuer,
                    "timezone": "Asia/Ho_Chi_Minh",
                    "period_start": date(year, 1, 1),
                    "period_end": date(year, 12, 31),
                    "source": f"{code}.yaml",
                    "source_sha256": GENESIS,
                    "definition": {"topics": [], "extra_holidays": [], "extra_workdays": []},
                    "loaded_at": loaded_at,
                    "province": province,
                }
            ],
        )
        self.counts["plans"] += 1

    def _agencies(self, plan: str, agencies: list[tuple[str, str, str]]) -> None:
        rows = [
            {
                "plan_code": plan,
                "code": code,
                "name": name,
                "name_en": "",
                "kind": kind,
                "contacts": [{"name": name, "email": f"{code}@bench.example.org"}],
            }
            for code, name, kind in agencies
        ]
        self.writer.write(AgencyRow.__table__, rows)
        self.counts["agencies"] += len(rows)

    def _obligations(self, plan: str, year: int, obligations: list[tuple], loaded_at: datetime, members: dict) -> None:
        """(code, title, kind, count, host) each: its row and its occurrences (one per member for a group)."""
        self.writer.write(
            ObligationRow.__table__,
            [
                {
                    "plan_code": plan,
                    "code": code,
                    "title": title,
                    "title_en": "",
                    "host": host,
                    "cadence": f"{kind} x{count}",
                    "definition": {"kind": kind, "count": count, "minimum": False},
                    "active": True,
                }
                for code, title, kind, count, host in obligations
            ],
        )
        self.counts["obligations"] += len(obligations)
        rows = []
        for code, title, kind, count, host in obligations:
            owers = [(m, m) for m in members.get(host, [])] or [(host, "")]
            for label, start, end in _windows(year, kind):
                span = int((end - start).total_seconds())
                for agency, member in owers:
                    for n in range(1, count + 1):
                        rows.append(self._occurrence(plan, code, title, agency, member, label, n, count, start, end))
                        self._entries_for(rows[-1]["id"], agency, start, end, span)
        self.writer.write(OccurrenceRow.__table__, rows, OCCURRENCE_COLUMNS)
        self.counts["occurrences"] += len(rows)

    def _occurrence(self, plan, obligation, title, agency, member, label, n, count, start, end) -> dict:
        span = end - start
        due = start + span * n / count - timedelta(hours=10)  # 14:00 local, the last day of its share
        oid = f"{plan}.{obligation}.{member}.{label}.{n}" if member else f"{plan}.{obligation}.{label}.{n}"
        shown = {
            "agency": agency,
            "title": title,
            "title_en": "",
            "period": label,
            "number": n,
            "count": count,
            "window_start": start.astimezone(TZ).isoformat(),
            "window_end": end.astimezone(TZ).isoformat(),
            "due": due.astimezone(TZ).isoformat(),
            "slot": None,
            "channels": [],
            "coordinators": [],
            "coordination": "",
            "topics": [],
            "audiences": [],
            "min_duration": None,
            "status": "scheduled",
            "reason": "",
            "milestones": [],
        }
        return {
            "id": oid,
            "plan_code": plan,
            "obligation_code": obligation,
            "agency_code": agency,
            "member": member,
            "period": label,
            "number": n,
            "title": title,
            "title_en": "",
            "window_start": start,
            "window_end": end,
            "due": due,
            "slot": None,
            "status": "scheduled",
            "reason": "",
            "revision": 1,
            "fingerprint": GENESIS,
            "shown": shown,
            "delivery": None,
            "cancelled_at": None,
            "created_at": self.horizon - timedelta(days=2000),
            "updated_at": self.horizon - timedelta(days=2000),
            "moved_from": "",
        }

    def _entries_for(self, oid: str, agency: str, start: datetime, end: datetime, span: int) -> None:
        rng, entries = self.rng, self.entries

        def add(at, kind, conforming, late, extra=False, supersedes=None):
            if at <= self.horizon:
                entries.append((at, oid, kind, conforming, late, extra, supersedes, len(entries), agency))
                return len(entries) - 1
            return None

        u = rng.random()
        if u < 0.80:  # delivered
            late = rng.random() < 0.12
            at = (
                end + timedelta(seconds=rng.randrange(3600, 20 * 86400))
                if late
                else start + timedelta(seconds=rng.randrange(0, span - 60))
            )
            conforming = rng.random() < 0.95
            first = add(at, "delivery", conforming, late)
            if first is not None and not conforming and rng.random() < 0.5:  # corrected later
                again = at + timedelta(seconds=rng.randrange(86400, 15 * 86400))
                add(again, "delivery", True, again >= end, supersedes=first)
        elif u < 0.83:  # excused
            add(start + timedelta(seconds=rng.randrange(0, span)), "excuse", True, False)
        if rng.random() < 0.02:  # an extra on top of what is owed
            add(start + timedelta(seconds=rng.randrange(0, span)), "delivery", True, False, extra=True)

    def _province_plan(self, p: int, year: int, loaded_at: datetime) -> None:
        code, prefix = f"t{p:02d}-{year}", f"t{p:02d}"
        self._plan(
            code,
            f"Kế hoạch tuyên truyền cải cách hành chính tỉnh {p:02d} năm {year}",
            f"UBND tỉnh {p:02d}",
            province_code(p),
            year,
            loaded_at,
        )
        group, communes = f"{prefix}-xa", [f"{prefix}-x{c:03d}" for c in range(1, self.spec.communes + 1)]
        press = [(f"{prefix}-{s}", f"{name} tỉnh {p:02d}", kind) for s, name, kind in PRESS]
        self._agencies(
            code,
            press
            + [(group, f"UBND các xã, phường tỉnh {p:02d}", "group")]
            + [(c, f"UBND xã {c[-3:]} tỉnh {p:02d}", "commune") for c in communes],
        )
        self.writer.write(
            AgencyMemberRow.__table__,
            [{"plan_code": code, "group_code": group, "member_code": c, "position": i} for i, c in enumerate(communes)],
        )
        self.counts["members"] += len(communes)
        obligations = [
            (f"{a[0].split('-')[-1]}-{o}", t, kind, n, a[0]) for a in press for o, t, kind, n in PRESS_OBLIGATIONS
        ] + [(o, t, kind, n, group) for o, t, kind, n in GROUP_OBLIGATIONS]
        self._obligations(code, year, obligations, loaded_at, {group: communes})

    def _department_plan(self, p: int, d: int, year: int, loaded_at: datetime) -> None:
        prefix = f"t{p:02d}"
        department = f"{prefix}-so{d:02d}"
        code = f"{department}-{year}"
        name = "Sở Nội vụ" if d == 1 else f"Sở {d:02d}"
        self._plan(
            code,
            f"Kế hoạch tuyên truyền của {name} tỉnh {p:02d} năm {year}",
            f"{name} tỉnh {p:02d}".upper(),
            province_code(p),
            year,
            loaded_at,
        )
        newspaper = f"{prefix}-bao"
        self._agencies(
            code, [(department, f"{name} tỉnh {p:02d}", "department"), (newspaper, f"Báo tỉnh {p:02d}", "newspaper")]
        )
        obligations = [(o, t, kind, n, department) for o, t, kind, n in DEPARTMENT_OBLIGATIONS]
        obligations.append((*NEWSPAPER_PAGE, newspaper))
        self._obligations(code, year, obligations, loaded_at, {})

    # -- registry, users, ledger ---------------------------------------------

    def _registry_and_users(self, at: datetime) -> None:
        from scheduler.web.auth import hasher

        rows = []
        for p in range(1, self.spec.provinces + 1):
            prefix, province = f"t{p:02d}", province_code(p)
            agencies = [(f"{prefix}-{s}", f"{name} tỉnh {p:02d}", kind) for s, name, kind in PRESS]
            agencies.append((f"{prefix}-xa", f"UBND các xã, phường tỉnh {p:02d}", "group"))
            agencies += [
                (f"{prefix}-x{c:03d}", f"UBND xã {c:03d} tỉnh {p:02d}", "commune")
                for c in range(1, self.spec.communes + 1)
            ]
            agencies += [
                (f"{prefix}-so{d:02d}", ("Sở Nội vụ" if d == 1 else f"Sở {d:02d}") + f" tỉnh {p:02d}", "department")
                for d in range(1, self.spec.departments + 1)
            ]
            rows += [
                {
                    "code": c,
                    "name": n,
                    "name_en": "",
                    "kind": k,
                    "province": province,
                    "dissolved_on": None,
                    "created_at": at,
                    "updated_at": at,
                }
                for c, n, k in agencies
            ]
        self.writer.write(RegistryAgencyRow.__table__, rows)
        self.counts["registry"] = len(rows)
        password = hasher.hash(PASSWORD)  # one argon2 hash, shared: nothing here guesses passwords
        national = ["national"] if "national" in _roles() else ["dha"]  # a dha user without agency sees every plan

        def user(email, roles, agency):
            return {
                "email": email,
                "name": email.split("@")[0],
                "roles": roles,
                "agency_code": agency,
                "lang": "vi",
                "disabled": False,
                "password_hash": password,
                "session_epoch": 0,
                "created_at": at,
                "updated_at": at,
            }

        users = [user(dha_email(p), ["dha"], home_affairs(p)) for p in range(1, self.spec.provinces + 1)]
        users += [user(NATIONAL_EMAIL, national, None), user(ADMIN_EMAIL, ["admin"], None)]
        with self.db.engine.begin() as conn:  # a few rows, and an autoincrement key: plain INSERT everywhere
            conn.execute(UserRow.__table__.insert(), users)
        self.counts["users"] = len(users)

    def _ledger(self) -> None:
        """Every entry numbered in recorded order and chained (prev_hash, hash), in batches."""
        self.entries.sort(key=lambda e: e[0])
        seqs = [0] * len(self.entries)
        for seq, e in enumerate(self.entries, 1):
            seqs[e[7]] = seq
        prev, batch = GENESIS, []
        for seq, (at, oid, kind, conforming, late, extra, supersedes, _tmp, agency) in enumerate(self.entries, 1):
            if kind == "excuse":
                payload = {"files": [], "reason": "Lịch phát sóng thay đổi"}
            else:
                payload = {"files": [], "moment": at.isoformat(), "conforming": conforming, "late": late}
                if extra:
                    payload["extra"] = True
            by = f"{agency}@bench.example.org"
            later = seqs[supersedes] if supersedes is not None else None
            content = canonical(seq, kind, oid, at, by, payload, later, prev)
            digest = entry_hash(content)
            batch.append(
                {
                    "seq": seq,
                    "occurrence_id": oid,
                    "kind": kind,
                    "recorded_at": at,
                    "recorded_by": by,
                    "supersedes": later,
                    "content": content,
                    "prev_hash": prev,
                    "hash": digest,
                    "moment": at if kind == "delivery" else None,
                    "conforming": kind == "excuse" or conforming,
                    "late": late,
                    "extra": extra,
                }
            )
            prev = digest
            if len(batch) == 50_000:
                self.writer.write(LedgerRow.__table__, batch)
                batch = []
        self.writer.write(LedgerRow.__table__, batch)
        with self.db.engine.begin() as conn:
            conn.execute(CounterRow.__table__.insert(), [{"name": LEDGER_HEAD, "value": len(self.entries)}])
        self.counts["ledger"] = len(self.entries)
        self.entries = []


def _roles() -> tuple[str, ...]:
    from scheduler.people.accounts import ROLES

    return tuple(ROLES)


def build(db: Database, spec: Spec, seed: int = 1) -> dict[str, int]:
    """The data set into an empty database (its schema made by ``Database(url)``)."""
    return Builder(db, spec, seed).build()


def table_counts(db: Database) -> dict[str, int]:
    tables = {
        "plans": PlanRow,
        "agencies": AgencyRow,
        "members": AgencyMemberRow,
        "obligations": ObligationRow,
        "occurrences": OccurrenceRow,
        "registry": RegistryAgencyRow,
        "users": UserRow,
        "ledger": LedgerRow,
    }
    with db.engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(t.__table__)).scalar_one() for name, t in tables.items()
        }


# --------------------------------------------------------------------------
# Features of the branch


@dataclass(frozen=True)
class Features:
    visibility: bool
    consolidated: bool
    closing: bool
    national: bool

    @staticmethod
    def detect() -> Features:
        def has(module: str, name: str = "") -> bool:
            if importlib.util.find_spec(module) is None:
                return False
            return not name or hasattr(importlib.import_module(module), name)

        return Features(
            has("scheduler.store.visibility", "visible_plans"),
            has("scheduler.store.reporting", "consolidated_report"),
            has("scheduler.store.closing", "close_period"),
            "national" in _roles(),
        )


@dataclass(frozen=True)
class Page:
    """A page to time: who asks, the path, the goal (ms), and its pair's name."""

    name: str
    email: str
    path: str
    goal: float | None = None
    pair: str = ""  # the larger scope of the same page, to compare query counts with


def pages(features: Features, year: int) -> tuple[list[Page], list[str]]:
    """The pages this branch has, and lines saying what it lacks."""
    lacking = []
    province, month = f"t01-{year}", f"{year}-10"
    if features.consolidated:
        found = [
            Page(
                "province dashboard, one month",
                dha_email(1),
                f"/dashboard?period={month}",
                pair="province dashboard, year",
            ),
            Page(
                "province dashboard, year",
                dha_email(1),
                f"/dashboard?period={year}",
                GOALS_MS["province"],
                pair="country dashboard, year",
            ),
            Page("country dashboard, year", NATIONAL_EMAIL, f"/dashboard?period={year}", GOALS_MS["country"]),
            Page(
                "province report.json, quarter",
                dha_email(1),
                f"/dashboard/report.json?period={year}-Q3",
                pair="province report.json, year",
            ),
            Page(
                "province report.json, year",
                dha_email(1),
                f"/dashboard/report.json?period={year}",
                pair="country report.json, year",
            ),
            Page("country report.json, year", NATIONAL_EMAIL, f"/dashboard/report.json?period={year}"),
        ]
        if features.national:
            found.insert(
                3,
                Page(
                    "country dashboard narrowed to a province",
                    NATIONAL_EMAIL,
                    f"/dashboard?period={year}&province=tinh-02",
                ),
            )
        return found, lacking
    lacking.append(
        "consolidated dashboard and report (plan= empty = every visible plan): not available on this branch; "
        f"measured instead: one plan ({province}, the province plan with its communes), as today's dashboard shows it"
    )
    lacking.append("country dashboard and country report: not available on this branch (one plan per page today)")
    found = [
        Page(
            "plan dashboard, one month",
            dha_email(1),
            f"/dashboard?plan={province}&period={month}",
            pair="plan dashboard, year",
        ),
        Page("plan dashboard, year", dha_email(1), f"/dashboard?plan={province}&period={year}", GOALS_MS["province"]),
        Page(
            "plan report.json, quarter",
            dha_email(1),
            f"/dashboard/report.json?plan={province}&period={year}-Q3",
            pair="plan report.json, year",
        ),
        Page("plan report.json, year", dha_email(1), f"/dashboard/report.json?plan={province}&period={year}"),
    ]
    return found, lacking


# --------------------------------------------------------------------------
# The server (a child process) and its client


def phase_serve(port: int) -> None:
    """The real app as ``main.py serve`` runs it, its clock started at NOW, plus
    the bench's own query counter route."""
    import logging

    import uvicorn
    from fastapi.responses import JSONResponse

    from scheduler.clock import Clock
    from scheduler.settings import Settings
    from scheduler.web.app import create_app

    logging.basicConfig(level=logging.WARNING)
    settings = Settings.load()
    db = Database(settings.database_url)
    app = create_app(settings, db, Clock(TZ, NOW))
    counted = {"n": 0}

    @event.listens_for(db.engine, "before_cursor_execute")
    def count(*_args) -> None:
        counted["n"] += 1

    @app.get("/__bench/queries", include_in_schema=False)
    def queries() -> JSONResponse:  # the bench's, never the product's
        n, counted["n"] = counted["n"], 0
        return JSONResponse({"queries": n})

    uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning")).run()


class Server:
    """A fresh server process; ``client(email)`` signs in over HTTP as the form does."""

    def __init__(self, env: dict, workdir: Path):
        import socket

        with socket.socket() as s:
            s.bind((HOST, 0))
            self.port = s.getsockname()[1]
        self.log = (workdir / "server.log").open("a")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--phase", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        import httpx

        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; see {workdir / 'server.log'}")
            try:
                if httpx.get(self.url("/healthz"), timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer /healthz in two minutes")
            time.sleep(0.1)

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def client(self, email: str):
        import httpx

        client = httpx.Client(base_url=self.url(""), timeout=600, follow_redirects=False)
        form = client.get("/login").text
        csrf = re.search(r'name="csrf"[^>]*value="([^"]+)"', form) or re.search(
            r'value="([^"]+)"[^>]*name="csrf"', form
        )
        if csrf is None:
            raise RuntimeError("no CSRF token in /login")
        answer = client.post("/login", data={"csrf": csrf.group(1), "email": email, "password": PASSWORD, "next": "/"})
        if answer.status_code != 303:
            raise RuntimeError(f"sign-in as {email}: HTTP {answer.status_code}")
        return client

    def queries(self) -> int:
        import httpx

        return httpx.get(self.url("/__bench/queries")).json()["queries"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def timed_get(client, server: Server, path: str) -> tuple[float, int, int, int]:
    """(ms, status, bytes, queries) of one GET."""
    server.queries()  # reset the counter
    t = time.perf_counter()
    answer = client.get(path)
    ms = (time.perf_counter() - t) * 1000
    return ms, answer.status_code, len(answer.content), server.queries()


def measure_pages(env: dict, workdir: Path, found: list[Page], runs: int, colds: int) -> list[dict]:
    results = {
        p.name: {"page": p, "cold": [], "warm": [], "queries": set(), "status": set(), "bytes": 0} for p in found
    }
    for n in range(colds):
        for page in found:  # a fresh server per page: its first request is cold
            server = Server(env, workdir)
            try:
                client = server.client(page.email)
                ms, status, size, queries = timed_get(client, server, page.path)
                r = results[page.name]
                r["cold"].append(ms)
                r["status"].add(status)
                r["queries"].add(queries)
                if n == colds - 1:  # warm runs on the last server
                    for _ in range(runs):
                        ms, status, size, queries = timed_get(client, server, page.path)
                        r["warm"].append(ms)
                        r["status"].add(status)
                        r["queries"].add(queries)
                    r["bytes"] = size
                client.close()
            finally:
                server.stop()
            print(f"    {page.name}: cold {results[page.name]['cold'][-1]:,.0f} ms", flush=True)
    return list(results.values())


# --------------------------------------------------------------------------
# Closing a quarter, in process


def measure_closings(url: str, workdir: Path, count: int, year: int) -> list[dict] | str:
    """``close_period`` for ``count`` provinces (each once: a closed period stays closed)."""
    try:
        closing = importlib.import_module("scheduler.store.closing")
    except ImportError:
        return "not available on this branch (no scheduler.store.closing)"
    from scheduler.settings import Settings

    settings = Settings.load()
    db = Database(url)
    counted = {"n": 0}

    @event.listens_for(db.engine, "before_cursor_execute")
    def count_query(*_args) -> None:
        counted["n"] += 1

    found = []
    try:
        for p in range(1, count + 1):
            counted["n"] = 0
            t = time.perf_counter()
            with db.transaction() as s:
                row = closing.close_period(s, f"{year}-Q3", False, province_code(p), dha_email(p), NOW, settings)
                plans = len(row.plans)
            found.append({"ms": (time.perf_counter() - t) * 1000, "queries": counted["n"], "plans": plans})
    finally:
        db.close()
    return found


# --------------------------------------------------------------------------
# Indexes the product does not create (measured only with --index-experiment)

BENCH_INDEXES = {
    "bench_occ_window_end": "CREATE INDEX bench_occ_window_end ON occurrences (window_end)",
    "bench_occ_plan_window_end": "CREATE INDEX bench_occ_plan_window_end ON occurrences (plan_code, window_end)",
    "bench_ledger_cover": (
        "CREATE INDEX bench_ledger_cover ON ledger (occurrence_id, recorded_at, kind, conforming, late, extra, "
        "supersedes, seq)"
    ),
    "bench_ledger_supersedes": (
        "CREATE INDEX bench_ledger_supersedes ON ledger (supersedes) WHERE supersedes IS NOT NULL"
    ),
}


# --------------------------------------------------------------------------
# Output


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f}" if values else "-"


def print_pages(results: list[dict], title: str) -> list[str]:
    """The table; returns the lines that flag a query count growing with rows."""
    print(f"\n{title}")
    header = (
        f"{'page':<42} {'status':>6} {'KiB':>7} {'cold ms':>8} {'warm ms':>8} {'goal ms':>8} {'':<4} {'queries':>8}"
    )
    print(header)
    print("-" * len(header))
    by_name = {r["page"].name: r for r in results}
    flags = []
    for r in results:
        page = r["page"]
        warm = statistics.median(r["warm"]) if r["warm"] else None
        verdict = "" if page.goal is None or warm is None else ("PASS" if warm < page.goal else "MISS")
        queries = "/".join(str(q) for q in sorted(r["queries"]))
        print(
            f"{page.name:<42} {'/'.join(map(str, sorted(r['status']))):>6} {r['bytes'] / 1024:>7,.0f} "
            f"{_median(r['cold']):>8} {_median(r['warm']):>8} {page.goal or '':>8} {verdict:<4} {queries:>8}"
        )
        other = by_name.get(page.pair)
        if other and max(other["queries"]) != max(r["queries"]):
            flags.append(
                f"  QUERY COUNT GROWS WITH ROWS: {page.name} {max(r['queries'])} queries, "
                f"{other['page'].name} {max(other['queries'])}"
            )
    for line in flags:
        print(line)
    if not flags:
        print("  query counts: the same for the small and the large scope of each page (none grows with rows)")
    return flags


def start_database(args, workdir: Path):
    if args.db == "sqlite":
        return f"sqlite:///{workdir}/scale.db", None
    from tests import pg_server

    if args.postgres_url:
        if not args.no_build:
            pg_server.Server(args.postgres_url).reset()
        return args.postgres_url, None
    reason = pg_server.postgres_unavailable_reason()
    if reason:
        raise SystemExit(f"PostgreSQL: {reason} (or give --postgres-url)")
    server = pg_server.start("bench_scale")
    return server.url, server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phase", choices=("bench", "serve"), default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--provinces", type=int, default=34)
    parser.add_argument("--departments", type=int, default=20, help="department plans per province and year")
    parser.add_argument("--communes", type=int, default=100, help="members of each province's collective host")
    parser.add_argument("--years", type=int, default=5, help=f"years up to {LAST_YEAR}")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--postgres-url", help="a scratch database (emptied) instead of a throwaway server")
    parser.add_argument("--runs", type=int, default=7, help="warm requests per page (median)")
    parser.add_argument(
        "--cold", type=int, default=3, help="fresh servers per page for the cold first request (median)"
    )
    parser.add_argument("--closings", type=int, default=5, help="provinces whose quarter is closed (median)")
    parser.add_argument("--index-experiment", action="store_true", help="measure again with the bench-only indexes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help="measure only the pages whose name has one of these words (a,b)")
    parser.add_argument(
        "--no-build", action="store_true", help="measure a data set built before (--postgres-url of a --keep run)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and PostgreSQL server")
    args = parser.parse_args(argv)
    if args.phase == "serve":
        phase_serve(args.port)
        return 0
    spec = Spec(args.provinces, args.departments, args.communes, args.years)
    if min(spec.provinces, spec.departments, spec.communes, spec.years) < 1:
        parser.error("--provinces, --departments, --communes and --years take whole numbers from 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the PostgreSQL server on kill, too
    features = Features.detect()
    print(
        f"scale benchmark: {spec.provinces} provinces x (1 province plan + {spec.departments} department plans) x "
        f"{spec.years} years ({spec.year_list[0]}-{spec.year_list[-1]}), {spec.communes} communes per province "
        f"under one collective host; as of {NOW.isoformat()}"
    )
    print(
        f"machine: {os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average {_load()}"
    )
    print(f"branch features: {features}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    url, pg = start_database(args, workdir)
    started = time.perf_counter()
    try:
        db = Database(url)
        t, cpu = time.perf_counter(), time.process_time()
        counts = table_counts(db) if args.no_build else build(db, spec, args.seed)
        built, cpu = time.perf_counter() - t, time.process_time() - cpu
        t = time.perf_counter()
        analyze(db)
        analyzed = time.perf_counter() - t
        expected = spec.expected()
        wrong = {k: (counts.get(k), v) for k, v in expected.items() if counts.get(k) != v}
        if wrong:
            raise SystemExit(f"the builder wrote other counts than computed: {wrong}")
        with db.engine.connect() as conn:
            version = conn.execute(
                text("SELECT version()" if args.db == "postgresql" else "SELECT sqlite_version()")
            ).scalar_one()
        db.close()
        print(f"[{args.db}] {version.split(',')[0]}")
        print(
            f"[{args.db}] {'counted' if args.no_build else 'built'} in {built:.1f} s ({cpu:.0f} s CPU in this "
            f"process) (+ ANALYZE {analyzed:.1f} s): " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
        env = {**os.environ, "DATABASE_URL": url, "OUTPUTS_DIR": str(workdir / "outputs"), "SCHEDULER_LANG": "vi"}
        found, lacking = pages(features, LAST_YEAR)
        if args.only:
            found = [p for p in found if any(word in p.name for word in args.only.split(","))]
        for line in lacking:
            print(f"  {line}")
        print(f"load average before measuring: {_load()}", flush=True)
        results = measure_pages(env, workdir, found, args.runs, args.cold)
        flags = print_pages(
            results,
            f"pages (warm: median of {args.runs}; cold: first request of a fresh server, median of {args.cold}):",
        )
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "OUTPUTS_DIR")})
        if args.index_experiment:
            db = Database(url)
            with db.engine.begin() as conn:
                for sql in BENCH_INDEXES.values():
                    print(f"  BENCH-ONLY INDEX (not a migration): {sql}")
                    conn.execute(text(sql))
            analyze(db)
            db.close()
            again = measure_pages(env, workdir, found, args.runs, 1)
            flags += print_pages(again, "pages again WITH THE BENCH-ONLY INDEXES above:")
        count = min(args.closings, args.provinces)  # a closed quarter stays closed: each province once
        closings = measure_closings(url, workdir, count, LAST_YEAR) if count else "skipped (--closings 0)"
        if isinstance(closings, str):
            print(f"\nclosing a quarter: {closings}")
        else:
            queries, plans = sorted({c["queries"] for c in closings}), sorted({c["plans"] for c in closings})
            print(
                f"\nclosing {LAST_YEAR}-Q3 for {len(closings)} provinces (close_period in process, one transaction "
                f"each): median {statistics.median(c['ms'] for c in closings):,.0f} ms, queries {queries}, "
                f"plans per closing {plans}"
            )
        print(f"\ntotal {time.perf_counter() - started:.1f} s; load average now {_load()}")
        return 1 if flags else 0
    finally:
        if pg is not None and not args.keep:
            pg.stop()
        if args.keep:
            print(f"kept: {workdir}" + (f"; PostgreSQL {pg.url}" if pg else ""))
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
