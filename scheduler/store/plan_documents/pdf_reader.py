"""A PDF plan read with pdfplumber, in a child process with a memory and time
ceiling (a crafted PDF's streams can inflate without bound, and pdfminer
holds a page's whole content): text lines per page in reading order from top
to bottom; a ruled table pdfplumber finds becomes one line per row with its
cells (text wrapped over lines joined by a space), and its text is not
repeated as plain lines. Pages and characters stop at the bounds."""

from __future__ import annotations

import json
import os
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


def _limits() -> None:  # pragma: no cover - runs in the child before exec
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
            preexec_fn=_limits if os.name == "posix" else None,
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
    except ValueError:
        answer = {"refused": "crash"}
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


def _cells(table: Any) -> list[tuple[float, list[str]]]:
    """Each row's top and cells; a merged cell (None) repeats the cell above,
    or the one to its left on the first row."""
    out: list[tuple[float, list[str]]] = []
    previous: list[str] = []
    for row, cells in zip(table.rows, table.extract()):
        texts: list[str] = []
        for i, cell in enumerate(cells):
            if cell is None:
                cell = previous[i] if i < len(previous) else (texts[-1] if texts else "")
            texts.append(" ".join(cell.split()))
        out.append((row.bbox[1], texts))
        previous = texts
    return out


def extract(path: str) -> dict[str, Any]:
    """What the child prints: the rows, or why it refused."""
    import pdfplumber

    rows: list[tuple[str, list[str]]] = []
    total = 0
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
            items: list[tuple[float, str, list[str]]] = []
            for table in tables:
                items += [(top, "\t".join(cells), cells) for top, cells in _cells(table)]

            def outside(obj: dict[str, Any], boxes: list[Any] = boxes) -> bool:
                if "x0" not in obj:
                    return True
                middle_x, middle_y = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
                return not any(b[0] <= middle_x <= b[2] and b[1] <= middle_y <= b[3] for b in boxes)

            for line in page.filter(outside).extract_text_lines():
                items.append((line["top"], line["text"], []))
            for _, text, cells in sorted(items, key=lambda item: item[0]):
                total += len(text) + 1
                if total > MAX_PLAN_CHARS:
                    return {"refused": "chars"}
                rows.append((text, cells))
            page.close()
    return {"rows": rows}


if __name__ == "__main__":
    try:
        print(json.dumps(extract(sys.argv[1]), ensure_ascii=False))
    except MemoryError:
        print(json.dumps({"refused": "memory"}))
