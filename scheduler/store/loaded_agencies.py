"""The agencies of the loaded plans, for ``plan import`` to match a new
plan's names against (one row per code: the most recently loaded plan's)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.store.tables import AgencyRow


def loaded_agencies(session: Session) -> list[tuple[str, str, str]]:
    """(code, name, kind) of every agency code in the database."""
    found: dict[str, tuple[str, str, str]] = {}
    for row in session.scalars(select(AgencyRow).order_by(AgencyRow.plan_code, AgencyRow.code)):
        found[row.code] = (row.code, row.name, row.kind)
    return list(found.values())
