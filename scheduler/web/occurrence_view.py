"""What the producer's pages show of occurrences: "my work" with each
window's quota, an occurrence with its ledger history and the delivery form
its channels ask for, the window a delivery against a period goes to. Plain
values for the templates, read in the caller's transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.bounds import format_size
from scheduler.compliance.report_text import COLUMNS
from scheduler.compliance.status import Entry, Facts, WindowView, risk_horizon, window_views
from scheduler.compliance.status import status as status_of
from scheduler.errors import N_
from scheduler.evidence.deliveries import Target, choose_target, moment_kind_for
from scheduler.evidence.ledger import parse_content
from scheduler.feeds.ical import channel_names, length_text, period_text, stated_length, summary
from scheduler.i18n import pick
from scheduler.people.permissions import Actor, may_open_evidence, may_record
from scheduler.plan.channels import EVIDENCE, EVIDENCE_FIELDS, channel, evidence_of, from_definition
from scheduler.plan.durations import format_duration
from scheduler.store import ledger as stored_ledger
from scheduler.store.recording import NotFound, grants, own_member
from scheduler.store.tables import AgencyRow, MilestoneRow, OccurrenceRow, PlanRow
from scheduler.store.watch import calendar_of
from scheduler.web import auth, source_view

# What the moment is called, by the first channel's verb: a meeting is held, a banner put up.
MOMENT_LABELS = {
    "checked": N_("Checked on"),
    "held": N_("Held on"),
    "put up": N_("Put up on"),
    "issued": N_("Issued on"),
    "posted": N_("Posted at"),
}
LABELS = {
    "aired_at": N_("Aired at"),
    "published_at": N_("Published at"),
    "duration": N_("Duration"),
    "url": N_("Link (URL)"),
    "title": N_("Title"),
    **{name: EVIDENCE[name].label for name in EVIDENCE_FIELDS},  # issue number, page, participants, …
    "topics": N_("Topics"),
    "note": N_("Note"),
    "files": N_("Files"),
    "supersedes": N_("Corrects entry"),
}
RECENT = timedelta(days=7)  # "my work" keeps a window for a week after it closes


def actor_of(user: auth.SessionUser) -> Actor:
    return Actor(user.email, tuple(user.roles), user.agency, False, user.lang)


def statuses(session: Session, rows: list[OccurrenceRow], now: datetime, at_risk_days: int) -> dict[str, str]:
    """The compliance status of each occurrence as of ``now`` (the pure rules)."""
    entries: dict[str, list[Entry]] = {}
    for e in stored_ledger.entries_of(session, [r.id for r in rows]) if rows else ():
        entries.setdefault(e.occurrence_id, []).append(
            Entry(e.seq, e.occurrence_id, e.kind, e.recorded_at, e.supersedes, e.conforming, e.late, e.extra)
        )
    plans = {code: session.get(PlanRow, code) for code in {r.plan_code for r in rows}}
    horizons = {
        c: risk_horizon(now.astimezone(ZoneInfo(p.timezone)), at_risk_days, calendar_of(p)) for c, p in plans.items()
    }
    return {
        r.id: status_of(
            Facts(r.id, r.agency_code, r.obligation_code, r.period, r.window_start, r.window_end, r.cancelled_at),
            entries.get(r.id, []),
            now,
            horizons[r.plan_code],
        )
        for r in rows
    }


def window_quotas(
    session: Session, rows: list[OccurrenceRow], found: dict[str, str], now: datetime
) -> dict[tuple[str, str, str], WindowView]:
    """The quota view of each window, per (plan, obligation, period); rows hold whole windows."""
    out = {}
    for code in sorted({r.plan_code for r in rows}):
        plan = session.get(PlanRow, code)
        tz = ZoneInfo(plan.timezone)
        facts = [
            Facts(
                r.id,
                r.agency_code,
                r.obligation_code,
                r.period,
                r.window_start.astimezone(tz),
                r.window_end.astimezone(tz),
                r.cancelled_at,
            )
            for r in rows
            if r.plan_code == code
        ]
        out.update(
            {
                (code, v.obligation, v.period): v
                for v in window_views(facts, found, now.astimezone(tz), calendar_of(plan))
            }
        )
    return out


def quota_text(v: WindowView, now: datetime, _) -> str:
    """``1/2 số tháng 03/2024, còn 3 ngày làm việc``."""
    values = {"met": v.met, "owed": v.owed, "period": period_text(v.period, _), "days": v.working_days_left}
    if v.window_end <= now:
        return _("{met}/{owed} for {period}, the window has closed").format(**values)
    return _("{met}/{owed} for {period}, {days} working days left").format(**values)


def period_link(plan: str, obligation: str, period: str, verb: str = "deliver") -> str:
    return f"/obligations/{quote(obligation)}/{verb}?" + urlencode({"period": period, "plan": plan})


def my_work(session: Session, user: auth.SessionUser, now: datetime, at_risk_days: int, _) -> list[dict]:
    """The agency's open occurrences, soonest due first, each with its window's quota."""
    rows = list(
        session.scalars(
            select(OccurrenceRow)
            .where(OccurrenceRow.agency_code == user.agency, OccurrenceRow.window_end > now - RECENT)
            .order_by(OccurrenceRow.due, OccurrenceRow.number, OccurrenceRow.id)
        )
    )
    found = statuses(session, rows, now, at_risk_days)
    quotas = window_quotas(session, rows, found, now)
    actor, allowed, linked, items = actor_of(user), {}, set(), []
    for r in rows:
        if r.status != "scheduled" or found[r.id] in ("on_time", "late", "excused", "cancelled"):
            continue
        tz = ZoneInfo(session.get(PlanRow, r.plan_code).timezone)
        key = (r.plan_code, r.obligation_code, r.period)
        if key[:2] not in allowed:
            allowed[key[:2]] = bool(may_record(actor, r.agency_code, grants(session, *key[:2])))
        record = None
        if allowed[key[:2]] and key not in linked:
            linked.add(key)
            record = {
                "href": period_link(*key),
                "text": _("Record one for {period}").format(period=period_text(r.period, _)),
            }
        items.append(
            {
                "id": r.id,
                "summary": summary(r.shown, user.lang, _, r.delivery, str(tz)),
                "window_start": r.window_start.astimezone(tz),
                "window_last": r.window_end.astimezone(tz) - timedelta(days=1),
                "due": r.due.astimezone(tz),
                "state": found[r.id],
                "state_word": _(COLUMNS[found[r.id]]),
                "record": record,
                "quota": quota_text(quotas[key], now, _) if key in quotas else "",
            }
        )
    return items


def entry_view(row, superseded_by: dict[int, int], tz: ZoneInfo, topics: dict, lang: str, _) -> dict:
    """One ledger entry as the history shows it."""
    p = parse_content(row.content)["payload"]
    url = p.get("url") or ""
    verdict = (
        "excused"
        if row.kind == "excuse"
        else "non_conforming"
        if not p.get("conforming")
        else "late"
        if p.get("late")
        else "on_time"
    )
    view = {
        "seq": row.seq,
        "kind": row.kind,
        "supersedes": row.supersedes,
        "superseded_by": superseded_by.get(row.seq),
        "verdict_code": verdict,
        "verdict": _(COLUMNS[verdict]),
        "moment_label": _(LABELS["aired_at" if p.get("moment_kind") == "aired" else "published_at"]),
        "moment": datetime.fromisoformat(p["moment"]).astimezone(tz) if p.get("moment") else None,
        "recorded_at": row.recorded_at.astimezone(tz),
        "recorded_by": row.recorded_by,
        "duration": format_duration(p["duration"]) if p.get("duration") is not None else "",
        "url": url,
        "linkable": url.lower().startswith(("https://", "http://")),
        "title": p.get("title", ""),
        "note": p.get("note", ""),
        "reason": p.get("reason", ""),
        "fields": [(_(LABELS[k]), v) for k, v in (p.get("fields") or {}).items() if k in LABELS],
        "topics": [pick(lang, *topics.get(t, (t, ""))) for t in p.get("topics", [])],
        "files": [
            {
                "href": f"/files/{row.seq}/{f['sha256']}",
                "name": f["name"],
                "type": f["type"],
                "size": format_size(f["size"]),
            }
            for f in p.get("files", [])
        ],
        "extra": bool(p.get("extra")),
        "reasons": [_(m).format(**params) for m, params in p.get("reasons", [])],
        "gaps": [_(g) for g in p.get("gaps", [])],
    }
    view["source"] = source_view.entry_source(p, view["files"], tz, _)  # where a harvested proof came from
    return view


def form_spec(shown: dict, plan: PlanRow, lang: str, action: str, entries: list[dict] = ()) -> dict:
    """What the delivery form asks for this occurrence's channels."""
    channels, own = tuple(shown.get("channels", [])), from_definition(plan.definition)
    aired = moment_kind_for(channels, own) == "aired"
    first = channel(channels[0], own) if channels else None
    return {
        "action": action,
        "moment": "aired_at" if aired else "published_at",
        "zone": plan.timezone,
        "moment_label": MOMENT_LABELS.get(first.done if first else "", LABELS["aired_at" if aired else "published_at"]),
        "extras": [(e.name, e.label) for e in evidence_of(channels, own) if e.check == "field"],
        "topics": [
            (t["code"], pick(lang, t["title"], t.get("title_en", "")))
            for t in (plan.definition or {}).get("topics", [])
        ],
        "default_topics": list(shown.get("topics", [])),
        "supersedable": [e for e in entries if not e["superseded_by"]],
    }


