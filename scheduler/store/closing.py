"""Closing a period, in the caller's one transaction: a "closing" ledger
entry, a signed checkpoint of the chain at that moment, and the report of
each plan it covers as it stands, its files (JSON, CSV, XLSX, HTML) kept in
the evidence store by SHA-256 and served from then on."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler.compliance.report_files import FORMATS
from scheduler.compliance.status import PeriodError, ReportPeriod, report_period
from scheduler.errors import N_, InputError
from scheduler.evidence.checkpoints import Checkpoint, sign_checkpoint
from scheduler.store import checkpoints, webhook_events
from scheduler.store import ledger as stored_ledger
from scheduler.store.compliance import Scope
from scheduler.store.files import EvidenceStore, atomic_write
from scheduler.store.people import find_user
from scheduler.store.reporting import ReportFile, period_report, report_file
from scheduler.store.tables import ClosedPeriodRow, CounterRow, OccurrenceRow, PlanRow, UserRow
from scheduler.store.visibility import seen_province, visible_plans

CLOSERS = ("dha", "national", "admin")
EVERY = "*"  # the key of the consolidated report's files in a closing of several plans
REPORT_LANG = "vi"  # the kept report is the one the DHA sends: Vietnamese


def period_key(province: str, label: str, cutoff: bool) -> str:
    """The closing entry's occurrence id: a closing belongs to no occurrence."""
    return f"period:{province or '*'}:{label}{':cutoff' if cutoff else ''}"


def _period(label: str, cutoff: bool) -> ReportPeriod:
    """A calendar period (year, half, quarter, month), with or without the cut-off; not a range."""
    text = label.strip()
    if ".." in text:
        raise InputError(
            N_(
                'period "{value}": a closing is of a year, half-year, quarter or month (2024, 2024-H1, 2024-Q1, '
                "2024-03), not a range of days"
            ),
            value=text,
        )
    try:
        return report_period(text, cutoff)
    except PeriodError as e:
        raise InputError(e.message, **e.params) from None


def _closer(session: Session, by: str) -> UserRow:
    user = find_user(session, by)
    if user is None or user.disabled:
        raise InputError(N_('--by: no user "{email}" (a DHA user or an administrator closes periods)'), email=by)
    if not set(CLOSERS) & set(user.roles or []):
        raise InputError(
            N_("--by: {email} is {roles}; only a DHA user or an administrator closes a period"),
            email=user.email,
            roles=", ".join(user.roles or []) or "-",
        )
    return user


def _province(session: Session, user: UserRow, province: str) -> str:
    """A DHA user closes for the province they see (the default); a national
    user or an administrator names one, or "" for every plan."""
    own = seen_province(session, user.roles or [], user.agency_code)
    if own and province and province != own:
        raise InputError(
            N_(
                'province "{province}": {email} sees only the plans of province "{own}"; leave it empty or give "{own}"'
            ),
            province=province,
            email=user.email,
            own=own,
        )
    return own or province


def covered_plans(session: Session, period: ReportPeriod, province: str) -> list[PlanRow]:
    """The plans of the province ("" = every plan) with occurrences whose
    window ends in the period: one query per time zone, not per plan."""
    query = select(PlanRow).order_by(PlanRow.code)
    plans = list(session.scalars(query.where(PlanRow.province == province) if province else query))
    found: set[str] = set()
    for zone in sorted({p.timezone for p in plans}):
        tz = ZoneInfo(zone)
        start = datetime.combine(period.start, time(0), tzinfo=tz)
        end = datetime.combine(period.end, time(0), tzinfo=tz)
        inner = (
            select(OccurrenceRow.plan_code)
            .join(PlanRow, PlanRow.code == OccurrenceRow.plan_code)
            .where(PlanRow.timezone == zone, OccurrenceRow.window_end > start, OccurrenceRow.window_end <= end)
        )
        if province:
            inner = inner.where(PlanRow.province == province)
        found.update(session.scalars(inner.distinct()))
    return [p for p in plans if p.code in found]


def _check_open(session: Session, province: str, period: ReportPeriod) -> None:
    done = session.scalar(
        select(ClosedPeriodRow).where(
            ClosedPeriodRow.province == province,
            ClosedPeriodRow.label == period.label,
            ClosedPeriodRow.cutoff.is_(period.cutoff),
        )
    )
    if done is not None:
        raise InputError(
            N_("period {label} ({province}) is already closed: closing #{id} on {at} by {by}"),
            label=period.label + (" cut-off" if period.cutoff else ""),
            province=province or "*",
            id=done.id,
            at=f"{done.closed_at.astimezone(stored_ledger.LEDGER_TZ):%d/%m/%Y %H:%M}",
            by=done.closed_by,
        )


