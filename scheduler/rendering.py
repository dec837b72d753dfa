"""The Jinja2 environment: every template in templates/, translated through
the same gettext catalogs as the rest of the product."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from scheduler.i18n import pick, translations

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"  # beside the package, as settings.ROOT


@cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # added by the jinja2.ext.i18n extension at run time; Environment's type does not declare it
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(lang=lang, pick=lambda vi, en: pick(lang, vi, en))
    env.filters["day"] = lambda d: d.strftime("%d/%m/%Y") if d else "—"
    env.filters["moment"] = lambda d: d.strftime("%d/%m/%Y %H:%M") if d else "—"
    return env


def render(name: str, lang: str, **values: Any) -> str:
    return environment(lang).get_template(name).render(**values)