def occurrence_context(
    session: Session,
    o: OccurrenceRow,
    user: auth.SessionUser,
    now: datetime,
    at_risk_days: int,
    _,
    recorded: int | None = None,
) -> dict:
    lang, shown = user.lang, o.shown
    plan = session.get(PlanRow, o.plan_code)
    tz = ZoneInfo(plan.timezone)
    agencies = {
        a.code: (a.name, a.name_en)
        for a in session.scalars(select(AgencyRow).where(AgencyRow.plan_code == o.plan_code))
    }
    topics = {t["code"]: (t["title"], t.get("title_en", "")) for t in (plan.definition or {}).get("topics", [])}
    rows = stored_ledger.entries_of(session, [o.id])
    superseded_by = {r.supersedes: r.seq for r in rows if r.supersedes}
    entries = [entry_view(r, superseded_by, tz, topics, lang, _) for r in rows]
    state = statuses(session, [o], now, at_risk_days)[o.id]
    granted = grants(session, o.plan_code, o.obligation_code)
    decision = may_record(actor_of(user), o.agency_code, granted)
    if not may_open_evidence(actor_of(user), o.agency_code, granted):  # names and sizes only
        for f in (f for e in entries for f in e["files"]):
            f["href"] = None
    notice = next(({**e, "state": _(COLUMNS[state])} for e in entries if e["seq"] == recorded), None)
    return {
        "o": o,
        "plan": plan,
        "summary": summary(shown, lang, _, o.delivery, plan.timezone),
        "state": state,
        "state_word": _(COLUMNS[state]),
        "host": pick(lang, *agencies.get(o.agency_code, (o.agency_code, ""))),
        "coordinators": "; ".join(
            [pick(lang, *agencies.get(c, (c, ""))) for c in shown.get("coordinators", [])]
            + ([shown["coordination"]] if shown.get("coordination") else [])
        ),
        "window_start": o.window_start.astimezone(tz),
        "window_last": o.window_end.astimezone(tz) - timedelta(days=1),
        "due": o.due.astimezone(tz),
        "slot": o.slot.astimezone(tz) if o.slot else None,
        "min_duration": length_text(shown, _),
        "length_stated": stated_length(shown),
        "channels": channel_names(shown.get("channels", []), from_definition(plan.definition), lang, _),
        "topics": "; ".join(pick(lang, *topics.get(t, (t, ""))) for t in shown.get("topics", [])),
        "milestones": list(
            session.scalars(select(MilestoneRow).where(MilestoneRow.occurrence_id == o.id).order_by(MilestoneRow.day))
        ),
        "entries": entries,
        "notice": notice,
        "form": form_spec(shown, plan, lang, f"/o/{o.id}/deliveries", entries)
        if decision and o.status != "cancelled"
        else None,
    }


