"""Recording deliveries and excuses: the rules, pure.

The moment the evidence proves (aired, published) is kept apart from the
moment it was recorded. Compliance is judged on the proved moment against
the occurrence's window; a duration under the minimum is recorded but does
not meet the occurrence; a met occurrence takes no second delivery unless
the new entry names the one it supersedes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scheduler.errors import N_, SchedulerError
from scheduler.plan.channels import EVIDENCE_FIELDS, Channel, EvidenceItem, evidence_of, moment_kind

ON_TIME, LATE, NON_CONFORMING, EXCUSED = N_("on_time"), N_("late"), N_("non_conforming"), N_("excused")
CHANNEL_FIELDS = EVIDENCE_FIELDS  # issue_number, page, participants, place, document_number, document_date


class DeliveryError(SchedulerError):
    """Refused input; ``field`` names the request part (HTTP 422, exit 1)."""

    def __init__(self, field_name: str, message: str, **params: object):
        super().__init__(message, **params)
        self.field = field_name


@dataclass(frozen=True)
class FileRef:
    sha256: str
    size: int
    name: str
    type: str


@dataclass(frozen=True)
class Evidence:
    """What a producer submits for one delivery."""

    moment: datetime
    moment_kind: str  # "aired" or "published"
    duration: int | None = None  # seconds
    url: str = ""
    title: str = ""
    topics: tuple[str, ...] = ()
    note: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)  # CHANNEL_FIELDS: issue_number, page, …
    files: tuple[FileRef, ...] = ()
    supersedes: int | None = None
    # Where it came from when a harvest proposed it (harvest/proposals.py
    # ``Proposal.source``, plus the proposal's id): kept in the hashed entry.
    source: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """What the rules need to know about the occurrence delivered against."""

    id: str
    status: str
    window_start: datetime
    window_end: datetime
    min_duration: int | None
    channels: tuple[str, ...]
    number: int
    own: tuple[Channel, ...] = ()  # the plan's own channels
    duration: int | None = None  # the nominal length the plan states, seconds
    tolerance: int | None = None  # how far short of it still conforms
    max_duration: int | None = None


@dataclass(frozen=True)
class Recorded:
    """An entry already in the ledger for an occurrence (its payload's gist)."""

    seq: int
    kind: str  # "delivery" or "excuse"
    occurrence: str
    moment: datetime | None
    conforming: bool
    late: bool
    extra: bool = False
    superseded: bool = False
    note: str = ""


@dataclass(frozen=True)
class Verdict:
    conforming: bool
    late: bool
    reasons: tuple[tuple[str, dict[str, object]], ...]  # why it does not conform, as message ids with params
    gaps: tuple[str, ...]  # usual evidence missing, as message ids


def active(entries: Iterable[Recorded]) -> list[Recorded]:
    return [e for e in entries if not e.superseded]


def meets(e: Recorded) -> bool:
    """An active entry that meets its occurrence: an excuse or a conforming delivery, never an extra."""
    return not e.superseded and not e.extra and (e.kind == "excuse" or e.conforming)


def is_met(entries: Iterable[Recorded]) -> bool:
    return any(meets(e) for e in entries)


def evidence_gaps(channels: tuple[str, ...], e: Evidence, own: tuple[Channel, ...] = ()) -> tuple[str, ...]:
    """The channels' usual evidence that is missing: shown later, never refused."""
    return tuple(dict.fromkeys(item.gap for item in evidence_of(channels, own) if not _has(item, e)))


def _has(item: EvidenceItem, e: Evidence) -> bool:
    if item.check == "duration":
        return e.duration is not None
    if item.check == "url":
        return bool(e.url)
    if item.check == "recording":
        return bool(e.url) or any(f.type.startswith(("video/", "audio/")) for f in e.files)
    if item.check == "image":
        return any(f.type.startswith("image/") for f in e.files)
    if item.check == "file":
        return bool(e.files)
    return bool(e.fields.get(item.name))


def judge(
    target: Target,
    evidence: Evidence,
    recorded: list[Recorded],
    now: datetime,
    extra: bool = False,
    open_sibling: str | None = None,
) -> Verdict:
    """Check one delivery against its occurrence; raise DeliveryError to refuse."""
    where = "aired_at" if evidence.moment_kind == "aired" else "published_at"
    if target.status == "cancelled":
        raise DeliveryError(
            "occurrence", N_("occurrence {id} is cancelled; nothing can be delivered for it"), id=target.id
        )
    if evidence.moment > now:
        raise DeliveryError(where, N_("{moment} is in the future"), moment=_show(evidence.moment))
    if evidence.moment < target.window_start:
        zone = target.window_start.tzinfo  # shown as the plan's people read it
        raise DeliveryError(
            where,
            N_("{moment} is before the window opens ({start})"),
            moment=_show(evidence.moment.astimezone(zone)),
            start=_show(target.window_start),
        )
    if evidence.duration is not None and evidence.duration < 0:
        raise DeliveryError("duration", N_("a duration cannot be negative"))
    if evidence.supersedes is not None:
        mine = {e.seq: e for e in recorded}
        old = mine.get(evidence.supersedes)
        if old is None:
            raise DeliveryError(
                "supersedes",
                N_("entry {seq} is not an entry of occurrence {id}"),
                seq=evidence.supersedes,
                id=target.id,
            )
        if old.superseded:
            raise DeliveryError("supersedes", N_("entry {seq} is already superseded"), seq=evidence.supersedes)
    elif not extra and is_met(recorded):
        met = next(e for e in recorded if meets(e))
        if open_sibling:
            raise DeliveryError(
                "occurrence",
                N_(
                    "occurrence {id} is already met (entry {seq}); record this delivery against {open}, the open "
                    "occurrence of the same window, or name the entry it supersedes"
                ),
                id=target.id,
                seq=met.seq,
                open=open_sibling,
            )
        raise DeliveryError(
            "occurrence",
            N_("occurrence {id} is already met (entry {seq}); name the entry this one supersedes to correct it"),
            id=target.id,
            seq=met.seq,
        )
    reasons = _length_reasons(target, evidence.duration)
    return Verdict(
        not reasons,
        evidence.moment >= target.window_end,
        tuple(reasons),
        evidence_gaps(target.channels, evidence, target.own),
    )


def _length_reasons(target: Target, duration: int | None) -> list[tuple[str, dict[str, object]]]:
    """Shorter than the minimum (a stated length less its tolerance) or longer
    than a stated maximum does not conform; longer without a maximum does."""
    if duration is None:
        return []
    reasons: list[tuple[str, dict[str, object]]] = []
    if target.min_duration and duration < target.min_duration:
        if target.duration and target.tolerance:
            reasons.append(
                (
                    N_("shorter than {nominal} ± {tolerance} min: {duration} min < {minimum} min"),
                    {
                        "nominal": _min(target.duration),
                        "tolerance": _min(target.tolerance),
                        "duration": _min(duration),
                        "minimum": _min(target.min_duration),
                    },
                )
            )
        else:
            reasons.append(
                (
                    N_("shorter than the minimum: {duration} min < {minimum} min"),
                    {"duration": _min(duration), "minimum": _min(target.min_duration)},
                )
            )
    if target.max_duration and duration > target.max_duration:
        reasons.append(
            (
                N_("longer than the maximum: {duration} min > {maximum} min"),
                {"duration": _min(duration), "maximum": _min(target.max_duration)},
            )
        )
    return reasons


def _min(seconds: int) -> str:
    return f"{seconds / 60:.3g}"


def _show(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M")


def choose_target(window: list[tuple[Target, list[Recorded]]]) -> tuple[Target, bool]:
    """For "obligation and period": the lowest-numbered open occurrence of the
    window; when all are met, the last one, and the delivery is an extra."""
    live = [(t, r) for t, r in sorted(window, key=lambda p: p[0].number) if t.status != "cancelled"]
    if not live:
        raise DeliveryError("period", N_("every occurrence of this period is cancelled"))
    for target, recorded in live:
        if not is_met(recorded):
            return target, False
    return live[-1][0], True


@dataclass(frozen=True)
class State:
    """What recorded entries make of an occurrence (None: nothing yet)."""

    state: str | None
    moment: datetime | None = None
    seq: int | None = None
    note: str = ""


def occurrence_state(entries: Iterable[Recorded]) -> State:
    """Excused wins; else the earliest conforming delivery (on time or late);
    else a non-conforming one; else nothing. Extras never change it."""
    live = [e for e in active(entries) if not e.extra]
    excuses = [e for e in live if e.kind == "excuse"]
    if excuses:
        last = max(excuses, key=lambda e: e.seq)
        return State(EXCUSED, seq=last.seq, note=last.note)
    conforming = sorted((e for e in live if e.kind == "delivery" and e.conforming), key=lambda e: (e.moment, e.seq))
    if conforming:
        first = conforming[0]
        return State(LATE if first.late else ON_TIME, first.moment, first.seq)
    others = sorted((e for e in live if e.kind == "delivery"), key=lambda e: (e.moment, e.seq))
    if others:
        return State(NON_CONFORMING, others[0].moment, others[0].seq, others[0].note)
    return State(None)


def moment_kind_for(channels: tuple[str, ...], own: tuple[Channel, ...] = ()) -> str:
    """Broadcasts and loudspeakers air; everything else is published (held, checked)."""
    return moment_kind(channels, own)
