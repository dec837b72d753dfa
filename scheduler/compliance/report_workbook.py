"""The compliance report as an XLSX workbook (openpyxl): a summary, the detail
with evidence links, topics and gaps. Its dates come from the report's
``as_of``, so the same report always gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from scheduler.compliance.report_text import (
    COLUMNS,
    SURPLUS,
    Gettext,
    Report,
    absolute_link,
    date_range,
    is_web,
    last_day,
    names_of,
    obligation_label,
    period_words,
    subject,
)
from scheduler.compliance.status import COUNTS
from scheduler.i18n import gettext_for

if TYPE_CHECKING:  # openpyxl is imported where a workbook is made
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet


def _append(ws: Worksheet, values: list[Any], bold: bool = False) -> tuple[Cell, ...]:
    """Append a row; text stays text (openpyxl would take "=..." for a formula)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
    cells = cast("tuple[Cell, ...]", tuple(ws[ws.max_row]))  # a row just appended has no merged cell
    for c in cells:
        if c.data_type == "f":
            c.data_type = "s"
        if bold:
            c.font = Font(bold=True)
    return cells


def _header(ws: Worksheet, labels: list[str], widths: list[int]) -> int:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin", color="808080")
    for c in _append(ws, labels):
        c.font, c.fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="1F4E79")
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        c.border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = f"A{ws.max_row + 1}"
    return ws.max_row


def _hyperlink(cell: Cell, url: str) -> None:
    cell.hyperlink = url
    cell.style = "Hyperlink"


def _summary(ws: Worksheet, report: Report, _: Gettext) -> None:
    from openpyxl.styles import Border, Font, Side

    period, moment, scope_label = _("Period"), _("As of"), _("Scope")
    as_of = datetime.fromisoformat(report["as_of"])
    _append(ws, [report["plan"]["title"]])[0].font = Font(bold=True, size=14)
    _append(ws, [f"{period}: {period_words(report)} ({date_range(report)})"])
    _append(ws, [f"{moment}: {as_of:%d/%m/%Y %H:%M}"])
    agencies, obligations = names_of(report)
    scope = report["scope"]
    if scope.get("agency") or scope.get("obligation"):
        _append(
            ws,
            [
                f"{scope_label}: "
                + " · ".join(
                    x
                    for x in (
                        agencies.get(scope.get("agency"), scope.get("agency")),
                        obligations.get(scope.get("obligation"), scope.get("obligation")),
                    )
                    if x
                )
            ],
        )
    ws.append([])
    first = (
        _header(
            ws,
            [_("Agency"), _("Obligation"), *(_(COLUMNS[k]) for k in COUNTS), _("Rate"), _(SURPLUS)],
            [34, 60, *([11] * len(COUNTS)), 10, 11],
        )
        + 1
    )
    for r in report["rows"]:
        row = [r["agency_name"], obligation_label(r, _), *(r[k] for k in COUNTS), r["rate"], r.get("surplus", 0)]
        cells = _append(ws, row)
        cells[-2].number_format = "0.0%"
    t = report["totals"]
    cells = _append(ws, [_("Total"), "", *(t[k] for k in COUNTS), t["rate"], t.get("surplus", 0)], bold=True)
    cells[-2].number_format = "0.0%"
    for c in cells:
        c.border = Border(top=Side(style="thin"))
    if report["rows"]:
        ws.auto_filter.ref = f"A{first - 1}:{cells[-1].column_letter}{first + len(report['rows']) - 1}"


