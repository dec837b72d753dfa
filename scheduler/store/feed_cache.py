"""Feeds served from memory, refreshed from the database at most once a second.

A feed (one scope in one language) is read on its first request and kept
compact: its bytes in pieces of about a megabyte, and per item only its sort
key, length and digest. A refresh reads one counter; only when it moved does
it fetch the items changed since and splice them into the feeds read so far.
Revoking a subscription or disabling a user takes effect within
``REFRESH_SECONDS`` in every process. A group's feed is keyed by its members
as they were when its subscription was read, so a load that changes them
makes a new feed rather than splicing an old one.
"""

from __future__ import annotations

import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate

from scheduler.feeds.ical import CALENDAR_TAIL, calendar_head, feed_etag, feed_name
from scheduler.i18n import gettext_for, pick
from scheduler.people.accounts import FeedScope, token_digest
from scheduler.store.database import Database
from scheduler.store.feed_items import (
    ChangedItem,
    changed_items,
    changes_since,
    current_change,
    feed_names,
    feed_subscriptions,
    groups_loaded,
    item_bytes,
    item_layout,
    last_change_moment,
)

REFRESH_SECONDS = 1.0
PIECE = 1 << 20  # a feed is kept and sent in pieces of 1 to 2 MiB; a change copies one
# Changed items are spliced in (each piece touched rebuilt once) up to this
# many, or this share of a feed's items; beyond, the feed is read again.
SPLICE_MIN, SPLICE_SHARE = 256, 8
DIGEST = 64  # hex characters of a SHA-256
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Feed:
    """What a request serves: the bytes in pieces, never joined, and a strong ETag."""

    pieces: tuple[bytes, ...]
    etag: str
    length: int

    @property
    def body(self) -> bytes:
        return b"".join(self.pieces)


class _Moved(Exception):
    """An item changed between the two passes of a read; read again."""


