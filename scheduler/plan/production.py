"""Production layers and reading a whole set of schedule files.

A production file belongs to one outlet (the station, the newspaper) and
refers to a plan's obligations by code, adding air slots, milestone
templates, reminder recipients and exceptions; the plan file stays the
plan's own words.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from scheduler.documents import read_document
from scheduler.errors import N_, Problem, ScheduleError
from scheduler.plan.harvest_fields import Pending, add_outlet, read_harvest, unread_match, unread_matches
from scheduler.plan.model import Plan
from scheduler.plan.production_fields import PRODUCTION_FIELDS, production_fields
from scheduler.plan.schedule_file import read_plan
from scheduler.plan.succession import Succession
from scheduler.plan.succession_file import read_node
from scheduler.plan.yaml_source import EMAIL, Node, Reader


@dataclass(frozen=True)
class Schedules:
    """What a set of files means: the plans (with their production layers
    applied) and the warnings worth showing."""

    plans: tuple[Plan, ...]
    warnings: tuple[Problem, ...]
    successions: tuple[Succession, ...] = ()  # files of a top-level "successions:" list (plan/succession_file.py)


def schedule_paths(paths: list[Path]) -> list[Path]:
    """Files named directly, and every ``*.yaml``/``*.yml`` in named folders."""
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            found.append(path)
    return found


def read_texts(texts: list[tuple[str, str]]) -> Schedules:
    """``(source name, text)`` pairs into plans; raises ScheduleError listing
    every problem in every file when anything is wrong."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    plans: dict[str, Plan] = {}
    layers = []
    successions: list[Succession] = []
    for source, text in texts:
        reader = Reader(source)
        root = reader.load(text)
        if root is not None and not isinstance(root.value, dict):
            reader.fail(
                root, N_('expected a plan file (top-level "plan:") or a production file (top-level "production:")')
            )
        elif root is not None and root.has("production"):
            layers.append((reader, root))
        elif root is not None and root.has("successions"):
            successions += read_node(reader, root)
        elif root is not None:
            plan = read_plan(reader, root)
            if plan and plan.code in plans:
                reader.fail(
                    root.child("plan").child("code"),
                    N_('plan "{code}" is already defined in {other}'),
                    code=plan.code,
                    other=plans[plan.code].source,
                )
            elif plan:
                plans[plan.code] = plan
        problems += reader.problems
        warnings += reader.warnings
    pending: list[Pending] = []  # a match whose outlet may get its harvest section in another layer
    for reader, root in layers:
        reader.problems, reader.warnings = [], []
        _apply_layer(reader, root, plans, pending)
        problems += reader.problems
        warnings += reader.warnings
    warnings += unread_matches(pending, plans)
    if problems:
        raise ScheduleError(problems)
    return Schedules(tuple(plans.values()), tuple(warnings), tuple(successions))


def read_files(paths: list[Path]) -> Schedules:
    texts = []
    problems: list[Problem] = []
    for path in schedule_paths(paths):
        try:
            texts.append((str(path), read_document(path)))
        except ScheduleError as e:  # too large, not UTF-8, control characters: every file is named
            problems += e.problems
    if problems:
        raise ScheduleError(problems)
    if not texts:
        raise ScheduleError([Problem(", ".join(map(str, paths)), None, "", N_("no schedule files (*.yaml) here"))])
    return read_texts(texts)


def _apply_layer(reader: Reader, root: Node, plans: dict[str, Plan], pending: list[Pending]) -> None:
    reader.mapping(root, ("production", "obligations"), ("harvest",))
    head = root.child("production")
    if not reader.mapping(head, ("plan", "owner"), ("contacts",)):
        return
    code = reader.text(head, "plan")
    plan = plans.get(code)
    if plan is None:
        reader.fail(
            head.child("plan"),
            N_('unknown plan "{value}" (loaded: {allowed})'),
            value=code,
            allowed=", ".join(plans) or "-",
        )
        return
    owner = reader.text(head, "owner")
    if owner not in {a.code for a in plan.agencies}:
        reader.fail(
            head.child("owner"),
            N_('unknown agency "{value}" (declared: {allowed})'),
            value=owner,
            allowed=", ".join(a.code for a in plan.agencies),
        )
        return
    contacts = []
    for n in reader.texts(head, "contacts"):
        if EMAIL.match(str(n.value)):
            contacts.append(str(n.value))
        else:
            reader.fail(n, N_('expected an email address, got "{value}"'), value=n.value)
    outlets = plan.outlets  # the layer's harvest section: its owner is the outlet
    if root.has("harvest") and (harvest := read_harvest(reader, root.child("harvest"), owner)):
        outlets = add_outlet(reader, root.child("harvest"), plan, harvest)
    obligations = {o.code: o for o in plan.obligations}
    section = root.child("obligations") if root.has("obligations") else None
    if section is None or not isinstance(section.value, dict):
        reader.fail(section or root, N_("expected a mapping of obligation codes to their production fields"))
        return
    for code in section.value:
        node = section.child(code)
        if code not in obligations:
            reader.fail(
                node,
                N_('unknown obligation "{value}" in plan {plan} (declared: {allowed})'),
                value=code,
                plan=plan.code,
                allowed=", ".join(obligations),
            )
            continue
        if obligations[code].host != owner:
            reader.fail(
                node,
                N_('obligation "{value}" is hosted by {host}, not by this layer\'s owner {owner}'),
                value=code,
                host=obligations[code].host,
                owner=owner,
            )
            continue
        if reader.mapping(node, (), PRODUCTION_FIELDS):
            obligations[code] = production_fields(reader, node, plan, obligations[code])
            if node.has("match") and not root.has("harvest"):
                pending.append(unread_match(reader, node.child("match"), plan.code, owner))
    agencies = tuple(
        replace(a, contacts=tuple(dict.fromkeys(a.contacts + tuple(contacts)))) if a.code == owner else a
        for a in plan.agencies
    )
    plans[plan.code] = replace(
        plan, agencies=agencies, obligations=tuple(obligations[o.code] for o in plan.obligations), outlets=outlets
    )
