"""Serialized calendar items, kept per occurrence revision and language.

Whoever changes an occurrence calls ``write_items`` in the same transaction;
feeds are then concatenations of stored bytes, read one scope and language
at a time, and a process can fetch only what changed since the counter it
last saw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache

from sqlalchemy import and_, bindparam, func, insert, literal, or_, select, union_all, update
from sqlalchemy.orm import Session

from scheduler.feeds.ical import Names, StoredOccurrence, render_languages
from scheduler.i18n import gettext_for
from scheduler.people.accounts import FeedScope
from scheduler.plan.channels import from_definition
from scheduler.store.known_codes import all_channels
from scheduler.store.tables import (
    AgencyMemberRow,
    AgencyRow,
    CounterRow,
    FeedItemRow,
    MilestoneRow,
    ObligationRow,
    OccurrenceRow,
    PlanRow,
    SubscriptionRow,
    UserRow,
)

FEED_CHANGE = "feed_change"
STREAM = 2000  # rows per fetch when reading a feed: memory stays flat whatever its size
ITEMS = FeedItemRow.__table__.c  # plain columns: rows without the ORM's per-row work
MILESTONES = MilestoneRow.__table__.c


def names_for(session: Session, plan_code: str, base_url: str) -> Names:
    plan = session.get(PlanRow, plan_code)
    agencies = {
        a.code: (a.name, a.name_en) for a in session.scalars(select(AgencyRow).where(AgencyRow.plan_code == plan_code))
    }
    topics = {t["code"]: (t["title"], t["title_en"]) for t in (plan.definition.get("topics") or [])}
    return Names(agencies, topics, base_url, plan.timezone, from_definition(plan.definition))


def _next_change(session: Session) -> int:
    """Take the next number; the row lock orders concurrent writers."""
    row = session.get(CounterRow, FEED_CHANGE, with_for_update=True)
    if row is None:
        row = CounterRow(name=FEED_CHANGE, value=0)
        session.add(row)
    row.value += 1
    session.flush()
    return row.value


def write_items(
    session: Session, occurrence_ids: Iterable[str], base_url: str, progress: Progress | None = None
) -> int:
    """(Re)serialize the items of these occurrences as stored now; returns how
    many. Rows go in and out in plain statements, a chunk at a time
    (``executemany``): no ORM object per item. ``progress`` hears, after
    each chunk, how many of the occurrences are written."""
    ids = sorted(set(occurrence_ids))
    if not ids:
        return 0
    change = _next_change(session)
    names: dict[str, Names] = {}
    languages = {lang: cache(gettext_for(lang)) for lang in ("vi", "en")}  # the same few dozen ids, thousands of times
    written = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = session.scalars(select(OccurrenceRow).where(OccurrenceRow.id.in_(chunk))).all()
        steps = _steps(session, chunk)
        existing = {
            uid: (occurrence, revision)
            for uid, occurrence, revision in session.execute(
                select(ITEMS.uid, ITEMS.occurrence_id, ITEMS.revision).where(ITEMS.occurrence_id.in_(chunk))
            )
        }
        new, changed, retired = [], [], []
        for row in rows:
            if row.plan_code not in names:
                names[row.plan_code] = names_for(session, row.plan_code, base_url)
            stored = StoredOccurrence(row.id, row.revision, row.created_at, row.updated_at, row.shown, row.delivery)
            rendered = render_languages(stored, steps.get(row.id, []), names[row.plan_code], languages)
            channels = " " + " ".join(row.shown.get("channels", [])) + " "
            current = set()
            for vi, en in zip(rendered["vi"], rendered["en"]):
                current.add(vi.uid)
                values = dict(
                    occurrence_id=row.id,
                    kind=vi.kind,
                    plan_code=row.plan_code,
                    agency_code=row.agency_code,
                    obligation_code=row.obligation_code,
                    channels=channels,
                    sort_key=vi.sort_key,
                    revision=row.revision,
                    last_modified=row.updated_at,
                    ical_vi=vi.ical,
                    ical_en=en.ical,
                    digest_vi=vi.digest,
                    digest_en=en.digest,
                    base_url=base_url,
                    change=change,
                )
                if vi.uid in existing:
                    changed.append({"b_uid": vi.uid, **values})
                else:
                    new.append({"uid": vi.uid, **values})
                written += 1
            for uid, (occurrence, revision) in existing.items():  # a milestone step that no longer exists
                if occurrence == row.id and uid not in current and revision != -1:
                    retired.append({"b_uid": uid, "revision": -1, "last_modified": row.updated_at, "change": change})
        _store(session, new, changed + retired)
        if progress is not None:
            progress(start + len(chunk), len(ids))
    _forget_items(session)
    return written


Progress = Callable[[int, int], None]  # (occurrences written so far, of how many)
CHUNK = 500  # occurrences per round of statements: two thousand items, a few MB of bytes


def _steps(session: Session, chunk: list[str]) -> dict[str, list[dict]]:
    steps: dict[str, list[dict]] = {}
    query = (
        select(MILESTONES.occurrence_id, MILESTONES.step, MILESTONES.title, MILESTONES.title_en)
        .add_columns(MILESTONES.day, MILESTONES.offset)
        .where(MILESTONES.occurrence_id.in_(chunk))
        .order_by(MILESTONES.day, MILESTONES.step)
    )
    for occurrence, step, title, title_en, day, offset in session.execute(query):
        steps.setdefault(occurrence, []).append(
            {"step": step, "title": title, "title_en": title_en, "day": day, "offset": offset}
        )
    return steps


def _store(session: Session, new: list[dict], changed: list[dict]) -> None:
    """New items in one INSERT with many rows of parameters, changed ones in
    one UPDATE per set of columns (items never vanish: a retired milestone
    gets a revision of -1, and its change still moves Last-Modified)."""
    table = FeedItemRow.__table__
    if new:
        session.execute(insert(table), new)
    by_columns: dict[tuple[str, ...], list[dict]] = {}
    for values in changed:
        by_columns.setdefault(tuple(sorted(values)), []).append(values)
    for columns, params in by_columns.items():
        statement = update(table).where(ITEMS.uid == bindparam("b_uid"))
        session.execute(statement.values({c: bindparam(c) for c in columns if c != "b_uid"}), params)


def _forget_items(session: Session) -> None:
    """Items written in plain statements: any loaded as objects are now stale."""
    for item in [o for o in session.identity_map.values() if isinstance(o, FeedItemRow)]:
        session.expire(item)


def rerender_stale(session: Session, base_url: str) -> int:
    """After BASE_URL changed, links inside stored items are wrong: redo them."""
    ids = session.scalars(select(FeedItemRow.occurrence_id).where(FeedItemRow.base_url != base_url).distinct()).all()
    missing = session.scalars(
        select(OccurrenceRow.id).where(~OccurrenceRow.id.in_(select(FeedItemRow.occurrence_id)))
    ).all()
    return write_items(session, list(ids) + list(missing), base_url)


def _ical(lang: str):
    return (ITEMS.ical_en, ITEMS.digest_en) if lang == "en" else (ITEMS.ical_vi, ITEMS.digest_vi)


def _shown_by(query, scope: FeedScope):
    """The scope as SQL, live items only. LIKE is a prefilter for the channel
    (SQLite's ignores case); ``FeedScope.admits`` is the exact test."""
    query = query.where(ITEMS.revision >= 0)
    for column, code in ((ITEMS.plan_code, scope.plan), (ITEMS.obligation_code, scope.obligation)):
        if code is not None:
            query = query.where(column == code)
    if scope.agency is not None:
        query = query.where(_of_agency(scope))
    if scope.channel is not None:
        query = query.where(ITEMS.channels.contains(f" {scope.channel} ", autoescape=True))
    if not scope.milestones:
        query = query.where(ITEMS.kind != "milestone")
    return query.execution_options(stream_results=True, max_row_buffer=STREAM)


def _of_agency(scope: FeedScope):
    """The agency's items; for a group, also its members' in each plan, from
    the scope's own list (never the table): the read then holds exactly what
    ``FeedScope.admits`` admits, whatever a concurrent load does."""
    plans: dict[str, list[str]] = {}
    for plan, member in sorted(scope.members):
        plans.setdefault(plan, []).append(member)
    members = (and_(ITEMS.plan_code == p, ITEMS.agency_code.in_(codes)) for p, codes in plans.items())
    return or_(ITEMS.agency_code == scope.agency, *members)


def item_layout(session: Session, scope: FeedScope, lang: str) -> Iterator[tuple[str, str, int]]:
    """First pass over a feed: (sort key, uid, length in bytes) of each item
    it shows, streamed in storage order. No item's bytes are read: both
    databases take a blob's length from its header."""
    query = _shown_by(select(ITEMS.sort_key, ITEMS.uid, func.length(_ical(lang)[0]), ITEMS.channels), scope)
    wanted = f" {scope.channel} " if scope.channel is not None else None
    for key, uid, length, channels in session.execute(query):
        if wanted is None or wanted in channels:
            yield key, uid, length


def item_bytes(session: Session, scope: FeedScope, lang: str) -> Iterator[tuple[str, bytes, str]]:
    """Second pass: (uid, bytes, SHA-256 hex) of the same items, streamed in
    storage order (a superset when a channel is asked for)."""
    yield from session.execute(_shown_by(select(ITEMS.uid, *_ical(lang)), scope))


@dataclass(frozen=True)
class ChangedItem:
    """An item as it is now, after a change; ``ical`` holds (bytes, digest) per language asked for."""

    uid: str
    sort_key: str
    plan: str
    agency: str
    obligation: str
    channels: str
    kind: str
    live: bool
    ical: dict[str, tuple[bytes, str]]


# Built once: a refresh runs these every second, and building a statement
# costs several times what SQLite takes to answer it.
_COUNTER = CounterRow.__table__.c
_CURRENT = select(_COUNTER.value).where(_COUNTER.name == FEED_CHANGE)
_CHANGES = select(_CURRENT.scalar_subquery(), func.count(), func.max(ITEMS.last_modified)).where(
    ITEMS.change > bindparam("since")
)
_SUB, _USER = SubscriptionRow.__table__.c, UserRow.__table__.c
_SUBSCRIPTIONS = (
    select(
        _SUB.token_sha256,
        _SUB.plan_code,
        _SUB.agency_code,
        _SUB.obligation_code,
        _SUB.channel,
        _SUB.milestones,
        _USER.lang,
    )
    .join_from(SubscriptionRow.__table__, UserRow.__table__)
    .where(_SUB.revoked_at.is_(None), _USER.disabled.is_(False))
)
_AGENCY, _OBLIGATION, _PLAN = AgencyRow.__table__.c, ObligationRow.__table__.c, PlanRow.__table__.c
_NAMES = union_all(
    select(literal("agency"), _AGENCY.code, _AGENCY.name, _AGENCY.name_en),
    select(literal("obligation"), _OBLIGATION.code, _OBLIGATION.title, _OBLIGATION.title_en),
    select(literal("plan"), _PLAN.code, _PLAN.title, _PLAN.title_en),
)


def current_change(session: Session) -> int:
    return session.execute(_CURRENT).scalar() or 0


def changes_since(session: Session, since: int) -> tuple[int, int, datetime | None]:
    """The change counter, how many items changed after ``since`` and the
    latest of their moments, in one statement (so all three agree)."""
    change, count, latest = session.execute(_CHANGES, {"since": since}).one()
    return change or 0, count, latest


@cache
def _changed(langs: tuple[str, ...]):
    return (
        select(
            ITEMS.uid,
            ITEMS.sort_key,
            ITEMS.plan_code,
            ITEMS.agency_code,
            ITEMS.obligation_code,
            ITEMS.channels,
            ITEMS.kind,
            ITEMS.revision,
            *(column for lang in langs for column in _ical(lang)),
        )
        .where(ITEMS.change > bindparam("since"))
        .execution_options(stream_results=True, max_row_buffer=STREAM)
    )


def changed_items(session: Session, since: int, langs: Iterable[str]) -> Iterator[ChangedItem]:
    """Every item changed after ``since``, with its bytes in these languages."""
    langs = tuple(sorted(set(langs)))
    for r in session.execute(_changed(langs), {"since": since}):
        ical = {lang: (r[8 + 2 * n], r[9 + 2 * n]) for n, lang in enumerate(langs)}
        yield ChangedItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] >= 0, ical)


