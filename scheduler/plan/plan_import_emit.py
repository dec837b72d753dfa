"""The draft's YAML text: each obligation under a comment quoting its source
line(s); an obligation that cannot be read is written commented out whole,
so the draft always loads."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from scheduler.errors import N_
from scheduler.plan.plan_import_agencies import Agency, slug
from scheduler.plan.plan_import_reporting import Report
from scheduler.plan.plan_import_rows import Row

# What a draft obligation may say, in the order the format documents it.
OBLIGATION_KEYS = (
    "host",
    "coordinators",
    "coordination",
    "channels",
    "min_duration",
    "duration",
    "max_duration",
    "cadence",
)


@dataclass
class Obligation:
    row: Row
    title: str
    host: str = ""
    coordinators: list[str] = field(default_factory=list)
    coordination: str = ""
    channels: list[str] = field(default_factory=list)
    cadence: object = ""
    min_duration: str = ""
    duration: str = ""
    max_duration: str = ""
    notes: list[str] = field(default_factory=list)
    broken: bool = False


@dataclass
class ReportRow:
    report: Report
    sender: str
    to: str
    through: str
    notes: list[str]
    broken: bool = False


def _reporting(rows: list[ReportRow], say: Callable[..., str]) -> list[str]:
    out = ["", "reporting:"]
    for i, row in enumerate(rows, start=1):
        r = row.report
        span = f"line {r.line}" if r.line == r.last else f"lines {r.line}-{r.last}"
        out.append(f"  # ({span}) {r.text}")
        out += [f"  # {n}" for n in row.notes]
        body = [f"- code: {q(f'bao-cao-{i}')}", f"  title: {q(f'Báo cáo kết quả thực hiện kế hoạch: {r.sender}')}"]
        body += [f"  from: {q(row.sender)}", f"  to: {q(row.to)}"]
        if row.through:
            body.append(f"  through: {q(row.through)}")
        if r.consolidated:
            body.append("  consolidated: true  # " + say(N_("Reading: the row that consolidates (tổng hợp)")))
        body += ["  cadence:", "    deadlines:"]
        for day, name in r.deadlines:
            on = day.strftime("%d/%m/%Y")
            body.append(f"      - {{on: {q(on)}, name: {q(name)}}}" if name else f"      - {q(on)}")
        out += [("  # " if row.broken else "  ") + b for b in body]
    return out if any(not r.broken for r in rows) else ["", "# reporting:", *out[2:]]


def q(value: Any) -> str:
    """A YAML scalar: JSON's double-quoted string is valid YAML."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {q(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(q(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _codes(obligations: list[Obligation]) -> list[str]:
    codes: list[str] = []
    for o in obligations:
        base = "-".join(slug(o.title).split("-")[:5]) or "nghia-vu"
        code, n = base, 2
        while code in codes:
            code, n = f"{base}-{n}", n + 1
        codes.append(code)
    return codes


def emit(
    name: str,
    *,
    code: str,
    title: str,
    issuer: str,
    number: str,
    issued_on: date | None,
    year: int,
    legal_basis: list[str],
    topics: list[tuple[int, str]],
    audiences: list[str],
    agencies: list[Agency],
    obligations: list[Obligation],
    reports: list[ReportRow],
    notes: list[str],
    say: Callable[..., str],
) -> str:
    out = ["# " + say(N_("Draft imported from {name}: check every TODO before loading it."), name=name), ""]
    out += [f"# {n}" for n in notes]
    out += ["plan:", f"  code: {q(code)}", f"  title: {q(title)}", f"  issuer: {q(issuer)}"]
    if number:
        out.append(f"  number: {q(number)}")
    if issued_on:
        out.append(f"  issued_on: {q(issued_on.strftime('%d/%m/%Y'))}")
    out.append(f"  period: {q(str(year))}  # " + say(N_("Default: the plan's year")))
    if legal_basis:
        out.append("  legal_basis:")
        out += [f"    - {q(b)}" for b in legal_basis]
    if audiences:
        out += ["", "audiences:"]
        codes: set[str] = set()
        for title in audiences:
            code = base = "-".join(slug(title).split("-")[:4])
            while code in codes:
                code = f"{base}-{len(codes) + 1}"
            codes.add(code)
            out += [f"  - code: {q(code)}", f"    title: {q(title[:1].upper() + title[1:])}"]
    if topics:
        out += ["", "topics:"]
        for i, (line, t) in enumerate(topics, start=1):
            out += [f"  # (line {line})", f"  - code: {q(f'chu-de-{i}')}", f"    title: {q(t)}"]
    out += ["", "agencies:"]
    for a in agencies:
        out.append(f"  - code: {q(a.code)}")
        out.append(f"    name: {q(a.name)}")
        proposed = "  # " + say(N_("proposed: a new agency, its kind from its name"))
        out.append(f"    kind: {q(a.kind)}" + ("" if a.known else proposed))
        if a.kind == "group":
            out.append(
                "    members: []  # TODO: " + say(N_("the plan names no members; a group without members owes nothing"))
            )
    if not agencies:
        out[-1] = "agencies: []"
    out += ["", "obligations:"]
    live = 0
    for o, ocode in zip(obligations, _codes(obligations), strict=True):
        body = [f"- code: {q(ocode)}", f"  title: {q(o.title)}"]
        body += [f"  {key}: {q(getattr(o, key))}" for key in OBLIGATION_KEYS if getattr(o, key)]
        span = f"line {o.row.line}" if o.row.line == o.row.last else f"lines {o.row.line}-{o.row.last}"
        out.append(f"  # ({span}) {o.row.source}")
        out += [f"  # {n}" for n in o.notes]
        out += [("  # " if o.broken else "  ") + b for b in body]
        live += not o.broken
    if not live:
        out[out.index("obligations:")] = "obligations: []"
    if reports:
        out += _reporting(reports, say)
    return "\n".join(out) + "\n"
