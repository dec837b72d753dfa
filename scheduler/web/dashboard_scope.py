"""What a dashboard page covers: the plans the signed-in person may see
(``store.visibility``), narrowed by the page's plan and province, and the
agency and obligation it drills into. A plan or province the person may not
see is "not found", as an unknown one: its existence is not revealed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.compliance.rollup import flat
from scheduler.errors import N_
from scheduler.i18n import pick
from scheduler.store.consolidation import reports_back
from scheduler.store.recording import NotFound
from scheduler.store.schedule import group_members
from scheduler.store.tables import AgencyRow, ObligationRow, PlanRow, RegistryAgencyRow
from scheduler.store.visibility import NO_PROVINCE, provinces, visible_plans
from scheduler.web.auth import SessionUser

NO_PLAN = N_("No plan is loaded yet.")
NO_AGENCY = N_('The plan has no agency "{code}".')
NO_OBLIGATION = N_('Agency "{agency}" hosts no obligation "{code}" in this plan.')
ALL_PLANS = N_("All plans")


@dataclass
class Chosen:
    """The plans a page covers (one: that plan's report; several: consolidated)."""

    codes: list[str]
    plan: str  # the selection's plan: "" when several are consolidated
    options: list[tuple[str, str]]  # the plan selector: ("", "Tất cả kế hoạch") first when there are several
    provinces: list[str]  # the province filter (people who see every province), else empty
    first: date
    end: date  # exclusive
    today: date


def choose(session: Session, user: SessionUser, plan: str, province: str, now: datetime, _) -> Chosen:
    """``plan`` when given and visible; else every visible plan (of ``province``)
    when more than one runs now, else the one running (or the last loaded)."""
    visible = visible_plans(session, user.roles, user.agency)
    known = provinces(session) if visible is None else []
    if province and province not in known:
        raise NotFound(NO_PROVINCE, value=province)
    rows = [
        p
        for p in session.scalars(select(PlanRow).order_by(PlanRow.code))
        if (visible is None or p.code in visible) and (not province or p.province == province)
    ]
    options = [(p.code, pick(user.lang, p.title, p.title_en)) for p in rows]
    if len(rows) > 1:
        options.insert(0, ("", _(ALL_PLANS)))
    if plan:
        chosen = [p for p in rows if p.code == plan]
        if not chosen:
            raise NotFound(N_('no plan "{value}" is loaded'), value=plan)
    elif not rows:
        raise NotFound(NO_PLAN)
    else:
        running = [p for p in rows if p.period_start <= now.astimezone(ZoneInfo(p.timezone)).date() < p.period_end]
        chosen = rows if len(running) > 1 else (running or rows[-1:])[:1]
    return Chosen(
        [p.code for p in chosen],
        chosen[0].code if len(chosen) == 1 else "",
        options,
        known,
        min(p.period_start for p in chosen),
        max(p.period_end for p in chosen),
        now.astimezone(ZoneInfo(chosen[0].timezone)).date(),
    )


def names(session: Session, codes: list[str], lang: str, agency: str | None, obligation: str | None) -> dict:
    """The names of the agency and obligation a page drills into, in the
    plans it covers; NotFound when none of them has it."""
    found: dict[str, str] = {}
    if agency is None:
        return found
    rows = list(session.scalars(select(AgencyRow).where(AgencyRow.code == agency, AgencyRow.plan_code.in_(codes))))
    if not rows:
        raise NotFound(NO_AGENCY, code=agency)
    current = session.get(RegistryAgencyRow, agency)
    shown = current or rows[0]
    found["agency"] = pick(lang, shown.name, shown.name_en)
    if obligation is not None:
        query = select(ObligationRow).where(ObligationRow.code == obligation, ObligationRow.plan_code.in_(codes))
        hosted = [
            ob
            for ob in session.scalars(query)
            if agency in (ob.host, *group_members(session, ob.plan_code).get(ob.host, []))
        ]
        if not hosted:
            raise NotFound(NO_OBLIGATION, agency=agency, code=obligation)
        found["obligation"] = pick(lang, hosted[0].title, hosted[0].title_en)
    return found


def reports_back_of(session: Session, document: dict) -> list[dict]:
    """The reports agencies owe the DHA in the period: the consolidated
    document lists them; for one plan's report they are looked up the same way."""
    if "sections" in document:
        return list(document["reports_back"])
    named = {a["agency"]: a["agency_name"] for a in flat(document["agencies"])}
    named.update({a["agency"]: a["agency_name"] for a in document["heatmap"]["agencies"]})
    return reports_back(session, [document], named)
