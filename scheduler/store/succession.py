"""Recording successions (rename, merge, dissolve) in the caller's one
transaction: the registry, the open occurrences moved to the successor (or
cancelled), calendar items re-rendered (same UID, higher SEQUENCE), people
and feeds following, and one notice to each person of both agencies.

A plan file that still names the old host owes to the successor from the
day on: ``owed_by_successors`` is applied by every load, so a reload never
moves an occurrence back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from scheduler.errors import N_, Problem, ScheduleError
from scheduler.plan.model import Plan
from scheduler.plan.occurrences import CANCELLED, Occurrence
from scheduler.plan.revisions import fingerprint
from scheduler.plan.succession import Succession, check, endings, successor_on
from scheduler.reminders.outbox import Message
from scheduler.reminders.policy import MET
from scheduler.settings import Settings
from scheduler.store.closed_periods import closing_lookup
from scheduler.store.feed_items import write_items
from scheduler.store.outbox import enqueue
from scheduler.store.tables import (
    AgencyRow,
    OccurrenceRow,
    PlanRow,
    RegistryAgencyRow,
    SubscriptionRow,
    SuccessionRow,
    UserRow,
)

CHUNK = 500  # codes per IN (...): well under every driver's limit of bound values
NOTICE_FOR = timedelta(days=30)


@dataclass
class Applied:
    """What recording a set of successions did."""

    recorded: list[Succession] = field(default_factory=list)
    already: int = 0  # the same succession was recorded before: nothing done again
    moved: int = 0
    cancelled: int = 0
    closed: int = 0  # occurrences of a closed period: left with the old agency (kỳ đã chốt)
    users: int = 0
    subscriptions: int = 0
    notices: int = 0


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(values))
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def recorded(session: Session) -> list[Succession]:
    """Every recorded succession, oldest first."""
    rows = session.scalars(select(SuccessionRow).order_by(SuccessionRow.effective_on, SuccessionRow.id))
    return [
        Succession(
            r.kind,
            r.agency_code,
            r.effective_on,
            r.successor,
            r.new_name,
            r.new_name_en,
            r.reason,
            r.source,
            r.old_name,
            r.old_name_en,
        )
        for r in rows
    ]


def _start(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))


def _last_day(window_end: datetime, tz: str) -> date:
    """The window's last day in the plan's zone (its end is exclusive)."""
    return (window_end.astimezone(ZoneInfo(tz)) - timedelta(microseconds=1)).date()


REGISTRY = RegistryAgencyRow.__table__


def _registry(session: Session, codes: set[str], now: datetime) -> dict[str, dict]:
    """The registry entries of these codes (plain values, written back in
    bulk by ``_write_registry``); a code the registry does not have yet is
    taken from a plan's agency row (the first plan, by code)."""
    found: dict[str, dict] = {}
    for chunk in _chunks(codes):
        for r in session.execute(select(REGISTRY).where(REGISTRY.c.code.in_(chunk))).mappings():
            found[r["code"]] = {**r, "new": False}
    missing = codes - set(found)
    for chunk in _chunks(missing):
        query = select(AgencyRow).where(AgencyRow.code.in_(chunk)).order_by(AgencyRow.plan_code)
        for a in session.scalars(query):
            if a.code not in found:
                found[a.code] = _entry(a.code, a.name, a.name_en, a.kind, "", now)
    return found


def _entry(code: str, name: str, name_en: str, kind: str, province: str, now: datetime) -> dict:
    return {
        "code": code,
        "name": name,
        "name_en": name_en,
        "kind": kind,
        "province": province,
        "dissolved_on": None,
        "created_at": now,
        "updated_at": now,
        "new": True,
    }


def _write_registry(session: Session, entries: Iterable[dict]) -> None:
    """One INSERT for the new entries, one UPDATE statement (executemany) for the others."""
    columns = [c.name for c in REGISTRY.columns]
    entries = list(entries)
    added = [{k: e[k] for k in columns} for e in entries if e["new"]]
    if added:
        session.execute(REGISTRY.insert(), added)
    changed = [{f"b_{k}": e[k] for k in columns} for e in entries if not e["new"]]
    if changed:
        statement = update(REGISTRY).where(REGISTRY.c.code == bindparam("b_code"))
        statement = statement.values({k: bindparam(f"b_{k}") for k in columns if k != "code"})
        session.connection().execute(statement, changed)