class _Built:
    """One feed, compact. Its bytes are pieces (the first starts with the
    head, the last ends with the tail); each item in order has its sort key
    in ``keys``, its length in an array and its hex digest in one bytearray,
    so a change splices one piece instead of reassembling the feed."""

    def __init__(
        self,
        head: bytes,
        keys: list[str],
        where: dict[str, str],
        lengths: array,
        digests: bytearray,
        pieces: list[bytes],
        counts: list[int],
    ):
        self.head, self.keys, self.where, self.lengths, self.digests = head, keys, where, lengths, digests
        self.pieces, self.counts = pieces, counts  # counts: items per piece
        self.feed: Feed | None = None

    def snapshot(self) -> Feed:
        return Feed(tuple(self.pieces), feed_etag(self.head, self.digests), sum(map(len, self.pieces)))

    def worth_splicing(self, changed: int) -> bool:
        return changed <= max(SPLICE_MIN, len(self.keys) // SPLICE_SHARE)

    def set_head(self, head: bytes) -> None:
        if head != self.head:
            self.pieces[0] = head + memoryview(self.pieces[0])[len(self.head) :]
            self.head, self.feed = head, None

    def apply(self, items: list[ChangedItem], scope: FeedScope, lang: str) -> None:
        """Take the changed items out, and put back those live and in scope
        where they now sort; each piece touched is rebuilt once."""
        edits = []  # (position among the current items, 1 to remove it | 0 to insert before it, key, bytes, digest)
        for item in items:
            old = self.where.pop(item.uid, None)
            if old is not None:
                edits.append((bisect_left(self.keys, old), 1, old, b"", b""))
            if item.live and scope.admits(item.plan, item.agency, item.obligation, item.channels, item.kind):
                ical, digest = item.ical[lang]
                edits.append((bisect_left(self.keys, item.sort_key), 0, item.sort_key, ical, digest.encode()))
                self.where[item.uid] = item.sort_key
        if not edits:
            return
        edits.sort()
        firsts = list(accumulate(self.counts, initial=0))  # the first item of each piece
        touched: dict[int, list] = {}
        for edit in edits:  # an insert at a piece's start goes there; at the very end, to the last piece
            touched.setdefault(min(bisect_right(firsts, edit[0]), len(self.pieces)) - 1, []).append(edit)
        for c in sorted(touched, reverse=True):  # from the end: the positions before stay right
            self._rebuild(c, firsts[c], touched[c])
            if not self.counts[c] and 0 < c < len(self.pieces) - 1:  # emptied: head and tail stay in place
                del self.pieces[c], self.counts[c]
        while self._split_large():
            pass
        self.feed = None

    def _rebuild(self, c: int, start: int, edits: list) -> None:
        """Piece ``c`` (its first item is ``start``) with these edits, runs of unchanged items copied whole."""
        end = start + self.counts[c]
        at = list(accumulate(self.lengths[start:end], initial=len(self.head) if c == 0 else 0))
        piece = memoryview(self.pieces[c])
        parts, keys, lengths, digests = [piece[: at[0]]], [], array("Q"), []
        done = start  # items before this one are placed
        for i, remove, key, ical, digest in edits:
            if i > done:
                parts.append(piece[at[done - start] : at[i - start]])
                keys += self.keys[done:i]
                lengths += self.lengths[done:i]
                digests.append(self.digests[DIGEST * done : DIGEST * i])
                done = i
            if remove:
                done = i + 1
            else:
                parts.append(ical)
                keys.append(key)
                lengths.append(len(ical))
                digests.append(digest)
        parts.append(piece[at[done - start] :])  # the rest, and the tail in the last piece
        keys += self.keys[done:end]
        lengths += self.lengths[done:end]
        digests.append(self.digests[DIGEST * done : DIGEST * end])
        self.pieces[c] = b"".join(parts)
        self.keys[start:end] = keys
        self.lengths[start:end] = lengths
        self.digests[DIGEST * start : DIGEST * end] = b"".join(digests)
        self.counts[c] = len(keys)

    def _split_large(self) -> bool:
        """Keep pieces under 2 MiB, so that a change never copies much."""
        start = 0
        for c, piece in enumerate(self.pieces):
            if self.counts[c] > 1 and len(piece) > 2 * PIECE:
                half = self.counts[c] // 2
                cut = (len(self.head) if c == 0 else 0) + sum(self.lengths[start : start + half])
                self.pieces[c : c + 1] = [piece[:cut], piece[cut:]]
                self.counts[c : c + 1] = [half, self.counts[c] - half]
                return True
            start += self.counts[c]
        return False


def read_feed(session, scope: FeedScope, lang: str, head: bytes) -> _Built:
    """Two streamed passes: sort keys and lengths first, to place every item;
    then the bytes, copied straight to their place. Peak memory is the feed
    and about 100 bytes per item."""
    keys, uids, sizes = [], [], array("Q")  # flat lists, not a tuple per item: less for the collector
    for key, uid, n in item_layout(session, scope, lang):
        keys.append(key)
        uids.append(uid)
        sizes.append(n)
    where = dict(zip(uids, keys))
    order = sorted(range(len(keys)), key=keys.__getitem__)
    keys = [keys[i] for i in order]
    index = dict(zip([uids[i] for i in order], range(len(order))))
    lengths = array("Q", [sizes[i] for i in order])
    del uids, sizes, order
    n = len(keys)
    starts = array("Q", accumulate(lengths, initial=len(head)))  # of each item, and the tail, in the feed
    total = starts[-1] + len(CALENDAR_TAIL)
    count = max(1, total // PIECE)  # pieces of 1 to 2 MiB, cut between items
    cuts = {bisect_left(starts, k * total / count, 1, n) for k in range(1, count)}
    firsts = [0, *sorted(c for c in cuts if c < n)]  # the first item of each piece
    base = [0, *(starts[f] for f in firsts[1:])]  # where each piece begins in the feed
    buffers = [bytearray(end - begin) for begin, end in zip(base, [*base[1:], total])]
    buffers[0][: len(head)] = head
    buffers[-1][-len(CALENDAR_TAIL) :] = CALENDAR_TAIL
    digests = bytearray(DIGEST * n)
    filled = 0
    for uid, ical, digest in item_bytes(session, scope, lang):
        i = index.get(uid)
        if i is None:
            continue  # outside the scope (the channel prefilter lets a few through)
        if len(ical) != lengths[i]:
            raise _Moved(uid)
        c = bisect_right(firsts, i) - 1
        at = starts[i] - base[c]
        buffers[c][at : at + len(ical)] = ical
        digests[DIGEST * i : DIGEST * (i + 1)] = digest.encode()
        filled += 1
    if filled != n:
        raise _Moved()
    counts = [last - first for first, last in zip(firsts, [*firsts[1:], n])]
    pieces = []
    for c, buffer in enumerate(buffers):  # one piece copied at a time
        pieces.append(bytes(buffer))
        buffers[c] = None
    return _Built(head, keys, where, lengths, digests, pieces, counts)


@dataclass
class _State:
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
        self.lock = threading.Lock()  # the state and every built feed
        self.reading: dict[tuple[FeedScope, str], threading.Lock] = {}  # one read of a feed at a time

    def stale(self) -> bool:
        return self.monotonic() - self.checked_at >= REFRESH_SECONDS

    def refresh(self) -> None:
        """Look at the database (blocking); cheap when nothing changed."""
        with self.lock:
            if not self.stale():
                return
            with self.db.transaction() as session:
                change, count, latest = changes_since(session, self.state.change)
                if change != self.state.change:
                    self._apply(session, change, count, latest)
                self._subscriptions(session)
            self.checked_at = self.monotonic()

    def _subscriptions(self, session) -> None:
        """The served scopes, a group's with its members as they are now. A
        change of members makes a new scope (read afresh when asked for), so
        the group's feed built for the old members is dropped: nobody can
        ask for it any more. Then the date moves (after the feeds, as in
        ``_apply``): a load may change members and no item."""
        state = self.state
        state.subscriptions = feed_subscriptions(session)
        served = {scope for scope, _lang in state.subscriptions.values()}
        for key in [key for key in self.built if key[0].members and key[0] not in served]:
            del self.built[key]
        loaded = groups_loaded(session)
        if loaded is not None and loaded > state.last_modified:
            state.last_modified = loaded

    def _apply(self, session, change: int, count: int, latest: datetime | None) -> None:
        state = self.state
        if 0 <= state.change <= change:
            self._catch_up(session, state.change, count, self.built)
        else:  # the first look (then ``latest`` is every item's), or another database
            self.built.clear()
            if state.change >= 0:
                latest = last_change_moment(session)
        names = feed_names(session)
        if names != state.names:
            state.names = names
            for (scope, lang), built in self.built.items():
                built.set_head(self._head(scope, lang))
        state.change = change
        if latest is not None and latest > state.last_modified:  # after the feeds changed: see serve_feed
            state.last_modified = latest

    def _catch_up(self, session, since: int, count: int, feeds: dict[tuple[FeedScope, str], _Built]) -> None:
        """Splice the items changed after ``since`` into these feeds; a feed
        with too many changes is dropped, to be read again when asked for."""
        for key in [key for key, built in feeds.items() if not built.worth_splicing(count)]:
            del feeds[key]
        if count and feeds:
            items = list(changed_items(session, since, {lang for _scope, lang in feeds}))
            for (scope, lang), built in feeds.items():
                built.apply(items, scope, lang)

    def subscription(self, token: str) -> tuple[FeedScope, str] | None:
        return self.state.subscriptions.get(token_digest(token))

    @property
    def last_modified(self) -> datetime:
        """The latest change of any item, removals included, or load of a plan
        with groups (members may change alone), so one date is right for
        every feed: it moves whenever any feed may have changed."""
        return self.state.last_modified

    def ready(self, scope: FeedScope, lang: str) -> Feed | None:
        """The feed if it can be served without work, else None."""
        built = self.built.get((scope, lang))
        return built.feed if built is not None else None

    def feed(self, scope: FeedScope, lang: str) -> Feed:
        """The feed, read from the database first if needed (blocking: a
        large one takes a second, so the web calls this in a thread)."""
        key = (scope, lang)
        built = self.built.get(key)
        if built is not None and built.feed is not None:
            return built.feed
        if self.state.change < 0:
            self.refresh()
        for _attempt in range(3):
            built = self.built.get(key) or self._read(scope, lang)
            with self.lock:
                if self.built.get(key) is built:  # not dropped by a refresh meanwhile
                    break
        with self.lock:
            if built.feed is None:
                built.feed = built.snapshot()
            return built.feed

    def _read(self, scope: FeedScope, lang: str) -> _Built:
        """Read one feed outside the lock, so refreshes and other feeds go on;
        then, under it, catch up with what changed since the read began."""
        key = (scope, lang)
        with self.reading.setdefault(key, threading.Lock()):
            for _attempt in range(5):
                if key in self.built:
                    return self.built[key]
                names = self.state.names
                try:
                    with self.db.transaction() as session:
                        since = current_change(session)
                        built = read_feed(session, scope, lang, self._head(scope, lang))
                except _Moved:
                    continue
                with self.lock, self.db.transaction() as session:
                    if since < self.state.change:  # ahead of the state is fine: the next refresh re-applies
                        self._catch_up(session, since, changes_since(session, since)[1], feeds := {key: built})
                        if not feeds:
                            continue
                    if self.state.names is not names:  # renamed meanwhile
                        built.set_head(self._head(scope, lang))
                    self.built[key] = built
                    return built
            raise RuntimeError(f"the feed items kept changing while {scope} ({lang}) was read")

    def _head(self, scope: FeedScope, lang: str) -> bytes:
        """The calendar's name says what it holds, in the reader's language."""
        _ = gettext_for(lang)
        names = self.state.names
        parts = []
        for kind, code in (
            ("plan", scope.plan),
            ("agency", scope.agency),
            ("obligation", scope.obligation),
            ("channel", scope.channel),
        ):
            if code:
                parts.append(pick(lang, *names.get(kind, {}).get(code, (code, ""))))
        name = feed_name(lang, _, " – ".join(parts))
        description = _("Owed media deliverables and their production milestones")
        if not scope.milestones:
            description = _("Owed media deliverables")
        return calendar_head(name, description)