def _detail(ws: Worksheet, report: Report, base_url: str, _: Gettext) -> None:
    agencies, obligations = names_of(report)
    rows = []
    for o in report["occurrences"]:
        links = [
            (f["name"], absolute_link(base_url, f["href"])) for e in o["evidence"] if e["active"] for f in e["files"]
        ]
        links += [(e["url"], e["url"]) for e in o["evidence"] if e["active"] and is_web(e["url"])]
        notes = "; ".join(e["reason"] for e in o["evidence"] if e["active"] and e["reason"])
        window = f"{datetime.fromisoformat(o['window_start']):%d/%m/%Y}–{last_day(o['window_end']):%d/%m/%Y}"
        rows.append(
            (
                [
                    o["id"],
                    agencies.get(o["agency"], o["agency"]),
                    obligations.get(o["obligation"], o["title"]),
                    f"{o['period']} #{o['number']}",
                    window,
                    f"{datetime.fromisoformat(o['due']):%d/%m/%Y %H:%M}",
                    _(o["status"]),
                    notes,
                ],
                absolute_link(base_url, o["href"]),
                links,
            )
        )
    most, evidence = max((len(links) for *_rest, links in rows), default=0), _("Evidence")
    _header(
        ws,
        [
            _("Id"),
            _("Agency"),
            _("Obligation"),
            _("Period"),
            _("Window"),
            _("Due"),
            _("Status"),
            _("Note"),
            *(f"{evidence} {i}" for i in range(1, most + 1)),
        ],
        [44, 30, 44, 16, 23, 17, 16, 24, *([30] * most)],
    )
    for values, page, links in rows:
        cells = _append(ws, values + [name for name, _url in links])
        _hyperlink(cells[0], page)
        for cell, (_name, url) in zip(cells[len(values) :], links):
            _hyperlink(cell, url)


def _topics_and_gaps(wb: Workbook, report: Report, base_url: str, _: Gettext) -> None:
    topics = report["topics"]
    if topics["covered"] or topics["uncovered"]:
        ws = wb.create_sheet(_("Topics"))
        _header(ws, [_("Code"), _("Topic"), _("Covered")], [22, 80, 12])
        for t, yes in [(t, True) for t in topics["covered"]] + [(t, False) for t in topics["uncovered"]]:
            _append(ws, [t["code"], t["title"], _("yes") if yes else _("no")])
    if report["gaps"]:
        agencies, obligations = names_of(report)
        ws = wb.create_sheet(_("Evidence gaps"))
        _header(
            ws, [_("Occurrence"), _("Entry"), _("Agency"), _("Obligation"), _("Missing evidence")], [44, 8, 30, 44, 40]
        )
        pages = {o["id"]: o["href"] for o in report["occurrences"]}
        for g in report["gaps"]:
            cells = _append(
                ws,
                [
                    g["occurrence"],
                    g["entry"],
                    agencies.get(g["agency"], g["agency"]),
                    obligations.get(g["obligation"], g["obligation"]),
                    "; ".join(_(m) for m in g["missing"]),
                ],
            )
            _hyperlink(cells[0], absolute_link(base_url, pages.get(g["occurrence"], f"/o/{g['occurrence']}")))


def to_xlsx(report: Report, base_url: str) -> bytes:
    """A summary sheet, a detail sheet with evidence links, and topics and gaps when there are any."""
    from openpyxl import Workbook

    _ = gettext_for(report["lang"])
    wb = Workbook()
    summary = cast("Worksheet", wb.active)  # a new workbook has one worksheet, active
    summary.title = _("Summary")
    _summary(summary, report, _)
    _detail(wb.create_sheet(_("Detail")), report, base_url, _)
    _topics_and_gaps(wb, report, base_url, _)
    props = wb.properties
    props.creator = report["document"].get("issuer") or report["plan"]["issuer"]
    props.title = subject(report)
    return saved(wb, report)


def saved(wb: Workbook, report: Report) -> bytes:
    """The workbook's bytes, every date in it the report's ``as_of``: the same report, the same bytes."""
    from openpyxl.writer.excel import ExcelWriter

    as_of = datetime.fromisoformat(report["as_of"])
    stamp = as_of.astimezone(UTC).replace(tzinfo=None) if as_of.tzinfo else as_of
    props = wb.properties
    props.created = props.modified = stamp
    props.lastModifiedBy, props.language = None, report["lang"]
    raw = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()  # not wb.save: it stamps the clock
    out = io.BytesIO()  # the same entries again, each dated as_of rather than when it was written
    when = max(as_of.timetuple()[:6], (1980, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(zipfile.ZipInfo(info.filename, when), source.read(info.filename))
    return out.getvalue()
