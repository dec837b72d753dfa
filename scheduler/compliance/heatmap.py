"""The compliance heatmap: agency × month, coloured by the share of decided
items that were delivered (SVG for the report document; the colours for the
dashboard too).
"""

from __future__ import annotations

from html import escape

from scheduler.compliance.report_text import COLUMNS, MONTHS_EN, Report, percent
from scheduler.compliance.status import COUNTS
from scheduler.i18n import gettext_for

RED, AMBER, GREEN, GREY = (0xC6, 0x28, 0x28), (0xF2, 0xA9, 0x00), (0x2E, 0x7D, 0x32), "#c8c8c8"


def colour(rate: float | None) -> str:
    """Red (0%) through amber (50%) to green (100%); grey when nothing was decided."""
    if rate is None:
        return GREY
    a, b, t = (RED, AMBER, rate * 2) if rate < 0.5 else (AMBER, GREEN, rate * 2 - 1)
    return "#%02x%02x%02x" % tuple(round(x + (y - x) * t) for x, y in zip(a, b))


def _ink(fill: str) -> str:
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


def _month(key: str, lang: str, year: bool = False) -> str:
    y, m = key.split("-")
    name = f"T{int(m)}" if lang == "vi" else MONTHS_EN[int(m) - 1]
    return f"{name}/{y}" if year and lang == "vi" else f"{name} {y}" if year else name


def heatmap_svg(report: Report) -> str:
    """Agency × month: of what was decided (met or not), how much was met; text escaped."""
    lang, _ = report["lang"], gettext_for(report["lang"])
    months, rows = report["heatmap"]["months"], report["heatmap"]["agencies"]
    cw, ch, lw, top = 38, 26, 250, 36
    width, legend = lw + cw * max(len(months), 8) + 8, top + ch * len(rows) + 14
    height = legend + 44
    label = escape(_("Compliance by agency and month: share of decided items that were delivered"))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{label}" '
        f'font-family="Times New Roman, Liberation Serif, serif" font-size="13">',
        f"<title>{label}</title>",
        '<defs><linearGradient id="heatmap-scale">'
        + "".join(f'<stop offset="{p}" stop-color="{colour(p)}"/>' for p in (0, 0.5, 1))
        + "</linearGradient></defs>",
    ]
    for i, m in enumerate(months):
        x = lw + i * cw + cw / 2
        if i == 0 or m.endswith("-01"):
            out.append(f'<text x="{x}" y="12" text-anchor="middle" font-weight="bold">{escape(m[:4])}</text>')
        out.append(f'<text x="{x}" y="{top - 8}" text-anchor="middle">{escape(_month(m, lang))}</text>')
    for j, a in enumerate(rows):
        y, name = top + j * ch, a["agency_name"]
        short = name if len(name) <= 38 else name[:37] + "…"
        out.append(
            f'<text x="{lw - 8}" y="{y + ch / 2 + 4}" text-anchor="end"><title>{escape(name)}</title>'
            f"{escape(short)}</text>"
        )
        for i, c in enumerate(a["cells"]):
            met = c["on_time"] + c["late"]
            decided = met + c["missing"] + c["non_conforming"]
            fill = colour(c["rate"]) if c["required"] else "#ffffff"
            text = f"{met}/{decided}" if decided else "–" if c["required"] else ""
            counts = ", ".join(f"{_(COLUMNS[k])} {c[k]}" for k in COUNTS if c[k])
            tip = f"{name} · {_month(c['month'], lang, True)}: {text or '0'}"
            tip += f" ({percent(c['rate'], lang)})" if c["rate"] is not None else ""
            tip += f" — {counts}" if counts else ""
            x = lw + i * cw
            out.append(
                f'<g class="cell"><title>{escape(tip)}</title><rect x="{x + 1}" y="{y + 1}" '
                f'width="{cw - 2}" height="{ch - 2}" rx="2" fill="{fill}" stroke="#9e9e9e" '
                f'stroke-width="{0 if c["required"] else 0.6}"/><text x="{x + cw / 2}" y="{y + ch / 2 + 4}" '
                f'text-anchor="middle" fill="{_ink(fill)}">{escape(text)}</text></g>'
            )
    y = legend
    out.append(f'<rect x="{lw}" y="{y}" width="150" height="12" fill="url(#heatmap-scale)"/>')
    for p, x in (("0%", lw), ("50%", lw + 75), ("100%", lw + 150)):
        out.append(f'<text x="{x}" y="{y + 26}" text-anchor="middle" font-size="12">{p}</text>')
    for k, (fill, text) in enumerate(((GREY, _("nothing decided yet")), ("#ffffff", _("nothing owed")))):
        x = lw + 180 + k * 150
        out.append(
            f'<rect x="{x}" y="{y}" width="12" height="12" fill="{fill}" stroke="#9e9e9e" stroke-width="0.6"/>'
            f'<text x="{x + 17}" y="{y + 10}" font-size="12">{escape(text)}</text>'
        )
    key = escape(_("delivered / decided"))
    out.append(f'<text x="{lw - 8}" y="{y + 10}" text-anchor="end" font-size="12">{key}</text></svg>')
    return "".join(out)
