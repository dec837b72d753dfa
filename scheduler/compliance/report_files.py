"""The compliance report in the forms the DHA's office works with.

Pure: a report (``reporting.compliance_report``) and options in, bytes out; no
database and no clock. JSON as it is; CSV for Excel (UTF-8 with BOM, CRLF);
an XLSX workbook (openpyxl) whose dates come from the report's ``as_of``, so
the same report always gives the same bytes; a printable HTML administrative
document (Nghị định 30/2020/NĐ-CP) with an agency × month heatmap in SVG.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Any, cast

from markupsafe import Markup

from scheduler.compliance.status import COUNTS
from scheduler.errors import N_, InputError
from scheduler.i18n import gettext_for

if TYPE_CHECKING:  # openpyxl is imported where a workbook is made
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

Report = dict[str, Any]  # a report as reporting.compliance_report builds it: JSON-able
Gettext = Callable[[str], str]

FORMATS = {
    "json": ("application/json", "json"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "html": ("text/html; charset=utf-8", "html"),
}
COLUMNS = {
    "required": N_("Required"),
    "pending": N_("Pending"),
    "at_risk": N_("At risk"),
    "on_time": N_("On time"),
    "late": N_("Late"),
    "missing": N_("Missing"),
    "non_conforming": N_("Non-conforming"),
    "excused": N_("Excused"),
    "cancelled": N_("Cancelled"),
}
# Shown through _(status) and _(kind); listed so that extraction finds them.
NAMES = (
    N_("pending"),
    N_("at_risk"),
    N_("on_time"),
    N_("late"),
    N_("missing"),
    N_("non_conforming"),
    N_("excused"),
    N_("cancelled"),
    N_("delivery"),
    N_("excuse"),
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
ROMAN = ("I", "II", "III", "IV")


# ---- shared helpers ----------------------------------------------------------------------------


def _link(base_url: str, href: str) -> str:
    return base_url.rstrip("/") + href if href.startswith("/") else href


def _web(url: str) -> bool:
    return url.lower().startswith(("https://", "http://"))


def _percent(rate: float | None, lang: str) -> str:
    if rate is None:
        return ""
    text = f"{rate * 100:.2f}".rstrip("0").rstrip(".")
    return (text.replace(".", ",") if lang == "vi" else text) + "%"


def _last_day(end_iso: str) -> date:
    """The last day of a window ``[start, end)``."""
    return (datetime.fromisoformat(end_iso) - timedelta(microseconds=1)).date()


def period_words(report: Report) -> str:
    """The period as a report's subject names it: "quý III năm 2024", "Q3 2024"."""
    vi, label = report["lang"] == "vi", report["period"]["label"]
    start, end = date.fromisoformat(report["period"]["start"]), date.fromisoformat(report["period"]["end"])
    if m := re.fullmatch(r"(\d{4})", label):
        return f"năm {label}" if vi else label
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", label):
        return f"quý {ROMAN[int(m[2]) - 1]} năm {m[1]}" if vi else f"Q{m[2]} {m[1]}"
    if m := re.fullmatch(r"(\d{4})-H([12])", label):
        half = ("đầu", "cuối", "first", "second")[int(m[2]) - 1 + (0 if vi else 2)]
        return f"6 tháng {half} năm {m[1]}" if vi else f"{half} half of {m[1]}"
    if m := re.fullmatch(r"(\d{4})-(\d{2})", label):
        return f"tháng {int(m[2])} năm {m[1]}" if vi else f"{MONTH_NAMES_EN[int(m[2]) - 1]} {m[1]}"
    return f"từ ngày {start:%d/%m/%Y} đến ngày {end:%d/%m/%Y}" if vi else f"{start:%d/%m/%Y} – {end:%d/%m/%Y}"


def date_range(report: Report) -> str:
    start, end = date.fromisoformat(report["period"]["start"]), date.fromisoformat(report["period"]["end"])
    if report["lang"] == "vi":
        return f"Từ ngày {start:%d/%m/%Y} đến ngày {end:%d/%m/%Y}"
    return f"{start:%d/%m/%Y} – {end:%d/%m/%Y}"