def apply_successions(
    session: Session, new: Sequence[Succession], by: str, now: datetime, settings: Settings
) -> Applied:
    """Record ``new`` (all or nothing: raises ScheduleError naming each bad
    one's source); a succession already recorded is skipped."""
    before = recorded(session)
    known = {s.same_as for s in before}
    fresh, seen = [], set()
    for s in new:
        if s.same_as not in known and s.same_as not in seen:
            fresh.append(s)
            seen.add(s.same_as)
    done = Applied(already=len(new) - len(fresh))
    if not fresh:
        return done
    check(fresh, before)
    codes = {s.agency for s in fresh} | {s.successor for s in fresh if s.successor}
    registry = _registry(session, codes, now)
    problems = [
        Problem(*_where(s), s.agency, N_('unknown agency "{code}": no plan or registry has it'), {"code": s.agency})
        for s in fresh
        if s.agency not in registry
    ]
    for s in fresh:
        if s.successor and s.successor not in registry:
            if not s.name:
                problems.append(
                    Problem(*_where(s), s.agency, N_('"{code}" is a new agency: give its name'), {"code": s.successor})
                )
                continue
            old = registry.get(s.agency) or {}
            registry[s.successor] = _entry(
                s.successor, s.name, s.name_en, old.get("kind", "agency"), old.get("province", ""), now
            )
    if problems:
        raise ScheduleError(problems)
    rows = []
    for s in fresh:
        agency = registry[s.agency]
        rows.append(
            {
                "kind": s.kind,
                "agency_code": s.agency,
                "successor": s.successor,
                "effective_on": s.on,
                "old_name": agency["name"],
                "old_name_en": agency["name_en"],
                "new_name": s.name if s.kind == "rename" or s.successor else "",
                "new_name_en": s.name_en,
                "reason": s.reason,
                "source": s.source,
                "recorded_at": now,
                "recorded_by": by,
            }
        )
        if s.kind == "rename":
            agency["name"], agency["name_en"] = s.name, s.name_en or agency["name_en"]
        else:
            agency["dissolved_on"] = s.on
        agency["updated_at"] = now
        done.recorded.append(replace(s, old_name=rows[-1]["old_name"], old_name_en=rows[-1]["old_name_en"]))
    session.execute(SuccessionRow.__table__.insert(), rows)
    _write_registry(session, registry.values())
    every = endings([*before, *done.recorded])
    ending = [s for s in fresh if s.ends]
    _move(session, ending, every, registry, done, now, settings.base_url)
    _people_follow(session, ending, every, done)
    done.notices = _notify(session, done.recorded, registry, now, settings)
    return done


def _where(s: Succession) -> tuple[str, int | None]:
    source, _, line = s.source.rpartition(":")
    return (source, int(line)) if source and line.isdigit() else (s.source or "-", None)


def _move(
    session: Session,
    ending: list[Succession],
    every: dict[str, Succession],
    registry: dict[str, dict],
    done: Applied,
    now: datetime,
    base_url: str,
) -> None:
    """The ended agencies' open occurrences: moved to whoever owes on their
    last day (revision + 1), or cancelled with the reason."""
    if not ending:
        return
    zones = {p.code: p.timezone for p in session.scalars(select(PlanRow))}
    by_agency = {s.agency: s for s in ending}
    changed: list[str] = []
    closed = closing_lookup(session)
    new_hosts: dict[tuple[str, str], str] = {}  # (plan, successor) -> the agency whose contacts it inherits
    for chunk in _chunks(by_agency):
        query = select(OccurrenceRow).where(OccurrenceRow.agency_code.in_(chunk), OccurrenceRow.status != CANCELLED)
        for row in session.scalars(query):
            s = by_agency[row.agency_code]
            tz = zones[row.plan_code]
            if row.window_end <= _start(s.on, tz) or (row.delivery or {}).get("state") in MET:
                continue
            if closed(row) is not None:  # its report is fixed as of the closing
                done.closed += 1
                continue
            owner = successor_on(row.agency_code, _last_day(row.window_end, tz), every)
            shown = dict(row.shown)
            if owner is None:
                shown["status"], shown["reason"] = CANCELLED, s.reason
                row.status, row.reason, row.cancelled_at = CANCELLED, s.reason, now
                done.cancelled += 1
            else:
                new_hosts.setdefault((row.plan_code, owner), row.agency_code)
                shown["agency"] = owner
                row.moved_from, row.agency_code = row.agency_code, owner
                done.moved += 1
            row.shown, row.fingerprint = shown, fingerprint(shown)
            row.revision, row.updated_at = row.revision + 1, now
            changed.append(row.id)
    _plan_agencies(session, new_hosts, registry)
    session.flush()
    write_items(session, changed, base_url)


def _plan_agencies(session: Session, new_hosts: dict[tuple[str, str], str], registry: dict) -> None:
    """A successor a plan does not name yet gets the plan's agency row (its
    calendar names, its reminders' recipients: the old agency's contacts)."""
    for (plan, code), old in sorted(new_hosts.items()):
        if session.get(AgencyRow, (plan, code)) is not None:
            continue
        before = session.get(AgencyRow, (plan, old))
        entry = registry.get(code) or {"name": code, "name_en": "", "kind": before.kind if before else "agency"}
        session.add(
            AgencyRow(
                plan_code=plan,
                code=code,
                name=entry["name"],
                name_en=entry["name_en"],
                kind=entry["kind"],
                contacts=list(before.contacts) if before else [],
            )
        )


