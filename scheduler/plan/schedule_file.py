"""Schedule files (YAML) into Plans, with every problem named by file and line.

A plan file holds what the plan obliges; a production file (see
``production.py``) holds how one outlet produces it. The format is
documented in ``docs/schedule-format.md``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler.errors import N_
from scheduler.plan.cadence import MAX_SLOTS, AirSlots, Cadence
from scheduler.plan.cadence_forms import parse_cadence
from scheduler.plan.channel_file import channel_refs, read_channels
from scheduler.plan.durations import read_length
from scheduler.plan.groups import with_members
from scheduler.plan.model import AGENCY_KINDS, Agency, Named, Obligation, Plan
from scheduler.plan.periods import Period, parse_date, parse_period, parse_time
from scheduler.plan.production_fields import days_text, emails, production_fields, reminder_settings
from scheduler.plan.reporting_section import read_reporting
from scheduler.plan.yaml_source import Node, Reader

PLAN_FIELDS = (
    ("code", "title", "issuer", "period"),
    (
        "title_en",
        "number",
        "issued_on",
        "timezone",
        "due_time",
        "legal_basis",
        "working_days",
        "reminder_policy",
        "province",
    ),
)
OBLIGATION_FIELDS = (
    ("code", "title", "host", "channels", "cadence"),
    (
        "title_en",
        "coordinators",
        "coordination",
        "may_record",
        "min_duration",
        "duration",
        "max_duration",
        "topics",
        "audiences",
        "milestones",
        "reminders",
        "reminder_policy",
        "slots",
        "exceptions",
        "note",
    ),
)


def read_plan(reader: Reader, root: Node) -> Plan | None:
    """A plan file's tree into a Plan; None (and problems) when it is invalid."""
    reader.mapping(root, ("plan", "agencies", "obligations"), ("topics", "audiences", "channels", "reporting"))
    if not root.has("plan") or not isinstance(root.value["plan"], dict):
        return None
    head = root.child("plan")
    reader.mapping(head, *PLAN_FIELDS)
    code = reader.code(head.child("code")) if head.has("code") else ""
    province = reader.code(head.child("province")) if head.has("province") else ""
    tz_name = reader.text(head, "timezone", "Asia/Ho_Chi_Minh")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        reader.fail(
            head.child("timezone"),
            N_('unknown time zone "{value}" (an IANA name such as Asia/Ho_Chi_Minh)'),
            value=tz_name,
        )
        tz_name = "Asia/Ho_Chi_Minh"
    period = reader.convert(head.child("period"), parse_period) if head.has("period") else None
    if period is None:
        return None
    working = _working_days(reader, head, period.start)
    plan = Plan(
        code=code,
        title=reader.text(head, "title"),
        title_en=reader.text(head, "title_en"),
        issuer=reader.text(head, "issuer"),
        number=reader.text(head, "number"),
        issued_on=reader.convert(head.child("issued_on"), parse_date) if head.has("issued_on") else None,
        period=Period(period.start, period.end, period.label),
        timezone=tz_name,
        due_time=(reader.convert(head.child("due_time"), parse_time) if head.has("due_time") else None)
        or Plan.due_time,
        legal_basis=tuple(" ".join(str(n.value).split()) for n in reader.texts(head, "legal_basis")),
        extra_holidays=working[0],
        extra_workdays=working[1],
        source=reader.source,
        reminder_policy=reminder_settings(reader, head),
        province=province,
    )
    audiences = _named(reader, root, "audiences", ())
    topics = _named(reader, root, "topics", tuple(a.code for a in audiences))
    agencies = _agencies(reader, root)
    channels = read_channels(reader, root)
    plan = replace(plan, audiences=audiences, topics=topics, agencies=agencies, channels=channels)
    obligations = []
    seen: set[str] = set()
    for node in reader.texts(root, "obligations"):
        obligation = _obligation(reader, node, plan)
        if obligation is None:
            continue
        if obligation.code in seen:
            reader.fail(node.child("code"), N_('duplicate obligation code "{code}"'), code=obligation.code)
        seen.add(obligation.code)
        obligations.append(obligation)
    obligations += read_reporting(reader, root, plan, seen, _check_windows)  # the reporting section's rows
    return replace(plan, obligations=tuple(obligations))


def _working_days(reader: Reader, head: Node, year: date) -> tuple[frozenset[date], frozenset[date]]:
    if not head.has("working_days"):
        return frozenset(), frozenset()
    node = head.child("working_days")
    if not reader.mapping(node, (), ("holidays", "workdays")):
        return frozenset(), frozenset()
    days = []
    for key in ("holidays", "workdays"):
        parsed = (reader.convert(n, lambda v: parse_date(v, year)) for n in reader.texts(node, key))
        days.append(frozenset(d for d in parsed if d))
    return days[0], days[1]


def _named(reader: Reader, root: Node, key: str, audiences: tuple[str, ...]) -> tuple[Named, ...]:
    found, seen = [], set()
    optional = ("title_en", "note") + (("audiences",) if key == "topics" else ())
    for node in reader.texts(root, key):
        if not reader.mapping(node, ("code", "title"), optional):
            continue
        code = reader.code(node.child("code")) if node.has("code") else ""
        if code in seen:
            reader.fail(node.child("code"), N_('duplicate code "{code}"'), code=code)
        seen.add(code)
        for a in reader.texts(node, "audiences"):
            if a.value not in audiences:
                reader.fail(
                    a,
                    N_('unknown audience "{value}" (declared: {allowed})'),
                    value=a.value,
                    allowed=", ".join(audiences) or "-",
                )
        found.append(
            Named(
                code,
                reader.text(node, "title"),
                reader.text(node, "title_en"),
                reader.text(node, "note"),
                tuple(str(a.value) for a in reader.texts(node, "audiences")),
            )
        )
    return tuple(found)