def period_target(s: Session, code: str, period: str, plan: str | None, agency: str | None = None):
    """The window's occurrences and the one a delivery goes to (as record_delivery chooses it;
    for a group's obligation, among those of ``agency``, the member recording)."""
    query = select(OccurrenceRow).where(OccurrenceRow.obligation_code == code, OccurrenceRow.period == period)
    rows = list(
        s.scalars((query.where(OccurrenceRow.plan_code == plan) if plan else query).order_by(OccurrenceRow.number))
    )
    rows = own_member(rows, agency)
    if not rows or len({r.plan_code for r in rows}) > 1:
        raise NotFound(N_("Nothing is owed for this obligation and period."))
    tz = ZoneInfo(s.get(PlanRow, rows[0].plan_code).timezone)
    recorded = stored_ledger.recorded(stored_ledger.entries_of(s, [r.id for r in rows]))
    target, extra = choose_target(
        [
            (
                Target(
                    r.id,
                    r.status,
                    r.window_start.astimezone(tz),
                    r.window_end.astimezone(tz),
                    r.shown.get("min_duration"),
                    tuple(r.shown.get("channels", [])),
                    r.number,
                ),
                recorded.get(r.id, []),
            )
            for r in rows
        ]
    )
    return rows, next(r for r in rows if r.id == target.id), extra