def subject(report: Report) -> str:
    """The subject line under "BÁO CÁO": what the report is about."""
    title, words = report["plan"]["title"], period_words(report)
    tail = "" if title.lower().endswith(words.lower()) else f", {words}"
    return (f"Kết quả thực hiện {title}" if report["lang"] == "vi" else f"Implementation of the {title}") + tail


def dated(document: dict[str, Any], lang: str) -> str:
    """Place and date as Nghị định 30 writes them (days below 10 and months 1-2 with a leading zero)."""
    d, m, y = document["day"], document["month"], document["year"]
    if lang == "vi":
        month = f"{m:02d}" if m < 3 else str(m)
        return f"{document['place']}, ngày {d:02d} tháng {month} năm {y}"
    return f"{document['place']}, {d} {MONTH_NAMES_EN[m - 1]} {y}"


def _names(report: Report) -> tuple[dict[str, str], dict[str, str]]:
    agencies = {a["agency"]: a["agency_name"] for a in report["agencies"]}
    agencies.update({a["agency"]: a["agency_name"] for a in report["heatmap"]["agencies"]})
    return agencies, {r["obligation"]: r["obligation_title"] for r in report["rows"]}


# ---- JSON and CSV ------------------------------------------------------------------------------


def to_json(report: Report) -> bytes:
    return json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8")


