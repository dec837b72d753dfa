"""The compliance report in the forms the DHA's office works with.

Pure: a report (``reporting.compliance_report``) and options in, bytes out; no
database and no clock. JSON and CSV (``report_text``), an XLSX workbook
(``report_workbook``) and a printable HTML document (``report_document``).
"""

from __future__ import annotations

from collections.abc import Callable

from scheduler.compliance import report_consolidated as consolidated
from scheduler.compliance.report_document import to_html
from scheduler.compliance.report_text import Report, to_csv, to_json
from scheduler.compliance.report_workbook import to_xlsx
from scheduler.errors import N_, InputError

FORMATS = {
    "json": ("application/json", "json"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "html": ("text/html; charset=utf-8", "html"),
}


def render(report: Report, fmt: str, base_url: str = "") -> tuple[bytes, str, str]:
    """(body, media type, file extension) of the report in ``fmt``: json, csv, xlsx or html."""
    if fmt not in FORMATS:
        raise InputError(N_('format: expected one of {allowed}, got "{value}"'), allowed=", ".join(FORMATS), value=fmt)
    media, extension = FORMATS[fmt]
    if consolidated.is_consolidated(report):  # several plans: a plan column, plans as sections
        return _CONSOLIDATED[fmt](report, base_url), media, extension
    body = {
        "json": lambda: to_json(report),
        "csv": lambda: to_csv(report, base_url),
        "xlsx": lambda: to_xlsx(report, base_url),
        "html": lambda: to_html(report, base_url).encode("utf-8"),
    }[fmt]()
    return body, media, extension


def _html(report: Report, base_url: str) -> bytes:
    return consolidated.to_html(report, base_url).encode("utf-8")


def _json(report: Report, base_url: str) -> bytes:
    return to_json(report)


_CONSOLIDATED: dict[str, Callable[[Report, str], bytes]] = {
    "json": _json,
    "csv": consolidated.to_csv,
    "xlsx": consolidated.to_xlsx,
    "html": _html,
}
