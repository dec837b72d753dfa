"""Groups in the per-agency summary: a group's members owe apart (each its
own row), and the summary shows the group as the sum of its members with
the members listed under it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Row = dict[str, Any]


def roll_up(
    per_agency: list[Row],
    members: Mapping[str, Sequence[str]],
    name: Callable[[str], str],
    total: Callable[[list[Row]], Row],
) -> list[Row]:
    """``per_agency`` (one row per agency) with the rows of a group's members
    replaced, where the first of them stood, by one row for the group
    (``total`` of theirs) carrying them under ``members``. Agencies in no
    group stay as they are; a group none of whose members has a row is left out."""
    group_of = {m: g for g, ms in members.items() for m in ms}
    under: dict[str, list[Row]] = {}
    for row in per_agency:
        if row["agency"] in group_of:
            under.setdefault(group_of[row["agency"]], []).append(row)
    found: list[Row] = []
    for row in per_agency:
        group = group_of.get(row["agency"])
        if group is None:
            found.append(row)
        elif under[group][0] is row:
            found.append({"agency": group, "agency_name": name(group), **total(under[group]), "members": under[group]})
    return found


def flat(per_agency: list[Row]) -> list[Row]:
    """Each group followed by its members (marked with ``group``), for a table."""
    return [r for row in per_agency for r in [row, *({**m, "group": row["agency"]} for m in row.get("members", []))]]
