"""The feed cache: every feed a running process has spliced after changes
equals, byte for byte and ETag for ETag, what a fresh process reads and what
sorting the stored items gives (against the database, and with random
batches in memory); tiny pieces, so that changes cross, split and empty them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from scheduler.feeds.ical import assemble, feed_etag
from scheduler.people.accounts import FeedScope
from scheduler.settings import Settings
from scheduler.store import feed_cache
from scheduler.store.database import Database
from scheduler.store.feed_cache import FeedCache
from scheduler.store.feed_items import feed_subscriptions, write_items
from scheduler.store.people import active_subscriptions, scope_of
from scheduler.store.tables import FeedItemRow, MilestoneRow, OccurrenceRow, PlanRow

SCOPES = [
    (FeedScope(), "vi"),
    (FeedScope(), "en"),
    (FeedScope(agency="dai-ptth"), "vi"),
    (FeedScope(channel="tv"), "en"),
    (FeedScope(plan="phu-tho-2024", milestones=False), "vi"),
    (FeedScope(obligation="cchc-radio-tv"), "vi"),
]
EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.2"


class Clock:
    """A monotonic clock the test moves, so refreshes happen when it says."""

    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def loaded(cli, db_url, monkeypatch):
    monkeypatch.setattr(feed_cache, "PIECE", 2048)  # about a hundred pieces per feed
    assert cli("load", "--now", "2024-01-02").code == 0
    db = Database(db_url)
    yield db
    db.close()


def _expected(db: Database, scope: FeedScope, lang: str) -> tuple[bytes, str]:
    """The feed as sorting every stored item gives it, with a fresh process's head."""
    fresh = FeedCache(db)
    fresh.refresh()
    head = fresh._head(scope, lang)
    with db.transaction() as s:
        rows = sorted(
            (r.sort_key, r.ical_en if lang == "en" else r.ical_vi, r.digest_en if lang == "en" else r.digest_vi)
            for r in s.scalars(select(FeedItemRow))
            if r.revision >= 0 and scope.admits(r.plan_code, r.agency_code, r.obligation_code, r.channels, r.kind)
        )
    body = assemble(head, [ical for _key, ical, _digest in rows])
    etag = feed_etag(head, "".join(digest for _key, _ical, digest in rows).encode())
    assert (fresh.feed(scope, lang).body, fresh.feed(scope, lang).etag) == (body, etag)
    return body, etag


def _check(cache: FeedCache, clock: Clock, db: Database) -> list[bytes]:
    clock.t += feed_cache.REFRESH_SECONDS
    cache.refresh()
    bodies = []
    for scope, lang in SCOPES:
        feed = cache.feed(scope, lang)
        assert (feed.body, feed.etag) == _expected(db, scope, lang), (scope, lang)
        assert feed.length == len(feed.body) and all(len(p) <= 2 * feed_cache.PIECE + 1024 for p in feed.pieces)
        bodies.append(feed.body)
    return bodies


def _revise(db: Database, occurrence_id: str, minute: int, agency: str | None = None, **shown) -> None:
    """A new revision of one occurrence, its items written in the same transaction, as a load does."""
    with db.transaction() as s:
        row = s.get(OccurrenceRow, occurrence_id)
        row.shown = {**row.shown, **shown}
        if agency:
            row.agency_code = agency
            row.shown = {**row.shown, "agency": agency}
        row.revision += 1
        row.updated_at = datetime(2024, 6, 1, tzinfo=UTC) + timedelta(minutes=minute)
        s.flush()
        write_items(s, [occurrence_id], Settings.load().base_url)


