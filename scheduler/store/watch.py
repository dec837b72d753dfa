"""What the reminder policy reads, from the database: occurrences near
``now`` with their milestones, who is reminded, and the DHA's addresses."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.plan.reminder_policy import Policy
from scheduler.plan.workdays import WorkCalendar
from scheduler.reminders.policy import Watched
from scheduler.store.registry import contacts_map, contacts_of
from scheduler.store.tables import AgencyRow, MilestoneRow, ObligationRow, OccurrenceRow, PlanRow, UserRow

LOOK_BACK = timedelta(days=10)  # overdue notices run a week after a window closes
LOOK_AHEAD = timedelta(days=60)  # invitations go out 15 working days before an event


def calendar_of(plan: PlanRow) -> WorkCalendar:
    d = plan.definition or {}
    return WorkCalendar(
        frozenset(date.fromisoformat(x) for x in d.get("extra_holidays", [])),
        frozenset(date.fromisoformat(x) for x in d.get("extra_workdays", [])),
    )


def dha_addresses(session: Session, plan: str, report_agency: str) -> tuple[str, ...]:
    """The reporting agency's contacts and every active user with the dha role."""
    agency = session.get(AgencyRow, (plan, report_agency))
    found = contacts_of(session, report_agency) if agency else []  # across plans, once the plan names it
    found += [
        u
        for u, roles in session.execute(select(UserRow.email, UserRow.roles).where(UserRow.disabled.is_(False)))
        if "dha" in (roles or [])
    ]
    return tuple(dict.fromkeys(a.lower() for a in found))


def admin_addresses(session: Session) -> list[tuple[str, str]]:
    """Every active administrator's (address, language): who hears of messages that expired unsent."""
    rows = session.execute(select(UserRow.email, UserRow.roles, UserRow.lang).where(UserRow.disabled.is_(False)))
    return [(email.lower(), lang) for email, roles, lang in rows if "admin" in (roles or [])]


def watched(
    session: Session, now: datetime, report_agency: str, ids: list[str] | None = None
) -> dict[str, tuple[PlanRow, list[Watched]]]:
    """Per plan: the plan and its occurrences that may owe a message near ``now``
    (or exactly ``ids``), one Watched per recipient language."""
    query = select(OccurrenceRow)
    if ids is not None:
        query = query.where(OccurrenceRow.id.in_(ids))
    else:
        query = query.where(OccurrenceRow.window_end > now - LOOK_BACK, OccurrenceRow.window_start < now + LOOK_AHEAD)
    rows = list(session.scalars(query))
    if not rows:
        return {}
    steps: dict[str, list] = {}
    for m in session.scalars(select(MilestoneRow).where(MilestoneRow.occurrence_id.in_([r.id for r in rows]))):
        steps.setdefault(m.occurrence_id, []).append((m.step, m.title, m.title_en, m.day))
    langs = {u.email.lower(): u.lang for u in session.scalars(select(UserRow))}
    found: dict[str, tuple[PlanRow, list[Watched]]] = {}
    for plan_code in sorted({r.plan_code for r in rows}):
        plan = session.get(PlanRow, plan_code)
        declared = session.scalars(select(AgencyRow.code).where(AgencyRow.plan_code == plan_code))
        contacts = contacts_map(session, declared)  # an agency's contacts across plans (the registry)
        obligations = {
            o.code: o for o in session.scalars(select(ObligationRow).where(ObligationRow.plan_code == plan_code))
        }
        plan_policy = Policy.from_mapping((plan.definition or {}).get("reminder_policy"))
        dha = dha_addresses(session, plan_code, report_agency)
        items = []
        for r in (x for x in rows if x.plan_code == plan_code):
            ob = obligations.get(r.obligation_code)
            definition = ob.definition if ob else {}
            policy = Policy.from_mapping(definition.get("reminder_policy"), plan_policy)
            recipients = _recipients(definition.get("reminders") or [], contacts, r.agency_code)
            by_lang: dict[str, list[str]] = {}
            for address in recipients:
                by_lang.setdefault(langs.get(address, "vi"), []).append(address)
            for lang, addresses in sorted(by_lang.items()):
                items.append(
                    Watched(
                        r.id,
                        r.plan_code,
                        r.obligation_code,
                        r.agency_code,
                        r.title,
                        r.title_en,
                        r.period,
                        r.number,
                        int(r.shown.get("count", 1)),
                        r.window_start,
                        r.window_end,
                        r.due,
                        r.slot,
                        r.status,
                        (r.delivery or {}).get("state"),
                        tuple(sorted(steps.get(r.id, []), key=lambda m: m[3])),
                        tuple(addresses),
                        dha,
                        lang,
                        policy,
                    )
                )
        found[plan_code] = (plan, items)
    return found


def _recipients(named: list[str], contacts: dict[str, list[str]], host: str) -> tuple[str, ...]:
    """The obligation's reminder list (addresses or the plan's agency codes), else the host's contacts."""
    found: list[str] = []
    for item in named or [host]:
        if "@" in item:
            found.append(item)
        elif item in contacts:
            found += contacts[item]
    return tuple(dict.fromkeys(a.strip().lower() for a in found))


def zone(plan: PlanRow) -> ZoneInfo:
    return ZoneInfo(plan.timezone)
