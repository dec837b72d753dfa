"""A proposal: what an outlet's own records say about one occurrence (or
about aired work nobody owes), kept until a person confirms or rejects it.

The pure value every harvester makes (as-run matching, articles, portal
attestations) and ``store/proposals.py`` keeps. ``key`` makes harvesting the
same thing twice a no-op: the same as-run row, article URL or quarter gives
the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scheduler.errors import N_, SchedulerError

# What a harvest found, as message ids (their Vietnamese is in the catalog:
# pages and commands show ``_(kind)``).
ON_TIME = N_("aired on time")
SHORT = N_("aired short")
OUTSIDE = N_("aired outside the window")
NOT_AIRED = N_("scheduled but not aired")
NOT_OWED = N_("aired but not owed")
ARTICLE = N_("published online")
ATTESTATION = N_("portal kept up")
KINDS = (ON_TIME, SHORT, OUTSIDE, NOT_AIRED, NOT_OWED, ARTICLE, ATTESTATION)
# The kinds a producer can confirm into a delivery: the others are shown, not recorded.
RECORDABLE = (ON_TIME, SHORT, OUTSIDE, ARTICLE, ATTESTATION)

# A proposal's life: open until a person (or the outlet's auto_record) decides.
OPEN, CONFIRMED, REJECTED, RECORDED = "open", "confirmed", "rejected", "recorded"  # RECORDED: by auto_record
STATES = (OPEN, CONFIRMED, REJECTED, RECORDED)
STATE_WORDS = {  # the states in people's words (message ids)
    OPEN: N_("awaiting a decision"),
    CONFIRMED: N_("confirmed"),
    REJECTED: N_("rejected"),
    RECORDED: N_("recorded automatically"),
}


@dataclass(frozen=True)
class Proposal:
    """``evidence`` holds what a delivery would: moment (ISO, aware),
    moment_kind ("aired"/"published"), duration (seconds), url, title, fields
    (issue_number, page, …), files ([{sha256, size, name, type}]).
    ``source`` says where it came from and goes into the ledger entry as is:
    {"type": "asrun", "file_sha256", "rows": [2, 3], "name"} |
    {"type": "feed" | "sitemap", "url", "feed", "fetched_at", "snapshot_sha256"} |
    {"type": "checks", "urls", "from", "to", "checks", "failed", "history_sha256"}."""

    kind: str
    outlet: str
    plan: str
    obligation: str
    occurrence: str | None  # None: aired but owed by no occurrence
    key: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    source: Mapping[str, Any] = field(default_factory=dict)
    detail: str = ""  # one line for people: why this kind (e.g. "9 phút 40 giây, thiếu 20 giây")
    found_at: datetime | None = None  # the harvest's now


def proposal_key(*parts: object) -> str:
    """A stable key from what identifies the harvested thing (64 hex digits)."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def account_of(outlet: str, configured: str = "") -> str:
    """Who records an outlet's proposals automatically: its configured
    harvesting account, or a name no person has."""
    return configured or f"thu-thap+{outlet}"


@dataclass(frozen=True)
class Owed:
    """An occurrence an outlet owes, as the harvesters need it (built from the
    database by ``store/proposals.py`` ``owed_of``). Times are aware, in the
    plan's zone; the window is [window_start, window_end)."""

    id: str
    plan: str
    obligation: str
    outlet: str  # the agency that owes it
    period: str
    number: int
    window_start: datetime
    window_end: datetime
    due: datetime
    slot: datetime | None
    channels: tuple[str, ...]
    match: Any = None  # plan.harvest_settings.Match, or None when the production file says nothing
    checks: tuple[Any, ...] = ()  # plan.harvest_settings.Check
    min_duration: int | None = None  # seconds
    duration: int | None = None  # the nominal length, seconds
    tolerance: int | None = None  # seconds short of ``duration`` that still conform
    status: str = "scheduled"  # or "cancelled"
    met: bool = False  # a conforming delivery or an excuse is recorded
    delivered_title: str = ""  # the recorded delivery's title: a later airing of it is a rerun
    continuous: bool = False  # kept up all along, attested per window (a portal section)


@dataclass(frozen=True)
class Fetched:
    """One answer the fetcher got (``scheduler.fetching``), as plain values."""

    url: str  # as asked
    final_url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    fetched_at: datetime
    etag: str = ""
    last_modified: str = ""


class FetchFailed(SchedulerError):
    """A fetch that gave nothing usable (refused address, timeout, too large,
    an HTTP error): the message says which, for people."""
