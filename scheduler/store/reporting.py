"""The compliance report the DHA pulls: counts in SQL, the rest assembled
from stored values into one JSON-able document that every format renders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from sys import modules
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.bounds import FieldError, plan_reach
from scheduler.compliance.rollup import roll_up
from scheduler.compliance.status import (
    COUNTS,
    Facts,
    PeriodError,
    ReportPeriod,
    WindowView,
    rate,
    report_period,
    risk_horizon,
    tally,
    window_views,
)
from scheduler.errors import N_, InputError
from scheduler.i18n import pick
from scheduler.store.closed_periods import after_closing, closing_of, closing_section
from scheduler.store.compliance import (
    Scope,
    entries_by_occurrence,
    heatmap_counts,
    plans_with_occurrences,
    statuses,
    totals,
)
from scheduler.store.consolidation import consolidate, framing, selected_plans
from scheduler.store.dashboard_counts import heatmap_of, reporting, scoped_ids
from scheduler.store.dashboard_sections import counted_sections
from scheduler.store.report_occurrences import occurrence_documents
from scheduler.store.schedule import group_members
from scheduler.store.succession_history import with_history
from scheduler.store.tables import AgencyRow, ObligationRow, PlanRow
from scheduler.store.watch import calendar_of


def compliance_report(
    session: Session,
    plan_code: str | None,
    period: ReportPeriod,
    now: datetime,
    scope: Scope,
    at_risk_days: int,
    report_agency: str,
    lang: str = "vi",
    signer_titles: dict[str, str] | None = None,
    counts_only: bool = False,
) -> dict:
    """Everything a report shows, as of ``now``, issued by ``report_agency``:
    signed by the title ``signer_titles`` gives its kind (when given; the
    Sở's "Giám đốc" otherwise). ``counts_only`` (the dashboard's first paint,
    ``store/dashboard_counts.py``): counts and heatmap in SQL, the occurrences
    of reports owed the DHA only, no windows, topics or gaps."""
    plans = list(session.scalars(select(PlanRow).order_by(PlanRow.code)))
    if plan_code:
        plans = [p for p in plans if p.code == plan_code]
    if not plans:
        raise InputError(N_('no plan "{value}" is loaded'), value=plan_code or "-")
    if len(plans) > 1:
        raise InputError(
            N_("several plans are loaded; say which with --plan ({allowed})"), allowed=", ".join(p.code for p in plans)
        )
    plan = plans[0]
    tz = ZoneInfo(plan.timezone)
    calendar = calendar_of(plan)
    now = now.astimezone(tz)
    closing = closing_of(session, plan.code, period, now)
    if closing is not None and now > closing.closed_at:  # a closed period counts as of its closing
        args = (period, closing.closed_at, scope, at_risk_days, report_agency, lang, signer_titles, counts_only)
        kept = compliance_report(session, plan.code, *args)
        return after_closing(session, kept, closing, now, tz, scoped_ids(scope, plan.code, period, tz))
    _within_reach(plan, period, now)
    risk_until = risk_horizon(now, at_risk_days, calendar)
    scope = Scope(plan.code, scope.agency, scope.obligation)
    groups = totals(session, scope, period, tz, now, risk_until)
    obligation_rows = list(session.scalars(select(ObligationRow).where(ObligationRow.plan_code == plan.code)))
    only = reporting(obligation_rows) if counts_only else None
    listed = statuses(session, scope, period, tz, now, risk_until, only)
    agency_rows = list(session.scalars(select(AgencyRow).where(AgencyRow.plan_code == plan.code)))
    agencies = {a.code: (a.name, a.name_en) for a in agency_rows}
    kinds = {a.code: a.kind for a in agency_rows}
    obligations = {o.code: (o.title, o.title_en) for o in obligation_rows}
    minimums = {o.code for o in obligation_rows if (o.definition or {}).get("minimum")}
    topics = {t["code"]: (t["title"], t["title_en"]) for t in plan.definition.get("topics", [])}
    entries = entries_by_occurrence(session, [o.id for o, _ in listed], now)
    occurrences, covered, gaps = occurrence_documents(listed, entries, tz, lang)
    rows = [
        {
            "agency": a,
            "agency_name": pick(lang, *agencies.get(a, (a, ""))),
            "obligation": ob,
            "obligation_title": pick(lang, *obligations.get(ob, (ob, ""))),
            **counts,
            "minimum": ob in minimums,
        }
        for (a, ob), counts in groups.items()
    ]
    facts = [
        Facts(
            o.id,
            o.agency_code,
            o.obligation_code,
            o.period,
            o.window_start.astimezone(tz),
            o.window_end.astimezone(tz),
            o.cancelled_at,
        )
        for o, _ in listed
    ]  # working days count locally
    views = window_views(facts, {o.id: s for o, s in listed}, now, calendar)
    document = {
        **_head(plan, period, now, scope, lang),
        "rows": rows,
        "agencies": roll_up(  # a group: the sum of its members, listed under it
            _per_agency(rows, agencies, lang),
            _groups(session, plan.code, scope.agency),
            lambda a: pick(lang, *agencies.get(a, (a, ""))),
            _sum,
        ),
        "totals": _sum(rows),
        "windows": [_window(v, obligations, lang, tz) for v in views],
        "topics": {
            "covered": [{"code": c, "title": pick(lang, *topics[c])} for c in topics if c in covered],
            "uncovered": [{"code": c, "title": pick(lang, *topics[c])} for c in topics if c not in covered],
        },
        "gaps": gaps,
        "occurrences": occurrences,
        "heatmap": _heatmap(listed, period, agencies, lang, tz)
        if not counts_only
        else heatmap_of(heatmap_counts(session, scope, period, tz, now, risk_until), period.months(), agencies, lang),
        "document": _document(
            plan,
            agencies.get(report_agency),
            now,
            lang,
            None if signer_titles is None else signer_titles.get(kinds.get(report_agency, ""), ""),
        ),
        **closing_section(closing, tz),
    }
    if counts_only:
        document.update(counts_only=True, windows=[], topics={"covered": [], "uncovered": []}, gaps=[])
    return with_history(session, document, lang)  # names as in the period, mergers linked (store/succession_history)


def _head(plan: PlanRow, period: ReportPeriod, now: datetime, scope: Scope, lang: str) -> dict:
    """What opens every plan's report document (also the dashboard's batched sections)."""
    return {
        "plan": {"code": plan.code, "title": pick(lang, plan.title, plan.title_en), "issuer": plan.issuer},
        "period": {
            "label": period.label,
            "start": period.start.isoformat(),
            "end": period.last_day.isoformat(),
            "cutoff": period.cutoff,
        },
        "as_of": now.isoformat(),
        "scope": {"agency": scope.agency, "obligation": scope.obligation},
        "lang": lang,
    }


def consolidated_report(
    session: Session,
    plans: list[str] | None,
    period: ReportPeriod,
    now: datetime,
    scope: Scope,
    at_risk_days: int,
    report_agency: str,
    lang: str = "vi",
    signer_titles: dict[str, str] | None = None,
    counts_only: bool = False,
) -> dict:
    """One plan's report as ``compliance_report`` gives it; of several (None:
    every loaded plan), the consolidated document (``store/consolidation.py``)."""
    rows = selected_plans(session, plans)
    args = (period, now, scope, at_risk_days, report_agency, lang, signer_titles, counts_only)
    if len(rows) == 1:
        return compliance_report(session, rows[0].code, *args)
    if counts_only:  # the dashboard: statements do not grow with the plans
        one = lambda code: compliance_report(session, code, *args)  # noqa: E731  (a closed plan, alone)
        signer = (report_agency, signer_titles)
        sections = counted_sections(
            session, rows, period, now, scope, at_risk_days, signer, lang, modules[__name__], one
        )
    else:
        present = plans_with_occurrences(session, {p.code: p.timezone for p in rows}, scope, period)
        sections = [compliance_report(session, p.code, *args) for p in rows if p.code in present]
    plan, agency = framing(session, rows, report_agency)
    title = None if signer_titles is None or agency is None else signer_titles.get(agency.kind, "")
    issuer = (agency.name, agency.name_en) if agency else None
    frame = _document(plan, issuer, now.astimezone(ZoneInfo(plan.timezone)), lang, title)
    return consolidate(session, rows, sections, period, now, scope, lang, frame)


def period_report(
    session: Session,
    period: str,
    cutoff: bool,
    now: datetime,
    scope: Scope,
    at_risk_days: int,
    report_agency: str,
    lang: str,
    plans: list[str] | None = None,
    counts_only: bool = False,
) -> dict:
    """The report of a period as people name it ("2024-Q1", with or without
    the reporting cut-off): what the API, the dashboard and its downloads show
    (``plans``: the plans it covers, None for every one)."""
    if plans is None and isinstance(scope.plan, str) and scope.plan:
        plans = [scope.plan]
    return consolidated_report(
        session, plans, report_period(period, cutoff), now, scope, at_risk_days, report_agency, lang, None, counts_only
    )


# The printable report carries its style inline (it is also saved and mailed as one file), runs no script.
REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)


def _within_reach(plan: PlanRow, period: ReportPeriod, now: datetime) -> None:
    """Refuse at once a report far from the plan (it would count for minutes, then show nothing)."""
    first, last = plan_reach(plan.period_start, plan.period_end)
    reach = {"first": first.strftime("%d/%m/%Y"), "last": last.strftime("%d/%m/%Y"), "plan": plan.code}
    if period.start < first or period.last_day > last:
        raise PeriodError(
            N_("expected a period between {first} and {last} (ten years around plan {plan}), got {value}"),
            value=period.label,
            **reach,
        )
    if not first <= now.date() <= last:
        raise FieldError(
            "as_of",
            N_("expected a moment between {first} and {last} (ten years around plan {plan}), got {value}"),
            value=now.strftime("%d/%m/%Y"),
            **reach,
        )


@dataclass(frozen=True)
class ReportFile:
    """A report in one format, ready to send."""

    body: bytes
    media: str
    name: str
    inline: bool  # JSON and HTML open in the browser; the others download

    def headers(self) -> dict[str, str]:
        disposition = "inline" if self.inline else f'attachment; filename="{self.name}"'
        headers = {"Content-Disposition": disposition, "Cache-Control": "private, no-store"}
        if self.media.startswith("text/html"):  # a document on its own: its inline style, and nothing to run
            headers["Content-Security-Policy"] = REPORT_POLICY
        return headers


def report_file(document: dict, fmt: str, base_url: str) -> ReportFile:
    """``document`` as json, csv, xlsx or html, named after its plan and period."""
    from scheduler.compliance.report_files import render

    body, media, extension = render(document, fmt, base_url)
    period = document["period"]
    plan = document["plan"]["code"] if "plan" in document else "consolidated"
    name = f"compliance-{plan}-{period['label']}{'-cutoff' if period['cutoff'] else ''}"
    name = re.sub(r"[^\w.-]", "_", name.replace("..", "_"), flags=re.ASCII)
    return ReportFile(body, media, f"{name}.{extension}", fmt in ("json", "html"))


def _sum(rows: list[dict]) -> dict:
    counts = {k: sum(r[k] for r in rows) for k in COUNTS}
    return {**counts, "rate": rate(counts), "surplus": sum(r.get("surplus", 0) for r in rows)}


def _groups(session: Session, plan: str, agency: str | None) -> dict[str, list[str]]:
    """The plan's groups to roll up: all of them, or the one asked for (a member asked for stands alone)."""
    found = group_members(session, plan)
    return found if not agency else {g: m for g, m in found.items() if g == agency}


