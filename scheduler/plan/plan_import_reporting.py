"""The reporting section ("Chế độ báo cáo"): who reports, to whom, through
whom, by which dates. Each statement becomes a ``reporting:`` row with
named deadlines where the text names them; a statement without dates the
importer can read is kept as a TODO, never guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from scheduler.plan.source_text import SourceLine

_START = re.compile(r"chế độ báo cáo|định kỳ báo cáo", re.I)
_STOP = re.compile(r"^\s*(?:[IVX]+\.\s|\d+\.\s|Nơi nhận|Trên đây)")
_SUBJECT = re.compile(r"^(.*?)\s+(?:tham mưu\b.*?|tổng hợp,?\s*)?(?:báo cáo|tổng hợp)\b", re.I)
_TO = re.compile(
    r"(?:\bvề|\bgửi|báo cáo)\s+((?:Ủy ban|UBND|Sở|Phòng|Văn phòng|Bộ)[^(:;,]*?)"
    r"(?=\s*(?:\(|:|;|,|\btrước\b|\bđịnh kỳ\b|\btheo\b|$))"
)
_ADVISES = re.compile(r"tham mưu\s+((?:UBND|Ủy ban nhân dân)\s+(?:tỉnh|huyện|xã|phường))\b", re.I)
_THROUGH = re.compile(r"\(\s*qua\s+([^)]+?)\s*(?:tổng hợp)?\s*\)", re.I)
_NAMED = re.compile(r"báo\s+cáo\s+(6 tháng|năm|quý [IVX]+)\s+trước ngày\s+(\d{1,2})/(\d{1,2})/(\d{4})", re.I)
_DATES = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_NAMES = re.compile(r"báo\s+cáo\s+((?:6 tháng|năm|quý [IVX]+)(?:\s*(?:,|và)\s*(?:6 tháng|năm|quý [IVX]+))*)", re.I)


@dataclass
class Report:
    line: int
    last: int
    text: str
    sender: str = ""
    to: str = ""
    through: str = ""
    deadlines: list[tuple[date, str]] = field(default_factory=list)
    consolidated: bool = False


def _name(words: str) -> str:
    return "Báo cáo " + " ".join(words.split())


def statements(lines: list[SourceLine]) -> list[Report]:
    """The section's statements: its "- " items, else its clauses split on ";"
    (a clause "báo cáo năm …" stays with the one before)."""
    at = next((i for i, x in enumerate(lines) if _START.search(x.text)), None)
    if at is None:
        return []
    taken: list[SourceLine] = [lines[at]]
    for line in lines[at + 1 :]:
        if not line.text.strip() or _STOP.match(line.text):
            break
        taken.append(line)
    parts: list[tuple[int, int, str]] = []
    for line in taken:
        text = line.text.strip()
        if text.startswith("- ") or not parts:
            parts.append((line.number, line.number, text.lstrip("- ")))
        else:
            first, _, joined = parts[-1]
            parts[-1] = (first, line.number, f"{joined} {text}")
    if len(parts) == 1:
        first, last, whole = parts[0]
        clauses: list[str] = []
        for clause in whole.split(";"):
            if clauses and re.match(r"\s*báo\s+cáo\s", clause):
                clauses[-1] += ";" + clause
            else:
                clauses.append(clause)
        parts = [(first, last, c) for c in clauses]
    found = []
    for first, last, text in parts:
        text = re.sub(r"^.*?chế độ báo cáo\s*:\s*", "", text, flags=re.I).strip()
        if not re.search(r"báo\s+cáo", text, re.I):
            continue
        found.append(_read(Report(first, last, text.rstrip("."))))
    for report in reversed(found):
        if "tổng hợp" in report.text.lower() and report.sender:
            report.consolidated = True
            break
    return found


def _read(report: Report) -> Report:
    _deadlines(report)
    seen: dict[date, str] = {}
    for day, name in sorted(report.deadlines, key=lambda d: d[0]):
        seen.setdefault(day, name)  # in order, each once, as the format wants
    report.deadlines = list(seen.items())
    return report


def _deadlines(report: Report) -> Report:
    text = report.text
    if m := _SUBJECT.match(text):
        report.sender = m[1].strip(" ,")
    if m := _ADVISES.search(text):  # "Phòng Nội vụ tham mưu UBND huyện tổng hợp": the report is UBND huyện's
        report.sender = m[1].strip()
    if m := _TO.search(text):
        report.to = m[1].strip()
    if m := _THROUGH.search(text):
        report.through = m[1].strip()
    named = _NAMED.findall(text)
    if named:
        report.deadlines = [(date(int(y), int(mo), int(d)), _name(n)) for n, d, mo, y in named]
        return report
    dates = [date(int(y), int(mo), int(d)) for d, mo, y in _DATES.findall(text)]
    names = re.split(r"\s*(?:,|và)\s*", m[1]) if (m := _NAMES.search(text)) else []
    if dates and len(names) == len(dates):
        report.deadlines = [(d, _name(n)) for d, n in zip(dates, names, strict=True)]
    else:
        report.deadlines = [(d, "") for d in dates]
    return report
