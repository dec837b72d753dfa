"""History in reports and pages: an agency's name as it was in a period, and
the links between an agency that ended and its successor ("sáp nhập vào …",
"tiếp nhận từ …"), so a period spanning a merger shows both rows, linked."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from scheduler.i18n import pick
from scheduler.plan.succession import name_on
from scheduler.store.succession import recorded
from scheduler.store.tables import RegistryAgencyRow, SuccessionRow


def lineage(session: Session, codes: Iterable[str], lang: str = "vi") -> dict[str, dict]:
    """Per code: ``merged_into`` (the successor it passed to: code, name, on)
    and ``received_from`` (those that passed to it), when there are any."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    query = select(SuccessionRow).where(
        SuccessionRow.successor != "",
        or_(SuccessionRow.agency_code.in_(wanted), SuccessionRow.successor.in_(wanted)),
    )
    rows = list(session.scalars(query.order_by(SuccessionRow.effective_on, SuccessionRow.id)))
    if not rows:
        return {}
    successors = select(RegistryAgencyRow).where(RegistryAgencyRow.code.in_({s.successor for s in rows}))
    names = {r.code: pick(lang, r.name, r.name_en) for r in session.scalars(successors)}
    found: dict[str, dict] = {}
    for r in rows:
        if r.agency_code in wanted:
            found.setdefault(r.agency_code, {})["merged_into"] = {
                "code": r.successor,
                "name": names.get(r.successor, r.successor),
                "on": r.effective_on.isoformat(),
            }
        if r.successor in wanted:
            found.setdefault(r.successor, {}).setdefault("received_from", []).append(
                {"code": r.agency_code, "name": pick(lang, r.old_name, r.old_name_en), "on": r.effective_on.isoformat()}
            )
    return found


def with_history(session: Session, document: dict, lang: str) -> dict:
    """A compliance report's agency rows named as in its period (a rename
    after it keeps the old name) and linked to their predecessors and successors."""
    every = recorded(session)
    if not every:
        return document
    last = document["period"]["end"]  # the period's last day, ISO
    rows = [*document["agencies"], *(m for a in document["agencies"] for m in a.get("members", []))]
    links = lineage(session, {r["agency"] for r in rows}, lang)
    day = date.fromisoformat(last)
    for row in [*rows, *document["rows"]]:
        current = (row["agency_name"], row["agency_name"])
        row["agency_name"] = pick(lang, *name_on(row["agency"], day, every, current))
        row.update(links.get(row["agency"], {}))
    return document
