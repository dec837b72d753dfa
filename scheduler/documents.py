"""Limits every document the service reads must pass before a parser sees
it: its size first, then UTF-8, then no control characters. A 10 KB
upload once made the service use 24 GB; a refusal here is a Problem with
the file's name and line, never a crash or a killed process.

Schedule files (``main.py load``, the upload page, ``plan roll``) come
through here and then ``yaml_source.load_yaml``; any new importer (.docx,
.pdf) must call ``decode_document`` or ``check_size`` first.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from scheduler.bounds import format_size
from scheduler.errors import N_, Problem, ScheduleError

# The bundled plan is 11 KiB; 1 MiB leaves room for years of air slots while
# a mistaken file (a video, an archive, a generated bomb) is refused before
# it is held in memory, let alone parsed (ruamel needs ~30x the text).
MAX_DOCUMENT_BYTES = 1 << 20
# C0 controls but tab, LF and CR; DEL; C1 controls (U+0085 included: YAML 1.1
# reads it as a line break, which would shift every line number after it).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def check_size(source: str, size: int) -> None:
    """Refuse a document larger than ``MAX_DOCUMENT_BYTES`` before it is read."""
    if size > MAX_DOCUMENT_BYTES:
        raise ScheduleError(
            [Problem(source, None, "", N_("the file is larger than {size}"), {"size": format_size(MAX_DOCUMENT_BYTES)})]
        )


def control_problems(source: str, text: str) -> list[Problem]:
    """Each line holding a control character, with the first one's column.

    >>> [p.render() for p in control_problems("a.yaml", "a: 1\\nb: x\\x01y\\x00\\n")]
    ['a.yaml:2: control character U+0001 in column 5; only text, tabs and line breaks are allowed']
    """
    problems: list[Problem] = []
    last = 0
    for match in _CONTROL.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        if line == last:
            continue
        last = line
        column = match.start() - text.rfind("\n", 0, match.start())
        problems.append(
            Problem(
                source,
                line,
                "",
                N_("control character {char} in column {column}; only text, tabs and line breaks are allowed"),
                {"char": f"U+{ord(match[0]):04X}", "column": column},
            )
        )
    return problems


def check_text(source: str, text: str) -> None:
    """A decoded document: within the size limit and free of control characters."""
    check_size(source, len(text.encode("utf-8", errors="surrogatepass")))
    problems = control_problems(source, text)
    if problems:
        raise ScheduleError(problems)


def decode_document(source: str, data: bytes) -> str:
    """The bytes as text (UTF-8, a leading BOM dropped), checked by ``check_text``."""
    check_size(source, len(data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ScheduleError(
            [
                Problem(
                    source, data[: e.start].count(b"\n") + 1, "", N_("this is not UTF-8 text; save the file as UTF-8")
                )
            ]
        ) from None
    check_text(source, text)
    return text


def read_document(path: Path) -> str:
    """A file's text, reading at most one byte past the limit (a FIFO or
    /dev/zero cannot fill the memory either)."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as e:
        raise ScheduleError(
            [Problem(str(path), None, "", N_("cannot read the file ({reason})"), {"reason": e.strerror or str(e)})]
        ) from None
    return decode_document(str(path), data)


def parse_json(text: str | bytes) -> object:
    """``json.loads`` for text from outside (an uploaded checkpoint, a ledger
    row someone may have edited): JSON nested deeper than Python's recursion
    limit (``[[[[…`` in 16 KiB) is malformed JSON, a ``ValueError`` its caller
    already reports, not a ``RecursionError`` that answered 500 and stopped
    ``verify``."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None
