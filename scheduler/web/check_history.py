"""The recent daily checks on a continuous obligation's occurrence page
(``/o/ID``): day, URL, passed or not and why, newest first (helper "portal")."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.store.harvest_checks import CHECK, history_of
from scheduler.store.tables import HarvestSourceRow, ObligationRow, OccurrenceRow, PlanRow

SHOWN_DAYS = 30


def check_history(session: Session, o: OccurrenceRow, now: datetime, lang: str) -> dict:
    """``{"checks": ...}`` for the page: None unless the obligation is kept up
    continuously; else the pages checked and the last ``SHOWN_DAYS`` days of
    checks inside the window (up to ``now``)."""
    obligation = session.get(ObligationRow, (o.plan_code, o.obligation_code))
    if obligation is None or not obligation.cadence.startswith("continuous"):
        return {"checks": None}
    plan = session.get(PlanRow, o.plan_code)
    zone = ZoneInfo(plan.timezone if plan else "Asia/Ho_Chi_Minh")
    end = min(now, o.window_end)
    start = max(o.window_start, end - timedelta(days=SHOWN_DAYS))
    urls = session.scalars(
        select(HarvestSourceRow.url)
        .where(
            HarvestSourceRow.kind == CHECK,
            HarvestSourceRow.plan_code == o.plan_code,
            HarvestSourceRow.obligation_code == o.obligation_code,
            HarvestSourceRow.active.is_(True),
        )
        .order_by(HarvestSourceRow.url)
    ).all()
    rows = []
    for c in reversed(history_of(session, o.plan_code, o.obligation_code, start, end, lang) if start < end else []):
        at = c.at.astimezone(zone)
        rows.append({"at": at.strftime("%d/%m/%Y %H:%M"), "url": c.url, "ok": c.ok, "reason": c.reason})
    return {"checks": {"urls": list(urls), "rows": rows, "days": SHOWN_DAYS}}