def feed_names(session: Session) -> dict[str, dict[str, tuple[str, str]]]:
    """What feeds are named after: plans, agencies, obligations and channels by code, (vi, en)."""
    names: dict[str, dict[str, tuple[str, str]]] = {"agency": {}, "obligation": {}, "plan": {}}
    for kind, code, vi, en in session.execute(_NAMES):
        names[kind][code] = (vi, en)
    names["channel"] = all_channels(session)
    return names


def last_change_moment(session: Session) -> datetime | None:
    return session.scalar(select(func.max(ITEMS.last_modified)))


def feed_subscriptions(session: Session) -> dict[str, tuple[FeedScope, str]]:
    """Each served subscription's token hash: its scope (a group's members
    resolved as they are now) and its reader's language. The rule of
    ``store.people.active_subscriptions`` (not revoked, user not disabled)
    in plain columns, since every refresh asks."""
    groups = group_members(session)
    return {
        token: (with_members(FeedScope(plan, agency, obligation, channel, milestones), groups), lang)
        for token, plan, agency, obligation, channel, milestones, lang in session.execute(_SUBSCRIPTIONS)
    }


_MEMBERS = AgencyMemberRow.__table__.c
_GROUPS = select(_MEMBERS.group_code, _MEMBERS.plan_code, _MEMBERS.member_code)
_GROUPS_LOADED = select(func.max(_PLAN.loaded_at)).where(
    _PLAN.code.in_(select(_AGENCY.plan_code).where(_AGENCY.kind == "group"))
)


def group_members(session: Session) -> dict[str, frozenset[tuple[str, str]]]:
    """Group code -> its members in every plan that declares it, as (plan, member) pairs."""
    found: dict[str, set[tuple[str, str]]] = {}
    for group, plan, member in session.execute(_GROUPS):
        found.setdefault(group, set()).add((plan, member))
    return {group: frozenset(pairs) for group, pairs in found.items()}


def with_members(scope: FeedScope, groups: dict[str, frozenset[tuple[str, str]]]) -> FeedScope:
    """The scope with its group's members (those of its plan, when it names one)."""
    pairs = groups.get(scope.agency or "", frozenset())
    if scope.plan is not None:
        pairs = frozenset(p for p in pairs if p[0] == scope.plan)
    return replace(scope, members=pairs) if pairs else scope


def groups_loaded(session: Session) -> datetime | None:
    """The latest load of a plan that declares a group: when members may have
    changed with no item changing (a group hosting nothing), its members'
    feeds changed then, and Last-Modified must not be older."""
    return session.scalar(_GROUPS_LOADED)
