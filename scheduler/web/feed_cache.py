"""Feeds served from memory, refreshed from the database at most once a second.

Every process keeps all serialized items (both languages) and the active
subscriptions. A refresh reads one counter; only when it moved does it fetch
the items changed since, and only the feeds those items belong to are
rebuilt, on their next request. Revoking a subscription or disabling a user
therefore takes effect within ``REFRESH_SECONDS`` in every process.
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import select

from ..feeds import CHANNEL_NAMES, assemble, calendar_head, feed_etag, feed_name
from ..i18n import gettext_for, pick
from ..people import FeedScope, token_digest
from ..store.database import Database
from ..store.feed_items import FeedRow, current_change, fetch_items
from ..store.people import active_subscriptions, scope_of
from ..store.tables import AgencyRow, ObligationRow, PlanRow

REFRESH_SECONDS = 1.0
LANGS = ("vi", "en")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str


@dataclass
class _Built:
    """One feed's items in order, kept so that a change costs a few inserts."""

    keys: list[str]
    rows: dict[str, FeedRow]
    head: bytes
    feed: Feed | None = None


@dataclass
class _State:
    items: dict[str, dict[str, FeedRow]] = field(default_factory=lambda: {lang: {} for lang in LANGS})
    change: int = -1
    subscriptions: dict[str, tuple[FeedScope, str]] = field(default_factory=dict)
    names: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    last_modified: datetime = EPOCH


class FeedCache:
    def __init__(self, db: Database, monotonic: Callable[[], float] = time.monotonic):
        self.db = db
        self.monotonic = monotonic
        self.state = _State()
        self.built: dict[tuple[FeedScope, str], _Built] = {}
        self.checked_at = float("-inf")
        self.lock = threading.Lock()

    def stale(self) -> bool:
        return self.monotonic() - self.checked_at >= REFRESH_SECONDS

    def refresh(self) -> None:
        """Look at the database (blocking); cheap when nothing changed."""
        with self.lock:
            if not self.stale():
                return
            with self.db.transaction() as session:
                change = current_change(session)
                if change != self.state.change:
                    self._apply(session, change)
                self.state.subscriptions = {
                    row.token_sha256: (scope_of(row), lang) for row, lang in active_subscriptions(session)}
            self.checked_at = self.monotonic()

    def _apply(self, session, change: int) -> None:
        state = self.state
        since = state.change if 0 <= state.change <= change else 0
        if since == 0:
            state.items = {lang: {} for lang in LANGS}
            self.built.clear()
        changed: list[FeedRow] = []
        for lang in LANGS:
            rows = fetch_items(session, lang, since)
            for row in rows:
                old = state.items[lang].get(row.uid)
                state.items[lang][row.uid] = row
                if since:
                    self._update_built(lang, old, row)
                if row.last_modified > state.last_modified:
                    state.last_modified = row.last_modified
            changed += rows
        state.change = change
        state.names = {
            "agency": {a.code: (a.name, a.name_en) for a in session.scalars(select(AgencyRow))},
            "obligation": {o.code: (o.title, o.title_en) for o in session.scalars(select(ObligationRow))},
            "plan": {p.code: (p.title, p.title_en) for p in session.scalars(select(PlanRow))},
        }

    def _update_built(self, lang: str, old: FeedRow | None, row: FeedRow) -> None:
        """Move one changed item inside every built feed it was or now is in."""
        for (scope, feed_lang), built in self.built.items():
            if feed_lang != lang:
                continue
            was_in = old is not None and old.uid in built.rows
            if was_in:
                del built.rows[old.uid]
                index = bisect.bisect_left(built.keys, old.sort_key)
                if index < len(built.keys) and built.keys[index] == old.sort_key:
                    built.keys.pop(index)
            is_in = row.live and scope.admits(row.plan, row.agency, row.obligation, row.channels, row.kind)
            if is_in:
                built.rows[row.uid] = row
                bisect.insort(built.keys, row.sort_key)
            if was_in or is_in:
                built.feed = None

    def subscription(self, token: str) -> tuple[FeedScope, str] | None:
        return self.state.subscriptions.get(token_digest(token))

    @property
    def last_modified(self) -> datetime:
        """The latest change of any item, removals included, so one date is
        right for every feed: it moves whenever any feed may have changed."""
        return self.state.last_modified

    def feed(self, scope: FeedScope, lang: str) -> Feed:
        key = (scope, lang)
        built = self.built.get(key)
        if built is not None and built.feed is not None:
            return built.feed
        with self.lock:
            built = self.built.get(key)
            if built is None:
                rows = {uid: r for uid, r in self.state.items[lang].items()
                        if r.live and scope.admits(r.plan, r.agency, r.obligation, r.channels, r.kind)}
                built = _Built(sorted(r.sort_key for r in rows.values()), rows, self._head(scope, lang))
                self.built[key] = built
            if built.feed is None:
                by_key = {r.sort_key: r for r in built.rows.values()}
                ordered = [by_key[k] for k in built.keys]
                built.feed = Feed(assemble(built.head, [r.ical for r in ordered]),
                                  feed_etag(built.head, [r.digest for r in ordered]))
            return built.feed

    def _head(self, scope: FeedScope, lang: str) -> bytes:
        """The calendar's name says what it holds, in the reader's language."""
        _ = gettext_for(lang)
        names = self.state.names
        parts = []
        for kind, code in (("plan", scope.plan), ("agency", scope.agency), ("obligation", scope.obligation)):
            if code:
                parts.append(pick(lang, *names.get(kind, {}).get(code, (code, ""))))
        if scope.channel:
            parts.append(_(CHANNEL_NAMES[scope.channel]))
        name = feed_name(lang, _, " – ".join(parts))
        description = _("Owed media deliverables and their production milestones")
        if not scope.milestones:
            description = _("Owed media deliverables")
        return calendar_head(name, description)
