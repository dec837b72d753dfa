"""The scale benchmark's data set, tiny, on SQLite and PostgreSQL: the builder
writes the counts it computes, a valid ledger chain, the provinces a dha user
is scoped by, and the real app answers the dashboard over it; a report's
statement count does not grow with its occurrences. Keeps bench/scale.py
working between the runs made by hand."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from html_tree import html
from scheduler.clock import Clock
from scheduler.evidence.ledger import verify_chain
from scheduler.settings import Settings
from scheduler.store.compliance import Scope
from scheduler.store.ledger import LEDGER_HEAD, column_breaks, stored_entries
from scheduler.store.reporting import period_report
from scheduler.store.tables import (
    AgencyMemberRow,
    CounterRow,
    ObligationRow,
    OccurrenceRow,
    PlanRow,
    RegistryAgencyRow,
    UserRow,
)
from scheduler.web.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import scale

TINY = scale.Spec(provinces=2, departments=2, communes=10, years=1)


def test_the_builder_writes_what_it_computes(database):
    counts = scale.build(database, TINY)
    expected = TINY.expected()
    assert {k: counts[k] for k in expected} == expected
    # 1 year: province plan 3 press x 28 + 10 communes x 64; 2 department plans x 40; per province
    assert expected["occurrences"] == 2 * (84 + 640 + 80)
    assert scale.table_counts(database) == counts
    assert 0.6 * expected["occurrences"] < counts["ledger"] < expected["occurrences"]
    with database.transaction() as s:
        # every plan names its province; every registry agency is in the province of its plans
        provinces = dict(s.execute(select(PlanRow.code, PlanRow.province)).all())
        assert set(provinces.values()) == {"tinh-01", "tinh-02"}
        registry = dict(s.execute(select(RegistryAgencyRow.code, RegistryAgencyRow.province)).all())
        for plan, agency in s.execute(select(OccurrenceRow.plan_code, OccurrenceRow.agency_code).distinct()):
            assert registry[agency] == provinces[plan], (plan, agency)
        # the collective host: one occurrence per member, each member's own id
        members = s.scalar(select(func.count()).select_from(AgencyMemberRow))
        assert members == 2 * 10
        group_hosted = s.scalar(select(func.count()).select_from(OccurrenceRow).where(OccurrenceRow.member != ""))
        assert group_hosted == 2 * 10 * 64
        hosts = set(s.scalars(select(ObligationRow.host).where(ObligationRow.code == "tin-bai")))
        assert hosts == {"t01-xa", "t02-xa"}
        dha = s.scalar(select(UserRow).where(UserRow.email == scale.dha_email(2)))
        assert dha.roles == ["dha"] and registry[dha.agency_code] == "tinh-02"
        # a ledger anyone can verify, and the head where the next entry chains
        assert verify_chain(list(stored_entries(s)), lambda sha256: None) is None
        assert column_breaks(s) == []
        assert s.get(CounterRow, LEDGER_HEAD).value == counts["ledger"]


def test_the_dashboard_answers_a_dha_user(database, monkeypatch, tmp_path):
    scale.build(database, TINY)
    monkeypatch.setenv("OUTPUTS_DIR", str(tmp_path / "outputs"))
    app = create_app(Settings.load(), database, Clock(scale.TZ, scale.NOW))
    client = TestClient(app, follow_redirects=False)
    form = html(client.get("/login")).one("form", id="login")
    signed = client.post(
        "/login",
        data={
            "csrf": form.one("input", name="csrf").attrs["value"],
            "email": scale.dha_email(1),
            "password": scale.PASSWORD,
            "next": "/",
        },
    )
    assert signed.status_code == 303, signed.text
    page = client.get("/dashboard?period=2025")
    assert page.status_code == 200, page.text
    assert "t01-x001" in page.text or "UBND xã 001" in page.text
    report = client.get("/dashboard/report.json?plan=t01-2025&period=2025")
    assert report.status_code == 200
    assert report.json()["totals"]["required"] == 84 + 640


def test_a_report_runs_as_many_statements_for_a_year_as_for_a_month(database):
    """No statement per occurrence, nor per 500: the year lists 724 occurrences of
    the province plan, October 56 (no quarter closes in it)."""
    scale.build(database, TINY)
    statements = []

    def count(*_args) -> None:
        statements.append(1)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        found = {}
        for period in ("2025-10", "2025"):
            statements.clear()
            with database.transaction() as s:
                doc = period_report(s, period, False, scale.NOW, Scope("t01-2025"), 3, "so-noi-vu", "vi")
            found[period] = (len(statements), len(doc["occurrences"]))
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    assert found["2025"][1] == 724 and found["2025-10"][1] == 3 * 2 + 10 * 5
    assert found["2025"][0] == found["2025-10"][0]
