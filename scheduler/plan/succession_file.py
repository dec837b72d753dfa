"""Reading successions from a list file (CSV or YAML) or from a schedule file
with a top-level ``successions:`` list; every problem names file:line.

The 2025 commune mergers joined thousands of communes at once: the CSV
header is ``kind,agency,successor,on,name,name_en,reason``, one row each.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from scheduler.errors import N_, Problem, ScheduleError, SchedulerError
from scheduler.plan.periods import parse_date
from scheduler.plan.succession import KINDS, Succession
from scheduler.plan.yaml_source import CODE, Node, Reader

FIELDS = ("kind", "agency", "successor", "on", "name", "name_en", "reason")
REQUIRED = ("kind", "agency", "on")
MAX_ROWS = 100_000  # the 2025 mergers were about 10,000 communes into 3,300


def _one(values: dict[str, str], source: str, line: int, fail: Callable[..., None]) -> Succession | None:
    """A row's values into a Succession, or None after ``fail(where, message, **params)``."""
    ok = True
    for key in REQUIRED:
        if not values.get(key):
            fail("" if key == "on" else key, N_('missing field "{field}"'), field=key)
            ok = False
    kind = values.get("kind", "")
    if kind and kind not in KINDS:
        fail("kind", N_('unknown kind "{value}" (allowed: {allowed})'), value=kind, allowed=", ".join(KINDS))
        ok = False
    for key in ("agency", "successor"):
        code = values.get(key, "")
        if code and not CODE.match(code):
            fail(key, N_('expected a code of lowercase letters, digits and "-", got "{value}"'), value=code)
            ok = False
    on = None
    if values.get("on"):
        try:
            on = parse_date(values["on"])
        except SchedulerError:
            fail("on", N_('expected a date as dd/mm/yyyy or yyyy-mm-dd, got "{value}"'), value=values["on"])
    if not ok or on is None:
        return None
    return Succession(
        kind,
        values["agency"],
        on,
        values.get("successor", ""),
        values.get("name", ""),
        values.get("name_en", ""),
        values.get("reason", ""),
        f"{source}:{line}",
    )


def read_csv(source: str, text: str) -> list[Succession]:
    """A CSV list file; raises ScheduleError listing every bad row."""
    reader = csv.reader(io.StringIO(text))
    problems: list[Problem] = []
    header = [h.strip() for h in next(reader, [])]
    unknown = [h for h in header if h not in FIELDS]
    missing = [h for h in REQUIRED if h not in header]
    if unknown or missing:
        raise ScheduleError(
            [Problem(source, 1, "", N_("expected the header {allowed}"), {"allowed": ",".join(FIELDS)})]
        )
    found = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if number > MAX_ROWS:
            raise ScheduleError([Problem(source, number, "", N_("more than {count} rows"), {"count": MAX_ROWS})])

        def fail(where: str, message: str, line: int = number, **params: object) -> None:
            problems.append(Problem(source, line, where, message, params))

        if len(row) > len(header):
            fail("", N_("{count} values for {fields} columns"), count=len(row), fields=len(header))
            continue
        values = {h: " ".join(cell.split()) for h, cell in zip(header, row)}
        s = _one(values, source, number, fail)
        if s is not None:
            found.append(s)
    if problems:
        raise ScheduleError(problems)
    return found


def read_node(reader: Reader, root: Node) -> list[Succession]:
    """The ``successions:`` list of a YAML file; problems go to ``reader``."""
    reader.mapping(root, ("successions",), ())
    found = []
    for item in reader.texts(root, "successions"):
        if not reader.mapping(item, REQUIRED, tuple(f for f in FIELDS if f not in REQUIRED)):
            continue
        values = {key: reader.text(item, key) for key in FIELDS}
        if item.has("on"):  # YAML reads 2025-07-01 as a date
            values["on"] = str(item.value["on"])

        def fail(where: str, message: str, item: Node = item, **params: object) -> None:
            node = item.child(where) if where and item.has(where) else item
            reader.problems.append(Problem(reader.source, node.line, node.where, message, params))

        s = _one(values, reader.source, item.line, fail)
        if s is not None:
            found.append(s)
    return found


def read_yaml(source: str, text: str) -> list[Succession]:
    reader = Reader(source)
    root = reader.load(text)
    found = read_node(reader, root) if root is not None else []
    if reader.problems:
        raise ScheduleError(reader.problems)
    return found


def read_list(source: str, text: str) -> list[Succession]:
    """A list file by its name: ``.csv``, else YAML."""
    return read_csv(source, text) if source.lower().endswith(".csv") else read_yaml(source, text)
