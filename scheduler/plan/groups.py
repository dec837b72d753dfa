"""Agency groups (nhóm cơ quan): "UBND các xã, phường", "Các thôn, tổ dân
phố", … An agency of kind ``group`` lists its ``members`` (agencies of the
same plan file); an obligation it hosts owes each member its own
occurrences, so each member has its own feed, reminders and compliance row.
"""

from __future__ import annotations

from dataclasses import replace

from scheduler.errors import N_
from scheduler.plan.model import Agency, Obligation, Plan
from scheduler.plan.yaml_source import Node, Reader

GROUP = "group"


def with_members(reader: Reader, declared: list[tuple[Node, Agency]]) -> tuple[Agency, ...]:
    """The agencies with their members read and checked: members only on a
    group, each a declared agency that is not itself a group; a group
    without members yet is a warning (it owes nothing until they are listed)."""
    codes = [a.code for _, a in declared]
    kinds = {a.code: a.kind for _, a in declared}
    found = []
    for node, agency in declared:
        listed = reader.texts(node, "members")
        if node.has("members") and agency.kind != GROUP:
            reader.fail(
                node.child("members"),
                N_('only an agency of kind "group" lists members; "{code}" is of kind "{kind}"'),
                code=agency.code,
                kind=agency.kind,
            )
            found.append(agency)
            continue
        members: list[str] = []
        for n in listed:
            member = str(n.value)
            if member not in kinds:
                reader.fail(
                    n, N_('unknown agency "{value}" (declared: {allowed})'), value=member, allowed=", ".join(codes)
                )
            elif kinds[member] == GROUP:
                reader.fail(
                    n,
                    N_('"{value}" is a group; a group cannot be a member of another group, list its members'),
                    value=member,
                )
            elif member in members:
                reader.fail(n, N_('"{value}" is listed twice among the members'), value=member)
            else:
                members.append(member)
        if agency.kind == GROUP and not listed:
            reader.warn(
                node.child("code") if node.has("code") else node,
                N_("group {code} has no members yet; obligations it hosts owe nothing until members are listed"),
                code=agency.code,
            )
        found.append(replace(agency, members=tuple(members)))
    return tuple(found)


def hosts(plan: Plan, host: str) -> tuple[str, ...]:
    """Who owes an obligation hosted by ``host``: its members when it is a
    group (none while it has none), else the host itself."""
    agency = next((a for a in plan.agencies if a.code == host), None)
    if agency is not None and agency.kind == GROUP:
        return agency.members
    return (host,)


def is_group(plan: Plan, host: str) -> bool:
    return any(a.code == host and a.kind == GROUP for a in plan.agencies)


def exception_member(reader: Reader, node: Node, plan: Plan, obligation: Obligation) -> str | None:
    """An exception's ``member:`` (it then moves or skips only that member's
    occurrence); "" when absent; None (and a problem) when it is not one of
    the host group's members."""
    if not node.has("member"):
        return ""
    member = reader.text(node, "member")
    members = hosts(plan, obligation.host) if is_group(plan, obligation.host) else ()
    if member not in members:
        reader.fail(
            node.child("member"),
            N_('"{value}" is not a member of {host}, which hosts this obligation (members: {allowed})'),
            value=member,
            host=obligation.host,
            allowed=", ".join(members) or "-",
        )
        return None
    return member
