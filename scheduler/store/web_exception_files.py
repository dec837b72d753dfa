"""The live web exceptions written out as production layers (``plan
export``): one YAML text per plan and owner (the obligation's host, as a
production file requires), readable by ``plan.production``, with a comment
saying who made each change and when."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.errors import N_
from scheduler.store.tables import ObligationRow, OccurrenceRow, PlanRow
from scheduler.store.web_exception_loads import live_exceptions

HEADER = (
    "# Lịch thay đổi trên web (dời hoặc bỏ một lần), xuất bằng `python main.py plan export`.\n"
    "# Changes made on the web (one occurrence moved or skipped), exported by `python main.py plan export`.\n"
    "# Nạp tệp này cùng các tệp của kế hoạch để giữ các thay đổi trong một lớp sản xuất.\n"
    "# Load this file with the plan's files to keep these changes in a production layer.\n"
)
WHEN = "%d/%m/%Y %H:%M"
NOTHING_TO_EXPORT = N_("no changes made on the web to export")


def _text(value: str) -> str:
    """A double-quoted YAML scalar (JSON's escapes are YAML's)."""
    return json.dumps(value, ensure_ascii=False)


def export_layers(session: Session, plan: str | None = None) -> list[tuple[str, str, str]]:
    """``(plan, owner, YAML text)`` for every plan and owner with live web
    exceptions, in plan, owner, obligation and occurrence order."""
    found: dict[tuple[str, str], dict[str, list[str]]] = {}
    notes: dict[tuple[str, str], list[str]] = {}
    plans: dict[str, PlanRow] = {}
    rows = []
    for ex in live_exceptions(session, plan=plan):
        o = session.get(OccurrenceRow, ex.occurrence_id)
        rows.append((o.plan_code, o.obligation_code, o.period, o.number, o.member, ex, o))
    for plan_code, obligation, period, number, member, ex, o in sorted(rows, key=lambda r: r[:5]):
        if plan_code not in plans:
            plans[plan_code] = session.get(PlanRow, plan_code)
        tz = ZoneInfo(plans[plan_code].timezone)
        host = session.scalar(
            select(ObligationRow.host).where(ObligationRow.plan_code == plan_code, ObligationRow.code == obligation)
        )
        key = (plan_code, host or o.agency_code)
        label = f"{period} #{number}"
        item = [f"      - occurrence: {_text(label)}"]
        if member:
            item.append(f"        member: {member}")
        item.append(f"        reason: {_text(ex.reason)}")
        if ex.action == "skip":
            item.append("        skip: true")
        else:
            if ex.slot:
                item.append(f'        slot: "{ex.slot.astimezone(tz):{WHEN}}"')
            if ex.due:
                item.append(f'        due: "{ex.due.astimezone(tz):{WHEN}}"')
        found.setdefault(key, {}).setdefault(obligation, []).append("\n".join(item))
        verb = "bỏ / skipped" if ex.action == "skip" else "dời / moved"
        who = f"{ex.made_by}, {ex.made_at.astimezone(tz):{WHEN}}"
        notes.setdefault(key, []).append(f"# {obligation} {label}{' ' + member if member else ''}: {verb} — {who}")
    texts = []
    for (plan_code, owner), obligations in found.items():
        lines = [HEADER.rstrip("\n"), *notes[(plan_code, owner)], "production:", f"  plan: {plan_code}"]
        lines += [f"  owner: {owner}", "obligations:"]
        for obligation, items in obligations.items():
            lines += [f"  {obligation}:", "    exceptions:", *items]
        texts.append((plan_code, owner, "\n".join(lines) + "\n"))
    return texts
