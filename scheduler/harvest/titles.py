"""Titles compared as people read them: case, diacritics (including đ),
Unicode form and punctuation do not matter, and ``*`` in a pattern stands
for any run of words.

>>> normal("  Chuyên mục: CẢI CÁCH  hành chính (Phần 1) ")
'chuyen muc cai cach hanh chinh phan 1'
>>> normal("Đài PT-TH") == normal("dai pt th")
True
>>> matches("Cải cách hành chính*", "CẢI CÁCH HÀNH CHÍNH số 2 – phát lại")
True
>>> matches("cải cách*số 2", "Cải cách hành chính số 2")
True
>>> matches("cải cách hành chính", "Chuyên mục Cải cách hành chính")
True
>>> matches("cải cách hành chính*", "Chuyên mục Cải cách hành chính")
False
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normal(text: str) -> str:
    """Lower case, no diacritics (đ → d), punctuation as spaces, one space between words."""
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    return " ".join(_NOT_WORD.sub(" ", plain).split())


def matches(pattern: str, title: str) -> bool:
    """``*`` anchors the pattern at the title's start (and end, unless it ends
    with ``*``); a pattern without ``*`` matches anywhere in the title."""
    title = normal(title)
    if "*" not in pattern:
        words = normal(pattern)
        return bool(words) and f" {words} " in f" {title} "
    parts = [re.escape(normal(p)) for p in pattern.split("*")]
    regex = r"\b.*?\b".join(parts) if all(parts) else ".*".join(parts)
    return re.fullmatch(regex, title) is not None


def any_match(patterns: Iterable[str], title: str) -> bool:
    return any(matches(p, title) for p in patterns)