def _check_ended(plans: list[PlanRow], period: ReportPeriod, now: datetime) -> None:
    """A period closes once its last day is over wherever its plans are."""
    for plan in plans:
        if now.astimezone(ZoneInfo(plan.timezone)).date() <= period.last_day:
            raise InputError(
                N_("period {label} has not ended: its last day is {last} (plan {plan}); it can be closed from {first}"),
                label=period.label,
                last=f"{period.last_day:%d/%m/%Y}",
                plan=plan.code,
                first=f"{period.last_day + timedelta(days=1):%d/%m/%Y}",
            )


def _plans(session: Session, period: ReportPeriod, province: str) -> list[PlanRow]:
    plans = covered_plans(session, period, province)
    if plans:
        return plans
    provinces = sorted({p or '""' for p in session.scalars(select(PlanRow.province).distinct())})
    raise InputError(
        N_('no plan of province "{province}" owes anything in period {label} (provinces of the loaded plans: {known})'),
        province=province or "*",
        label=period.label,
        known=", ".join(provinces) or "-",
    )


def keep_bytes(store: EvidenceStore, data: bytes) -> str:
    """Bytes into the evidence store under their SHA-256 (kept once)."""
    sha256 = hashlib.sha256(data).hexdigest()
    if not store.exists(sha256):
        atomic_write(store.path(sha256), data)
    return sha256


def close_period(
    session: Session, label: str, cutoff: bool, province: str, by: str, now: datetime, settings
) -> ClosedPeriodRow:
    """Close ``label`` for the plans of ``province`` as of ``now`` (see the
    module's docstring); refuses, writing nothing, what cannot be closed.
    The checkpoint's file is kept under OUTPUTS_DIR/checkpoints/ once the
    transaction commits (a rolled-back closing leaves no checkpoint behind)."""
    period = _period(label, cutoff)
    user = _closer(session, by)
    closer, province = user.email, _province(session, user, province.strip())
    # Ledger writers wait from here: the reports and the closing entry see the same ledger.
    session.get(CounterRow, stored_ledger.LEDGER_HEAD, with_for_update=True)
    _check_open(session, province, period)
    plans = _plans(session, period, province)
    _check_ended(plans, period, now)
    row = ClosedPeriodRow(
        province=province,
        label=period.label,
        cutoff=period.cutoff,
        first_day=period.start,
        last_day=period.last_day,
        plans=[p.code for p in plans],
        closed_at=now,
        closed_by=closer,
        ledger_seq=0,
        checkpoint="",
        files={},
    )
    session.add(row)
    try:
        session.flush()  # the reports below see the closing: they carry its section
    except IntegrityError:  # closed meanwhile by someone else: the caller's transaction rolls back
        raise InputError(
            N_("period {label} ({province}) was closed meanwhile"), label=period.label, province=province or "*"
        ) from None
    store = EvidenceStore(settings.outputs_dir / "evidence", settings.evidence_limit)
    files: dict[str, dict[str, str]] = {}
    listed, reports = [], {}
    for plan in plans:
        document = period_report(
            session,
            period.label,
            period.cutoff,
            now,
            Scope(plan.code),
            settings.at_risk_days,
            settings.report_agency,
            REPORT_LANG,
        )
        files[plan.code] = {}
        for fmt in FORMATS:
            kept = report_file(document, fmt, settings.base_url)
            sha256 = keep_bytes(store, kept.body)
            files[plan.code][fmt] = sha256
            media = kept.media.split(";")[0]
            listed.append({"sha256": sha256, "size": len(kept.body), "name": kept.name, "type": media})
        reports[plan.code] = files[plan.code]["json"]
    if len(plans) > 1:  # the consolidated report of the plans it covers, kept beside theirs
        document = period_report(
            session,
            period.label,
            period.cutoff,
            now,
            Scope(None),
            settings.at_risk_days,
            settings.report_agency,
            REPORT_LANG,
            [p.code for p in plans],
        )
        files[EVERY] = {}
        for fmt in FORMATS:
            kept = report_file(document, fmt, settings.base_url)
            files[EVERY][fmt] = keep_bytes(store, kept.body)
            media = kept.media.split(";")[0]
            listed.append({"sha256": files[EVERY][fmt], "size": len(kept.body), "name": kept.name, "type": media})
        reports[EVERY] = files[EVERY]["json"]
    stored_ledger.remember_files(session, listed, now)
    payload = {
        "label": period.label,
        "cutoff": period.cutoff,
        "province": province,
        "plans": [p.code for p in plans],
        "closed_at": now.isoformat(),
        "reports": reports,  # each plan's report JSON, by SHA-256
        "files": listed,  # every kept file, so that verify re-hashes them
    }
    entry = stored_ledger.append(
        session, "closing", period_key(province, period.label, period.cutoff), now, closer, payload
    )
    key = checkpoints.key_bytes(settings, None, create=True)
    cp = sign_checkpoint(key, entry.seq, entry.hash, now)
    row.ledger_seq, row.checkpoint, row.files = entry.seq, cp.to_text(), files
    session.flush()
    _keep_on_commit(session, settings.outputs_dir, cp)
    webhook_events.period_closed(session, row)  # issue 19: in the closing's transaction
    return row


