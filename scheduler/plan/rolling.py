"""Next year's plan from this year's: shift the dates, rename or merge
agencies, drop what belongs to one year only. Comments are kept.

Provinces reissue nearly the same plan every year; what changes is the year,
a few agencies (in 2025 several were merged), and the year-specific details
that must be set again (exceptions, moved working days, the document number).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from scheduler.errors import N_, InputError
from scheduler.plan.periods import parse_period
from scheduler.plan.yaml_source import load_yaml, yaml_reader

_DATES = re.compile(
    r"(?P<dmy>(?<!\d)(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})(?!\d))"
    r"|(?P<iso>(?<!\d)(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})(?!\d))"
    r"|(?P<until>(?<=UNTIL=)(?P<uy>\d{4})(?P<umd>\d{4}))"
    r"|(?P<year>(?<![\d-])\d{4}(?![\d-]))"
)


@dataclass(frozen=True)
class Note:
    message: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Rolled:
    code: str
    text: str
    notes: tuple[Note, ...]


def shift_day(day: date, years: int) -> date:
    """The same day ``years`` later; 29/02 becomes 28/02 outside leap years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def shift_text(text: str, years: int) -> str:
    """Move every date and year written in ``text`` by ``years``.

    >>> shift_text("01/07/2024 - 29/02/2024, Q3/2024, UNTIL=20241231T000000Z", 1)
    '01/07/2025 - 28/02/2025, Q3/2025, UNTIL=20251231T000000Z'
    """

    def move(m: re.Match[str]) -> str:
        if m["dmy"]:
            d = shift_day(date(int(m["y"]), int(m["m"]), int(m["d"])), years)
            return f"{d.day:0{len(m['d'])}d}/{d.month:0{len(m['m'])}d}/{d.year}"
        if m["iso"]:
            return shift_day(date(int(m["iy"]), int(m["im"]), int(m["id"])), years).isoformat()
        if m["until"]:
            return f"{int(m['uy']) + years}{m['umd']}"
        return str(int(m["year"]) + years)

    return _DATES.sub(move, text)


def _shift(value: Any, years: int) -> Any:
    """Shift a YAML value in place where it is a container; return the new scalar."""
    if isinstance(value, CommentedMap):
        for key in list(value):
            value[key] = _shift(value[key], years)
        return value
    if isinstance(value, CommentedSeq):
        for i, item in enumerate(value):
            value[i] = _shift(item, years)
        return value
    if isinstance(value, date):
        return shift_day(value, years)
    if isinstance(value, int) and not isinstance(value, bool) and 1900 < value < 3000:
        return value + years
    if isinstance(value, str):
        return type(value)(shift_text(value, years))  # keeps ruamel's quoting style
    return value


def _retitle(node: CommentedMap, keys: tuple[str, ...], old: int, new: int) -> None:
    for key in keys:
        if isinstance(node.get(key), str):
            node[key] = re.sub(rf"(?<!\d){old}(?!\d)", str(new), node[key])


def _rename_refs(obligation: CommentedMap, renames: dict[str, str]) -> None:
    if obligation.get("host") in renames:
        obligation["host"] = renames[obligation["host"]]
    for key in ("coordinators", "reminders"):
        items = obligation.get(key)
        if isinstance(items, list):
            seen = []
            for item in items:
                item = renames.get(item, item)
                if item not in seen and item != obligation.get("host"):
                    seen.append(item)
            items[:] = seen


