"""Vietnamese text in the encodings that came before Unicode, recognised and
converted. Plans typed in the 1990s-2010s with the ".VnTime" fonts (TCVN3,
TCVN 5712:1993, "ABC") or the "VNI-Times" fonts (VNI Windows) keep those
bytes when copied into a .txt or a .docx: read as Unicode they show "¸",
"µ", "®" (TCVN3) or "aø", "eá", "oà" (VNI) where the accented letters were.
A text is converted only when every such character maps; otherwise the
reader is told which encoding it looks like and to convert it with Unikey.

Limits: TCVN3 keeps toned capitals in a separate font (.VnTimeH) on the same
codes as the small letters, so they come out as small letters; only Ă Â Ê Ô
Ơ Ư Đ have capitals of their own.
"""

from __future__ import annotations

import re
import unicodedata

# TCVN 5712:1993 (VN3), the code of each Vietnamese letter as a Latin-1 character.
_TCVN3_ROWS = {
    "a": "áàảãạ¸µ¶·¹",
    "ă": "ăắằẳẵặ¨¾»¼½Æ",
    "â": "âấầẩẫậ©ÊÇÈÉË",
    "e": "éèẻẽẹÐÌÎÏÑ",
    "ê": "êếềểễệªÕÒÓÔÖ",
    "i": "íìỉĩịÝ×ØÜÞ",
    "o": "óòỏõọãßáâä",
    "ô": "ôốồổỗộ«èåæçé",
    "ơ": "ơớờởỡợ¬íêëìî",
    "u": "úùủũụóïñòô",
    "ư": "ưứừửữự\xadøõö÷ù",
    "y": "ýỳỷỹỵýúûüþ",
    "đ": "đ®",
    "capitals": "ĂÂÊÔƠƯĐ¡¢£¤¥¦§",
}


def _tcvn3_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for row in _TCVN3_ROWS.values():
        half = len(row) // 2
        for letter, code in zip(row[:half], row[half:]):
            table[code] = letter
    return table


TCVN3 = _tcvn3_table()  # code (a Latin-1 character) -> the letter
# Codes no Vietnamese text in Unicode holds: their presence marks TCVN3.
_TCVN3_MARKS = set("¸µ¶·¹¨¾»¼½Æ©ËÐÌÎÏÑªÕÖ×ØÞß«¬®\xadøõö÷þ¡¢£¤¥¦§")

# VNI Windows: a vowel then a mark character (or one character for a few letters).
_VNI_TONES = {"ù": "\u0301", "ø": "\u0300", "û": "\u0309", "õ": "\u0303", "ï": "\u0323"}
_VNI_SHAPES = {  # the mark after a, e, o for â/ê/ô, after a for ă, with the tone folded in
    "â": ("\u0302", ""),
    "á": ("\u0302", "\u0301"),
    "à": ("\u0302", "\u0300"),
    "å": ("\u0302", "\u0309"),
    "ã": ("\u0302", "\u0303"),
    "ä": ("\u0302", "\u0323"),
}
_VNI_BREVE = {"ê": "", "é": "\u0301", "è": "\u0300", "ú": "\u0309", "ü": "\u0303", "ë": "\u0323"}
_VNI_SINGLE = {"í": "í", "ì": "ì", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "ô": "ơ", "ö": "ư", "î": "ỵ", "ñ": "đ"}


def _vni_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for small in (True, False):
        for vowel in "aeouy":  # i takes its tones as single characters
            base = vowel if small else vowel.upper()
            for mark, tone in _VNI_TONES.items():
                table[base + (mark if small else mark.upper())] = unicodedata.normalize("NFC", base + tone)
            if vowel in "aeo":
                for mark, (hat, tone) in _VNI_SHAPES.items():
                    table[base + (mark if small else mark.upper())] = unicodedata.normalize("NFC", base + hat + tone)
            if vowel == "a":
                for mark, tone in _VNI_BREVE.items():
                    table[base + (mark if small else mark.upper())] = unicodedata.normalize(
                        "NFC", base + "\u0306" + tone
                    )
        for code, letter in _VNI_SINGLE.items():
            table[code if small else code.upper()] = letter if small else letter.upper()
        for hooked in "ôö":  # ơ, ư with a tone
            for mark, tone in _VNI_TONES.items():
                code = hooked + mark if small else (hooked + mark).upper()
                letter = _VNI_SINGLE[hooked] if small else _VNI_SINGLE[hooked].upper()
                table[code] = unicodedata.normalize("NFC", letter + tone)
    return table


VNI = _vni_table()  # code (one or two Latin-1 characters) -> the letter
_VNI_CODES = re.compile("|".join(sorted(map(re.escape, VNI), key=len, reverse=True)))
_VNI_PAIRS = re.compile(r"[aeouyAEOUYôöÔÖ][ùøûõïâáàåãäêéèúüëÙØÛÕÏÂÁÀÅÃÄÊÉÈÚÜË]")
_UNICODE_VIETNAMESE = re.compile("[\u0102\u0103\u0110\u0111\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9\u0300-\u0323]")
_HIGH = re.compile("[\u0080-\u00ff]")


def looks_like(text: str) -> str:
    """ "tcvn3", "vni" or "" (Unicode, or plain ASCII).

    >>> looks_like("Kế hoạch"), looks_like("KÕ ho¹ch tuyªn truyÒn"), looks_like("Keá hoaïch tuyeân truyeàn")
    ('', 'tcvn3', 'vni')
    """
    if _UNICODE_VIETNAMESE.search(text):
        return ""
    tcvn3 = sum(1 for c in text if c in _TCVN3_MARKS)
    vni = len(_VNI_PAIRS.findall(text))
    if max(tcvn3, vni) < 2:
        return ""
    return "tcvn3" if tcvn3 >= vni else "vni"


def convert(text: str, encoding: str) -> str | None:
    """The text in Unicode, or None when a character of the old range has no
    letter in ``encoding`` (the text is then not safely that encoding).

    >>> convert("KÕ ho¹ch n¨m 2024", "tcvn3"), convert("Keá hoaïch naêm 2024", "vni")
    ('Kế hoạch năm 2024', 'Kế hoạch năm 2024')
    """
    if encoding == "tcvn3":
        out = "".join(TCVN3.get(c, c) for c in text)
        leftover = [c for c in text if "\u0080" <= c <= "\u00ff" and c not in TCVN3 and c != "\u00a0"]
    else:
        out = _VNI_CODES.sub(lambda m: VNI[m[0]], text)
        leftover = [c for c in _HIGH.findall(_VNI_CODES.sub("", text)) if c != "\u00a0"]
    return None if leftover else out


def encode_tcvn3(text: str) -> str:
    """The inverse of the TCVN3 reading (for tests and round trips): small
    letters and the seven capitals of their own."""
    back = {letter: code for code, letter in TCVN3.items()}
    return "".join(back.get(c, c) for c in text)


def encode_vni(text: str) -> str:
    """The inverse of the VNI reading (for tests and round trips)."""
    back = {letter: code for code, letter in VNI.items()}
    return "".join(back.get(c, c) for c in unicodedata.normalize("NFC", text))
