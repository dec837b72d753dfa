"""The sections of a consolidated dashboard (several plans), counts only, in
a number of statements that does not grow with the plans: the counts per
(plan, agency, obligation) and the heatmap per (plan, agency, month) in one
GROUP BY each, the plans' agencies, obligations and groups in one query each,
the reports owed the DHA (few) with their links, the names as in the period
once for all. A plan whose period is closed counts as of its closing: it is
built alone (closings are few). Each section is what
``reporting.compliance_report(..., counts_only=True)`` gives for its plan
(tests/test_dashboard_counts.py checks they agree)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.compliance.rollup import roll_up
from scheduler.compliance.status import ReportPeriod, risk_horizon
from scheduler.i18n import pick
from scheduler.store.closed_periods import closing_section
from scheduler.store.compliance import Scope, entries_by_occurrence, heatmap_counts, statuses, totals
from scheduler.store.dashboard_counts import heatmap_of, reporting
from scheduler.store.report_occurrences import occurrence_documents
from scheduler.store.succession_history import with_history
from scheduler.store.tables import AgencyMemberRow, AgencyRow, ClosedPeriodRow, ObligationRow, PlanRow
from scheduler.store.watch import calendar_of


def counted_sections(
    session: Session,
    plans: list[PlanRow],
    period: ReportPeriod,
    now: datetime,
    scope: Scope,
    at_risk_days: int,
    signer: tuple[str, dict[str, str] | None],
    lang: str,
    parts,
    closed_one: Callable[[str], dict],
) -> list[dict]:
    """One section per plan with something owed in the period, in plan order.
    ``signer``: the reporting agency and the signers' titles by its kind;
    ``parts``: the reporting module (its pure pieces: reach, sums, framing);
    ``closed_one(code)``: a closed plan's report, built alone."""
    closed = _closed(session, plans, period, now)
    found = {code: closed_one(code) for code in sorted(closed)}
    batches: dict[tuple[str, datetime], list[PlanRow]] = {}
    for p in plans:
        if p.code not in closed:
            local = now.astimezone(ZoneInfo(p.timezone))
            parts._within_reach(p, period, local)
            batches.setdefault((p.timezone, risk_horizon(local, at_risk_days, calendar_of(p))), []).append(p)
    opened = [p for batch in batches.values() for p in batch]
    if opened:
        codes = [p.code for p in opened]
        agency_rows = list(session.scalars(select(AgencyRow).where(AgencyRow.plan_code.in_(codes))))
        obligation_rows = list(session.scalars(select(ObligationRow).where(ObligationRow.plan_code.in_(codes))))
        members = _members(session, codes, scope.agency)
        for (zone, risk_until), batch in batches.items():
            tz = ZoneInfo(zone)
            found.update(
                _batch(session, batch, period, now.astimezone(tz), scope, risk_until, lang, parts, signer)(
                    agency_rows, obligation_rows, members
                )
            )
    ordered = [found[p.code] for p in plans if p.code in found]
    fresh = [s for s in ordered if s["plan"]["code"] not in closed]
    if fresh:  # names as in the period and lineage links, once for every section's rows
        with_history(
            session,
            {
                "period": fresh[0]["period"],
                "agencies": [a for s in fresh for a in s["agencies"]],
                "rows": [r for s in fresh for r in s["rows"]],
            },
            lang,
        )
    return ordered


def _batch(session, batch, period, now, scope, risk_until, lang, parts, signer):
    """The sections of plans sharing a time zone and an at-risk horizon."""
    tz = now.tzinfo
    codes = tuple(p.code for p in batch)
    wide = Scope(codes, scope.agency, scope.obligation)
    groups = totals(session, wide, period, tz, now, risk_until, by_plan=True)
    cells = heatmap_counts(session, wide, period, tz, now, risk_until, by_plan=True)

    def build(agency_rows, obligation_rows, members) -> dict[str, dict]:
        owed = {(o.plan_code, o.code) for o in obligation_rows if o.code in reporting([o])}
        only = sorted({code for _, code in owed})
        listed = statuses(session, wide, period, tz, now, risk_until, only) if only else []
        listed = [(o, s) for o, s in listed if (o.plan_code, o.obligation_code) in owed]
        entries = entries_by_occurrence(session, [o.id for o, _ in listed], now)
        sections = {}
        for p in batch:
            if not any(key[0] == p.code for key in groups):
                continue
            agencies = {a.code: (a.name, a.name_en) for a in agency_rows if a.plan_code == p.code}
            kinds = {a.code: a.kind for a in agency_rows if a.plan_code == p.code}
            title = None if signer[1] is None else signer[1].get(kinds.get(signer[0], ""), "")
            obligations = {o.code: o for o in obligation_rows if o.plan_code == p.code}
            occurrences, _, _ = occurrence_documents([x for x in listed if x[0].plan_code == p.code], entries, tz, lang)
            rows = [
                {
                    "agency": a,
                    "agency_name": pick(lang, *agencies.get(a, (a, ""))),
                    "obligation": ob,
                    "obligation_title": pick(lang, *_title(obligations.get(ob), ob)),
                    **counts,
                    "minimum": bool(obligations.get(ob) and (obligations[ob].definition or {}).get("minimum")),
                }
                for (plan, a, ob), counts in groups.items()
                if plan == p.code
            ]
            mine = {(a, m): c for (plan, a, m), c in cells.items() if plan == p.code}
            sections[p.code] = {
                **parts._head(p, period, now, scope, lang),
                "rows": rows,
                "agencies": roll_up(
                    parts._per_agency(rows, agencies, lang),
                    members.get(p.code, {}),
                    lambda a, agencies=agencies: pick(lang, *agencies.get(a, (a, ""))),
                    parts._sum,
                ),
                "totals": parts._sum(rows),
                "windows": [],
                "topics": {"covered": [], "uncovered": []},
                "gaps": [],
                "occurrences": occurrences,
                "heatmap": heatmap_of(mine, period.months(), agencies, lang),
                "document": parts._document(p, agencies.get(signer[0]), now, lang, title),
                **closing_section(None, tz),
                "counts_only": True,
            }
        return sections

    return build


def _title(row: ObligationRow | None, code: str) -> tuple[str, str]:
    return (row.title, row.title_en) if row is not None else (code, "")


def _members(session: Session, codes: list[str], agency: str | None) -> dict[str, dict[str, list[str]]]:
    """Per plan, its groups and their members in the file's order (the one asked for only)."""
    query = select(AgencyMemberRow).where(AgencyMemberRow.plan_code.in_(codes)).order_by(AgencyMemberRow.position)
    found: dict[str, dict[str, list[str]]] = {}
    for row in session.scalars(query):
        if not agency or row.group_code == agency:
            found.setdefault(row.plan_code, {}).setdefault(row.group_code, []).append(row.member_code)
    return found


def _closed(session: Session, plans: list[PlanRow], period: ReportPeriod, now: datetime) -> set[str]:
    """The plans a closing of exactly this period made by ``now`` covers (``closed_periods.closing_of``)."""
    query = select(ClosedPeriodRow.plans).where(
        ClosedPeriodRow.label == period.label,
        ClosedPeriodRow.cutoff.is_(period.cutoff),
        ClosedPeriodRow.first_day == period.start,
        ClosedPeriodRow.last_day == period.last_day,
        ClosedPeriodRow.closed_at <= now,
    )
    covered = {code for listed in session.scalars(query) for code in (listed or [])}
    return {p.code for p in plans if p.code in covered}
