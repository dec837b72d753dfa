"""How the dashboard shows a consolidated report (several plans): the
document read as a plan's is (rows, occurrences and windows of every
section, one heatmap row per agency across plans), the plans as sections,
and the reports the agencies owe the DHA. Pure: documents in, values out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scheduler.compliance.report_text import COLUMNS
from scheduler.compliance.status import COUNTS, rate, report_period

Document = dict[str, Any]


def is_consolidated(document: Document) -> bool:
    return "sections" in document


def flattened(document: Document) -> Document:
    """A consolidated document with what the pages read in a plan's report:
    its sections' rows, occurrences and windows (each with its plan), and
    the heatmap summed per agency code; a plan's report as it is."""
    if not is_consolidated(document):
        return document
    sections = document["sections"]

    def joined(key: str) -> list[dict]:
        return [{**x, "plan": s["plan"]["code"]} for s in sections for x in s[key]]

    return {
        **document,
        "rows": joined("rows"),
        "occurrences": joined("occurrences"),
        "windows": joined("windows"),
        "heatmap": _heatmap(document),
    }


def _heatmap(document: Document) -> dict:
    period = document["period"]
    months = report_period(period["label"], period["cutoff"]).months()
    cells: dict[str, dict[str, dict]] = {}
    names: dict[str, str] = {}
    for s in document["sections"]:
        for a in s["heatmap"]["agencies"]:
            names.setdefault(a["agency"], a["agency_name"])
            mine = cells.setdefault(a["agency"], {})
            for c in a["cells"]:
                into = mine.setdefault(c["month"], dict.fromkeys(COUNTS, 0))
                for k in COUNTS:
                    into[k] += c[k]
    return {
        "months": months,
        "agencies": [
            {
                "agency": a,
                "agency_name": names[a],
                "cells": [
                    {"month": m, **counts, "rate": rate(counts)}
                    for m in months
                    for counts in [cells[a].get(m, dict.fromkeys(COUNTS, 0))]
                ],
            }
            for a in sorted(cells)
        ],
    }


def sections(document: Document, href) -> list[dict]:
    """The plans of a consolidated report, each with its totals and its own page."""
    return [
        {
            "key": s["plan"]["code"],
            "name": s["plan"]["title"],
            "issuer": s["plan"]["issuer"],
            "href": href(s["plan"]["code"]),
            **s["totals"],
        }
        for s in document.get("sections", [])
    ]


def reports_back(rows: list[dict], titles: dict[str, str], _) -> list[dict]:
    """The reports agencies owe the DHA, as the dashboard lists them."""
    return [
        {
            **r,
            "title": r["obligation_title"] + (f" — {r['name']}" if r["name"] else ""),
            "plan_title": titles.get(r["plan"], r["plan"]),
            "due": datetime.fromisoformat(r["due"]),
            "word": _(COLUMNS[r["status"]]),
        }
        for r in rows
    ]
