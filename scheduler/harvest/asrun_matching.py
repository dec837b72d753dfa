"""Aired items matched to what an outlet owes, as proposals a producer confirms.

A program is recognised by its obligation's ``match`` (codes exactly, titles
folded by ``titles.matches``, ``exclude`` never). Rows of one program on one
day split by a break of at most 15 minutes (or named "phần 1", "P2", "(1/2)",
"part 2", "kỳ 1") are one episode; an airing named "phát lại", "PL", "rerun"
or "replay", or with the title of an earlier episode, is a rerun and no
second delivery. Each new episode goes to the window containing its start
(the occurrence with the nearest slot first, else the lowest number); one
that finds that window full (or no window) goes, late, to an unmet
occurrence of the window before (OUTSIDE), else it is not owed. An unmet
occurrence whose slot (or whole window) the log covers and that got nothing
is proposed as not aired.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from scheduler.errors import N_
from scheduler.harvest.asrun import AiredItem
from scheduler.harvest.proposals import NOT_AIRED, NOT_OWED, ON_TIME, OUTSIDE, SHORT, Owed, Proposal, proposal_key
from scheduler.harvest.titles import any_match, normal

RERUN = "rerun"  # an outcome, not a proposal: an episode aired again
OTHER = "other"  # a row of something else (news, ads, another program)
# The outcomes that make no proposal, as people read them (message ids).
OUTCOME_WORDS = {RERUN: N_("reruns (no second delivery)"), OTHER: N_("other programs")}
BREAK = timedelta(minutes=15)  # the longest break inside one episode
FAR = timedelta(days=3660)

_RERUN = re.compile(r"\b(?:phat lai|pl|rerun|replay|repeat)\b")
_PART = re.compile(r"\b(?:phan|part|ky|p)\s*\.?\s*\d{1,2}(?:\s*/\s*\d{1,2})?\b|\(\s*\d{1,2}\s*/\s*\d{1,2}\s*\)")


@dataclass(frozen=True)
class Outcome:
    """What the matcher made of rows: a proposal kind, RERUN or OTHER (for checking it)."""

    rows: tuple[int, ...]
    kind: str
    obligation: str = ""
    occurrence: str | None = None


@dataclass(frozen=True)
class Matching:
    proposals: list[Proposal]
    outcomes: list[Outcome]


@dataclass
class _Episode:
    program: tuple[str, str]  # (plan, obligation)
    items: list[AiredItem]
    rerun: bool
    base: str  # the folded title without part and rerun marks

    @property
    def start(self) -> datetime:
        return self.items[0].start

    @property
    def end(self) -> datetime:
        return self.items[-1].end

    @property
    def duration(self) -> int:
        return sum(i.duration for i in self.items)

    @property
    def rows(self) -> tuple[int, ...]:
        return tuple(r for i in self.items for r in i.rows)


def _fold(text: str) -> str:
    """Lower case without diacritics, punctuation kept (for the part and rerun marks)."""
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in folded if not unicodedata.combining(c)).lower()


def marks(title: str) -> tuple[str, bool, bool]:
    """(base title, is a rerun, is a part).

    >>> marks("Cải cách hành chính số 5 (phần 1/2) - Phát lại")
    ('cai cach hanh chinh so 5', True, True)
    >>> marks("CCHC số 5 - P2")
    ('cchc so 5', False, True)
    """
    folded = _fold(title)
    part = bool(_PART.search(folded))
    rerun = bool(_RERUN.search(normal(folded)))
    base = normal(_PART.sub(" ", folded))
    return normal(_RERUN.sub(" ", base)), rerun, part


def duration_words(seconds: int) -> str:
    """ "9 phút 40 giây" """
    h, rest = divmod(abs(seconds), 3600)
    m, s = divmod(rest, 60)
    words = [f"{h} giờ"] if h else []
    words += [f"{m} phút"] if m else []
    words += [f"{s} giây"] if s or not words else []
    return " ".join(words)


def _program(item: AiredItem, programs: Mapping[tuple[str, str], Any]) -> tuple[str, str] | None:
    for key, match in programs.items():
        if any_match(match.exclude, item.title):
            continue
        if item.code and item.code.casefold() in {c.casefold() for c in match.codes}:
            return key
        if any_match(match.titles, item.title):
            return key
    return None


def _episodes(
    items: Sequence[AiredItem], programs: Mapping[tuple[str, str], Any]
) -> tuple[list[_Episode], list[AiredItem]]:
    episodes: list[_Episode] = []
    other: list[AiredItem] = []
    last: dict[tuple[str, str], _Episode] = {}
    for item in sorted(items, key=lambda i: (i.start, i.rows)):
        program = _program(item, programs)
        if program is None:
            other.append(item)
            continue
        base, rerun, part = marks(item.title)
        current = last.get(program)
        if current and current.rerun == rerun and current.end.date() == item.start.date():
            _, _, current_part = marks(current.items[-1].title)
            gap = item.start - current.end
            if timedelta(minutes=-1) <= gap <= BREAK or (part and current_part and base == current.base):
                current.items.append(item)
                continue
        last[program] = _Episode(program, [item], rerun, base)
        episodes.append(last[program])
    return episodes, other


def _generic(base: str, match: Any) -> bool:
    """A title that only names the program: the same every week, so no sign of a rerun."""
    return not base or base in {normal(p.replace("*", " ")) for p in match.titles} | {normal(c) for c in match.codes}


def _required(o: Owed) -> int | None:
    if o.min_duration:
        return int(o.min_duration)
    if o.duration:
        return int(o.duration) - int(o.tolerance or 0)
    return None


def _distance(o: Owed, e: _Episode) -> tuple[timedelta, int]:
    return (abs(o.slot - e.start) if o.slot else FAR, o.number)


def _assign(episodes: list[_Episode], occs: list[Owed]) -> dict[int, tuple[Owed, bool]]:
    """Episode index → (occurrence, in its window), windows in time order."""
    taken: set[str] = {o.id for o in occs if o.met}
    found: dict[int, tuple[Owed, bool]] = {}
    windows = sorted({(o.window_start, o.window_end) for o in occs})
    for ws, we in windows:
        inside = [i for i, e in enumerate(episodes) if ws <= e.start < we]
        owed = [o for o in occs if (o.window_start, o.window_end) == (ws, we)]
        pairs = sorted((_distance(o, episodes[i]), i, o.id) for o in owed for i in inside)
        by_id = {o.id: o for o in owed}
        for _, i, oid in pairs:
            if i not in found and oid not in taken:
                taken.add(oid)
                found[i] = (by_id[oid], True)
    for i, e in enumerate(episodes):
        if i in found:
            continue
        before = [w for w in windows if w[1] <= e.start]
        if not before:
            continue
        free = [o for o in occs if (o.window_start, o.window_end) == before[-1] and o.id not in taken]
        if free:
            best = min(free, key=lambda o: _distance(o, e))
            taken.add(best.id)
            found[i] = (best, False)
    return found


def match_asrun(
    items: Sequence[AiredItem],
    owed: Sequence[Owed],
    outlet: str,
    source: Mapping[str, Any],
    now: datetime,
    files: Sequence[Mapping[str, Any]] = (),
) -> Matching:
    """The proposals of one as-run log and what became of each of its rows."""
    programs: dict[tuple[str, str], Any] = {}
    for o in owed:
        if o.match is not None and (o.match.titles or o.match.codes):
            programs.setdefault((o.plan, o.obligation), o.match)
    episodes, other = _episodes(items, programs)
    outcomes = [Outcome(i.rows, OTHER) for i in other]
    proposals: list[Proposal] = []
    assigned: set[str] = set()

    def propose(kind: str, program: tuple[str, str], o: Owed | None, e: _Episode, detail: str) -> None:
        title = e.items[0].title
        evidence = {"moment": e.start.isoformat(), "moment_kind": "aired", "duration": e.duration, "title": title}
        if files:
            evidence["files"] = [dict(f) for f in files]
        key = proposal_key("asrun", outlet, program[1], e.start.strftime("%Y-%m-%dT%H:%M"), e.base)
        src = {**source, "rows": list(e.rows)}
        proposals.append(Proposal(kind, outlet, program[0], program[1], o.id if o else None, key, evidence, src,
                                  detail, now))  # fmt: skip
        outcomes.append(Outcome(e.rows, kind, program[1], o.id if o else None))

    for program, match in programs.items():
        occs = [o for o in owed if (o.plan, o.obligation) == program and o.status != "cancelled"]
        delivered = {marks(o.delivered_title)[0] for o in occs if o.delivered_title}
        seen: set[str] = set()
        new: list[_Episode] = []
        for e in (e for e in episodes if e.program == program):
            repeated = not _generic(e.base, match) and (e.base in seen or e.base in delivered)
            seen.add(e.base)
            if e.rerun or repeated:
                outcomes.append(Outcome(e.rows, RERUN, program[1]))
            else:
                new.append(e)
        found = _assign(new, occs)
        for i, e in enumerate(new):
            if i not in found:
                propose(NOT_OWED, program, None, e, "không còn số nào phải phát (đã đủ hoặc đã ghi nhận)")
                continue
            o, inside = found[i]
            assigned.add(o.id)
            required = _required(o)
            said = duration_words(e.duration)
            if not inside:
                detail = f"{said}; phát {e.start:%H:%M %d/%m/%Y}, sau khung {o.period}: muộn cho {o.period} #{o.number}"
                propose(OUTSIDE, program, o, e, detail)
            elif required is not None and e.duration < required:
                propose(SHORT, program, o, e, f"{said}, thiếu {duration_words(required - e.duration)}")
            else:
                propose(ON_TIME, program, o, e, said)
    proposals.extend(_not_aired(items, owed, programs, assigned, outlet, source, now, outcomes))
    return Matching(proposals, outcomes)


def _not_aired(
    items: Sequence[AiredItem],
    owed: Sequence[Owed],
    programs: Mapping[tuple[str, str], Any],
    assigned: set[str],
    outlet: str,
    source: Mapping[str, Any],
    now: datetime,
    outcomes: list[Outcome],
) -> list[Proposal]:
    """Unmet occurrences the log covers (their slot, or their whole window) that got nothing."""
    if not items:
        return []
    first, last = min(i.start for i in items), max(i.end for i in items)
    day_first = datetime.combine(first.date(), time(0), first.tzinfo)
    day_after = datetime.combine(last.date() + timedelta(days=1), time(0), last.tzinfo)
    found = []
    for o in owed:
        if (o.plan, o.obligation) not in programs or o.met or o.id in assigned or o.status == "cancelled":
            continue
        if o.slot is not None:
            covered = first <= o.slot <= last and o.slot <= now
            detail = f"không thấy phát lúc {o.slot:%H:%M %d/%m/%Y}"
        else:
            covered = day_first <= o.window_start and o.window_end <= min(day_after, now)
            detail = f"không thấy phát trong khung {o.period}"
        if covered:
            key = proposal_key("asrun", outlet, o.obligation, o.id, NOT_AIRED)
            found.append(Proposal(NOT_AIRED, outlet, o.plan, o.obligation, o.id, key, {}, {**source, "rows": []},
                                  detail, now))  # fmt: skip
            outcomes.append(Outcome((), NOT_AIRED, o.obligation, o.id))
    return found


def propose_asrun(
    items: Sequence[AiredItem], owed: Sequence[Owed], outlet: str, source: Mapping[str, Any], now: datetime
) -> list[Proposal]:
    return match_asrun(items, owed, outlet, source, now).proposals
