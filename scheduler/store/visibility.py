"""Which plans a person sees: a DHA user the plans of their agency's
province, a national user (and an admin) every plan. The dashboard, the
compliance API and the report downloads narrow to these; a plan outside them
answers as if it did not exist."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.store.tables import PlanRow, RegistryAgencyRow

EVERY_PLAN = ("admin", "national")


def visible_plans(session: Session, roles: Iterable[str], agency_code: str | None) -> list[str] | None:
    """The codes of the plans ``roles`` and ``agency_code`` see, or None for
    every plan: admins and national users; a DHA user without an agency, or
    whose agency has no province in the registry (a single-province install
    keeps working); anyone else, whom their own permissions narrow."""
    roles = set(roles)
    if roles & set(EVERY_PLAN) or "dha" not in roles or not agency_code:
        return None
    province = session.scalar(select(RegistryAgencyRow.province).where(RegistryAgencyRow.code == agency_code))
    if not province:
        return None
    return list(session.scalars(select(PlanRow.code).where(PlanRow.province == province).order_by(PlanRow.code)))


def provinces(session: Session) -> list[str]:
    """The provinces the loaded plans name (a national user's filter)."""
    query = select(PlanRow.province).where(PlanRow.province != "").distinct().order_by(PlanRow.province)
    return list(session.scalars(query))


def narrowed(session: Session, visible: list[str] | None, plan: str | None, province: str | None) -> list[str] | None:
    """The plans a selection covers: ``plan`` alone, else the visible ones
    (of ``province`` when given); None for every plan. A plan outside what is
    visible is an empty list: the caller answers 404, as for an unknown one."""
    if plan:
        return [plan] if visible is None or plan in visible else []
    if province:
        codes = list(session.scalars(select(PlanRow.code).where(PlanRow.province == province).order_by(PlanRow.code)))
        return codes if visible is None else [c for c in codes if c in visible]
    return visible
