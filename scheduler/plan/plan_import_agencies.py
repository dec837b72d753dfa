"""Agencies named in a plan's text: matched to the loaded ones by name or
abbreviation (diacritics, case and punctuation ignored), else proposed new
with a code made from the name and a kind guessed from its first words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# Abbreviations plans write, spelled out before names are compared.
_SHORT = (
    (r"\bubnd\b", "uy ban nhan dan"),
    (r"\bhdnd\b", "hoi dong nhan dan"),
    (r"\bpt-?th\b", "phat thanh va truyen hinh"),
    (r"\bpt\s*-\s*th\b", "phat thanh va truyen hinh"),
    (r"\btt-?tt\b", "thong tin va truyen thong"),
    (r"\bmttq\b", "mat tran to quoc"),
)
# The words "Các cơ quan, đơn vị liên quan": coordination, not an agency.
RELATED = re.compile(r"^các cơ quan,? (đơn vị )?(có )?liên quan", re.I)
# First words -> kind, first match wins.
_KINDS = (
    ("cac ", "group"),
    ("truong cac ", "group"),
    ("uy ban nhan dan cac ", "group"),
    ("uy ban nhan dan xa", "commune"),
    ("uy ban nhan dan phuong", "commune"),
    ("uy ban nhan dan thi tran", "commune"),
    ("uy ban nhan dan huyen", "district"),
    ("uy ban nhan dan tinh", "government"),
    ("uy ban mat tran", "organisation"),
    ("so ", "department"),
    ("bao ", "newspaper"),
    ("dai ", "broadcaster"),
    ("phong ", "division"),
    ("van phong ", "division"),
    ("trung tam ", "centre"),
    ("thon ", "village"),
    ("to dan pho ", "village"),
)


def ascii_words(text: str) -> str:
    """Lowercase ascii words: "Đài PT-TH tỉnh" -> "dai pt-th tinh"."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9\- ]+", " ", text.replace("–", "-")).split())


def compare_key(name: str) -> str:
    """ "Đài PT-TH tỉnh" and "Đài Phát thanh và Truyền hình tỉnh" give the same key."""
    words = ascii_words(name)
    for pattern, long in _SHORT:
        words = re.sub(pattern, long, words)
    return " ".join(words.replace("-", " ").split())


def slug(name: str) -> str:
    return "-".join(ascii_words(name).replace("-", " ").split())[:48].strip("-") or "co-quan"


def guess_kind(name: str) -> str:
    words = compare_key(name) + " "
    return next((kind for start, kind in _KINDS if words.startswith(start)), "other")


@dataclass
class Agency:
    code: str
    name: str
    kind: str
    known: bool  # one of the loaded agencies


class Agencies:
    """The agencies a draft names, in the order it first names them."""

    def __init__(self, loaded: Sequence[tuple[str, str, str]]) -> None:
        self.loaded = [Agency(code, name, kind, True) for code, name, kind in loaded]
        self.used: dict[str, Agency] = {}

    def find(self, name: str) -> Agency:
        name = name.strip().rstrip(".;,").strip()
        wanted = compare_key(name)
        for agency in [*self.used.values(), *self.loaded]:
            if compare_key(agency.name) == wanted or ascii_words(agency.code) == ascii_words(name):
                self.used.setdefault(agency.code, agency)
                return agency
        base = slug(name)
        code, n = base, 2
        while code in self.used or any(a.code == code for a in self.loaded):
            code, n = f"{base}-{n}", n + 1
        agency = Agency(code, name, guess_kind(name), False)
        self.used[code] = agency
        return agency
