"""Agencies renamed, merged or dissolved on a day (the 2025 reorganisation).

Pure rules: who owes on a given day (following chains A→B→C), the name in
force that day, and the checks that make a set of successions coherent.
History is never rewritten: before the day the old agency owes under its old
name, from the day the successor owes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from scheduler.errors import N_, Problem, ScheduleError

RENAME, MERGE, DISSOLVE = "rename", "merge", "dissolve"
KINDS = (RENAME, MERGE, DISSOLVE)


@dataclass(frozen=True)
class Succession:
    """One change of one agency on ``on``. ``successor`` is "" for a rename
    and for a dissolve that cancels what the agency still owed."""

    kind: str
    agency: str
    on: date
    successor: str = ""
    name: str = ""  # the new name (a rename), or the successor's when it is new
    name_en: str = ""
    reason: str = ""
    source: str = ""  # the command, or "file:line"
    old_name: str = ""  # the name before it, as recorded (history)
    old_name_en: str = ""

    @property
    def ends(self) -> bool:
        """The agency ceases to exist on ``on`` (merge, dissolve)."""
        return self.kind in (MERGE, DISSOLVE)

    @property
    def same_as(self) -> tuple[str, str, date, str]:
        """What makes two records the same succession (a file applied twice)."""
        return (self.kind, self.agency, self.on, self.successor)


def endings(successions: Iterable[Succession]) -> dict[str, Succession]:
    """Each agency's merge or dissolution (the first, if several): computed
    once and passed to ``successor_on`` when asking about many agencies."""
    found: dict[str, Succession] = {}
    for s in successions:
        if s.ends and (s.agency not in found or s.on < found[s.agency].on):
            found[s.agency] = s
    return found


def successor_on(code: str, day: date, successions: Iterable[Succession] | dict[str, Succession]) -> str | None:
    """The agency that owes on ``day`` what ``code`` owed: ``code`` itself
    until it ended, then its successor (and the successor's, on and on);
    None when it was dissolved without one.

    >>> s = [Succession("merge", "a", date(2025, 7, 1), "b"), Succession("merge", "b", date(2026, 1, 1), "c")]
    >>> [successor_on("a", day, s) for day in (date(2025, 6, 30), date(2025, 7, 1), date(2026, 1, 2))]
    ['a', 'b', 'c']
    """
    ended = successions if isinstance(successions, dict) else endings(successions)
    seen = {code}
    while (end := ended.get(code)) is not None and end.on <= day:
        if not end.successor:
            return None
        code = end.successor
        if code in seen:  # check() refuses cycles; never loop on stored data
            break
        seen.add(code)
    return code


def name_on(code: str, day: date, successions: Iterable[Succession], current_name: tuple[str, str]) -> tuple[str, str]:
    """(name, name_en) of ``code`` in force on ``day``: the latest rename on
    or before it, else the name the first later rename replaced, else today's.

    >>> s = [Succession("rename", "a", date(2025, 7, 1), name="New", old_name="Old")]
    >>> name_on("a", date(2025, 6, 30), s, ("New", "")), name_on("a", date(2025, 7, 1), s, ("New", ""))
    (('Old', ''), ('New', ''))
    """
    renames = sorted((s for s in successions if s.kind == RENAME and s.agency == code), key=lambda s: s.on)
    before = [s for s in renames if s.on <= day]
    if before:
        last = before[-1]
        return (last.name or current_name[0], last.name_en or current_name[1])
    after = [s for s in renames if s.on > day]
    if after and after[0].old_name:
        return (after[0].old_name, after[0].old_name_en or current_name[1])
    return current_name


def renames_at(codes: Iterable[str], day: date, successions: Sequence[Succession]) -> dict[str, str | None]:
    """Each code that no longer owes on ``day`` -> who does (None: nobody);
    what rolling a plan into a new year replaces."""
    found: dict[str, str | None] = {}
    ended = endings(successions)
    for code in codes:
        now = successor_on(code, day, ended)
        if now != code:
            found[code] = now
    return found


def problems(new: Sequence[Succession], recorded: Sequence[Succession] = ()) -> list[Problem]:
    """What is wrong with ``new`` given what is ``recorded``: each problem
    names the source (file:line or the command) of the offending succession."""
    found: list[Problem] = []

    def fail(s: Succession, message: str, **params: object) -> None:
        where, _, line = s.source.rpartition(":")
        if where and line.isdigit():
            found.append(Problem(where, int(line), s.agency, message, params))
        else:
            found.append(Problem(s.source or "-", None, s.agency, message, params))

    recorded_keys = {r.same_as for r in recorded}
    days: dict[tuple[str, date], Succession] = {(r.agency, r.on): r for r in recorded}
    for s in new:
        if s.kind not in KINDS:
            fail(s, N_('unknown kind "{value}" (allowed: {allowed})'), value=s.kind, allowed=", ".join(KINDS))
            continue
        if s.kind == RENAME and (s.successor or not s.name):
            fail(s, N_("a rename needs a new name and no successor"))
        if s.kind == MERGE and not s.successor:
            fail(s, N_("a merge needs the agency it merges into"))
        if s.kind == DISSOLVE and not s.successor and not s.reason:
            fail(s, N_("dissolving needs a successor for what is still owed, or a reason to cancel it"))
        if s.successor and s.successor == s.agency:
            fail(s, N_('"{code}" cannot merge into itself'), code=s.agency)
        if s.same_as in recorded_keys:
            continue  # already recorded: applying a file twice records nothing new
        other = days.get((s.agency, s.on))
        if other is not None and other.same_as != s.same_as:
            fail(
                s,
                N_("a second change of this agency on {day} (the other: {other})"),
                day=s.on.strftime("%d/%m/%Y"),
                other=other.source or other.kind,
            )
        days[(s.agency, s.on)] = s
    ended = {r.agency: r for r in reversed(recorded) if r.ends}  # each agency's first ending
    for s in new:
        other = ended.get(s.agency)
        if s.ends and other is not None and other.same_as != s.same_as:
            fail(
                s,
                N_("this agency already ended on {day} ({other})"),
                day=other.on.strftime("%d/%m/%Y"),
                other=other.source or other.kind,
            )
        elif s.ends:
            ended.setdefault(s.agency, s)
    if found:
        return found
    edges = endings([*recorded, *new])
    for s in new:
        code, seen = s.agency, [s.agency]
        while (end := edges.get(code)) is not None and end.successor:
            code = end.successor
            if code in seen:
                fail(s, N_("these successions go round in a circle: {path}"), path=" → ".join([*seen, code]))
                return found
            seen.append(code)
    return found


def check(new: Sequence[Succession], recorded: Sequence[Succession] = ()) -> None:
    """Raise a ScheduleError listing every problem (see ``problems``)."""
    found = problems(new, recorded)
    if found:
        raise ScheduleError(found)
