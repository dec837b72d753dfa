"""The compliance report as a printable administrative document (HTML, after
Nghị định 30/2020/NĐ-CP; templates/report.html), with its heatmap.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from markupsafe import Markup

from scheduler.compliance.heatmap import heatmap_svg
from scheduler.compliance.report_text import (
    COLUMNS,
    Report,
    absolute_link,
    date_range,
    dated,
    is_web,
    last_day,
    names_of,
    obligation_label,
    percent,
    period_words,
    subject,
)
from scheduler.compliance.status import COUNTS
from scheduler.i18n import gettext_for


def _evidence(e: dict[str, Any], base_url: str) -> dict[str, Any]:
    return {
        **e,
        "moment": datetime.fromisoformat(e["moment"]) if e.get("moment") else None,
        "recorded_at": datetime.fromisoformat(e["recorded_at"]),
        "url": e["url"] if is_web(e["url"]) else "",
        "files": [{**f, "link": absolute_link(base_url, f["href"])} for f in e["files"]],
    }


def to_html(report: Report, base_url: str) -> str:
    """The report as a printable Vietnamese administrative document (templates/report.html)."""
    from scheduler.rendering import render as render_template

    lang, doc = report["lang"], report["document"]
    agencies, obligations = names_of(report)
    as_of = datetime.fromisoformat(report["as_of"])
    groups = [
        {**a, "rows": [{**m, "obligation_title": m["agency_name"]} for m in a["members"]]}  # a group: its members
        if "members" in a
        else {**a, "rows": [r for r in report["rows"] if r["agency"] == a["agency"]]}
        for a in report["agencies"]
    ]
    windows = [
        {
            **w,
            "start": date.fromisoformat(w["window_start"]),
            "last": date.fromisoformat(w["window_last_day"]),
            "closed": date.fromisoformat(w["window_last_day"]) < as_of.date(),
        }
        for w in report["windows"]
    ]
    occurrences = [
        {
            **o,
            "agency_name": agencies.get(o["agency"], o["agency"]),
            "start": datetime.fromisoformat(o["window_start"]).date(),
            "last": last_day(o["window_end"]),
            "due": datetime.fromisoformat(o["due"]),
            "link": absolute_link(base_url, o["href"]),
            "evidence": [_evidence(e, base_url) for e in o["evidence"]],
        }
        for o in report["occurrences"]
    ]
    pages = {o["id"]: o["link"] for o in occurrences}
    gaps = [
        {
            **g,
            "agency_name": agencies.get(g["agency"], g["agency"]),
            "link": pages.get(g["occurrence"]),
            "obligation_title": obligations.get(g["obligation"], g["obligation"]),
        }
        for g in report["gaps"]
    ]
    t = report["totals"]
    return render_template(
        "report.html",
        lang,
        r=report,
        doc=doc,
        subject=subject(report),
        period_words=period_words(report),
        date_range=date_range(report),
        dated=dated(doc, lang),
        as_of=as_of,
        groups=groups,
        windows=windows,
        occurrences=occurrences,
        gaps=gaps,
        columns=[(k, COLUMNS[k]) for k in COUNTS],
        number=doc["number"] if lang == "vi" else doc["number"].replace("Số:", "No.:"),
        met=t["on_time"] + t["late"],
        open=t["pending"] + t["at_risk"],
        percent=lambda rate: percent(rate, lang) or "—",
        heatmap=Markup(heatmap_svg(report)),
        label_of=lambda row: obligation_label(row, gettext_for(lang)),
        closing=report.get("closing"),  # a closed period: figures as of its closing, later records apart
        after=[
            {**e, "link": absolute_link(base_url, e["href"]), "at": datetime.fromisoformat(e["recorded_at"])}
            for e in report.get("recorded_after_closing", [])
        ],
    )
