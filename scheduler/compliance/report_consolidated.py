"""The consolidated report (several plans: ``store/consolidation.py``) in
the report's forms: CSV with a plan column, a workbook whose tables carry a
plan column (one table the office filters and pivots, where a sheet per plan
would be a hundred sheets with names cut at 31 characters), and the
printable document with each plan as a section and the reports the agencies
sent back."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from scheduler.compliance.report_text import (
    COLUMNS,
    SURPLUS,
    Report,
    _safe,
    absolute_link,
    date_range,
    dated,
    obligation_label,
    percent,
    period_words,
)
from scheduler.compliance.rollup import flat
from scheduler.compliance.status import COUNTS
from scheduler.errors import N_
from scheduler.i18n import gettext_for

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

REPORTS_BACK = N_("Reports from agencies")
BY_PLAN = N_("Results by plan")


def is_consolidated(report: Report) -> bool:
    return "sections" in report


def subject(report: Report) -> str:
    """The subject line: the plans of the period, consolidated."""
    words = period_words(report)
    if report["lang"] == "vi":
        return f"Tổng hợp kết quả thực hiện các kế hoạch tuyên truyền, {words}"
    return f"Consolidated results of the communication plans, {words}"


def plan_rows(report: Report) -> list[dict[str, Any]]:
    """Every section's (agency, obligation) rows, each with its plan."""
    return [{**r, "plan": s["plan"]["code"]} for s in report["sections"] for r in s["rows"]]


def to_csv(report: Report, base_url: str = "") -> bytes:
    """As the plan's CSV with a plan column first; UTF-8 with BOM, CRLF."""
    lang, _ = report["lang"], gettext_for(report["lang"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("Plan"), _("Agency"), _("Obligation"), *(_(COLUMNS[k]) for k in COUNTS), _("Rate"), _(SURPLUS)])
    for r in plan_rows(report):
        writer.writerow(
            [
                _safe(r["plan"]),
                _safe(r["agency_name"]),
                _safe(obligation_label(r, _)),
                *(r[k] for k in COUNTS),
                percent(r["rate"], lang),
                r.get("surplus", 0),
            ]
        )
    t = report["totals"]
    writer.writerow([_("Total"), "", "", *(t[k] for k in COUNTS), percent(t["rate"], lang), t.get("surplus", 0)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: Report, base_url: str) -> bytes:
    """A summary with a plan column, the agencies across plans, the reports sent back."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from scheduler.compliance.report_workbook import _append, _header, _hyperlink, saved

    _ = gettext_for(report["lang"])
    wb = Workbook()
    ws = cast("Worksheet", wb.active)
    ws.title = _("Summary")
    as_of = datetime.fromisoformat(report["as_of"])
    _append(ws, [subject(report)])[0].font = Font(bold=True, size=14)
    _append(ws, [f"{_('Period')}: {period_words(report)} ({date_range(report)})"])
    _append(ws, [f"{_('As of')}: {as_of:%d/%m/%Y %H:%M}"])
    ws.append([])
    counts = [_(COLUMNS[k]) for k in COUNTS]
    first = _header(ws, [_("Plan"), _("Agency"), _("Obligation"), *counts, _("Rate"), _(SURPLUS)], [22, 34, 60])
    rows = plan_rows(report)
    for r in rows:
        _counted(ws, [r["plan"], r["agency_name"], obligation_label(r, _)], r)
    _counted(ws, [_("Total"), "", ""], report["totals"], bold=True)
    if rows:
        ws.auto_filter.ref = f"A{first}:{get_column_letter(3 + len(COUNTS) + 2)}{first + len(rows)}"
    agencies = wb.create_sheet(_("Agencies"))
    _header(agencies, [_("Agency"), _("Group"), *counts, _("Rate"), _(SURPLUS)], [40, 24])
    for a in flat(report["agencies"]):
        _counted(agencies, [a["agency_name"], a.get("group", "")], a)
    back = wb.create_sheet(_(REPORTS_BACK)[:31])
    _header(back, [_("Agency"), _("Plan"), _("Report"), _("Due"), _("Status"), _("Files")], [34, 22, 60, 18, 14, 60])
    for r in report["reports_back"]:
        title = r["obligation_title"] + (f" — {r['name']}" if r["name"] else "")
        due = datetime.fromisoformat(r["due"]).strftime("%d/%m/%Y %H:%M")
        files = ", ".join(f["name"] for f in r["files"])
        cells = _append(back, [r["agency_name"], r["plan"], title, due, _(r["status"]), files])
        _hyperlink(cells[2], absolute_link(base_url, r["href"]))
        if r["files"]:
            _hyperlink(cells[5], absolute_link(base_url, r["files"][0]["href"]))
    wb.properties.creator = report["document"].get("issuer", "")
    wb.properties.title = subject(report)
    return saved(wb, report)


def _counted(ws: Worksheet, head: list[Any], row: dict[str, Any], bold: bool = False) -> None:
    """A row: ``head``, the counts, the rate (as a percentage) and the extras."""
    from scheduler.compliance.report_workbook import _append

    values = [*head, *(row[k] for k in COUNTS), row["rate"], row.get("surplus", 0)]
    _append(ws, values, bold=bold)[len(values) - 2].number_format = "0.0%"


def to_html(report: Report, base_url: str) -> str:
    """The printable document (templates/report_consolidated.html)."""
    from scheduler.rendering import render as render_template

    lang, doc = report["lang"], report["document"]
    _ = gettext_for(lang)
    sections = [
        {
            "plan": s["plan"],
            "totals": s["totals"],
            "groups": [
                {**a, "rows": [{**m, "obligation_title": m["agency_name"]} for m in a["members"]]}
                if "members" in a
                else {**a, "rows": [r for r in s["rows"] if r["agency"] == a["agency"]]}
                for a in s["agencies"]
            ],
        }
        for s in report["sections"]
    ]
    back = [
        {
            **r,
            "due": datetime.fromisoformat(r["due"]),
            "link": absolute_link(base_url, r["href"]),
            "files": [{**f, "link": absolute_link(base_url, f["href"])} for f in r["files"]],
        }
        for r in report["reports_back"]
    ]
    titles = {p["code"]: p["title"] for p in report["plans"]}
    t = report["totals"]
    return render_template(
        "report_consolidated.html",
        lang,
        r=report,
        doc=doc,
        subject=subject(report),
        period_words=period_words(report),
        date_range=date_range(report),
        dated=dated(doc, lang),
        as_of=datetime.fromisoformat(report["as_of"]),
        agencies=flat(report["agencies"]),
        sections=sections,
        reports_back=back,
        titles=titles,
        columns=[(k, COLUMNS[k]) for k in COUNTS],
        number=doc["number"] if lang == "vi" else doc["number"].replace("Số:", "No.:"),
        met=t["on_time"] + t["late"],
        open=t["pending"] + t["at_risk"],
        percent=lambda rate: percent(rate, lang) or "—",
        label_of=lambda row: obligation_label(row, _),
        reports_back_title=REPORTS_BACK,
        by_plan_title=BY_PLAN,
    )
