"""How the dashboard shows a compliance report (``reporting.compliance_report``):
rates in percent, the agency × month heatmap as a table whose cells say their
value in text as well as in colour, the periods to choose from. Pure: a
report document in, values for the templates out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from scheduler.compliance.heatmap import GREY, colour
from scheduler.compliance.report_text import COLUMNS, MONTHS_EN
from scheduler.compliance.status import COUNTS
from scheduler.errors import N_
from scheduler.feeds.ical import period_text

SHOWN = ("required", "on_time", "late", "missing", "non_conforming", "excused", "pending", "at_risk")
KINDS = (("year", N_("Year")), ("half", N_("Half-year")), ("quarter", N_("Quarter")), ("month", N_("Month")))
TRUE = ("1", "on", "true", "yes")


@dataclass(frozen=True)
class Selection:
    """What the dashboard shows: a plan, a period as people write it, and
    whether the period follows the reporting cut-off (Nghị định 09/2019)."""

    plan: str  # "": every plan the person sees, consolidated
    period: str
    cutoff: bool
    province: str = ""  # a national user's filter

    def query(self, **extra: str) -> str:
        values = {
            "plan": self.plan,
            "province": self.province,
            "period": self.period,
            **({"cutoff": "1"} if self.cutoff else {}),
            **extra,
        }
        return urlencode({k: v for k, v in values.items() if v})


def percent(rate: float | None, lang: str) -> str:
    """>>> percent(2 / 3, "vi"), percent(0.5, "en"), percent(None, "vi")
    ('66,7%', '50%', '—')
    """
    if rate is None:
        return "—"
    text = f"{rate * 100:.1f}".rstrip("0").rstrip(".")
    return (text.replace(".", ",") if lang == "vi" else text) + "%"


def ink(fill: str) -> str:
    """Black or white text, whichever reads on ``fill``."""
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


def default_period(plan_start: date, plan_end: date, today: date) -> str:
    """The current year while the plan runs, else the plan's first year.

    >>> default_period(date(2024, 1, 1), date(2025, 1, 1), date(2024, 3, 20))
    '2024'
    """
    return str(today.year if plan_start <= today < plan_end else plan_start.year)


def period_choices(plan_start: date, plan_end: date, _) -> list[tuple[str, list[tuple[str, str]]]]:
    """The plan's years, half-years, quarters and months, grouped by kind, each
    as (value for ``report_period``, its name: "Quý I/2024")."""
    years = range(plan_start.year, (plan_end - timedelta(days=1)).year + 1)
    values = {
        "year": [f"{y}" for y in years],
        "half": [f"{y}-H{h}" for y in years for h in (1, 2)],
        "quarter": [f"{y}-Q{q}" for y in years for q in range(1, 5)],
        "month": [f"{y}-{m:02d}" for y in years for m in range(1, 13)],
    }
    return [(_(label), [(v, capital(period_text(v, _))) for v in values[kind]]) for kind, label in KINDS]


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def counts(row: dict, lang: str) -> dict:
    """A row of counts with its rate in words and what is still open."""
    return {**row, "open": row["pending"] + row["at_risk"], "percent": percent(row["rate"], lang)}


def cell(c: dict, lang: str, _) -> dict:
    """One heatmap cell: "3/4" and "75%" (delivered of what was decided), a
    colour from red to green, and every count in its title."""
    met = c["on_time"] + c["late"]
    decided = met + c["missing"] + c["non_conforming"]
    open_ = c["pending"] + c["at_risk"]
    if decided:
        text, rate, fill = f"{met}/{decided}", percent(c["rate"], lang), colour(c["rate"])
    elif c["required"]:
        rate, fill = "", GREY
        text = _("{n} open").format(n=open_) if open_ else _("{n} excused").format(n=c["excused"])
    else:
        text, rate, fill = "—", "", ""
    detail = ", ".join(f"{_(COLUMNS[k])}: {c[k]}" for k in COUNTS if c[k] and k != "required")
    return {
        "month": c["month"],
        "text": text,
        "rate": rate,
        "fill": fill,
        "ink": ink(fill) if fill else "",
        "owed": bool(c["required"]),
        "title": detail or _("nothing owed"),
    }


def month_heads(months: list[str], lang: str, _) -> list[dict]:
    """Column heads: "T3" (or "Mar"), with the year when the period spans two."""
    several = len({m[:4] for m in months}) > 1
    heads = []
    for m in months:
        year, month = m.split("-")
        short = f"T{int(month)}" if lang == "vi" else MONTHS_EN[int(month) - 1]
        heads.append({"key": m, "short": f"{short}/{year[2:]}" if several else short, "long": period_text(m, _)})
    return heads


def heatmap(document: dict, lang: str, _, agency_href, only: str | None = None) -> dict:
    """The heatmap as a table: month heads, and a row per agency (or ``only``)."""
    rows = [
        {
            "agency": a["agency"],
            "name": a["agency_name"],
            "href": agency_href(a["agency"]),
            "cells": [cell(c, lang, _) for c in a["cells"]],
        }
        for a in document["heatmap"]["agencies"]
        if only in (None, a["agency"])
    ]
    return {"months": month_heads(document["heatmap"]["months"], lang, _), "rows": rows}


def occurrence_rows(document: dict, _) -> list[dict]:
    """The report's occurrences as the obligation page lists them."""
    out = []
    for o in sorted(document["occurrences"], key=lambda o: (o["window_end"], o["period"], o["number"])):
        active = [e for e in o["evidence"] if e["active"]]
        out.append(
            {
                "id": o["id"],
                "href": o["href"],
                "number": o["number"],
                "period": period_text(o["period"], _),
                "start": datetime.fromisoformat(o["window_start"]),
                "last": datetime.fromisoformat(o["window_end"]) - timedelta(microseconds=1),
                "due": datetime.fromisoformat(o["due"]),
                "status": o["status"],
                "word": _(COLUMNS[o["status"]]),
                "entries": len(active),
                "files": sum(len(e["files"]) for e in active),
            }
        )
    return out
