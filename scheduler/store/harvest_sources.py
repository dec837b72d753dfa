"""The sources the daemon reads, kept in step with the loaded production
files, and the outlets' harvest settings read back.

``sync_sources`` runs in the load's one transaction (``store/loading.py``):
a source is one (kind, url, outlet, plan, obligation); one no longer named
is kept inactive with its fetch history, and comes back active when named
again, unless an administrator paused it (``config["paused"]``, kept).
Loading the same files twice changes nothing.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.plan.harvest_fields import host_of
from scheduler.plan.harvest_settings import OutletHarvest, outlet_from
from scheduler.plan.model import Plan
from scheduler.store.tables import HarvestSourceRow, PlanRow

KINDS = ("feed", "sitemap", "playout", "check")
Key = tuple[str, str, str, str, str]  # kind, url, outlet, plan, obligation ("" unless a check)


def wanted_sources(plan: Plan) -> dict[Key, dict[str, Any]]:
    """What the plan's production layers ask the daemon to read, with each
    source's configuration (never a secret: the playout key stays in its file)."""
    found: dict[Key, dict[str, Any]] = {}
    for harvest in plan.outlets:
        for url in harvest.feeds:
            found[("feed", url, harvest.outlet, plan.code, "")] = {}
        for url in harvest.sitemaps:
            found[("sitemap", url, harvest.outlet, plan.code, "")] = {}
        layout = harvest.asrun
        if layout is not None and layout.format == "libretime-api" and layout.url:
            found[("playout", layout.url, harvest.outlet, plan.code, "")] = dataclasses.asdict(layout)
    for obligation in plan.obligations:
        for check in obligation.checks:
            config = {"expect_link": check.expect_link, "expect_text": check.expect_text}
            found[("check", check.url, obligation.host, plan.code, obligation.code)] = config
    return found


def sync_sources(session: Session, plan: Plan, now: datetime) -> None:
    """Make the plan's sources what its files name: new ones due ``now``,
    named ones active with their current configuration, the rest inactive."""
    wanted = wanted_sources(plan)
    rows = session.scalars(select(HarvestSourceRow).where(HarvestSourceRow.plan_code == plan.code))
    for row in rows:
        key = (row.kind, row.url, row.outlet, row.plan_code, row.obligation_code)
        config = wanted.pop(key, None)
        if config is None:
            if row.active:
                row.active = False
            continue
        if (row.config or {}).get("paused"):  # paused by an administrator (store/harvest_views.py): kept
            config = {**config, "paused": True}
        if row.active is bool(config.get("paused")):
            row.active = not config.get("paused")
        if row.config != config:
            row.config = config
    for (kind, url, outlet, plan_code, obligation), config in wanted.items():
        session.add(
            HarvestSourceRow(
                kind=kind,
                url=url,
                host=host_of(url),
                outlet=outlet,
                plan_code=plan_code,
                obligation_code=obligation,
                config=config,
                active=True,
                next_at=now,
                etag="",
                last_modified="",
                failures=0,
            )
        )
    session.flush()


def _sections(session: Session) -> list[tuple[PlanRow, dict[str, Any]]]:
    """Every stored harvest section with its plan, the latest plan first."""
    found = []
    for plan in session.scalars(select(PlanRow).order_by(PlanRow.period_start.desc(), PlanRow.code)):
        for item in (plan.definition or {}).get("outlets") or ():
            if isinstance(item, dict) and item.get("outlet"):
                found.append((plan, item))
    return found


def outlet_harvest(session: Session, outlet: str, plan: str | None = None) -> OutletHarvest | None:
    """The outlet's harvest settings: those of ``plan`` when given (what its
    proposals follow, e.g. ``auto_record``), else of the plan with the latest
    period that has a harvest section for it; None when none has."""
    return next(
        (
            outlet_from(item)
            for row, item in _sections(session)
            if item["outlet"] == outlet and plan in (None, row.code)
        ),
        None,
    )


def outlets_of(session: Session) -> list[str]:
    """Every outlet with a harvest section in a loaded plan."""
    return sorted({str(item["outlet"]) for _plan, item in _sections(session)})
