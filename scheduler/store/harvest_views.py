"""The harvest as the people who run the service see and steer it: every
source with its state and its last error in words, a source's fetch history,
and the two things they may do to it: read it at the next pass ("fetch now"),
and pause or resume it. One reader for the admin page, the API and the CLI.

A pause is ``config["paused"]``: ``sync_sources`` keeps it (and the source
inactive) when the same files are loaded again, so a pause outlives a load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.errors import N_, SchedulerError
from scheduler.plan.harvest_settings import checks_from, outlet_from
from scheduler.store.harvest_sources import KINDS
from scheduler.store.recording import NotFound
from scheduler.store.tables import HarvestFetchRow, HarvestSourceRow, ObligationRow, PlanRow

STATES = ("active", "paused", "retired", "failing")  # retired: no longer named in the files
MAX_SOURCES = 500  # one page or one API answer
MAX_FETCHES = 100  # a source's history shown
KIND_WORDS = {
    "feed": N_("RSS/Atom feed"),
    "sitemap": N_("sitemap"),
    "playout": N_("playout API"),
    "check": N_("page check"),
}
STATE_WORDS = {
    "active": N_("read"),
    "failing": N_("failing"),
    "paused": N_("paused"),
    "retired": N_("no longer in the files"),
}


class Conflict(SchedulerError):
    status = 409


class BadQuery(SchedulerError):
    """A filter outside what is accepted; ``field`` names the request part."""

    status = 422

    def __init__(self, field: str, message: str, **params: object):
        super().__init__(message, **params)
        self.field = field


@dataclass(frozen=True)
class SourceView:
    row: HarvestSourceRow
    last_error: str  # the latest failed read's reason, "" when the last read was fine or none was made

    @property
    def state(self) -> str:
        return state_of(self.row)


def paused(row: HarvestSourceRow) -> bool:
    return bool((row.config or {}).get("paused"))


def state_of(row: HarvestSourceRow) -> str:
    if paused(row):
        return "paused"
    if not row.active:
        return "retired"
    return "failing" if row.last_ok is False else "active"


def check_filters(kind: str | None, state: str | None) -> None:
    if kind and kind not in KINDS:
        raise BadQuery("kind", N_('unknown kind "{value}" (allowed: {allowed})'), value=kind, allowed=", ".join(KINDS))
    if state and state not in STATES:
        raise BadQuery(
            "state", N_('unknown state "{value}" (allowed: {allowed})'), value=state, allowed=", ".join(STATES)
        )


def list_sources(
    session: Session,
    outlet: str | None = None,
    kind: str | None = None,
    state: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[SourceView], int]:
    """The sources that pass the filters, by outlet, kind and URL, one page of
    them (``offset``, at most ``limit`` up to MAX_SOURCES) and how many in all."""
    check_filters(kind, state)
    S = HarvestSourceRow
    query = select(S)
    if outlet:
        query = query.where(S.outlet == outlet)
    if kind:
        query = query.where(S.kind == kind)
    rows = list(session.scalars(query.order_by(S.outlet, S.kind, S.url, S.id)))
    if state:  # the pause lives in JSON: filtered here, the sources are a few hundred at most
        rows = [r for r in rows if state_of(r) == state]
    page = rows[max(offset, 0) : max(offset, 0) + max(1, min(limit, MAX_SOURCES))]
    errors = _last_errors(session, [r.id for r in page if r.last_ok is False])
    return [SourceView(r, errors.get(r.id, "")) for r in page], len(rows)


def _last_errors(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    F = HarvestFetchRow
    latest = select(func.max(F.id)).where(F.source_id.in_(ids), F.ok.is_(False)).group_by(F.source_id)
    return {row.source_id: row.error for row in session.execute(select(F.source_id, F.error).where(F.id.in_(latest)))}


def source(session: Session, source_id: int, lock: bool = False) -> SourceView:
    query = select(HarvestSourceRow).where(HarvestSourceRow.id == source_id)
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(N_("no harvest source {id}"), id=source_id)
    errors = _last_errors(session, [row.id]) if row.last_ok is False else {}
    return SourceView(row, errors.get(row.id, ""))


def fetches_of(session: Session, source_id: int, limit: int = MAX_FETCHES) -> list[HarvestFetchRow]:
    """The source's latest reads, the newest first."""
    F = HarvestFetchRow
    query = select(F).where(F.source_id == source_id).order_by(F.at.desc(), F.id.desc())
    return list(session.scalars(query.limit(max(1, min(limit, MAX_FETCHES)))))


def fetch_now(session: Session, source_id: int, now: datetime) -> HarvestSourceRow:
    """Due at once: the next pass of the harvest job reads it."""
    row = source(session, source_id, lock=True).row
    if not row.active:
        raise Conflict(
            N_("harvest source {id} is paused or no longer named in the production files: it is not read"),
            id=source_id,
        )
    row.next_at = now
    return row


def set_paused(session: Session, source_id: int, pause: bool, now: datetime) -> HarvestSourceRow:
    """Pause (kept through loads) or resume (read at the next pass)."""
    row = source(session, source_id, lock=True).row
    config = {k: v for k, v in (row.config or {}).items() if k != "paused"}
    if pause:
        row.config, row.active = {**config, "paused": True}, False
    elif paused(row):
        row.config = config
        if named(session, row):  # else it stays retired, as the next load would make it
            row.active, row.next_at = True, min(row.next_at, now)
    return row


def named(session: Session, row: HarvestSourceRow) -> bool:
    """Whether the loaded files still name the source (what ``sync_sources`` last saw)."""
    if row.kind == "check":
        obligation = session.get(ObligationRow, (row.plan_code, row.obligation_code))
        checks = checks_from((obligation.definition or {}).get("checks") or ()) if obligation else ()
        return any(c.url == row.url for c in checks)
    plan = session.get(PlanRow, row.plan_code)
    for item in (plan.definition or {}).get("outlets") or () if plan else ():
        harvest = outlet_from(item)
        if harvest.outlet == row.outlet:
            urls = {"feed": harvest.feeds, "sitemap": harvest.sitemaps}.get(row.kind)
            return row.url in (urls if urls is not None else (harvest.asrun.url if harvest.asrun else "",))
    return False


def source_json(view: SourceView, tz: tzinfo) -> dict[str, Any]:
    r = view.row
    return {
        "id": r.id,
        "kind": r.kind,
        "outlet": r.outlet,
        "plan": r.plan_code,
        "obligation": r.obligation_code or None,
        "url": r.url,
        "host": r.host,
        "active": r.active,
        "state": view.state,
        "next_at": _local(r.next_at, tz),
        "last_at": _local(r.last_at, tz),
        "last_ok": r.last_ok,
        "last_error": view.last_error or None,
        "failures": r.failures,
    }


def fetch_json(f: HarvestFetchRow, tz: tzinfo) -> dict[str, Any]:
    return {
        "at": _local(f.at, tz),
        "ok": f.ok,
        "status": f.status,
        "error": f.error or None,
        "size": f.size,
        "found": f.found,
        "sha256": f.sha256 or None,
    }


def _local(moment: datetime | None, tz: tzinfo) -> str | None:
    return moment.astimezone(tz).isoformat() if moment else None