def _agencies(reader: Reader, root: Node) -> tuple[Agency, ...]:
    found, seen = [], set()
    for node in reader.texts(root, "agencies"):
        if not reader.mapping(node, ("code", "name"), ("name_en", "kind", "contacts", "members")):
            continue
        code = reader.code(node.child("code")) if node.has("code") else ""
        if code in seen:
            reader.fail(node.child("code"), N_('duplicate agency code "{code}"'), code=code)
        seen.add(code)
        kind = reader.text(node, "kind", "other")
        if kind not in AGENCY_KINDS:
            reader.fail(
                node.child("kind"),
                N_('expected one of {allowed}, got "{value}"'),
                allowed=", ".join(AGENCY_KINDS),
                value=kind,
            )
        contacts = tuple(str(c.value) for c in emails(reader, reader.texts(node, "contacts")))
        name, name_en = reader.text(node, "name"), reader.text(node, "name_en")
        found.append((node, Agency(code, name, name_en, kind, contacts, line=node.line)))
    return with_members(reader, found)  # a group's members (plan/groups.py)


def _refs(reader: Reader, node: Node, key: str, known: tuple[str, ...], message: str) -> tuple[str, ...]:
    found = []
    for n in reader.texts(node, key):
        if str(n.value) not in known:
            reader.fail(n, message, value=n.value, allowed=", ".join(known) or "-")
        found.append(str(n.value))
    return tuple(found)


def _coordinators(node: Node) -> tuple[str, ...]:
    value = node.value.get("coordinators") or []
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


def _obligation(reader: Reader, node: Node, plan: Plan) -> Obligation | None:
    if not reader.mapping(node, *OBLIGATION_FIELDS):
        return None
    agencies = tuple(a.code for a in plan.agencies)
    code = reader.code(node.child("code")) if node.has("code") else ""
    host = reader.text(node, "host")
    if node.has("host") and host not in agencies:
        reader.fail(
            node.child("host"),
            N_('unknown agency "{value}" (declared: {allowed})'),
            value=host,
            allowed=", ".join(agencies),
        )
    unknown_agency = N_('unknown agency "{value}" (declared: {allowed})')
    channels = channel_refs(reader, node, plan.channels)
    cadence = None
    if node.has("cadence"):
        cadence = reader.convert(
            node.child("cadence"),
            lambda v: parse_cadence(v, plan.period.start, plan.tz, plan.due_time, plan.period.end),
        )
    length = read_length(reader, node)
    if cadence is None or not channels or not code:
        return None
    obligation = Obligation(
        code=code,
        title=reader.text(node, "title"),
        title_en=reader.text(node, "title_en"),
        host=host,
        channels=channels,
        cadence=cadence,
        coordinators=_refs(reader, node, "coordinators", agencies, unknown_agency),
        coordination=reader.text(node, "coordination"),
        min_duration=length.min_duration,
        duration=length.duration,
        duration_tolerance=length.duration_tolerance,
        max_duration=length.max_duration,
        may_record=_refs(
            reader,
            node,
            "may_record",
            _coordinators(node),
            N_(
                '"{value}" is not among this obligation\'s coordinators ({allowed}); only a named '
                "coordinating agency can be granted the right to record"
            ),
        ),
        topics=_refs(
            reader,
            node,
            "topics",
            tuple(t.code for t in plan.topics),
            N_('unknown topic "{value}" (declared: {allowed})'),
        ),
        audiences=_refs(
            reader,
            node,
            "audiences",
            tuple(a.code for a in plan.audiences),
            N_('unknown audience "{value}" (declared: {allowed})'),
        ),
        note=reader.text(node, "note"),
    )
    _check_windows(reader, node.child("cadence"), cadence, plan)
    obligation = production_fields(reader, node, plan, obligation)
    if not any(w.count for w in cadence.windows(plan.period, plan.tz, plan.calendar)):
        reader.warn(node.child("cadence"), N_("this cadence owes nothing inside the plan's period"))
    return obligation


def _check_windows(reader: Reader, node: Node, cadence: Cadence, plan: Plan) -> None:
    """Every window inside the plan's period, and none that ends before it starts."""
    active = getattr(cadence, "active", None) or getattr(cadence, "during", None)
    if active and (
        active.start < plan.period.start
        and active.start != date.min
        or active.end > plan.period.end
        and active.end != date.max
    ):
        reader.fail(
            node,
            N_("{window} lies outside the plan's period {period}"),
            window=days_text(active),
            period=days_text(plan.period),
        )
        return
    for window in cadence.windows(plan.period, plan.tz, plan.calendar):
        if window.period.end <= window.period.start:
            reader.fail(
                node,
                N_("window {window} ends before it starts (it opens with the plan's period or the previous deadline)"),
                window=window.period.label,
            )
            return
        if window.period.start < plan.period.start or window.period.end > plan.period.end:
            reader.fail(
                node,
                N_("window {window} lies outside the plan's period {period}"),
                window=days_text(window.period),
                period=days_text(plan.period),
            )
            return
    if isinstance(cadence, AirSlots) and len(cadence.slots(plan.period, plan.tz)) >= MAX_SLOTS:
        reader.fail(node, N_("the rule gives more than {limit} slots in the plan's period"), limit=MAX_SLOTS)