def roll(text: str, source: str, year: int, renames: dict[str, str], names: dict[str, str]) -> Rolled:
    """Roll one schedule file (plan or production layer) to ``year``."""
    yaml = yaml_reader()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # keep long Vietnamese titles on one line, as people wrote them
    yaml.preserve_quotes = True
    data = load_yaml(source, text, yaml)
    if not isinstance(data, CommentedMap) or not ("plan" in data or "production" in data):
        raise InputError(N_("{path} is not a schedule file"), path=source)
    notes: list[Note] = []
    if "production" in data:
        head = data["production"]
        found = re.search(r"(?<!\d)\d{4}(?!\d)", str(head.get("plan", "")))
        old = int(found[0]) if found else year
        head["plan"] = shift_text(str(head["plan"]), year - old)
        head["owner"] = renames.get(head.get("owner"), head.get("owner"))
        code = f"{head['plan']}-{head['owner']}"
        _roll_obligations(list((data.get("obligations") or {}).values()), year - old, renames, notes)
    else:
        head = data["plan"]
        old = parse_period(head["period"]).start.year
        years = year - old
        code = str(head["code"])
        code = re.sub(rf"(?<!\d){old}(?!\d)", str(year), code) if str(old) in code else f"{code}-{year}"
        head["code"] = code
        _retitle(head, ("title", "title_en"), old, year)
        head["period"] = _shift(head["period"], years)
        for key in ("number", "issued_on"):
            if key in head:
                del head[key]
                notes.append(
                    Note(
                        N_("removed plan.{field}: set it when the {year} plan is issued"), {"field": key, "year": year}
                    )
                )
        if "working_days" in head:
            del head["working_days"]
            notes.append(Note(N_("removed plan.working_days: days moved by the government differ each year")))
        if head.get("legal_basis"):
            notes.append(Note(N_("kept plan.legal_basis as it was: check it against the {year} plan"), {"year": year}))
        _roll_agencies(data, renames, names, notes)
        _roll_obligations(list(data.get("obligations") or []), years, renames, notes)
        for obligation in data.get("obligations") or []:
            _retitle(obligation, ("title", "title_en"), old, year)
    out = io.StringIO()
    out.write(f"# Rolled to {year} from {source} by `main.py plan roll`; review the notes it printed.\n")
    yaml.dump(data, out)
    return Rolled(code, out.getvalue(), tuple(notes))


def _roll_agencies(data: CommentedMap, renames: dict[str, str], names: dict[str, str], notes: list[Note]) -> None:
    agencies = data.get("agencies") or []
    codes = [a.get("code") for a in agencies]
    for old in renames:
        if old not in codes:
            raise InputError(
                N_('--rename: no agency "{code}" in this plan (declared: {allowed})'),
                code=old,
                allowed=", ".join(map(str, codes)),
            )
    kept, present = [], {}
    merged: dict[str, list[Any]] = {}
    for agency in agencies:
        code = agency.get("code")
        new = renames.get(code, code)
        if new in present or (new != code and new in codes and new not in renames):
            notes.append(Note(N_('merged agency "{old}" into "{new}"'), {"old": code, "new": new}))
            merged.setdefault(new, []).extend(agency.get("contacts") or [])
            continue
        if new != code:
            agency["code"] = new
            if new not in names:
                notes.append(
                    Note(
                        N_('agency "{new}" (was "{old}") keeps the name "{name}": set it with --name {new}=...'),
                        {"new": new, "old": code, "name": agency.get("name", "")},
                    )
                )
        present[new] = agency
        kept.append(agency)
    for code, contacts in merged.items():
        if code in present:
            target = present[code]
            target["contacts"] = list(dict.fromkeys(list(target.get("contacts") or []) + contacts))
    for agency in kept:
        if agency.get("code") in names:
            agency["name"] = names[agency["code"]]
            if agency.pop("name_en", None):
                notes.append(
                    Note(N_('agency "{code}": removed the old English name; set name_en'), {"code": agency["code"]})
                )
    unknown = set(names) - set(present)
    if unknown:
        raise InputError(N_('--name: no agency "{code}" in the rolled plan'), code=", ".join(sorted(unknown)))
    agencies[:] = kept


def _roll_obligations(obligations: list[Any], years: int, renames: dict[str, str], notes: list[Note]) -> None:
    dropped = 0
    for obligation in obligations:
        if not isinstance(obligation, CommentedMap):
            continue
        _rename_refs(obligation, renames)
        for key in ("cadence", "slots"):
            if key in obligation:
                obligation[key] = _shift(obligation[key], years)
        if "exceptions" in obligation:
            dropped += len(obligation["exceptions"] or [])
            del obligation["exceptions"]
    if dropped:
        notes.append(
            Note(N_("removed {count} exception(s): they belong to one year's occurrences"), {"count": dropped})
        )
