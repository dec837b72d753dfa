"""Codes a person filters by (a plan, an agency, an obligation) and the
period of a report, checked against what is loaded: a mistyped code is an
error that lists the known ones, never an empty answer. The command line
names the flag (``--agency``), the API the query parameter (``agency``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.bounds import FieldError
from scheduler.compliance.status import ReportPeriod
from scheduler.errors import N_, InputError
from scheduler.plan.channels import BUILT_IN, from_definition
from scheduler.store.tables import AgencyRow, ObligationRow, PlanRow

_DAY = timedelta(days=1)
UNKNOWN = {
    "plan": N_('{flag}: no plan "{value}" is loaded (known: {allowed})'),
    "agency": N_('{flag}: no agency "{value}" in the loaded plans (known: {allowed})'),
    "obligation": N_('{flag}: no obligation "{value}" in the loaded plans (known: {allowed})'),
}
COLUMNS = {"plan": PlanRow.code, "agency": AgencyRow.code, "obligation": ObligationRow.code}


def check_codes(session: Session, prefix: str = "--", **codes: str | None) -> None:
    """Refuse the first given code that no loaded plan has, listing the known
    ones; ``prefix`` is "--" for a flag, "" for a query parameter."""
    for name, value in codes.items():
        if not value:
            continue
        column = COLUMNS[name]
        if session.scalar(select(column).where(column == value).limit(1)) is None:
            known = sorted(set(session.scalars(select(column))))
            raise _error(name, prefix, UNKNOWN[name], flag=prefix + name, value=value, allowed=", ".join(known) or "-")


def check_period(session: Session, period: ReportPeriod, prefix: str = "--") -> None:
    """Refuse a report's period that no loaded plan's span touches."""
    plans = list(session.scalars(select(PlanRow).order_by(PlanRow.code)))
    if not plans or any(p.period_start < period.end and period.start < p.period_end for p in plans):
        return  # with nothing loaded, the report says so itself
    raise _error(
        "period",
        prefix,
        N_("{flag}: {value} is outside every loaded plan (known: {allowed})"),
        flag=prefix + "period",
        value=period.label,
        allowed=", ".join(f"{p.code} {p.period_start:%d/%m/%Y}–{p.period_end - _DAY:%d/%m/%Y}" for p in plans),
    )


def _error(name: str, prefix: str, message: str, **params: object) -> InputError:
    """A query parameter's error names it (HTTP 422 at that parameter); a flag's, in its message."""
    return FieldError(name, message, **params) if not prefix else InputError(message, **params)


def all_channels(session: Session) -> dict[str, tuple[str, str]]:
    """Every channel a filter may name: the built-in ones and each loaded
    plan's own, code -> (vi, en) names."""
    found = {c.code: (c.name, c.name_en) for c in BUILT_IN}
    plans = PlanRow.__table__  # Core: a feed-only process never configures the ORM mappers (~75 ms)
    for definition in session.scalars(select(plans.c.definition).order_by(plans.c.code)):
        found.update({c.code: (c.name, c.name_en or c.name) for c in from_definition(definition)})
    return found
