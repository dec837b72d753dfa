"""The one registry of agencies, shared by code across plans: each load
registers the agencies its plan names, in the load's transaction. The
registry holds the current truth (name, kind, province); a plan written
before a rename may still name the old name, and a plan's own ``agencies``
rows keep the name it wrote and the contacts it adds."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.errors import N_, Problem
from scheduler.i18n import pick
from scheduler.plan.model import Agency, Plan
from scheduler.store.tables import AgencyRow, LoadRow, PlanRow, RegistryAgencyRow, SuccessionRow

CHUNK = 2000  # codes per IN (...): well under every database's limit on parameters


def _same(a: str, b: str) -> bool:
    """Names compared as people read them: case and Unicode form aside."""
    return unicodedata.normalize("NFC", a).casefold() == unicodedata.normalize("NFC", b).casefold()


def _chunks(codes: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(codes), CHUNK):
        yield codes[i : i + CHUNK]


def _registered(session: Session, codes: list[str]) -> dict[str, RegistryAgencyRow]:
    found: dict[str, RegistryAgencyRow] = {}
    for part in _chunks(codes):
        query = select(RegistryAgencyRow).where(RegistryAgencyRow.code.in_(part))
        found.update((r.code, r) for r in session.scalars(query))
    return found


def _known_names(session: Session, codes: list[str]) -> dict[str, set[str]]:
    """Every name the successions record for each code (before and after)."""
    found: dict[str, set[str]] = {}
    for part in _chunks(codes):
        query = select(SuccessionRow.agency_code, SuccessionRow.old_name, SuccessionRow.new_name).where(
            SuccessionRow.agency_code.in_(part)
        )
        for code, old, new in session.execute(query):
            found.setdefault(code, set()).update(n for n in (old, new) if n)
    return found


def register_agencies(session: Session, plan: Plan, now: datetime) -> list[Problem]:
    """Upsert the plan's agencies into the registry; what the registry keeps
    against the plan's words comes back as warnings at the agency's line."""
    codes = [a.code for a in plan.agencies]
    rows = _registered(session, codes)
    known = _known_names(session, codes)
    warnings: list[Problem] = []
    for index, agency in enumerate(plan.agencies):
        row = rows.get(agency.code)
        if row is None:
            session.add(_new_row(agency, plan.province, now))
            continue
        warnings += _differences(plan, index, agency, row, known.get(agency.code, set()))
        filled = _fill(row, agency, plan.province)
        if filled:
            row.updated_at = now
    session.flush()
    return warnings + dissolved_hosts(session, plan)


def dissolved_hosts(session: Session, plan: Plan) -> list[Problem]:
    """A plan that names as host an agency the registry says ended (merged or
    dissolved) on a day its period reaches: a warning at the obligation,
    naming who owes from that day (the load gives it to them)."""
    hosts = sorted({o.host for o in plan.obligations})
    ended = {code: row for code, row in _registered(session, hosts).items() if row.dissolved_on is not None}
    ended = {code: row for code, row in ended.items() if plan.period.end > row.dissolved_on}
    if not ended:
        return []
    successors: dict[str, str] = {}
    query = select(SuccessionRow.agency_code, SuccessionRow.successor).order_by(SuccessionRow.effective_on)
    for code, successor in session.execute(query.where(SuccessionRow.agency_code.in_(list(ended)))):
        successors[code] = successor  # the latest ending wins
    named = names(session, [s for s in successors.values() if s])
    found = []
    for index, obligation in enumerate(plan.obligations):
        row = ended.get(obligation.host)
        if row is None:
            continue
        successor = successors.get(obligation.host, "")
        params = {"obligation": obligation.code, "code": obligation.host, "day": f"{row.dissolved_on:%d/%m/%Y}"}
        if successor:
            message = N_(
                'obligation "{obligation}": its host "{code}" ended on {day}; from that day "{successor}" '
                "({name}) owes it (name it as host)"
            )
            params |= {"successor": successor, "name": named.get(successor, (successor, ""))[0]}
        else:
            message = N_(
                'obligation "{obligation}": its host "{code}" was dissolved on {day} without a successor; '
                "what falls from that day is cancelled"
            )
        found.append(Problem(plan.source, None, f"obligations[{index}].host", message, params))
    return found


def _new_row(agency: Agency, province: str, now: datetime) -> RegistryAgencyRow:
    return RegistryAgencyRow(
        code=agency.code,
        name=agency.name,
        name_en=agency.name_en,
        kind=agency.kind,
        province=province,
        dissolved_on=None,
        created_at=now,
        updated_at=now,
    )


def _fill(row: RegistryAgencyRow, agency: Agency, province: str) -> bool:
    """What the registry lacks and the plan says: its province, an English name."""
    changed = False
    if not row.province and province:
        row.province, changed = province, True
    if not row.name_en and agency.name_en and _same(row.name, agency.name):
        row.name_en, changed = agency.name_en, True
    return changed


def _differences(plan: Plan, index: int, agency: Agency, row: RegistryAgencyRow, old: set[str]) -> list[Problem]:
    found = []
    if not _same(agency.name, row.name) and not any(_same(agency.name, n) for n in old):
        found.append(
            Problem(
                plan.source,
                agency.line or None,
                f"agencies[{index}].name",
                N_(
                    'agency "{code}" is named "{name}" here; the registry keeps "{current}" '
                    "(rename it with `agencies rename` if the name changed)"
                ),
                {"code": agency.code, "name": agency.name, "current": row.name},
            )
        )
    if agency.kind != row.kind:
        found.append(
            Problem(
                plan.source,
                agency.line or None,
                f"agencies[{index}].kind",
                N_('agency "{code}" is of kind "{kind}" here; the registry keeps "{current}"'),
                {"code": agency.code, "kind": agency.kind, "current": row.kind},
            )
        )
    return found


def backfill(session: Session, now: datetime) -> int:
    """Register the agencies of plans loaded before the registry existed:
    codes in ``agencies`` but not in the registry, named as the first plan
    loaded names them. One query when nothing is missing; how many it added."""
    missing = (
        select(AgencyRow, PlanRow.province)
        .join(PlanRow, PlanRow.code == AgencyRow.plan_code)
        .where(~select(RegistryAgencyRow.code).where(RegistryAgencyRow.code == AgencyRow.code).exists())
    )
    rows = list(session.execute(missing))
    if not rows:
        return 0
    plans = {r.plan_code for r, _ in rows}
    loads = select(LoadRow.plan_code, func.min(LoadRow.id)).where(LoadRow.plan_code.in_(plans))
    first = {row[0]: row[1] for row in session.execute(loads.group_by(LoadRow.plan_code))}
    rows.sort(key=lambda x: (first.get(x[0].plan_code, 0), x[0].plan_code))
    added: dict[str, RegistryAgencyRow] = {}
    for agency, province in rows:
        row = added.get(agency.code)
        if row is None:
            row = added[agency.code] = _new_row(_as_agency(agency), province or "", now)
        elif not row.province and province:
            row.province = province
    session.add_all(added.values())
    session.flush()
    return len(added)


def _as_agency(row: AgencyRow) -> Agency:
    return Agency(row.code, row.name, row.name_en or "", row.kind)


def names(session: Session, codes: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
    """Code -> (name, name_en): the registry's, else the name of the first
    plan (by code) that declares it; a code known nowhere names itself."""
    wanted = sorted(set(codes)) if codes is not None else None
    found: dict[str, tuple[str, str]] = {}
    for part in _chunks(wanted) if wanted is not None else [None]:
        declared = select(AgencyRow.code, AgencyRow.name, AgencyRow.name_en).order_by(AgencyRow.plan_code.desc())
        registry = select(RegistryAgencyRow.code, RegistryAgencyRow.name, RegistryAgencyRow.name_en)
        if part is not None:
            declared = declared.where(AgencyRow.code.in_(part))
            registry = registry.where(RegistryAgencyRow.code.in_(part))
        for query in (declared, registry):  # the first plan by code is written last, the registry over all
            found.update((code, (name, name_en or "")) for code, name, name_en in session.execute(query))
    for code in wanted or ():
        found.setdefault(code, (code, ""))
    return found


def agency_name(session: Session, code: str, lang: str) -> str:
    """The agency's current name in ``lang`` (Vietnamese when it has no English one)."""
    name, name_en = names(session, [code])[code]
    return pick(lang, name, name_en)