def _safe(value: object) -> object:
    """A text cell a spreadsheet will not run as a formula (names come from schedule files)."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def to_csv(report: Report, base_url: str = "") -> bytes:
    """One header row, a row per (agency, obligation), a totals row; UTF-8 with BOM, CRLF.
    (``base_url`` is accepted for a uniform signature; the table has no links.)"""
    lang, _ = report["lang"], gettext_for(report["lang"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("Agency"), _("Obligation"), *(_(COLUMNS[k]) for k in COUNTS), _("Rate")])
    for r in report["rows"]:
        writer.writerow(
            [_safe(r["agency_name"]), _safe(r["obligation_title"]), *(r[k] for k in COUNTS), _percent(r["rate"], lang)]
        )
    t = report["totals"]
    writer.writerow([_("Total"), "", *(t[k] for k in COUNTS), _percent(t["rate"], lang)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# ---- XLSX --------------------------------------------------------------------------------------


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
    agencies, obligations = _names(report)
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
            [_("Agency"), _("Obligation"), *(_(COLUMNS[k]) for k in COUNTS), _("Rate")],
            [34, 60, *([11] * len(COUNTS)), 10],
        )
        + 1
    )
    for r in report["rows"]:
        cells = _append(ws, [r["agency_name"], r["obligation_title"], *(r[k] for k in COUNTS), r["rate"]])
        cells[-1].number_format = "0.0%"
    t = report["totals"]
    cells = _append(ws, [_("Total"), "", *(t[k] for k in COUNTS), t["rate"]], bold=True)
    cells[-1].number_format = "0.0%"
    for c in cells:
        c.border = Border(top=Side(style="thin"))
    if report["rows"]:
        ws.auto_filter.ref = f"A{first - 1}:{cells[-1].column_letter}{first + len(report['rows']) - 1}"


def _detail(ws: Worksheet, report: Report, base_url: str, _: Gettext) -> None:
    agencies, obligations = _names(report)
    rows = []
    for o in report["occurrences"]:
        links = [(f["name"], _link(base_url, f["href"])) for e in o["evidence"] if e["active"] for f in e["files"]]
        links += [(e["url"], e["url"]) for e in o["evidence"] if e["active"] and _web(e["url"])]
        notes = "; ".join(e["reason"] for e in o["evidence"] if e["active"] and e["reason"])
        window = f"{datetime.fromisoformat(o['window_start']):%d/%m/%Y}–{_last_day(o['window_end']):%d/%m/%Y}"
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
                _link(base_url, o["href"]),
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
        agencies, obligations = _names(report)
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
            _hyperlink(cells[0], _link(base_url, pages.get(g["occurrence"], f"/o/{g['occurrence']}")))


def to_xlsx(report: Report, base_url: str) -> bytes:
    """A summary sheet, a detail sheet with evidence links, and topics and gaps when there are any."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    _ = gettext_for(report["lang"])
    wb = Workbook()
    summary = cast("Worksheet", wb.active)  # a new workbook has one worksheet, active
    summary.title = _("Summary")
    _summary(summary, report, _)
    _detail(wb.create_sheet(_("Detail")), report, base_url, _)
    _topics_and_gaps(wb, report, base_url, _)
    as_of = datetime.fromisoformat(report["as_of"])
    stamp = as_of.astimezone(UTC).replace(tzinfo=None) if as_of.tzinfo else as_of
    props = wb.properties
    props.created = props.modified = stamp
    props.creator, props.lastModifiedBy = report["document"].get("issuer") or report["plan"]["issuer"], None
    props.title, props.language = subject(report), report["lang"]
    raw = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()  # not wb.save: it stamps the clock
    out = io.BytesIO()  # the same entries again, each dated as_of rather than when it was written
    when = max(as_of.timetuple()[:6], (1980, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(zipfile.ZipInfo(info.filename, when), source.read(info.filename))
    return out.getvalue()


# ---- the heatmap -------------------------------------------------------------------------------

RED, AMBER, GREEN, GREY = (0xC6, 0x28, 0x28), (0xF2, 0xA9, 0x00), (0x2E, 0x7D, 0x32), "#c8c8c8"


def colour(rate: float | None) -> str:
    """Red (0%) through amber (50%) to green (100%); grey when nothing was decided."""
    if rate is None:
        return GREY
    a, b, t = (RED, AMBER, rate * 2) if rate < 0.5 else (AMBER, GREEN, rate * 2 - 1)
    return "#%02x%02x%02x" % tuple(round(x + (y - x) * t) for x, y in zip(a, b))


def _ink(fill: str) -> str:
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


def _month(key: str, lang: str, year: bool = False) -> str:
    y, m = key.split("-")
    name = f"T{int(m)}" if lang == "vi" else MONTHS_EN[int(m) - 1]
    return f"{name}/{y}" if year and lang == "vi" else f"{name} {y}" if year else name


def heatmap_svg(report: Report) -> str:
    """Agency × month: of what was decided (met or not), how much was met; text escaped."""
    lang, _ = report["lang"], gettext_for(report["lang"])
    months, rows = report["heatmap"]["months"], report["heatmap"]["agencies"]
    cw, ch, lw, top = 38, 26, 250, 36
    width, legend = lw + cw * max(len(months), 8) + 8, top + ch * len(rows) + 14
    height = legend + 44
    label = escape(_("Compliance by agency and month: share of decided items that were delivered"))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{label}" '
        f'font-family="Times New Roman, Liberation Serif, serif" font-size="13">',
        f"<title>{label}</title>",
        '<defs><linearGradient id="heatmap-scale">'
        + "".join(f'<stop offset="{p}" stop-color="{colour(p)}"/>' for p in (0, 0.5, 1))
        + "</linearGradient></defs>",
    ]
    for i, m in enumerate(months):
        x = lw + i * cw + cw / 2
        if i == 0 or m.endswith("-01"):
            out.append(f'<text x="{x}" y="12" text-anchor="middle" font-weight="bold">{escape(m[:4])}</text>')
        out.append(f'<text x="{x}" y="{top - 8}" text-anchor="middle">{escape(_month(m, lang))}</text>')
    for j, a in enumerate(rows):
        y, name = top + j * ch, a["agency_name"]
        short = name if len(name) <= 38 else name[:37] + "…"
        out.append(
            f'<text x="{lw - 8}" y="{y + ch / 2 + 4}" text-anchor="end"><title>{escape(name)}</title>'
            f"{escape(short)}</text>"
        )
        for i, c in enumerate(a["cells"]):
            met = c["on_time"] + c["late"]
            decided = met + c["missing"] + c["non_conforming"]
            fill = colour(c["rate"]) if c["required"] else "#ffffff"
            text = f"{met}/{decided}" if decided else "–" if c["required"] else ""
            counts = ", ".join(f"{_(COLUMNS[k])} {c[k]}" for k in COUNTS if c[k])
            tip = f"{name} · {_month(c['month'], lang, True)}: {text or '0'}"
            tip += f" ({_percent(c['rate'], lang)})" if c["rate"] is not None else ""
            tip += f" — {counts}" if counts else ""
            x = lw + i * cw
            out.append(
                f'<g class="cell"><title>{escape(tip)}</title><rect x="{x + 1}" y="{y + 1}" '
                f'width="{cw - 2}" height="{ch - 2}" rx="2" fill="{fill}" stroke="#9e9e9e" '
                f'stroke-width="{0 if c["required"] else 0.6}"/><text x="{x + cw / 2}" y="{y + ch / 2 + 4}" '
                f'text-anchor="middle" fill="{_ink(fill)}">{escape(text)}</text></g>'
            )
    y = legend
    out.append(f'<rect x="{lw}" y="{y}" width="150" height="12" fill="url(#heatmap-scale)"/>')
    for p, x in (("0%", lw), ("50%", lw + 75), ("100%", lw + 150)):
        out.append(f'<text x="{x}" y="{y + 26}" text-anchor="middle" font-size="12">{p}</text>')
    for k, (fill, text) in enumerate(((GREY, _("nothing decided yet")), ("#ffffff", _("nothing owed")))):
        x = lw + 180 + k * 150
        out.append(
            f'<rect x="{x}" y="{y}" width="12" height="12" fill="{fill}" stroke="#9e9e9e" stroke-width="0.6"/>'
            f'<text x="{x + 17}" y="{y + 10}" font-size="12">{escape(text)}</text>'
        )
    key = escape(_("delivered / decided"))
    out.append(f'<text x="{lw - 8}" y="{y + 10}" text-anchor="end" font-size="12">{key}</text></svg>')
    return "".join(out)


# ---- HTML --------------------------------------------------------------------------------------


def _evidence(e: dict[str, Any], base_url: str) -> dict[str, Any]:
    return {
        **e,
        "moment": datetime.fromisoformat(e["moment"]) if e.get("moment") else None,
        "recorded_at": datetime.fromisoformat(e["recorded_at"]),
        "url": e["url"] if _web(e["url"]) else "",
        "files": [{**f, "link": _link(base_url, f["href"])} for f in e["files"]],
    }


def to_html(report: Report, base_url: str) -> str:
    """The report as a printable Vietnamese administrative document (templates/report.html)."""
    from scheduler.rendering import render as render_template

    lang, doc = report["lang"], report["document"]
    agencies, obligations = _names(report)
    as_of = datetime.fromisoformat(report["as_of"])
    groups = [{**a, "rows": [r for r in report["rows"] if r["agency"] == a["agency"]]} for a in report["agencies"]]
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
            "last": _last_day(o["window_end"]),
            "due": datetime.fromisoformat(o["due"]),
            "link": _link(base_url, o["href"]),
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
        percent=lambda rate: _percent(rate, lang) or "—",
        heatmap=Markup(heatmap_svg(report)),
    )


def render(report: Report, fmt: str, base_url: str = "") -> tuple[bytes, str, str]:
    """(body, media type, file extension) of the report in ``fmt``: json, csv, xlsx or html."""
    if fmt not in FORMATS:
        raise InputError(N_('format: expected one of {allowed}, got "{value}"'), allowed=", ".join(FORMATS), value=fmt)
    media, extension = FORMATS[fmt]
    body = {
        "json": lambda: to_json(report),
        "csv": lambda: to_csv(report, base_url),
        "xlsx": lambda: to_xlsx(report, base_url),
        "html": lambda: to_html(report, base_url).encode("utf-8"),
    }[fmt]()
    return body, media, extension
