"""A .docx plan read with python-docx: paragraphs and tables in document
order, a table row as one line with its cells (merged cells repeated, a
cell's paragraphs joined by a space), Word's automatic numbering written in
front of its paragraph ("1.", "a)", "-") as the reader saw it. The zip's
directory is checked first: a zip bomb is refused before anything inflates."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from scheduler.bounds import MAX_ZIP_MEMBERS, MAX_ZIP_RATIO, MAX_ZIP_UNPACKED, format_size
from scheduler.errors import N_, InputError

Rows = list[tuple[str, tuple[str, ...]]]


def check_zip(data: bytes, name: str) -> None:
    """Refuse a .docx whose zip directory promises too much: members, total
    unpacked size, or a member packed more tightly than XML ever is."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise InputError(
            N_("{file}: not a .docx (the file is not a readable zip); save it again from Word"), file=name
        ) from None
    unpacked = sum(m.file_size for m in members)
    tight = [m for m in members if m.file_size > 2**20 and m.file_size > MAX_ZIP_RATIO * max(m.compress_size, 1)]
    if len(members) > MAX_ZIP_MEMBERS or unpacked > MAX_ZIP_UNPACKED or tight:
        raise InputError(
            N_(
                "{file}: refused: the .docx unpacks to {size} in {count} parts (at most {limit} in {members} parts, "
                "each packed at most {ratio}:1); this is not a plan as Word saves it, save it again from Word"
            ),
            file=name,
            size=format_size(unpacked),
            count=len(members),
            limit=format_size(MAX_ZIP_UNPACKED),
            members=MAX_ZIP_MEMBERS,
            ratio=MAX_ZIP_RATIO,
        )


def read_docx(data: bytes, name: str) -> Rows:
    check_zip(data, name)
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises several kinds on a broken package
        raise InputError(
            N_("{file}: not a readable .docx ({reason}); save it again from Word"), file=name, reason=str(e)
        ) from None
    numbering = _Numbering(document)
    rows: Rows = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            rows.append((numbering.label(block) + _one_line(block.text), ()))
        elif isinstance(block, Table):
            for row in block.rows:
                cells = tuple(
                    " ".join(_one_line(p.text) for p in cell.paragraphs if p.text.strip()) for cell in row.cells
                )
                rows.append(("\t".join(cells), cells))
    return rows


class _Numbering:
    """Word's automatic list numbers, counted as Word counts them: per list
    (numId) and level, deeper levels restarting under a new parent item.
    python-docx does not compute them; it exposes the numbering part, whose
    level formats (decimal, letters, Roman, bullet) and texts ("%1.") are read here."""

    def __init__(self, document: Any):
        self.counts: dict[str, list[int]] = {}
        self.levels: dict[tuple[str, int], tuple[str, str, int]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
        abstract = {a.get(w + "abstractNumId"): a for a in root.iter(w + "abstractNum")}
        for num in root.iter(w + "num"):
            ref = num.find(w + "abstractNumId")
            source = abstract.get(ref.get(w + "val")) if ref is not None else None
            for lvl in source.iter(w + "lvl") if source is not None else ():
                fmt, text, start = lvl.find(w + "numFmt"), lvl.find(w + "lvlText"), lvl.find(w + "start")
                self.levels[(num.get(w + "numId"), int(lvl.get(w + "ilvl", "0")))] = (
                    fmt.get(w + "val") if fmt is not None else "decimal",
                    text.get(w + "val") if text is not None else "",
                    int(start.get(w + "val")) if start is not None else 1,
                )

    def label(self, paragraph: Any) -> str:
        numpr = _numpr(paragraph._p.pPr)
        style = paragraph.style
        while (numpr is None or numpr.numId is None) and style is not None:  # a list style ("List Number")
            numpr, style = _numpr(style.element.pPr), style.base_style
        if numpr is None or numpr.numId is None:
            return ""
        num_id, level = str(numpr.numId.val), int(numpr.ilvl.val) if numpr.ilvl is not None else 0
        if (num_id, level) not in self.levels:
            return ""
        counts = self.counts.setdefault(num_id, [0] * 9)
        counts[level] += 1
        for deeper in range(level + 1, 9):
            counts[deeper] = 0
        text = self.levels[(num_id, level)][1]
        for at in range(level + 1):
            fmt, _, start = self.levels.get((num_id, at), ("decimal", "", 1))
            text = text.replace(f"%{at + 1}", _format(max(counts[at], 1) + start - 1, fmt))
        fmt = self.levels[(num_id, level)][0]
        if fmt == "bullet":
            return "- "
        return text + " " if text else ""


def _one_line(text: str) -> str:
    """A paragraph's text on one line: a manual line break (Shift+Enter, which
    python-docx gives as "\\n") and a tab are layout, read as a space."""
    return (
        " ".join(text.replace("\n", " ").replace("\t", " ").split()) if "\n" in text or "\t" in text else text.strip()
    )


def _numpr(ppr: Any) -> Any:
    return ppr.numPr if ppr is not None else None


def _format(n: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        letters = "abcdefghijklmnopqrstuvwxyz"[(n - 1) % 26] * ((n - 1) // 26 + 1)
        return letters if fmt == "lowerLetter" else letters.upper()
    if fmt in ("lowerRoman", "upperRoman"):
        roman = ""
        for value, digits in (
            (1000, "m"),
            (900, "cm"),
            (500, "d"),
            (400, "cd"),
            (100, "c"),
            (90, "xc"),
            (50, "l"),
            (40, "xl"),
            (10, "x"),
            (9, "ix"),
            (5, "v"),
            (4, "iv"),
            (1, "i"),
        ):
            while n >= value:
                roman, n = roman + digits, n - value
        return roman if fmt == "lowerRoman" else roman.upper()
    return str(n)
