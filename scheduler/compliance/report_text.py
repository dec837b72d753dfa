"""The compliance report as text: the words every form of it shares (columns,
the period, the subject, place and date) and its plain forms, JSON and CSV
(UTF-8 with BOM and CRLF, for Excel).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from scheduler.compliance.rollup import flat
from scheduler.compliance.status import COUNTS
from scheduler.errors import N_
from scheduler.i18n import gettext_for

Report = dict[str, Any]  # a report as reporting.compliance_report builds it: JSON-able
Gettext = Callable[[str], str]

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
SURPLUS = N_("Extras")  # delivered beyond what is owed: beside the counts, never in them
AT_LEAST = N_("at least")


def obligation_label(row: dict[str, Any], _: Gettext) -> str:
    """An obligation's title; "(tối thiểu)" / "(at least)" after it when its count is a minimum."""
    title = str(row["obligation_title"])
    return f"{title} ({_(AT_LEAST)})" if row.get("minimum") else title


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


def absolute_link(base_url: str, href: str) -> str:
    return base_url.rstrip("/") + href if href.startswith("/") else href


def is_web(url: str) -> bool:
    return url.lower().startswith(("https://", "http://"))


def percent(rate: float | None, lang: str) -> str:
    if rate is None:
        return ""
    text = f"{rate * 100:.2f}".rstrip("0").rstrip(".")
    return (text.replace(".", ",") if lang == "vi" else text) + "%"


def last_day(end_iso: str) -> date:
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


def names_of(report: Report) -> tuple[dict[str, str], dict[str, str]]:
    agencies = {a["agency"]: a["agency_name"] for a in flat(report["agencies"])}
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
    writer.writerow([_("Agency"), _("Obligation"), *(_(COLUMNS[k]) for k in COUNTS), _("Rate"), _(SURPLUS)])
    for r in report["rows"]:
        writer.writerow(
            [
                _safe(r["agency_name"]),
                _safe(obligation_label(r, _)),
                *(r[k] for k in COUNTS),
                percent(r["rate"], lang),
                r.get("surplus", 0),
            ]
        )
    t = report["totals"]
    writer.writerow([_("Total"), "", *(t[k] for k in COUNTS), percent(t["rate"], lang), t.get("surplus", 0)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