def _people_follow(session: Session, ending: list[Succession], every: dict[str, Succession], done: Applied) -> None:
    """Users of an ended agency belong to its successor now (their rights
    follow), and feeds filtered on it filter on the successor."""
    pairs = []
    for s in ending:
        if s.successor:
            final = successor_on(s.agency, date.max, every) or s.successor
            pairs.append({"b_old": s.agency, "b_new": final})
    if not pairs:
        return
    for table, counter in ((UserRow.__table__, "users"), (SubscriptionRow.__table__, "subscriptions")):
        statement = update(table).where(table.c.agency_code == bindparam("b_old"))
        statement = statement.values(agency_code=bindparam("b_new"))
        result = session.connection().execute(statement, pairs)
        setattr(done, counter, max(result.rowcount or 0, 0))
    for obj in list(session.identity_map.values()):  # the ORM's copies of what the statements changed
        if isinstance(obj, (UserRow, SubscriptionRow)):
            session.expire(obj)


def _notify(session: Session, fresh: list[Succession], registry: dict, now: datetime, settings: Settings) -> int:
    """One notice per person of both agencies (users and plan contacts) for each succession."""
    codes = {s.agency for s in fresh} | {s.successor for s in fresh if s.successor}
    people: dict[str, dict[str, str]] = {}  # code -> address -> lang
    for chunk in _chunks(codes):
        for u in session.scalars(select(UserRow).where(UserRow.agency_code.in_(chunk), UserRow.disabled.is_(False))):
            people.setdefault(u.agency_code or "", {})[u.email.lower()] = u.lang
        for a in session.scalars(select(AgencyRow).where(AgencyRow.code.in_(chunk))):
            for address in a.contacts:
                people.setdefault(a.code, {}).setdefault(str(address).lower(), "vi")
    # users who already followed the successor were of the old agency too: they are told once, as its people
    messages = []
    for s in fresh:
        announces = _start(s.on, "Asia/Ho_Chi_Minh")
        old, new = registry[s.agency], registry.get(s.successor)
        context = {
            "kind": s.kind,
            "agency": s.agency,
            "agency_name": [s.old_name or old["name"], s.old_name_en or old["name_en"]],
            "successor": s.successor,
            "successor_name": [new["name"], new["name_en"]] if new else ["", ""],
            "new_name": [s.name, s.name_en],
            "on": s.on.isoformat(),
            "reason": s.reason,
            "link": f"{settings.base_url.rstrip('/')}/me",  # what each person now owes
        }
        recipients = {**people.get(s.successor, {}), **people.get(s.agency, {})}
        for address, lang in sorted(recipients.items()):
            messages.append(
                Message(
                    "succession",
                    f"succession:{s.agency}@{s.on.isoformat()}",
                    address,
                    announces,
                    now,
                    now + NOTICE_FOR,
                    lang,
                    context=context,
                )
            )
    return enqueue(session, messages, now, urlparse(settings.base_url).hostname or "localhost")


def owed_by_successors(
    session: Session, plan: Plan, occurrences: list[Occurrence], stored: dict[str, OccurrenceRow]
) -> tuple[list[Occurrence], dict[str, str]]:
    """A load's occurrences with each host replaced by whoever owes on the
    window's last day (or cancelled with the dissolution's reason), so a
    reload does not move them back; a delivered or excused one keeps the
    host it was met by. Returns them and {id: the host the file names} of
    the moved ones."""
    ends = endings(recorded(session))
    if not ends:
        return occurrences, {}
    result, moved = [], {}
    for o in occurrences:
        end = ends.get(o.agency)
        row = stored.get(o.id)
        if end is None or o.window_end <= _start(end.on, plan.timezone):
            result.append(o)
            continue
        if row is not None and (row.delivery or {}).get("state") in MET:
            result.append(replace(o, agency=row.agency_code))
            continue
        owner = successor_on(o.agency, _last_day(o.window_end, plan.timezone), ends)
        if owner is None:
            result.append(replace(o, status=CANCELLED, reason=end.reason))
        else:
            result.append(replace(o, agency=owner))
            moved[o.id] = o.agency
    return result, moved


def mark_moved(session: Session, moved: dict[str, str]) -> None:
    """Record which host the file named for the occurrences a load gave a successor."""
    if moved:
        table = OccurrenceRow.__table__
        statement = update(table).where(table.c.id == bindparam("b_id")).values(moved_from=bindparam("b_from"))
        session.connection().execute(statement, [{"b_id": i, "b_from": f} for i, f in moved.items()])