def _per_agency(rows: list[dict], agencies: dict, lang: str) -> list[dict]:
    found: dict[str, list[dict]] = {}
    for r in rows:
        found.setdefault(r["agency"], []).append(r)
    return [
        {"agency": a, "agency_name": pick(lang, *agencies.get(a, (a, ""))), **_sum(items)} for a, items in found.items()
    ]


def _window(v: WindowView, obligations: dict, lang: str, tz: ZoneInfo) -> dict:
    return {
        "obligation": v.obligation,
        "obligation_title": pick(lang, *obligations.get(v.obligation, (v.obligation, ""))),
        "period": v.period,
        "window_start": v.window_start.astimezone(tz).date().isoformat(),
        "window_last_day": (v.window_end.astimezone(tz) - timedelta(days=1)).date().isoformat(),
        "owed": v.owed,
        "met": v.met,
        "working_days_left": v.working_days_left,
    }


def _heatmap(listed, period: ReportPeriod, agencies: dict, lang: str, tz: ZoneInfo) -> dict:
    """Agency × month of the window's last day: how much of what was owed was met."""
    months = period.months()
    cells: dict[tuple[str, str], list[str]] = {}
    for o, status in listed:
        last = (o.window_end.astimezone(tz) - timedelta(days=1)).date()
        cells.setdefault((o.agency_code, f"{last.year}-{last.month:02d}"), []).append(status)
    names = sorted({a for a, _ in cells})
    return {
        "months": months,
        "agencies": [
            {
                "agency": a,
                "agency_name": pick(lang, *agencies.get(a, (a, ""))),
                "cells": [{"month": m, **tally(cells.get((a, m), []))} for m in months],
            }
            for a in names
        ],
    }


def _document(plan: PlanRow, issuer: tuple[str, str] | None, now: datetime, lang: str, title: str | None) -> dict:
    """What Nghị định 30/2020/NĐ-CP puts around the body of an administrative
    report; ``title`` is the signer's (None: the Sở's "Giám đốc")."""
    province = plan.issuer.replace("Ủy ban nhân dân", "").replace("UBND", "").strip()
    place = province.replace("tỉnh", "").replace("thành phố", "").strip() or province
    return {
        "authority": (plan.issuer or "").upper(),
        "issuer": (issuer[0] if issuer else plan.issuer).upper(),
        "motto": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "motto_sub": "Độc lập - Tự do - Hạnh phúc",
        "number": "Số:      /BC",
        "place": place,
        "day": now.day,
        "month": now.month,
        "year": now.year,
        "recipients": [f"{plan.issuer} (để báo cáo)", "Lưu: VT."],
        "signer_title": ("GIÁM ĐỐC" if title is None else title.upper()) if issuer else "",
        "lang": lang,
    }
