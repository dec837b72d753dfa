"""The dashboard's first paint reads counts only (store/dashboard_counts.py):
its heatmap, rows, agencies and totals must be the full report's, whatever
the ledger holds (random deliveries, corrections, excuses, cancellations)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import event

from scheduler.compliance.status import report_period
from scheduler.store.compliance import Scope
from scheduler.store.reporting import compliance_report, consolidated_report
from scheduler.store.tables import LedgerRow
from tests.test_compliance import TZ, _random_ledger


def _ledger(database, seed: int, monkeypatch) -> None:
    """``test_compliance._random_ledger`` with contents the full report can
    read (an entry's fields, an empty payload)."""
    made = LedgerRow.__init__

    def init(self, **values):
        fields = ("seq", "kind", "recorded_at", "recorded_by", "supersedes", "prev_hash")
        content = {k: str(values[k]) if k == "recorded_at" else values[k] for k in fields}
        made(
            self, **{**values, "content": json.dumps({**content, "occurrence": values["occurrence_id"], "payload": {}})}
        )

    monkeypatch.setattr(LedgerRow, "__init__", init)
    _random_ledger(database, seed)
    monkeypatch.undo()


SAME = ("heatmap", "rows", "agencies", "totals", "period", "as_of", "scope", "plan")


@pytest.mark.parametrize("seed", [1, 2])
def test_the_counts_only_report_draws_what_the_full_report_draws(cli, database, seed, monkeypatch):
    assert cli("load", "--now", "2024-01-01").code == 0
    _ledger(database, seed, monkeypatch)
    for text, cutoff in (("2024", False), ("2024-Q2", False), ("2024-03", False), ("2024-Q1", True)):
        period = report_period(text, cutoff)
        for now in (datetime(2024, 3, 31, 12, tzinfo=TZ), datetime(2024, 7, 2, tzinfo=TZ)):
            for scope in (Scope(), Scope(None, "dai-ptth")):
                args = ("phu-tho-2024", period, now, scope, 3, "so-noi-vu")
                with database.transaction() as s:
                    full = compliance_report(s, *args)
                    fast = compliance_report(s, *args, counts_only=True)
                assert full["heatmap"]["agencies"], (text, now)  # something is drawn
                assert {k: fast[k] for k in SAME} == {k: full[k] for k in SAME}, (text, now, scope)
                assert fast["counts_only"] and len(fast["occurrences"]) < len(full["occurrences"])


def test_the_counts_only_report_runs_as_many_statements_for_a_year_as_for_a_month(cli, database):
    assert cli("load", "--now", "2024-01-01").code == 0
    _random_ledger(database, 3)
    seen: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    counted = {}
    for text in ("2024-03", "2024"):
        seen.clear()
        with database.transaction() as s:
            document = compliance_report(
                s,
                "phu-tho-2024",
                report_period(text),
                datetime(2024, 7, 2, tzinfo=TZ),
                Scope(),
                3,
                "so-noi-vu",
                counts_only=True,
            )
        counted[text] = len(seen)
        assert document["totals"]["required"] > 0
    assert counted["2024"] == counted["2024-03"]


PLANS = ["ngoc-son-2024", "phu-tho-2024"]


def test_a_consolidated_counts_only_report_is_the_plans_counts_only_reports(cli, database, monkeypatch):
    """Two plans (a district's with groups and reports owed the DHA): the
    batched sections (store/dashboard_sections.py) are what each plan's
    counts-only report gives, in as many statements for the year as for a month."""
    loaded = cli("load", "schedules/phu-tho-2024.yaml", "tests/data/plans/ngoc-son-2024.yaml", "--now", "2024-01-02")
    assert loaded.code == 0, loaded.err
    _ledger(database, 4, monkeypatch)
    seen: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    counted, shown, backs = {}, set(), 0
    for text in ("2024-03", "2024"):
        period, now = report_period(text), datetime(2024, 7, 2, tzinfo=TZ)
        for scope in (Scope(), Scope(None, "dai-ptth")):
            with database.transaction() as s:
                seen.clear()
                both = consolidated_report(s, None, period, now, scope, 3, "so-noi-vu", counts_only=True)
                counted[text, scope] = len(seen)
                full = consolidated_report(s, None, period, now, scope, 3, "so-noi-vu")
                codes = [x["plan"]["code"] for x in full["sections"]]
                one = [compliance_report(s, c, period, now, scope, 3, "so-noi-vu", counts_only=True) for c in codes]
            assert [x["plan"]["code"] for x in both["sections"]] == codes
            shown.update(codes)
            backs += len(full["reports_back"])
            assert both["sections"] == one, (text, scope)
            for key in ("totals", "agencies", "reports_back"):
                assert both[key] == full[key], (text, scope, key)
    assert sorted(shown) == PLANS and backs
    # one statement more at most: the links of the reports owed, when the period has some
    assert counted["2024", Scope()] - counted["2024-03", Scope()] <= 1 and counted["2024", Scope()] < 25
