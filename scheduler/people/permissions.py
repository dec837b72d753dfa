"""Who may do what. Pure: an actor and the facts in, a decision out.

Producers record only for occurrences their own agency hosts, or that the
schedule names their agency for (``may_record``); "các cơ quan, đơn vị liên
quan" names no one and grants nothing. The DHA excuses, but not what its own
agency hosts: someone else must approve those. Editors read. Admins manage
people, tokens and subscriptions; they do not record or excuse. Evidence
files open for the DHA, admins and the recording agencies only.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.errors import N_


@dataclass(frozen=True)
class Actor:
    email: str
    roles: tuple[str, ...]
    agency: str | None
    disabled: bool = False
    lang: str = "vi"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # message id, for the refusal and the log
    params: dict[str, object] | None = None

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


def _refuse(reason: str, **params: object) -> Decision:
    return Decision(False, reason, params)


def may_record(actor: Actor, host: str, granted: tuple[str, ...] = ()) -> Decision:
    """>>> may_record(Actor("a@x", ("producer",), "dai-ptth"), "bao-phu-tho").reason
    '{email} records for {agency}, and this occurrence is hosted by {host}'
    """
    if actor.disabled:
        return _refuse(N_("{email} is disabled"), email=actor.email)
    if "producer" not in actor.roles:
        return _refuse(N_("{email} is not a producer"), email=actor.email)
    if actor.agency == host or (actor.agency and actor.agency in granted):
        return ALLOWED
    return _refuse(
        N_("{email} records for {agency}, and this occurrence is hosted by {host}"),
        email=actor.email,
        agency=actor.agency or "-",
        host=host,
    )


def may_excuse(actor: Actor, host: str) -> Decision:
    if actor.disabled:
        return _refuse(N_("{email} is disabled"), email=actor.email)
    if "dha" not in actor.roles:
        return _refuse(N_("only the Department of Home Affairs (role dha) excuses occurrences"))
    if actor.agency == host:
        return _refuse(
            N_("{email} belongs to {host}, which hosts this occurrence: someone else must excuse it"),
            email=actor.email,
            host=host,
        )
    return ALLOWED


def may_open_evidence(actor: Actor, host: str, granted: tuple[str, ...] = ()) -> Decision:
    """Evidence files (recordings, scans, attendance lists with people's
    names) open for the DHA and administrators, and for the people of the
    agencies that record the occurrence; others see only that a file exists.

    >>> may_open_evidence(Actor("a@x", ("editor",), "bao-phu-tho"), "dai-ptth").allowed
    False
    """
    if actor.disabled:
        return _refuse(N_("{email} is disabled"), email=actor.email)
    if {"dha", "admin", "national"} & set(actor.roles):
        return ALLOWED
    if actor.agency and (actor.agency == host or actor.agency in granted):
        return ALLOWED
    return _refuse(
        N_("{email} may open the evidence of {agency} only; this occurrence is hosted by {host}"),
        email=actor.email,
        agency=actor.agency or "-",
        host=host,
    )


def may_read(actor: Actor) -> Decision:
    if actor.disabled:
        return _refuse(N_("{email} is disabled"), email=actor.email)
    return ALLOWED


def may_admin(actor: Actor) -> Decision:
    if actor.disabled:
        return _refuse(N_("{email} is disabled"), email=actor.email)
    if "admin" not in actor.roles:
        return _refuse(N_("{email} is not an administrator"), email=actor.email)
    return ALLOWED


def may_report(actor: Actor, agency: str | None) -> Decision:
    """The DHA (a national user too) and admins pull any report (of the plans
    they see: ``store.visibility``); a producer only their own agency's."""
    if actor.disabled:
        return _refuse(N_("{email} is disabled"), email=actor.email)
    if {"dha", "admin", "national"} & set(actor.roles):
        return ALLOWED
    if "producer" in actor.roles and actor.agency and agency == actor.agency:
        return ALLOWED
    return _refuse(
        N_("{email} may only see the compliance of their own agency ({agency})"),
        email=actor.email,
        agency=actor.agency or "-",
    )


def may_change(actor: Actor, agency: str) -> Decision:
    """Moving or skipping one occurrence from the web: an administrator, or a
    producer or editor of the agency that owes it (the host, or the member
    for a group-hosted obligation).

    >>> may_change(Actor("e@x", ("editor",), "dai-ptth"), "dai-ptth").allowed
    True
    >>> may_change(Actor("p@x", ("producer",), "bao-phu-tho"), "dai-ptth").reason
    '{email} may change the occurrences of {agency} only; this one is owed by {host}'
    """
    if actor.disabled:
        return _refuse(N_("{email} is disabled"), email=actor.email)
    if "admin" in actor.roles:
        return ALLOWED
    if not {"producer", "editor"} & set(actor.roles):
        return _refuse(N_("only administrators, producers and editors change occurrences"))
    if actor.agency and actor.agency == agency:
        return ALLOWED
    return _refuse(
        N_("{email} may change the occurrences of {agency} only; this one is owed by {host}"),
        email=actor.email,
        agency=actor.agency or "-",
        host=agency,
    )