def test_changes_are_spliced_into_every_feed_read_so_far(loaded, monkeypatch):
    db, clock = loaded, Clock()
    cache = FeedCache(db, clock)
    before = _check(cache, clock, db)
    last_modified = cache.last_modified
    _revise(db, EPISODE, 1, title="Chuyên mục đổi tên dài hơn hẳn tên cũ")  # same place, new bytes
    assert _check(cache, clock, db) != before
    assert cache.last_modified > last_modified
    _revise(db, EPISODE, 2, due="2024-12-30T17:00:00+07:00", slot=None)  # moves to the end of the year
    _check(cache, clock, db)
    _revise(db, EPISODE, 3, agency="so-tttt")  # leaves the agency's feed
    _check(cache, clock, db)
    with db.transaction() as s:  # a milestone step removed: its item is retired
        s.execute(delete(MilestoneRow).where(MilestoneRow.occurrence_id == EPISODE, MilestoneRow.step == "script"))
    _revise(db, EPISODE, 4)
    _check(cache, clock, db)
    with db.transaction() as s:  # a renamed plan names the feeds anew with the next change
        s.get(PlanRow, "phu-tho-2024").title = "Kế hoạch đổi tên"
    _revise(db, EPISODE, 5)
    assert "X-WR-CALNAME:Lịch sản xuất tuyên truyền – Kế hoạch đổi tên\r\n".encode() in _check(cache, clock, db)[
        4
    ].replace(b"\r\n ", b"")
    monkeypatch.setattr(feed_cache, "SPLICE_MIN", 0)  # a large change: read again instead
    monkeypatch.setattr(feed_cache, "SPLICE_SHARE", 1000)
    _revise(db, EPISODE, 6, title="Lần nữa")
    clock.t += feed_cache.REFRESH_SECONDS
    cache.refresh()
    assert not cache.built
    _check(cache, clock, db)


def test_a_feed_read_while_items_change_catches_up(loaded, monkeypatch):
    db, clock = loaded, Clock()
    cache = FeedCache(db, clock)
    cache.refresh()
    read_feed, item_bytes = feed_cache.read_feed, feed_cache.item_bytes
    minute = iter(range(100))
    passes = []

    def changed_during_read(*args):
        """After the read, before the feed is kept: a change, and another request's refresh."""
        built = read_feed(*args)
        _revise(db, EPISODE, next(minute), title=f"Đổi trong lúc đọc {len(passes)}")
        clock.t += feed_cache.REFRESH_SECONDS
        cache.refresh()
        return built

    def changed_between_passes(*args):
        """Between the two passes, twice: an item's length differs, and the read starts again."""
        passes.append(args)
        if len(passes) <= 2:
            _revise(db, EPISODE, next(minute), title="Đổi giữa hai lượt đọc" + "!" * 5 * len(passes))
        yield from item_bytes(*args)

    for scope, lang in SCOPES[:3]:
        with monkeypatch.context() as patched:
            patched.setattr(feed_cache, "read_feed", changed_during_read)
            got = cache.feed(scope, lang)
        assert (got.body, got.etag) == _expected(db, scope, lang)
    scope, lang = SCOPES[4]
    with monkeypatch.context() as patched:
        patched.setattr(feed_cache, "item_bytes", changed_between_passes)
        got = cache.feed(scope, lang)
    assert len(passes) == 3 and (got.body, got.etag) == _expected(db, scope, lang)


def test_an_empty_feed_and_a_feed_that_fills_up(loaded):
    db, clock = loaded, Clock()
    cache = FeedCache(db, clock)
    cache.refresh()
    scope = FeedScope(agency="nobody")
    empty = cache.feed(scope, "vi")
    assert empty.pieces == (cache._head(scope, "vi") + b"END:VCALENDAR\r\n",)
    with db.transaction() as s:
        ids = s.scalars(select(OccurrenceRow.id).where(OccurrenceRow.agency_code == "dai-ptth")).all()
    for n, occurrence_id in enumerate(ids):  # one at a time: each is spliced in, and pieces split
        _revise(db, occurrence_id, n, agency="nobody", due=f"{date(2024, 2, 1) + timedelta(days=n)}T17:00:00+07:00")
        clock.t += feed_cache.REFRESH_SECONDS
        cache.refresh()
        assert cache.built and cache.feed(scope, "vi").etag != empty.etag
    full = cache.feed(scope, "vi")
    assert len(full.pieces) > 1 and (full.body, full.etag) == _expected(db, scope, "vi")


