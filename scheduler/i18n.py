"""Gettext catalogs (Babel): Vietnamese first, English second.

Message ids in the code are English; ``locale/vi`` translates them. The .po
files are the source of truth and are compiled in memory when first used.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = Path(__file__).parent / "locale"
LANGUAGES = ("vi", "en")
DEFAULT = "vi"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang``; English (the message ids) when there is none."""
    po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_for(lang: str) -> Callable[[str], str]:
    return translations(lang).gettext


def pick(lang: str, vi: str, en: str) -> str:
    """Of a value written in both languages (titles, names), the one to show."""
    return en if lang == "en" and en else vi
