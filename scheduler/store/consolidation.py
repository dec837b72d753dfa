"""The DHA's consolidated report: several plans in one document. Each plan
with something owed in the period is a section (its own compliance report);
the totals add them up, the agencies are one row per agency code across
plans (the registry's one agency), and ``reports_back`` lists the periodic
reports the agencies owe the DHA (the plans' reporting sections)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.compliance.rollup import roll_up
from scheduler.compliance.status import COUNTS, ReportPeriod, rate
from scheduler.errors import N_, InputError
from scheduler.i18n import pick
from scheduler.store.compliance import Scope
from scheduler.store.tables import AgencyMemberRow, AgencyRow, ObligationRow, PlanRow, RegistryAgencyRow


def selected_plans(session: Session, plans: Sequence[str] | None) -> list[PlanRow]:
    """The loaded plans named (None: every loaded plan), by code; none is an error."""
    query = select(PlanRow).order_by(PlanRow.code)
    if plans is not None:
        query = query.where(PlanRow.code.in_(list(plans)))
    found = list(session.scalars(query))
    if not found:
        raise InputError(N_('no plan "{value}" is loaded'), value=", ".join(plans or []) or "-")
    return found


def framing(session: Session, plans: list[PlanRow], report_agency: str) -> tuple[PlanRow, AgencyRow | None]:
    """The plan whose issuer frames the document and the reporting agency's
    row in it: of the plans that list the agency, a province's first (a
    district's plan lists the Sở only as whom it reports to), else the first."""
    rows = list(
        session.scalars(
            select(AgencyRow)
            .where(AgencyRow.code == report_agency, AgencyRow.plan_code.in_([p.code for p in plans]))
            .order_by(AgencyRow.plan_code)
        )
    )
    listing = {a.plan_code: a for a in rows}
    ranked = sorted(plans, key=lambda p: (p.code not in listing, not _provincial(p.issuer), p.code))
    return ranked[0], listing.get(ranked[0].code)


def _provincial(issuer: str) -> bool:
    """Whether a plan is issued at the province's level ("Ủy ban nhân dân tỉnh …")."""
    words = issuer.lower()
    return any(f"{head} {level}" in words for head in ("ủy ban nhân dân", "ubnd") for level in ("tỉnh", "thành phố"))


def total(rows: list[dict]) -> dict:
    """Counts added up, the rate of the sum, the extras beside them."""
    counts = {k: sum(r[k] for r in rows) for k in COUNTS}
    return {**counts, "rate": rate(counts), "surplus": sum(r.get("surplus", 0) for r in rows)}


def consolidate(
    session: Session,
    plans: list[PlanRow],
    sections: list[dict],
    period: ReportPeriod,
    now: datetime,
    scope: Scope,
    lang: str,
    document: dict,
) -> dict:
    """The consolidated document of ``sections`` (one per plan with something
    owed in the period, each a plan's compliance report)."""
    codes = [p.code for p in plans]
    names = _names(session, codes, sections, lang)
    rows = [r for s in sections for r in s["rows"]]
    per_agency: dict[str, list[dict]] = {}
    for r in rows:
        per_agency.setdefault(r["agency"], []).append(r)
    agencies = [
        {"agency": a, "agency_name": names.get(a, a), **total(items)} for a, items in sorted(per_agency.items())
    ]
    return {
        "plans": [
            {"code": p.code, "title": pick(lang, p.title, p.title_en), "issuer": p.issuer, "province": p.province}
            for p in plans
        ],
        "sections": sections,
        "totals": total(rows),
        "agencies": roll_up(agencies, _groups(session, codes, scope.agency), lambda a: names.get(a, a), total),
        "period": {
            "label": period.label,
            "start": period.start.isoformat(),
            "end": period.last_day.isoformat(),
            "cutoff": period.cutoff,
        },
        "as_of": now.astimezone(ZoneInfo(plans[0].timezone)).isoformat(),
        "scope": {"agency": scope.agency, "obligation": scope.obligation},
        "lang": lang,
        "document": document,
        "reports_back": reports_back(session, sections, names),
    }


def reports_back(session: Session, sections: list[dict], names: dict[str, str]) -> list[dict]:
    """The reports agencies owe the DHA (obligations of a reporting section)
    whose window closes in the period: who reported, on time or not, and the
    files they recorded."""
    codes = [s["plan"]["code"] for s in sections]
    query = select(ObligationRow.plan_code, ObligationRow.code, ObligationRow.definition).where(
        ObligationRow.plan_code.in_(codes)
    )
    reporting = {(p, c) for p, c, d in session.execute(query) if (d or {}).get("reports_to")}
    found = []
    for s in sections:
        plan = s["plan"]["code"]
        titles = {r["obligation"]: r["obligation_title"] for r in s["rows"]}
        for o in s["occurrences"]:
            if (plan, o["obligation"]) not in reporting:
                continue
            active = [e for e in o["evidence"] if e["active"] and e["kind"] == "delivery"]
            found.append(
                {
                    "agency": o["agency"],
                    "agency_name": names.get(o["agency"], o["agency"]),
                    "plan": plan,
                    "obligation": o["obligation"],
                    "obligation_title": titles.get(o["obligation"], o["title"]),
                    "period": o["period"],
                    "name": o["name"],
                    "due": o["due"],
                    "status": o["status"],
                    "href": o["href"],
                    "recorded_at": active[-1]["recorded_at"] if active else None,
                    "files": [f for e in active for f in e["files"]],
                }
            )
    return sorted(found, key=lambda r: (r["due"], r["plan"], r["agency"], r["obligation"]))


def _names(session: Session, codes: list[str], sections: list[dict], lang: str) -> dict[str, str]:
    """Agency code -> its name: the registry's current one, else as a plan wrote it."""
    names = {a["agency"]: a["agency_name"] for s in sections for a in s["heatmap"]["agencies"]}
    for s in sections:
        for a in s["agencies"]:
            names.setdefault(a["agency"], a["agency_name"])
            names.update({m["agency"]: m["agency_name"] for m in a.get("members", [])})
    query = select(RegistryAgencyRow.code, RegistryAgencyRow.name, RegistryAgencyRow.name_en)
    for code, name, name_en in session.execute(query.where(RegistryAgencyRow.code.in_(sorted(names)))):
        names[code] = pick(lang, name, name_en)
    return names


def _groups(session: Session, codes: list[str], agency: str | None) -> dict[str, list[str]]:
    """Groups across the plans, each with its members in every plan (first seen first)."""
    query = select(AgencyMemberRow.group_code, AgencyMemberRow.member_code).where(AgencyMemberRow.plan_code.in_(codes))
    if agency:
        query = query.where(AgencyMemberRow.group_code == agency)
    found: dict[str, list[str]] = {}
    for group, member in session.execute(query.order_by(AgencyMemberRow.plan_code, AgencyMemberRow.position)):
        if member not in found.setdefault(group, []):
            found[group].append(member)
    return found
