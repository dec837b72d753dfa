"""Daily checks of the pages a continuous obligation keeps up, their history,
the host's warning the day one fails (``store/check_warnings.py``), and the
window's attestation proposal (helper "portal").

One check is one ``HarvestFetchRow``. Once a window's last day has been
checked and passed (or the window has ended), the window's checks across all
the obligation's check sources become its attestation: a day passes when
every URL's last check that day passed; the history is kept as a CSV in the
evidence store by its SHA-256, and the proposal waits for a person (or the
outlet's ``auto_record``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.harvest.portal import (
    Checked,
    attestation,
    evaluate,
    history_csv,
    last_day,
    reason_text,
    window_history,
)
from scheduler.harvest.proposals import ATTESTATION, Fetched, Owed, proposal_key
from scheduler.plan.harvest_settings import Check
from scheduler.settings import Settings
from scheduler.store.check_warnings import warn_failed
from scheduler.store.files import EvidenceStore
from scheduler.store.proposals import owed_of, save_proposals
from scheduler.store.tables import HarvestFetchRow, HarvestSourceRow, PlanRow, ProposalRow

Fetch = Callable[[str], Fetched]
LOOK_BACK = timedelta(days=100)  # a quarter's window that ended while the daemon was down is still attested
CHECK = "check"  # HarvestSourceRow.kind


def process_check(
    session: Session,
    source: HarvestSourceRow,
    fetched: Fetched | None,
    error: str,
    fetch: Fetch,
    store: EvidenceStore,
    settings: Settings,
    now: datetime | None = None,
) -> HarvestFetchRow:
    """One check done (``fetched`` None and ``error`` set when nothing answered):
    its history row, the warning when it fails, the attestation when due.
    ``now`` is the check's moment: given (the job's, best), else the answer's,
    else the later of the source's ``last_at`` and ``next_at`` (when it fell due:
    the job stamps ``last_at`` after the check, so it is the one before)."""
    if now is None:
        moments = [m for m in (source.last_at, source.next_at) if m is not None]
        now = fetched.fetched_at if fetched else max(moments)
    config = source.config or {}
    check = Check(source.url, str(config.get("expect_link") or ""), str(config.get("expect_text") or ""))
    result = evaluate(fetched, error, check)
    row = HarvestFetchRow(
        source_id=source.id,
        at=now,
        ok=result.ok,
        status=result.status,
        error="" if result.ok else result.text("vi"),
        sha256="",
        size=len(fetched.body) if fetched else 0,
        found=0,
        detail={
            "link_found": result.link_found,
            "text_found": result.text_found,
            "final_url": result.final_url,
            "reason": result.reason,
            "params": dict(result.params),
        },
    )
    session.add(row)
    session.flush()
    plan = session.get(PlanRow, source.plan_code)
    zone = ZoneInfo(plan.timezone if plan else "Asia/Ho_Chi_Minh")
    owed = [
        o
        for o in owed_of(session, source.outlet, now - LOOK_BACK, now + timedelta(days=1))
        if o.plan == source.plan_code and o.obligation == source.obligation_code and o.status != "cancelled"
    ]
    if not result.ok:
        current = next((o for o in owed if o.window_start <= now < o.window_end), None)
        warn_failed(session, source, result, now, zone, current, settings)
    row.found = sum(_attest(session, source, o, now, store, settings) for o in owed)
    return row


def _attest(
    session: Session, source: HarvestSourceRow, owed: Owed, now: datetime, store: EvidenceStore, settings: Settings
) -> int:
    """1 when the occurrence's attestation was proposed now, else 0."""
    zone = owed.window_start.tzinfo
    if owed.met or now.astimezone(zone).date() < last_day(owed):
        return 0
    key = proposal_key(ATTESTATION, owed.id)
    if session.scalar(select(ProposalRow.id).where(ProposalRow.key == key)) is not None:
        return 0  # proposed before (and perhaps decided): the history after it changes nothing
    history = history_of(session, source.plan_code, source.obligation_code, owed.window_start, owed.window_end)
    proposal = attestation(owed, history, now, _checked_now(session, source))
    if proposal is None:
        return 0
    data = history_csv(window_history(owed, history), zone)
    [ref] = proposal.evidence["files"]
    with store.writer(ref["name"], "text/csv") as writer:
        writer.write(data)
        stored = store.commit(writer.finish())
    if stored.sha256 != ref["sha256"]:  # the same bytes the proposal names: a bug otherwise
        raise RuntimeError(f"history file {stored.sha256} is not the proposal's {ref['sha256']}")
    return len(save_proposals(session, [proposal], now, settings.base_url))


def _checked_now(session: Session, source: HarvestSourceRow) -> list[str]:
    """The pages of the obligation checked now (its active check sources): the
    last day is not over until each has been checked."""
    query = select(HarvestSourceRow.url).where(
        HarvestSourceRow.kind == CHECK,
        HarvestSourceRow.plan_code == source.plan_code,
        HarvestSourceRow.obligation_code == source.obligation_code,
        HarvestSourceRow.active.is_(True),
    )
    return list(session.scalars(query))


def history_of(
    session: Session, plan: str, obligation: str, start: datetime, end: datetime, lang: str = "vi"
) -> list[Checked]:
    """Every check of the obligation's pages in [start, end), any source
    (one no longer named keeps its history), in time order, reasons in ``lang``."""
    query = (
        select(HarvestFetchRow, HarvestSourceRow.url)
        .join(HarvestSourceRow, HarvestSourceRow.id == HarvestFetchRow.source_id)
        .where(
            HarvestSourceRow.kind == CHECK,
            HarvestSourceRow.plan_code == plan,
            HarvestSourceRow.obligation_code == obligation,
            HarvestFetchRow.at >= start,
            HarvestFetchRow.at < end,
        )
        .order_by(HarvestFetchRow.at, HarvestFetchRow.id)
    )
    return [checked(row, url, lang) for row, url in session.execute(query)]


def checked(row: HarvestFetchRow, url: str, lang: str = "vi") -> Checked:
    """A history row as the core reads it, its reason in ``lang``."""
    detail = row.detail or {}
    reason = reason_text(detail["reason"], detail.get("params"), lang) if detail.get("reason") else row.error
    return Checked(row.at, row.ok, reason, url, row.status)