def _keep_on_commit(session: Session, outputs_dir, cp: Checkpoint) -> None:
    """Kept where people verify, but only once the chain it signs is committed."""

    def keep(_session: Session) -> None:
        checkpoints.keep(outputs_dir, cp)

    event.listen(session, "after_commit", keep, once=True)


def seen_files(row: ClosedPeriodRow, visible: list[str] | None) -> dict[str, dict[str, str]]:
    """The kept files a person sees (``visible``: their plans, None for every
    one): their plans' reports, and the consolidated one when it covers only
    plans they see."""
    files = row.files or {}
    if visible is None:
        return dict(files)
    return {
        key: kept
        for key, kept in files.items()
        if key in visible or (key == EVERY and set(row.plans or []) <= set(visible))
    }


def closing_record(row: ClosedPeriodRow, store: EvidenceStore, base_url: str, visible: list[str] | None = None) -> dict:
    """A closing as the CLI and the page show it: where each kept file is
    (its SHA-256, its place in the evidence store, its URL; the consolidated
    report of a closing of several plans under "*", served without ?plan=)."""
    return {
        "id": row.id,
        "province": row.province,
        "label": row.label,
        "cutoff": row.cutoff,
        "first_day": row.first_day.isoformat(),
        "last_day": row.last_day.isoformat(),
        "plans": list(row.plans or []),
        "closed_at": row.closed_at.astimezone(stored_ledger.LEDGER_TZ).isoformat(),
        "closed_by": row.closed_by,
        "ledger_seq": row.ledger_seq,
        "files": {
            plan: {
                fmt: {
                    "sha256": sha256,
                    "path": str(store.path(sha256)),
                    "url": f"{base_url.rstrip('/')}/dashboard/periods/{row.id}/report.{fmt}"
                    + ("" if plan == EVERY else f"?plan={plan}"),
                }
                for fmt, sha256 in kept.items()
            }
            for plan, kept in seen_files(row, visible).items()
        },
    }


def kept_file(row: ClosedPeriodRow, plan: str, fmt: str, store: EvidenceStore) -> ReportFile | None:
    """A kept report file as it was closed (named and typed as ``report_file``
    names today's), or None when its bytes are gone from the store."""
    sha256 = (row.files or {}).get(plan, {}).get(fmt)
    if not sha256 or not store.exists(sha256):
        return None
    media, extension = FORMATS[fmt]
    name = f"compliance-{'consolidated' if plan == EVERY else plan}-{row.label}{'-cutoff' if row.cutoff else ''}"
    name = re.sub(r"[^\w.-]", "_", name.replace("..", "_"), flags=re.ASCII)
    return ReportFile(store.path(sha256).read_bytes(), media, f"{name}.{extension}", fmt in ("json", "html"))


def closed_periods(session: Session, visible: list[str] | None = None) -> list[ClosedPeriodRow]:
    """Every closing a person sees (``visible``: their plans, None for every
    plan): those covering one of their plans, the latest first."""
    query = select(ClosedPeriodRow).order_by(ClosedPeriodRow.closed_at.desc(), ClosedPeriodRow.id.desc())
    rows = list(session.scalars(query))
    return rows if visible is None else [r for r in rows if set(r.plans or []) & set(visible)]


def seen_by(session: Session, email: str) -> list[str] | None:
    """The plans a user sees (``visible_plans``), for the command's ``--user``."""
    user = find_user(session, email)
    if user is None:
        raise InputError(N_('--user: no user "{email}"'), email=email)
    return visible_plans(session, user.roles or [], user.agency_code)
