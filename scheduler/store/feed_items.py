"""Serialized calendar items, kept per occurrence revision and language.

Whoever changes an occurrence calls ``write_items`` in the same transaction;
feeds are then concatenations of stored bytes, and a process can fetch only
what changed since the counter it last saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..feeds import Names, StoredOccurrence, render_items
from ..i18n import gettext_for
from .tables import AgencyRow, CounterRow, FeedItemRow, MilestoneRow, OccurrenceRow, PlanRow

FEED_CHANGE = "feed_change"


def names_for(session: Session, plan_code: str, base_url: str) -> Names:
    plan = session.get(PlanRow, plan_code)
    agencies = {a.code: (a.name, a.name_en)
                for a in session.scalars(select(AgencyRow).where(AgencyRow.plan_code == plan_code))}
    topics = {t["code"]: (t["title"], t["title_en"]) for t in (plan.definition.get("topics") or [])}
    return Names(agencies, topics, base_url, plan.timezone)


def _next_change(session: Session) -> int:
    """Take the next number; the row lock orders concurrent writers."""
    row = session.get(CounterRow, FEED_CHANGE, with_for_update=True)
    if row is None:
        row = CounterRow(name=FEED_CHANGE, value=0)
        session.add(row)
    row.value += 1
    session.flush()
    return row.value


def write_items(session: Session, occurrence_ids: Iterable[str], base_url: str) -> int:
    """(Re)serialize the items of these occurrences as stored now; returns how many."""
    ids = sorted(set(occurrence_ids))
    if not ids:
        return 0
    change = _next_change(session)
    names: dict[str, Names] = {}
    written = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = session.scalars(select(OccurrenceRow).where(OccurrenceRow.id.in_(chunk))).all()
        steps: dict[str, list[dict]] = {}
        for m in session.scalars(select(MilestoneRow).where(MilestoneRow.occurrence_id.in_(chunk))
                                 .order_by(MilestoneRow.day, MilestoneRow.step)):
            steps.setdefault(m.occurrence_id, []).append(
                {"step": m.step, "title": m.title, "title_en": m.title_en, "day": m.day, "offset": m.offset})
        existing = {r.uid: r for r in session.scalars(select(FeedItemRow).where(FeedItemRow.occurrence_id.in_(chunk)))}
        for row in rows:
            if row.plan_code not in names:
                names[row.plan_code] = names_for(session, row.plan_code, base_url)
            stored = StoredOccurrence(row.id, row.revision, row.created_at, row.updated_at, row.shown, row.delivery)
            rendered = {lang: render_items(stored, steps.get(row.id, []), names[row.plan_code], lang,
                                           gettext_for(lang)) for lang in ("vi", "en")}
            current = set()
            for vi, en in zip(rendered["vi"], rendered["en"]):
                current.add(vi.uid)
                values = dict(
                    occurrence_id=row.id, kind=vi.kind, plan_code=row.plan_code, agency_code=row.agency_code,
                    obligation_code=row.obligation_code, channels=" " + " ".join(row.shown.get("channels", [])) + " ",
                    sort_key=vi.sort_key, revision=row.revision, last_modified=row.updated_at,
                    ical_vi=vi.ical, ical_en=en.ical, digest_vi=vi.digest, digest_en=en.digest,
                    base_url=base_url, change=change)
                item = existing.get(vi.uid)
                if item is None:
                    session.add(FeedItemRow(uid=vi.uid, **values))
                else:
                    for key, value in values.items():
                        setattr(item, key, value)
                written += 1
            for uid, item in existing.items():  # a milestone step that no longer exists
                if item.occurrence_id == row.id and uid not in current and item.revision != -1:
                    _retire(item, row, change)
    session.flush()
    return written


def _retire(item: FeedItemRow, row: OccurrenceRow, change: int) -> None:
    """Items never vanish from a feed silently; a retired milestone is kept
    out of feeds by a revision of -1, and its change still moves Last-Modified."""
    item.revision, item.last_modified, item.change = -1, row.updated_at, change


def rerender_stale(session: Session, base_url: str) -> int:
    """After BASE_URL changed, links inside stored items are wrong: redo them."""
    ids = session.scalars(select(FeedItemRow.occurrence_id).where(FeedItemRow.base_url != base_url)
                          .distinct()).all()
    missing = session.scalars(select(OccurrenceRow.id).where(
        ~OccurrenceRow.id.in_(select(FeedItemRow.occurrence_id)))).all()
    return write_items(session, list(ids) + list(missing), base_url)


@dataclass(frozen=True)
class FeedRow:
    uid: str
    sort_key: str
    plan: str
    agency: str
    obligation: str
    channels: str
    kind: str
    live: bool
    last_modified: object
    ical: bytes
    digest: str
    change: int


def current_change(session: Session) -> int:
    row = session.get(CounterRow, FEED_CHANGE)
    return row.value if row else 0


def fetch_items(session: Session, lang: str, since: int = 0) -> list[FeedRow]:
    """Every item changed after ``since`` (all of them for 0), in one language."""
    ical = FeedItemRow.ical_en if lang == "en" else FeedItemRow.ical_vi
    digest = FeedItemRow.digest_en if lang == "en" else FeedItemRow.digest_vi
    query = select(FeedItemRow.uid, FeedItemRow.sort_key, FeedItemRow.plan_code, FeedItemRow.agency_code,
                   FeedItemRow.obligation_code, FeedItemRow.channels, FeedItemRow.kind, FeedItemRow.revision,
                   FeedItemRow.last_modified, ical, digest, FeedItemRow.change)
    if since:
        query = query.where(FeedItemRow.change > since)
    return [FeedRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] >= 0, r[8], r[9], r[10], r[11])
            for r in session.execute(query)]


def last_change_moment(session: Session):
    return session.scalar(select(func.max(FeedItemRow.last_modified)))

