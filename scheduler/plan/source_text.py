"""A plan document as numbered text lines: what the readers of .txt, .md,
.docx and .pdf files give and what the importer reads (the interface of
issue 15, fixed so the two sides can be built apart)."""

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
