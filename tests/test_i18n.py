"""The Vietnamese catalog covers every message in the code, and says the same thing.

Messages are extracted from the source at test time (as ``pybabel extract``
does with babel.cfg), so a message added anywhere in the code fails here until
the catalogs are updated and it is translated.
"""

from __future__ import annotations

import string
import unicodedata
from collections import Counter
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from scheduler.i18n import gettext_for

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "scheduler" / "locale"
VI_PO = LOCALES / "vi" / "LC_MESSAGES" / "messages.po"
EN_PO = LOCALES / "en" / "LC_MESSAGES" / "messages.po"

# babel.cfg itself, and the extract command's -k options.
with open(ROOT / "babel.cfg", encoding="utf-8") as _cfg:
    METHOD_MAP, OPTIONS_MAP = parse_mapping_cfg(_cfg)
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "_": None}
IGNORED = "scheduler/store/migrations"

UPDATE = (
    "pybabel extract -F babel.cfg -k N_ -k _ --no-location --sort-output "
    "-o scheduler/locale/messages.pot . && "
    "pybabel update -i scheduler/locale/messages.pot -d scheduler/locale -D messages"
)


def _walk_into(path: str) -> bool:
    """Directories worth descending into: the package, less caches and migrations."""
    rel = Path(path).relative_to(ROOT).as_posix()
    if Path(rel).name.startswith((".", "_")) or rel == IGNORED or rel.startswith(IGNORED + "/"):
        return False
    return rel in ("scheduler", "templates") or rel.startswith(("scheduler/", "templates/"))


def extracted() -> dict[str, list[str]]:
    """Every message id in the source, with where it is (file:line)."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map=METHOD_MAP, options_map=OPTIONS_MAP, keywords=KEYWORDS, directory_filter=_walk_into
    ):
        if filename.replace("\\", "/").startswith(IGNORED + "/"):
            continue
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def _shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def catalog(path: Path, lang: str):
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def placeholders(text: str) -> Counter:
    """The ``{fields}`` of a str.format() template (``{{`` and ``}}`` are literal braces)."""
    fields = Counter()
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is not None:
            fields["{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"] += 1
    return fields


def test_extraction_reads_code_and_templates():
    ids = extracted()
    assert "Due" in ids and len(ids) > 50  # the extraction itself works
    assert any(where.startswith("templates/") for places in ids.values() for where in places)


def test_every_message_has_a_vietnamese_translation():
    vi = catalog(VI_PO, "vi")
    missing = []
    for msgid, where in sorted(extracted().items()):
        entry = vi.get(msgid)
        strings = (entry.string if isinstance(entry.string, tuple) else (entry.string,)) if entry else ("",)
        if entry is None or entry.fuzzy or not all(s.strip() for s in strings):
            state = "missing" if entry is None else "fuzzy" if entry.fuzzy else "untranslated"
            missing.append(f"  {msgid!r} ({state}; {', '.join(where)})")
    assert not missing, (
        f"{len(missing)} message(s) have no Vietnamese translation in {_shown(VI_PO)}:\n"
        + "\n".join(missing)
        + f"\nUpdate the catalogs with\n  {UPDATE}\nthen translate them (and clear any fuzzy flag)."
    )


def test_vietnamese_keeps_every_placeholder():
    wrong = []
    for entry in catalog(VI_PO, "vi"):
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for text in strings:
            if not text:
                continue
            try:
                expected, got = placeholders(ids[0]), placeholders(text)
            except ValueError as e:  # a stray "{" or "}": str.format() would fail at runtime
                wrong.append(f"  {ids[0]!r} -> {text!r}: {e}")
                continue
            if expected != got:
                wrong.append(
                    f"  {ids[0]!r} -> {text!r}: placeholders {sorted(expected.elements())} != {sorted(got.elements())}"
                )
    assert not wrong, "Vietnamese translations whose {placeholders} differ from the msgid:\n" + "\n".join(wrong)


def test_runtime_catalogs():
    assert gettext_for("vi")("Due") == "Hạn"
    english = gettext_for("en")
    changed = [m for m in extracted() if english(m) != m]
    assert not changed, f"English should show the message ids unchanged: {changed}"
    en = catalog(EN_PO, "en")  # a valid catalog with nothing translated
    assert en.locale_identifier == "en"
    assert not [m.id for m in en if m.id and m.string]


def test_vietnamese_catalog_is_nfc():
    text = VI_PO.read_bytes().decode("utf-8")
    bad = [
        f"  line {n}: {line}"
        for n, line in enumerate(text.splitlines(), 1)
        if unicodedata.normalize("NFC", line) != line
    ]
    assert not bad, f"{_shown(VI_PO)} is not NFC-normalised:\n" + "\n".join(bad)
