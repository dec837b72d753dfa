"""People and their calendar subscriptions: the rules, without storage.

Secrets (feed tokens) are random, shown once and kept only as a SHA-256;
an unguessable 192-bit token needs no slow hash.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from scheduler.errors import N_, InputError
from scheduler.plan.model import CHANNELS

ROLES = ("admin", "dha", "producer", "editor", "national")  # national: the DHA view of every province
LANGS = ("vi", "en")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(address: str) -> str:
    """The one form an address is kept and looked up in: trimmed, lower case
    (people type their address with capitals and without them alike).

    >>> normalize_email("  Anh.Nguyen@PhuTho.gov.VN ")
    'anh.nguyen@phutho.gov.vn'
    """
    address = address.strip()
    if not _EMAIL.match(address):
        raise InputError(N_('"{value}" is not an email address'), value=address)
    return address.lower()


def check_roles(roles: list[str]) -> list[str]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise InputError(
            N_('--role: expected one or more of {allowed}, got "{value}"'),
            allowed=", ".join(ROLES),
            value=", ".join(unknown) or "-",
        )
    return sorted(set(roles), key=ROLES.index)


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise InputError(N_('--lang: expected "vi" or "en", got "{value}"'), value=lang)
    return lang


def check_channel(channel: str | None, allowed: Iterable[str] = CHANNELS) -> str | None:
    """``allowed``: the built-in channels, and the loaded plans' own where the caller knows them."""
    if channel is not None and channel not in allowed:
        raise InputError(
            N_('--channel: expected one of {allowed}, got "{value}"'), allowed=", ".join(allowed), value=channel
        )
    return channel


def new_token() -> str:
    """192 random bits, URL-safe (32 characters)."""
    return secrets.token_urlsafe(24)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class FeedScope:
    """What a subscription shows: a plan, an agency, an obligation, a channel
    (each optional), with or without milestones. When the agency is a group,
    ``members`` holds its members as (plan, member code) pairs, resolved when
    the scope is read from the subscription: the scope then says exactly
    which items it holds, so a feed built for it stays right whatever loads
    do later, and a change of members is a new scope (a feed read afresh)."""

    plan: str | None = None
    agency: str | None = None
    obligation: str | None = None
    channel: str | None = None
    milestones: bool = True
    members: frozenset[tuple[str, str]] = frozenset()

    def admits(self, plan: str, agency: str, obligation: str, channels: str, kind: str) -> bool:
        """``channels`` is the stored form, space-separated with spaces around."""
        return (
            (self.plan is None or plan == self.plan)
            and (self.agency is None or agency == self.agency or (plan, agency) in self.members)
            and (self.obligation is None or obligation == self.obligation)
            and (self.channel is None or f" {self.channel} " in channels)
            and (self.milestones or kind != "milestone")
        )


def feed_urls(base_url: str, token: str) -> tuple[str, str]:
    """The https link (Google, Outlook.com) and the webcal one (Apple, Outlook, Thunderbird)."""
    https = f"{base_url.rstrip('/')}/feeds/{token}.ics"
    return https, "webcal://" + https.split("://", 1)[1]
