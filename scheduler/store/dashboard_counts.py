"""What the dashboard's first paint reads instead of every occurrence: the
heatmap as counts per (agency, month) from the database, the obligations
whose occurrences are reports owed the DHA (few: the reports-back table),
and the ids of a report's occurrences as a query (not a list)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from scheduler.compliance.status import COUNTS, ReportPeriod, rate
from scheduler.i18n import pick
from scheduler.store.compliance import Scope, scoped
from scheduler.store.tables import ObligationRow, OccurrenceRow


def reporting(obligations: list[ObligationRow]) -> list[str]:
    """The obligations that are reports to the DHA (a reporting section's)."""
    return sorted(o.code for o in obligations if (o.definition or {}).get("reports_to"))


def heatmap_of(cells: dict[tuple, dict], months: list[str], agencies: dict, lang: str) -> dict:
    """The report's heatmap (agency × month of the window's last day) from
    ``heatmap_counts``: the same document ``reporting._heatmap`` builds from
    every occurrence (tests/test_dashboard_counts.py checks both agree)."""
    empty = {**dict.fromkeys(COUNTS, 0), "rate": rate(dict.fromkeys(COUNTS, 0))}
    return {
        "months": months,
        "agencies": [
            {
                "agency": a,
                "agency_name": pick(lang, *agencies.get(a, (a, ""))),
                "cells": [{"month": m, **cells.get((a, m), empty)} for m in months],
            }
            for a in sorted({a for a, _ in cells})
        ],
    }


def scoped_ids(scope: Scope, plan: str, period: ReportPeriod, tz: ZoneInfo):
    """The ids of the plan's occurrences in the report's scope, as a query."""
    return scoped(select(OccurrenceRow.id), Scope(plan, scope.agency, scope.obligation), period, tz)
