"""Plan documents (.docx, .pdf, .txt, .md) read into numbered text lines
(``SourceText``) for the importer, under the trust limits of
``scheduler.bounds``: the file's size before it is read; a .docx's zip
directory (members, unpacked size, ratio) before anything is inflated; a PDF
in a child process with memory, time, page and text ceilings. Legacy input is
named, never misread: an old Word .doc, a scanned PDF without text, text in
TCVN3 or VNI (converted when every character maps)."""

from __future__ import annotations

from pathlib import Path

from scheduler.bounds import MAX_PLAN_CHARS, MAX_PLAN_DOCUMENT, format_size
from scheduler.documents import control_problems
from scheduler.errors import N_, InputError
from scheduler.plan.source_text import SourceLine, SourceText
from scheduler.store.plan_documents import legacy

KINDS = (".docx", ".pdf", ".txt", ".md")
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an old Word .doc (and .xls, .ppt)


def read_document(path: Path, name: str | None = None) -> SourceText:
    """The document at ``path`` as numbered lines; ``name`` is what messages
    call it (the uploaded file's name; the path by default)."""
    name = name or str(path)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_PLAN_DOCUMENT + 1)
    except OSError as e:
        raise InputError(
            N_("{file}: cannot read the file ({reason})"), file=name, reason=e.strerror or str(e)
        ) from None
    return read_bytes(data, name, path)


def read_bytes(data: bytes, name: str, path: Path | None = None) -> SourceText:
    """The document's bytes as numbered lines (the upload page holds bytes)."""
    if len(data) > MAX_PLAN_DOCUMENT:
        raise InputError(
            N_("{file}: the document is larger than {size}; save the plan without pictures or split it"),
            file=name,
            size=format_size(MAX_PLAN_DOCUMENT),
        )
    suffix = Path(name).suffix.lower()
    if data.startswith(OLE2) or suffix == ".doc":
        raise InputError(N_("{file}: an old Word .doc: open it in Word or LibreOffice and save it as .docx"), file=name)
    if suffix == ".docx" or (data.startswith(b"PK") and suffix not in (".txt", ".md")):
        from scheduler.store.plan_documents.docx_reader import read_docx

        rows = read_docx(data, name)
    elif suffix == ".pdf" or data.startswith(b"%PDF"):
        from scheduler.store.plan_documents.pdf_reader import read_pdf

        rows = read_pdf(data, name, path)
    elif suffix in (".txt", ".md"):
        rows = [(line, tuple(line.split("\t")) if "\t" in line else ()) for line in _decode(data, name).splitlines()]
    else:
        raise InputError(N_("{file}: not a plan document; send a .docx, .pdf, .txt or .md file"), file=name)
    return _source(name, rows)


def _decode(data: bytes, name: str) -> str:
    """UTF-8 text, or the bytes as Windows-1252 (where TCVN3 and VNI files
    were saved) for the legacy check to recognise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "".join(chr(b) if b >= 0xA0 or b < 0x80 else bytes([b]).decode("cp1252", "replace") for b in data)


def _source(name: str, rows: list[tuple[str, tuple[str, ...]]]) -> SourceText:
    """Numbered lines, with legacy encodings converted and the text bounds kept."""
    whole = "\n".join(text for text, _ in rows)
    if len(whole) > MAX_PLAN_CHARS:
        raise InputError(
            N_("{file}: more than {count} characters of text; is this one plan?"), file=name, count=MAX_PLAN_CHARS
        )
    encoding = legacy.looks_like(whole)
    if encoding:
        if legacy.convert(whole, encoding) is None:
            raise InputError(
                N_(
                    "{file}: the text looks like the old {encoding} encoding and does not convert cleanly; "
                    "convert it to Unicode with Unikey (Công cụ chuyển mã) and send it again"
                ),
                file=name,
                encoding="TCVN3 (ABC)" if encoding == "tcvn3" else "VNI Windows",
            )
        rows = [(_conv(text, encoding), tuple(_conv(c, encoding) for c in cells)) for text, cells in rows]
    problems = control_problems(name, "\n".join(text for text, _ in rows).replace("\ufffd", "\x1a"))
    if problems:
        raise InputError(N_("{file}: not text ({problem})"), file=name, problem=problems[0].render())
    return SourceText(name, tuple(SourceLine(n, text, cells) for n, (text, cells) in enumerate(rows, 1)))


def _conv(text: str, encoding: str) -> str:
    return legacy.convert(text, encoding) or text
