"""A plan document as numbered lines: what every reader (.txt, .md, .docx,
.pdf) gives and what the importer reads, so the importer never sees a file
format and the readers never see the plan's words."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLine:
    number: int  # 1-based line (or table row) number shown in TODOs
    text: str  # the line's text; a table row: its cells joined by "\t"
    cells: tuple[str, ...] = ()  # a table row's cells (merged cells repeated), else ()


@dataclass(frozen=True)
class SourceText:
    name: str  # the file's name, for messages
    lines: tuple[SourceLine, ...]


def from_text(name: str, text: str) -> SourceText:
    """A .txt/.md document: one line each; a line with tabs is a table row.

    >>> from_text("a.txt", "I. X\\n1\\tA\\tB").lines[1]
    SourceLine(number=2, text='1\\tA\\tB', cells=('1', 'A', 'B'))
    """
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r\n")
        cells = tuple(c.strip() for c in line.split("\t")) if "\t" in line else ()
        lines.append(SourceLine(number, line, cells))
    return SourceText(name, tuple(lines))
