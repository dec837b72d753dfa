"""What the calendar and subscription pages read: the choices their filters
offer, and the occurrences and milestones of the days a month page shows."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from scheduler.store.known_codes import all_channels
from scheduler.store.schedule import Filters, find_milestones, in_scope
from scheduler.store.tables import AgencyRow, MilestoneRow, ObligationRow, OccurrenceRow, PlanRow


@dataclass(frozen=True)
class Choices:
    """Every plan, agency and obligation a filter may name, each code with its
    (vi, en) names; an agency or obligation in several plans is listed once."""

    plans: dict[str, tuple[str, str]]
    agencies: dict[str, tuple[str, str]]
    obligations: dict[str, tuple[str, str]]
    zones: dict[str, str]  # plan code -> its time zone
    channels: dict[str, tuple[str, str]]  # the built-in channels and the plans' own


def folded(text: str) -> str:
    """A sort key that reads Vietnamese as people alphabetise it, near enough:
    "Đài" beside "Dân", not after "Ủy"."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return bare.replace("Đ", "D").replace("đ", "d").casefold()


def _by_name(pairs: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    return dict(sorted(pairs.items(), key=lambda item: (folded(item[1][0]), item[0])))


def choices(session: Session) -> Choices:
    """Every plan, agency and obligation loaded, by name (the latest plan's name when several share a code)."""
    plans = list(session.scalars(select(PlanRow).order_by(PlanRow.code)))
    agencies = {a.code: (a.name, a.name_en) for a in session.scalars(select(AgencyRow).order_by(AgencyRow.plan_code))}
    obligations = {
        o.code: (o.title, o.title_en) for o in session.scalars(select(ObligationRow).order_by(ObligationRow.plan_code))
    }
    return Choices(
        {p.code: (p.title, p.title_en) for p in plans},
        _by_name(agencies),
        _by_name(obligations),
        {p.code: p.timezone for p in plans},
        all_channels(session),
    )


def _channel_ok(row: OccurrenceRow, channel: str | None) -> bool:
    return channel is None or channel in (row.shown or {}).get("channels", [])


def shown_between(session: Session, filters: Filters, channel: str | None) -> list[OccurrenceRow]:
    """Occurrences a calendar shows in ``[filters.start, filters.end)``: on their
    air slot when they have one, else on their due moment. The channel is
    checked on the (few) rows of the range, as the feeds check it."""
    start, end = filters.start, filters.end
    on_day = or_(
        and_(OccurrenceRow.slot.is_not(None), OccurrenceRow.slot >= start, OccurrenceRow.slot < end),
        and_(OccurrenceRow.slot.is_(None), OccurrenceRow.due >= start, OccurrenceRow.due < end),
    )
    query = in_scope(select(OccurrenceRow).where(on_day), filters.plan, filters.agency, filters.obligation)
    rows = session.scalars(
        query.order_by(OccurrenceRow.due, OccurrenceRow.obligation_code, OccurrenceRow.period, OccurrenceRow.number)
    )
    return sorted((r for r in rows if _channel_ok(r, channel)), key=lambda r: r.slot or r.due)


def milestones_between(
    session: Session, filters: Filters, channel: str | None, first: date, last: date
) -> list[tuple[MilestoneRow, OccurrenceRow]]:
    """Milestones on the days ``first`` … ``last`` (inclusive), with their occurrence."""
    return [(m, o) for m, o in find_milestones(session, filters, first, last) if _channel_ok(o, channel)]


def day_bounds(first: date, end: date, tz) -> tuple[datetime, datetime]:
    """The moments that bound the days ``[first, end)`` in ``tz``."""
    return (datetime(first.year, first.month, first.day, tzinfo=tz), datetime(end.year, end.month, end.day, tzinfo=tz))