def province_of(session: Session, agency_code: str) -> str:
    """The agency's province: the registry's, else that of a plan declaring
    it (the first by code that names one); "" when none is known."""
    found = session.scalar(select(RegistryAgencyRow.province).where(RegistryAgencyRow.code == agency_code))
    if found:
        return found
    query = (
        select(PlanRow.province)
        .join(AgencyRow, AgencyRow.plan_code == PlanRow.code)
        .where(AgencyRow.code == agency_code, PlanRow.province != "")
        .order_by(PlanRow.code)
        .limit(1)
    )
    return session.scalar(query) or ""


def contacts_map(session: Session, codes: Iterable[str]) -> dict[str, list[str]]:
    """Code -> the union of its contacts over every plan that declares it,
    plan by plan (by code), each plan's in its order, lowercased, once each."""
    wanted = sorted(set(codes))
    found: dict[str, list[str]] = {}
    for part in _chunks(wanted):
        query = (
            select(AgencyRow.code, AgencyRow.contacts)
            .where(AgencyRow.code.in_(part))
            .order_by(AgencyRow.code, AgencyRow.plan_code)
        )
        for code, contacts in session.execute(query):
            found.setdefault(code, []).extend(c.strip().lower() for c in contacts or [])
    return {code: list(dict.fromkeys(found.get(code, []))) for code in wanted}


def contacts_of(session: Session, code: str) -> list[str]:
    """The agency's contacts across plans: what reminders and notices use."""
    return contacts_map(session, [code])[code]


def listing(session: Session, province: str | None = None) -> list[dict]:
    """The registry as ``agencies list`` shows it: each code with the plans that name it."""
    query = select(RegistryAgencyRow).order_by(RegistryAgencyRow.province, RegistryAgencyRow.code)
    if province:
        query = query.where(RegistryAgencyRow.province == province)
    plans: dict[str, list[str]] = {}
    for code, plan in session.execute(select(AgencyRow.code, AgencyRow.plan_code).order_by(AgencyRow.plan_code)):
        plans.setdefault(code, []).append(plan)
    return [
        {
            "code": r.code,
            "name": r.name,
            "name_en": r.name_en,
            "kind": r.kind,
            "province": r.province,
            "plans": plans.get(r.code, []),
            "dissolved_on": _day(r.dissolved_on),
        }
        for r in session.scalars(query)
    ]


def provinces(session: Session) -> list[str]:
    """Every province code the registry or a plan names."""
    found = set(session.scalars(select(RegistryAgencyRow.province).where(RegistryAgencyRow.province != "")))
    found |= set(session.scalars(select(PlanRow.province).where(PlanRow.province != "")))
    return sorted(found)


def _day(d: date | None) -> str | None:
    return d.isoformat() if d else None
