"""A PDF plan read with pdfplumber, in a child process with a memory and time
ceiling (a crafted PDF's streams can inflate without bound, and pdfminer
holds a page's whole content): text lines per page in reading order from top
to bottom (a paragraph wrapped over lines joined back into one line, an
empty line where paragraphs are spaced apart); a
ruled table pdfplumber finds becomes one line per row with its
cells (text wrapped over lines joined by a space), and its text is not
repeated as plain lines. Pages and characters stop at the bounds."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from scheduler.bounds import MAX_PDF_PAGES, MAX_PLAN_CHARS, PDF_MEMORY, PDF_SECONDS
from scheduler.errors import N_, InputError

Rows = list[tuple[str, tuple[str, ...]]]


def read_pdf(data: bytes, name: str, path: Path | None = None) -> Rows:
    if path is None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "plan.pdf"
            path.write_bytes(data)
            return _run(path, name)
    return _run(path, name)


def _limits() -> None:
    """The child's own ceilings, set before pdfplumber is imported (set here
    rather than in ``preexec_fn``, which is unsafe in the web's threads)."""
    if os.name != "posix":
        return
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (PDF_MEMORY, PDF_MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (PDF_SECONDS, PDF_SECONDS))


def _run(path: Path, name: str) -> Rows:
    command = [sys.executable, "-m", "scheduler.store.plan_documents.pdf_reader", str(path)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=PDF_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InputError(
            N_("{file}: reading the PDF took more than {seconds} seconds; send the .docx instead"),
            file=name,
            seconds=PDF_SECONDS,
        ) from None
    try:
        answer = json.loads(done.stdout)
    except ValueError:  # killed at a ceiling, or pdfminer failed on the file
        reason = (done.stderr.decode("utf-8", "replace").strip().splitlines() or [""])[-1]
        killed = done.returncode < 0 or "MemoryError" in reason
        answer = {"refused": "crash"} if killed else {"refused": "unreadable", "reason": reason[:200]}
    refused = answer.get("refused")
    if refused == "pages":
        raise InputError(
            N_("{file}: the PDF has {count} pages, at most {limit} are read; send the plan alone"),
            file=name,
            count=answer["count"],
            limit=MAX_PDF_PAGES,
        )
    if refused == "chars":
        raise InputError(
            N_("{file}: more than {count} characters of text; is this one plan?"), file=name, count=MAX_PLAN_CHARS
        )
    if refused == "unreadable":
        raise InputError(
            N_("{file}: not a readable PDF ({reason}); send the .docx instead"), file=name, reason=answer["reason"]
        )
    if refused:  # killed at the memory or CPU ceiling, or crashed
        raise InputError(
            N_("{file}: the PDF could not be read within the memory and time allowed; send the .docx instead"),
            file=name,
        )
    rows: Rows = [(text, tuple(cells)) for text, cells in answer["rows"]]
    if not any(text.strip() for text, _ in rows):
        raise InputError(
            N_("{file}: a scanned PDF without a text layer: use the .docx or a PDF with text (OCR it first)"), file=name
        )
    return rows


def _cells(table: Any) -> list[tuple[float, float, list[str]]]:
    """Each row's top, bottom and cells; a merged cell (None) repeats the cell
    above, or the one to its left on the first row."""
    out: list[tuple[float, float, list[str]]] = []
    previous: list[str] = []
    for row, cells in zip(table.rows, table.extract()):
        texts: list[str] = []
        for i, cell in enumerate(cells):
            if cell is None:
                cell = previous[i] if i < len(previous) else (texts[-1] if texts else "")
            texts.append(" ".join(cell.split()))
        out.append((row.bbox[1], row.bbox[3], texts))
        previous = texts
    return out


# What starts an item: "-", "+", "•" and a word (not "- 2025", the end of "2021 - 2025"), "1.", "a)", "II.".
_ITEM = re.compile(r"\s*(?:[-+•–*]\s+\D|\d+[.)]\s|[a-zđ][.)]\s|[IVX]+\.\s)")


def _wraps(before: dict[str, Any], right: float, width: float, line: dict[str, Any], new_page: bool = False) -> bool:
    """A line is the rest of the paragraph above when the first word of it
    would not have fitted at the end of that one, it follows as closely as a
    paragraph's lines do (paragraphs are spaced wider), and it starts no item."""
    height = before["bottom"] - before["top"]
    per_char = (before["x1"] - before["x0"]) / max(len(before["text"]), 1)
    first_word = len(line["text"].split()[0]) + 1 if line["text"].split() else 0
    return (
        right - before["x0"] >= 0.6 * width  # a full line of a page of prose, not a short title or a signature
        and before["x1"] + per_char * first_word >= right - per_char
        and (new_page or 0 <= line["top"] - before["bottom"] <= 0.6 * height)
        and not _ITEM.match(line["text"])
    )


def extract(path: str) -> dict[str, Any]:
    """What the child prints: the rows, or why it refused."""
    import pdfplumber

    rows: list[tuple[str, list[str]]] = []
    total = 0
    carry: tuple[dict[str, Any], float, float] | None = None  # the last line of the page before, if prose
    try:
        pdf = pdfplumber.open(path)
    except Exception as e:  # pdfminer raises many kinds on a broken file
        return {"refused": "unreadable", "reason": type(e).__name__}
    with pdf:
        if len(pdf.pages) > MAX_PDF_PAGES:
            return {"refused": "pages", "count": len(pdf.pages)}
        for page in pdf.pages:
            tables = page.find_tables()
            boxes = [t.bbox for t in tables]
            items: list[tuple[float, float, str, list[str]]] = []  # top, bottom, text, cells
            for table in tables:
                items += [(top, bottom, "\t".join(cells), cells) for top, bottom, cells in _cells(table)]

            def outside(obj: dict[str, Any], boxes: list[Any] = boxes) -> bool:
                if "x0" not in obj:
                    return True
                middle_x, middle_y = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
                return not any(b[0] <= middle_x <= b[2] and b[1] <= middle_y <= b[3] for b in boxes)

            lines = page.filter(outside).extract_text_lines()
            right = max((line["x1"] for line in lines), default=0.0)
            first_table = min((item[0] for item in items), default=float("inf"))
            plain: list[tuple[float, float, str, list[str]]] = []
            for line, before in zip(lines, [None, *lines]):
                if before is not None and plain and _wraps(before, right, page.width, line):
                    top, _, text, _ = plain.pop()
                    plain.append((top, line["bottom"], text + " " + line["text"], []))
                elif (
                    not plain
                    and carry
                    and line["top"] < first_table
                    and (_wraps(*carry, line, True) if before is None else _wraps(before, right, page.width, line))
                ):
                    rows[-1] = (rows[-1][0] + " " + line["text"], [])  # a paragraph running on from the page before
                    total += len(line["text"]) + 1
                else:
                    plain.append((line["top"], line["bottom"], line["text"], []))
            ordered = sorted(items + plain, key=lambda item: item[0])
            gap = 0.6 * min((line["bottom"] - line["top"] for line in lines), default=0.0)
            for (top, _, text, cells), before in zip(ordered, [None, *ordered]):
                if before is None:  # a new page: a new paragraph, unless a table runs on
                    if rows and rows[-1][0] and not (cells and rows[-1][1]):
                        rows.append(("", []))
                elif gap and top - before[1] > gap:
                    rows.append(("", []))  # the space between paragraphs, as the .txt and the .docx have it
                total += len(text) + 1
                if total > MAX_PLAN_CHARS:
                    return {"refused": "chars"}
                rows.append((text, cells))
            last_is_plain = bool(ordered) and not ordered[-1][3] and bool(lines)
            carry = (lines[-1], right, page.width) if last_is_plain else None
            page.close()
    return {"rows": rows}


if __name__ == "__main__":
    _limits()
    try:
        print(json.dumps(extract(sys.argv[1]), ensure_ascii=False))
    except MemoryError:
        print(json.dumps({"refused": "memory"}))
