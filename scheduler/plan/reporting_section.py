"""A plan's reporting section (chế độ báo cáo): who reports, to whom, through
whom, by which dates; and which period a consolidated report covers.

Each row of the top-level ``reporting:`` list becomes an obligation hosted by
its ``from`` agency with the channel ``report``, so its occurrences are
recorded, reminded, late or missing like any other. A row marked
``consolidated: true`` is the plan's own compliance report: the daemon drafts
it for the period each of its occurrences covers (``covered_period``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from scheduler.errors import N_
from scheduler.plan.cadence import Cadence
from scheduler.plan.cadence_forms import parse_cadence
from scheduler.plan.model import Obligation, Plan
from scheduler.plan.periods import Period, period_of
from scheduler.plan.yaml_source import Node, Reader

ROW_FIELDS = (
    ("code", "title", "from", "to", "cadence"),
    ("title_en", "through", "consolidated", "cutoff", "note"),
)
UNKNOWN_AGENCY = N_('unknown agency "{value}" (declared: {allowed})')

# The words of a deadline's name that say which period it reports on, longest first:
# "Báo cáo 6 tháng đầu năm" is a half-year report, though it also says "năm".
PERIOD_WORDS = (
    ("half-year", ("6 tháng", "sáu tháng", "06 tháng", "half-year", "half year", "six-month", "six month")),
    ("quarter", ("quý", "quarter")),
    ("year", ("năm", "year", "annual")),
    ("month", ("tháng", "month")),
)

WindowCheck = Callable[[Reader, Node, Cadence, Plan], None]


def read_reporting(reader: Reader, root: Node, plan: Plan, taken: set[str], check: WindowCheck) -> list[Obligation]:
    """The rows of ``reporting:`` as obligations; ``taken`` holds the codes
    already used by the plan's obligations (a row may not reuse one)."""
    agencies = tuple(a.code for a in plan.agencies)
    found = []
    for node in reader.texts(root, "reporting"):
        if not reader.mapping(node, *ROW_FIELDS):
            continue
        code = reader.code(node.child("code")) if node.has("code") else ""
        if code and code in taken:
            reader.fail(node.child("code"), N_('duplicate obligation code "{code}"'), code=code)
        taken.add(code)
        ends = {key: _agency(reader, node, key, agencies) for key in ("from", "to", "through")}
        flags = {key: _flag(reader, node, key) for key in ("consolidated", "cutoff")}
        cadence = None
        if node.has("cadence"):
            cadence = reader.convert(
                node.child("cadence"),
                lambda v: parse_cadence(v, plan.period.start, plan.tz, plan.due_time, plan.period.end),
            )
        if cadence is None or not code or "" in (ends["from"], ends["to"]):
            continue
        check(reader, node.child("cadence"), cadence, plan)
        if not any(w.count for w in cadence.windows(plan.period, plan.tz, plan.calendar)):
            reader.warn(node.child("cadence"), N_("this cadence owes nothing inside the plan's period"))
        found.append(
            Obligation(
                code=code,
                title=reader.text(node, "title"),
                title_en=reader.text(node, "title_en"),
                host=ends["from"],
                channels=("report",),
                cadence=cadence,
                note=reader.text(node, "note"),
                reports_to=ends["to"],
                reports_through=ends["through"],
                consolidated=flags["consolidated"],
                report_cutoff=flags["cutoff"],
            )
        )
    return found


def _agency(reader: Reader, node: Node, key: str, agencies: tuple[str, ...]) -> str:
    """A declared agency's code, or "" (and a problem naming the declared ones)."""
    value = reader.text(node, key)
    if value and value not in agencies:
        reader.fail(node.child(key), UNKNOWN_AGENCY, value=value, allowed=", ".join(agencies) or "-")
        return ""
    return value


def _flag(reader: Reader, node: Node, key: str) -> bool:
    value = node.value.get(key, False)
    if not isinstance(value, bool):
        reader.fail(node.child(key), N_('expected true or false, got "{value}"'), value=value)
        return False
    return value


def period_kind(name: str, name_en: str = "") -> str:
    """Which period a deadline's name reports on: "half-year", "quarter",
    "year", "month", or "" when the name does not say.

    >>> period_kind("Báo cáo 6 tháng"), period_kind("Báo cáo năm"), period_kind("", "Quarterly report")
    ('half-year', 'year', 'quarter')
    """
    words = f" {name} {name_en} ".lower()
    for kind, markers in PERIOD_WORDS:
        if any(m in words for m in markers):
            return kind
    return ""


def covered_period(label: str, window: Period, due: date, name: str = "", name_en: str = "") -> str:
    """The period a consolidated report occurrence covers, as a report
    period label (``2026-H1``, ``2026``, ``2026-Q2``, ``2026-06`` or
    ``first..last``).

    A named deadline covers the period its name says whose end is nearest
    the deadline: the one that holds it or the one before (a year's report
    due 15/11/2026 or 20/01/2027 covers 2026). A quota's window is itself a
    calendar period (``2026-H1``); any other window covers itself.

    >>> window = Period(date(2026, 1, 1), date(2026, 6, 16), "2026-06-15")
    >>> covered_period(window.label, window, date(2026, 6, 15), "Báo cáo 6 tháng")
    '2026-H1'
    >>> covered_period("2027-01-20", window, date(2027, 1, 20), "Báo cáo năm")
    '2026'
    >>> covered_period("2026-11-15", window, date(2026, 11, 15), "Báo cáo năm")
    '2026'
    >>> covered_period(window.label, window, date(2026, 6, 15))
    '2026-01-01..2026-06-15'
    """
    kind = period_kind(name, name_en)
    if kind:
        holding = period_of(kind, due)
        before = period_of(kind, holding.start - _day)
        return min((holding, before), key=lambda p: abs((p.end - due).days)).label
    if _calendar_label(label):
        return label
    return f"{window.start.isoformat()}..{(window.end - _day).isoformat()}"


def _calendar_label(label: str) -> bool:
    year, _, part = label.partition("-")
    return len(year) == 4 and year.isdigit() and (not part or part[0] in "QH" or (part.isdigit() and len(part) == 2))


_day = date.resolution
