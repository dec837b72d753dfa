"""Which plans a person sees: a DHA user the plans of their agency's
province, a national user (and an admin) every plan. The dashboard, the
compliance API and the report downloads narrow to these; a plan outside them
answers as if it did not exist."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.errors import N_
from scheduler.store.recording import NotFound
from scheduler.store.tables import PlanRow, RegistryAgencyRow

EVERY_PLAN = ("admin", "national")
NO_PROVINCE = N_('no plan of province "{value}" is loaded')


def seen_province(session: Session, roles: Iterable[str], agency_code: str | None) -> str:
    """The one province a person is held to, or "" for every province: a DHA
    user (neither admin nor national) whose agency has a registry province."""
    roles = set(roles)
    if roles & set(EVERY_PLAN) or "dha" not in roles or not agency_code:
        return ""
    query = select(RegistryAgencyRow.province).where(RegistryAgencyRow.code == agency_code)
    return session.scalar(query) or ""


def visible_plans(session: Session, roles: Iterable[str], agency_code: str | None) -> list[str] | None:
    """The codes of the plans ``roles`` and ``agency_code`` see, or None for
    every plan: admins and national users; a DHA user without an agency, or
    whose agency has no province in the registry (a single-province install
    keeps working); anyone else, whom their own permissions narrow."""
    province = seen_province(session, roles, agency_code)
    if not province:
        return None
    return list(session.scalars(select(PlanRow.code).where(PlanRow.province == province).order_by(PlanRow.code)))


def provinces(session: Session) -> list[str]:
    """The provinces the loaded plans name (a national user's filter)."""
    query = select(PlanRow.province).where(PlanRow.province != "").distinct().order_by(PlanRow.province)
    return list(session.scalars(query))


def visible_selection(session: Session, actor, plan: str | None, province: str | None) -> list[str] | None:
    """The plans a request for ``plan`` and ``province`` covers, as ``actor``
    (roles, agency) sees them: None for every plan; NotFound when it names a
    plan or a province the actor does not see (as an unknown one: its
    existence is not revealed)."""
    visible = visible_plans(session, actor.roles, actor.agency)
    if not plan and not province:
        return visible
    query = select(PlanRow.code).order_by(PlanRow.code)
    if plan:
        query = query.where(PlanRow.code == plan)
    if province:
        query = query.where(PlanRow.province == province)
    codes = [c for c in session.scalars(query) if visible is None or c in visible]
    if plan and not codes and (visible is not None or province):
        raise NotFound(N_('no plan "{value}" is loaded'), value=plan)
    if province and not codes:
        raise NotFound(NO_PROVINCE, value=province)
    return codes or None  # an unknown plan seen by who sees everything: check_codes lists the known ones
