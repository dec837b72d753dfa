"""The fields a production layer may set on an obligation it produces
(milestones, reminders, reminder settings, air slots, exceptions, and how
the outlet's records name it: match, checks), read with
every problem named by file and line; the plan file reads them too."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, tzinfo
from typing import Any

from scheduler.errors import N_
from scheduler.plan.cadence import MAX_SLOTS, parse_slots
from scheduler.plan.groups import exception_member
from scheduler.plan.harvest_fields import obligation_fields
from scheduler.plan.model import Adjustment, MilestoneStep, Obligation, Plan
from scheduler.plan.occurrences import known_periods, slot_mismatches
from scheduler.plan.periods import Period, parse_moment
from scheduler.plan.reminder_policy import Policy
from scheduler.plan.yaml_source import EMAIL, Node, Reader

# Fields a production layer may set on an obligation it produces.
PRODUCTION_FIELDS = ("milestones", "reminders", "reminder_policy", "slots", "exceptions", "match", "checks")


def production_fields(reader: Reader, node: Node, plan: Plan, obligation: Obligation) -> Obligation:
    """Apply the fields a plan or a production layer may set: milestones,
    reminders, slots and exceptions; then check them against the windows."""
    changes: dict[str, Any] = {}
    if node.has("milestones"):
        changes["milestones"] = tuple(filter(None, (read_step(reader, n) for n in reader.texts(node, "milestones"))))
    if node.has("reminders"):
        recipients = []
        agencies = tuple(a.code for a in plan.agencies)
        for n in reader.texts(node, "reminders"):
            if "@" in str(n.value):
                recipients += [str(m.value) for m in emails(reader, [n])]
            elif str(n.value) in agencies:
                recipients.append(str(n.value))
            else:
                reader.fail(n, N_('expected an email address or an agency code, got "{value}"'), value=n.value)
        changes["reminders"] = tuple(recipients)
    if node.has("reminder_policy"):
        changes["reminder_policy"] = reminder_settings(reader, node)
    extra_air_dates = False
    if node.has("slots"):
        slots = node.child("slots")
        if reader.mapping(slots, ("rule", "at"), ("beyond_quota",)) and slots.has("rule") and slots.has("at"):
            extra_air_dates = _beyond_quota(reader, slots)
            changes["slots"] = reader.convert(
                slots, lambda v: parse_slots(v["rule"], v["at"], plan.period.start, plan.tz)
            )
            if changes["slots"] and len(changes["slots"].slots(plan.period, plan.tz)) >= MAX_SLOTS:
                reader.fail(slots, N_("the rule gives more than {limit} slots in the plan's period"), limit=MAX_SLOTS)
    obligation = replace(obligation, **changes)
    if node.has("match") or node.has("checks"):  # issue 17: how the outlet's records name it
        obligation = obligation_fields(reader, node, plan, obligation)
    if node.has("exceptions"):
        periods = known_periods(plan, obligation)
        adjustments = tuple(
            filter(None, (_adjustment(reader, n, plan, obligation, periods) for n in reader.texts(node, "exceptions")))
        )
        obligation = replace(obligation, adjustments=obligation.adjustments + adjustments)
    if obligation.slots and node.has("slots"):
        mismatches = slot_mismatches(obligation, plan)
        if extra_air_dates:  # said: more slots than owed are extra air dates; fewer still warns
            mismatches = [m for m in mismatches if m[1] < m[2]]
        if mismatches:
            sample = ", ".join(f"{p}: {n}/{q}" for p, n, q in mismatches[:4])
            reader.warn(
                node.child("slots"),
                N_(
                    "the slots do not match the quota in {count} window(s) (slots/owed: {sample}); "
                    "extra slots are not owed and occurrences without a slot are due by the spread rule"
                ),
                count=len(mismatches),
                sample=sample,
            )
    return obligation


BEYOND_QUOTA = {"extra": "extra", "thêm": "extra"}


def _beyond_quota(reader: Reader, slots: Node) -> bool:
    """``beyond_quota: extra``: the slots past what a window owes are extra
    air dates, not owed; saying so silences the warning for them."""
    if not slots.has("beyond_quota"):
        return False
    value = " ".join(str(slots.value["beyond_quota"]).lower().split())
    if value not in BEYOND_QUOTA:
        reader.fail(
            slots.child("beyond_quota"),
            N_('expected "extra" (the slots past the quota are extra air dates, not owed), got "{value}"'),
            value=slots.value["beyond_quota"],
        )
        return False
    return True


def reminder_settings(reader: Reader, node: Node) -> tuple[tuple[str, object], ...]:
    """Checked now, with its line, rather than failing later in the daemon."""
    if not node.has("reminder_policy"):
        return ()
    child = node.child("reminder_policy")
    value = child.value
    plain = (
        {str(k): (list(v) if isinstance(v, list) else v) for k, v in value.items()}
        if isinstance(value, dict)
        else value
    )
    if reader.convert(Node(plain, child.where, child.line), Policy.from_mapping) is None:
        return ()
    return tuple(sorted(plain.items()))


def read_step(reader: Reader, node: Node) -> MilestoneStep | None:
    if not reader.mapping(node, ("step", "title", "offset"), ("title_en",)):
        return None
    offset = node.value.get("offset")
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= 250:
        reader.fail(
            node.child("offset") if node.has("offset") else node,
            N_('expected working days before the due moment, 0 to 250, got "{value}"'),
            value=offset,
        )
        return None
    return MilestoneStep(
        reader.code(node.child("step")), reader.text(node, "title"), reader.text(node, "title_en"), offset
    )


def _adjustment(
    reader: Reader, node: Node, plan: Plan, obligation: Obligation, periods: dict[str, int]
) -> Adjustment | None:
    if not reader.mapping(node, ("occurrence", "reason"), ("skip", "slot", "due", "member")):
        return None
    member = exception_member(reader, node, plan, obligation)
    if member is None:
        return None
    label = reader.text(node, "occurrence")
    period, _, number = label.partition("#")
    period, number = period.strip(), number.strip()
    if not number and periods.get(period, 1) > 1:
        reader.fail(
            node.child("occurrence"),
            N_(
                '"{value}": which one? The window owes {count}; write "{value} #1" '
                "(in quotes: an unquoted # starts a YAML comment)"
            ),
            value=label,
            count=periods[period],
        )
        return None
    number = number or "1"
    if period not in periods or not number.isdigit() or not 1 <= int(number) <= periods[period]:
        reader.fail(
            node.child("occurrence"),
            N_('no occurrence "{value}" in this obligation (e.g. "{example}")'),
            value=label,
            example=f"{next(iter(periods), '2024-03')} #1",
        )
        return None
    skip = node.value.get("skip") is True
    moves = [k for k in ("slot", "due") if node.has(k)]
    if skip == bool(moves):
        reader.fail(node, N_('give either "skip: true" or a new "slot" and/or "due"'))
        return None
    found = {}
    for key in moves:
        moment = reader.convert(node.child(key), lambda v: parse_moment(v, plan.tz, plan.due_time))
        if moment is None:
            return None
        found[key] = moment
    window = next(
        w.period for w in obligation.cadence.windows(plan.period, plan.tz, plan.calendar) if w.period.label == period
    )
    for key, moment in found.items():
        if (outside := outside_window(moment, window, plan.tz)) is not None:
            reader.fail(node.child(key), OUTSIDE_WINDOW, **outside)
            return None
    return Adjustment(
        period,
        int(number),
        "skip" if skip else "move",
        reader.text(node, "reason"),
        found.get("slot"),
        found.get("due"),
        member,
    )


OUTSIDE_WINDOW = N_("{moment} is outside the occurrence's window {window}")


def outside_window(moment: datetime, window: Period, tz: tzinfo) -> dict[str, str] | None:
    """The parameters of ``OUTSIDE_WINDOW`` when ``moment`` (a new slot or due
    moment) leaves the occurrence's window, in the plan's zone; None when it
    stays in. A file's exception and a change made from the web both ask here."""
    if window.contains(moment.astimezone(tz).date()):
        return None
    return {"moment": moment.astimezone(tz).strftime("%d/%m/%Y %H:%M"), "window": days_text(window)}


def days_text(period: Period) -> str:
    return f"{period.start:%d/%m/%Y}–{period.last_day:%d/%m/%Y}"


def emails(reader: Reader, nodes: list[Node]) -> list[Node]:
    good = []
    for n in nodes:
        if EMAIL.match(str(n.value)):
            good.append(n)
        else:
            reader.fail(n, N_('expected an email address, got "{value}"'), value=n.value)
    return good
