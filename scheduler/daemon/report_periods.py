"""Which compliance reports the daemon drafts today, for one plan.

A plan without a consolidated reporting row keeps the fixed rhythm: after
each month and quarter (the Nghị định 09/2019 cut-off, plus
REPORT_GRACE_DAYS working days), issued by REPORT_AGENCY with the Sở's
signer. A plan whose reporting section has a ``consolidated: true`` row is
reported at that row's occurrences instead: each covers a period
(``plan.reporting_section.covered_period``), is issued by the agency that
owes it and signed by the title SIGNER_TITLES gives that agency's kind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.compliance.status import ReportPeriod, report_period
from scheduler.plan.periods import Period
from scheduler.plan.reporting_section import covered_period
from scheduler.plan.workdays import WorkCalendar
from scheduler.store.tables import AgencyRow, ObligationRow, OccurrenceRow, PlanRow


@dataclass(frozen=True)
class Draft:
    """One report to write and announce today."""

    period: ReportPeriod
    issuer: str  # the issuing agency's code
    titled: bool  # signed by SIGNER_TITLES of the issuer's kind (False: the Sở's "Giám đốc", as always)
    about: str  # the outbox key: one announcement per report
    name: str  # the files' name, without extension
    recipients: tuple[str, ...] = ()  # "Nơi nhận"; empty keeps the plan's issuer


def drafts_due(session: Session, plan: PlanRow, local: datetime, calendar: WorkCalendar, grace: int, agency: str):
    """The reports due today (``local`` in the plan's zone)."""
    rows = [
        r
        for r in session.scalars(
            select(ObligationRow).where(ObligationRow.plan_code == plan.code, ObligationRow.active.is_(True))
        )
        if (r.definition or {}).get("consolidated")
    ]
    if not rows:
        return [
            Draft(
                report_period(label, True),
                agency,
                False,
                f"{plan.code}@{label}",
                f"compliance-{plan.code}-{label}-cutoff",
            )
            for label in periods_due(local, calendar, grace, plan)
        ]
    names = {a.code: a.name for a in session.scalars(select(AgencyRow).where(AgencyRow.plan_code == plan.code))}
    found = []
    for row in rows:
        occurrences = session.scalars(
            select(OccurrenceRow).where(
                OccurrenceRow.plan_code == plan.code,
                OccurrenceRow.obligation_code == row.code,
                OccurrenceRow.status == "scheduled",
            )
        )
        for o in occurrences:
            period = _covered(o, row.definition.get("report_cutoff", False), local.tzinfo)
            if draft_day(period, o.due.astimezone(local.tzinfo).date(), calendar, grace) != local.date():
                continue
            cut = "-cutoff" if period.cutoff else ""
            to = [row.definition.get("reports_to", ""), row.definition.get("reports_through", "")]
            found.append(
                Draft(
                    period,
                    o.agency_code,
                    True,
                    f"{plan.code}@{period.label}@{o.agency_code}",
                    f"compliance-{plan.code}-{period.label}{cut}-{o.agency_code}",
                    tuple(f"{names.get(c, c)} (để báo cáo)" for c in to if c) + ("Lưu: VT.",),
                )
            )
    return found


def _covered(o: OccurrenceRow, cutoff: bool, tz) -> ReportPeriod:
    start, end = (o.window_start.astimezone(tz).date(), o.window_end.astimezone(tz).date())
    shown = o.shown or {}
    names = shown.get("name", ""), shown.get("name_en", "")
    due = o.due.astimezone(tz).date()
    label = covered_period(o.period, Period(start, end, o.period), due, *names)
    if ".." in label:
        return report_period(label)
    # A report due before its calendar period ends can only count up to the
    # Nghị định 09/2019 cut-off: "báo cáo 6 tháng trước ngày 15/6" says it;
    # due even before that (a year's report by 15/11), up to the day before.
    period = report_period(label, cutoff or due < report_period(label).last_day)
    return replace(period, end=due) if due < period.end else period


def draft_day(period: ReportPeriod, due: date, calendar: WorkCalendar, grace: int) -> date:
    """The first working day when the period's data is complete (the day
    after it ends) and the report is at most ``grace`` working days from its
    due day: time to check and sign it, never before there is all to count."""
    ready, left = due, grace
    while left > 0:
        ready -= timedelta(days=1)
        if calendar.is_working_day(ready):
            left -= 1
    day = max(period.end, ready)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def periods_due(local: datetime, calendar: WorkCalendar, grace: int, plan: PlanRow) -> list[str]:
    """The month (and quarter) whose cut-off report is due today: the
    ``grace``-th working day after the 14th."""
    day = local.date().replace(day=14)
    probe, left = day, grace
    while left > 0:
        probe += timedelta(days=1)
        if calendar.is_working_day(probe):
            left -= 1
    if local.date() != probe:
        return []
    label = f"{local.year}-{local.month:02d}"
    if not (plan.period_start <= day < plan.period_end):
        return []
    found = [label]
    if local.month % 3 == 0:
        found.append(f"{local.year}-Q{local.month // 3}")
    return found