def test_the_subscriptions_served_are_the_active_ones(cli, loaded):
    """The cache reads subscriptions in plain columns; the rule is people's."""
    for email, lang in (("a@x.example", "vi"), ("b@x.example", "en"), ("c@x.example", "vi")):
        assert cli("users", "add", email, "--role", "editor", "--lang", lang).code == 0
    for args in (
        ["--email", "a@x.example", "--agency", "dai-ptth", "--no-milestones"],
        ["--email", "b@x.example", "--channel", "tv"],
        ["--email", "c@x.example"],
        ["--email", "a@x.example", "--obligation", "cchc-radio-tv"],
    ):
        assert cli("subscribe", *args).code == 0
    assert cli("subscriptions", "revoke", "4").code == 0
    assert cli("users", "disable", "c@x.example").code == 0
    with loaded.transaction() as s:
        served = feed_subscriptions(s)
        assert served == {row.token_sha256: (scope_of(row), lang) for row, lang in active_subscriptions(s)}
    expected = [(FeedScope(channel="tv"), "en"), (FeedScope(agency="dai-ptth", milestones=False), "vi")]
    assert sorted(served.values(), key=repr) == sorted(expected, key=repr)


def test_random_changes_splice_to_what_sorting_gives(monkeypatch):
    """Without a database: a feed read from a table in memory, then batches
    of random changes (new bytes, new places, in and out of scope, retired)."""
    import hashlib
    import random

    from scheduler.store.feed_items import ChangedItem

    monkeypatch.setattr(feed_cache, "PIECE", 300)
    rng = random.Random(7)
    table: dict[str, tuple] = {}  # uid -> (key, ical, agency, live)

    def row(uid: str) -> tuple:
        ical = f"BEGIN:VEVENT\r\nUID:{uid}\r\n{'X' * rng.randrange(20, 200)}\r\nEND:VEVENT\r\n".encode()
        return (
            f"2024{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}T000000|{uid}",
            ical,
            rng.choice("ab"),
            rng.random() > 0.1,
        )

    def shown(scope: FeedScope) -> list[tuple]:
        return sorted(r for r in table.values() if r[3] and scope.admits("p", r[2], "o", " tv ", "occurrence"))

    for n in range(40):
        table[f"u{n}"] = row(f"u{n}")
    monkeypatch.setattr(
        feed_cache,
        "item_layout",
        lambda _s, scope, _l: ((key, key.partition("|")[2], len(ical)) for key, ical, *_ in shown(scope)),
    )
    monkeypatch.setattr(
        feed_cache,
        "item_bytes",
        lambda _s, scope, _l: (
            (key.partition("|")[2], ical, hashlib.sha256(ical).hexdigest()) for key, ical, *_ in reversed(shown(scope))
        ),
    )
    head = b"BEGIN:VCALENDAR\r\n"
    for scope in (FeedScope(), FeedScope(agency="a")):
        built = feed_cache.read_feed(None, scope, "vi", head)
        for _batch in range(60):
            changed = rng.sample(sorted(table), rng.randrange(1, 8)) + [f"new{_batch}"] * rng.randrange(0, 2)
            for uid in changed:
                table[uid] = row(uid)
            built.apply(
                [
                    ChangedItem(
                        uid,
                        key,
                        "p",
                        agency,
                        "o",
                        " tv ",
                        "occurrence",
                        live,
                        {"vi": (ical, hashlib.sha256(ical).hexdigest())},
                    )
                    for uid in dict.fromkeys(changed)
                    for key, ical, agency, live in [table[uid]]
                ],
                scope,
                "vi",
            )
            expected = [ical for _key, ical, *_ in shown(scope)]
            feed = built.snapshot()
            assert feed.body == assemble(head, expected)
            assert feed.etag == feed_etag(head, b"".join(hashlib.sha256(i).hexdigest().encode() for i in expected))
            assert all(len(p) <= 2 * 300 + 250 for p in feed.pieces) and all(feed.pieces[1:-1])
            assert feed.pieces[0].startswith(head) and feed.pieces[-1].endswith(b"END:VCALENDAR\r\n")
