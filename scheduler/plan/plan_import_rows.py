"""Section III of a plan's text, row by row: a tab-separated table (STT,
content, host, coordinators, time [, duration]) or a numbered list whose
items end in the time phrase after a colon, with "- Chủ trì: …" lines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from scheduler.plan.channels import code_of
from scheduler.plan.phrase_readings import Reading
from scheduler.plan.source_text import SourceLine

ITEM = re.compile(r"^\s*(\d+)\s*[.)]\s+(.*)$")
_ROLE = re.compile(r"(?:cơ quan\s+)?(chủ trì|phối hợp)\s*:\s*(.+)", re.I)
_SUB = re.compile(r"(?:^|\s)-\s+")


@dataclass
class Row:
    line: int  # first source line
    last: int  # last source line
    source: str  # the row's text, as the plan writes it
    content: str
    host: str = ""
    coordinators: str = ""
    time: str = ""
    duration: str = ""


def _column(header: tuple[str, ...], words: tuple[str, ...], default: int) -> int:
    for i, cell in enumerate(header):
        if any(w in cell.lower() for w in words):
            return i
    return default


def table_rows(lines: list[SourceLine]) -> list[Row]:
    """Rows of a table: the header row names the columns (else STT, content, host, coordinators, time)."""
    header: tuple[str, ...] = ()
    rows: list[Row] = []
    for line in lines:
        if not line.cells:
            continue
        if not line.cells[0].strip().rstrip(".").isdigit():
            header = line.cells
            continue
        cells = line.cells

        def cell(
            words: tuple[str, ...], default: int, cells: tuple[str, ...] = cells, header: tuple[str, ...] = header
        ) -> str:
            i = _column(header, words, default) if header else default
            return cells[i].strip() if 0 <= i < len(cells) else ""

        rows.append(
            Row(
                line.number,
                line.number,
                line.text.replace("\t", " | "),
                cell(("hoạt động", "nội dung"), 1),
                cell(("chủ trì",), 2),
                cell(("phối hợp",), 3),
                cell(("thời gian", "tần suất"), 4),
                cell(("thời lượng",), -1) if header and any("thời lượng" in h.lower() for h in header) else "",
            )
        )
    return rows


def list_rows(lines: list[SourceLine]) -> list[Row]:
    """Items "N. content: time" with their "- Chủ trì: …" / "- Phối hợp: …" lines."""
    rows: list[Row] = []
    text: list[str] = []
    roles: list[str] = []

    def close() -> None:
        if not rows:
            return
        row = rows[-1]
        whole = " ".join(text)
        row.source = " ".join([whole, *roles])
        content, sep, time = whole.rpartition(":")
        row.content, row.time = (content.strip(), time.strip().rstrip(".")) if sep else (whole, "")
        for role in roles:
            for part in role.lstrip("- ").split(";"):
                if m := _ROLE.match(part.strip()):
                    field = "host" if m[1].lower() == "chủ trì" else "coordinators"
                    setattr(row, field, m[2].strip().rstrip("."))

    for line in lines:
        stripped = line.text.strip()
        if m := ITEM.match(line.text):
            close()
            rows.append(Row(line.number, line.number, "", ""))
            text, roles = [m[2].strip()], []
        elif rows and stripped:
            if stripped.startswith("- ") or _ROLE.match(stripped):
                roles.append(stripped)
            elif roles:
                roles[-1] += " " + stripped
            else:
                text.append(stripped)
            rows[-1].last = line.number
    close()
    return rows


def sub_items(cell: str) -> list[str]:
    """A cell written as "- A. - B." gives its items; any other cell, itself."""
    if not cell.lstrip().startswith("- "):
        return [cell]
    return [s.strip().rstrip(".").strip() for s in _SUB.split(cell) if s.strip()]


def dates_of(reading: Reading) -> list[date]:
    """The days a reading names: its periods' first and last days, its dates."""
    found = list(reading.days)
    for period in reading.periods:
        found += [period.start, period.end - timedelta(days=1)]
    return found


def channels_of(text: str) -> list[str]:
    words = re.sub(r"[,.;:()“”\"]", " ", text).split()
    found: list[str] = []
    for size in (6, 5, 4, 3, 2, 1):
        for i in range(len(words) - size + 1):
            code = code_of(" ".join(words[i : i + size]))
            if code and code not in found and code != "report":
                found.append(code)
    if not found and re.search(r"\b(cuộc )?thi\b", text, re.I):
        found.append("contest")
    return found
