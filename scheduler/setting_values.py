"""The settings' converters: each turns the text of a setting (flag,
environment, settings file) into its value, or says what it expected."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from scheduler.errors import N_, InputError


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str
    help: str
    convert: Callable[[str], object] = str


def lang_value(value: str) -> str:
    if value not in ("vi", "en"):
        raise InputError(N_('expected "vi" or "en", got "{value}"'), value=value)
    return value


def base_url_value(value: str) -> str:
    if not value.startswith(("http://", "https://")) or "?" in value or "#" in value:
        raise InputError(N_('expected an http(s) address without query, got "{value}"'), value=value)
    return value.rstrip("/")


def switch_value(value: str) -> bool:
    if value.lower() in ("on", "true", "1", "yes"):
        return True
    if value.lower() in ("off", "false", "0", "no"):
        return False
    raise InputError(N_('expected "on" or "off", got "{value}"'), value=value)


def days_value(value: str) -> int:
    if not (value.strip().isascii() and value.strip().isdigit()) or int(value) > 60:
        raise InputError(N_('expected a number of working days from 0 to 60, got "{value}"'), value=value)
    return int(value)


def seconds_value(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0
    if not 0.1 <= seconds <= 3600:
        raise InputError(N_('expected a number of seconds from 0.1 to 3600, got "{value}"'), value=value)
    return seconds


def security_value(value: str) -> str:
    if value not in ("starttls", "ssl", "none"):
        raise InputError(N_('expected "starttls", "ssl" or "none", got "{value}"'), value=value)
    return value


def minutes_value(value: str) -> int:
    if not value.strip().isdigit() or not 1 <= int(value) <= 14 * 24 * 60:
        raise InputError(N_('expected a number of minutes from 1 to 20160 (14 days), got "{value}"'), value=value)
    return int(value)


def titles_value(value: str) -> dict[str, str]:
    """``kind=title`` pairs separated by commas or semicolons: who signs a report an agency of that kind issues."""
    from scheduler.plan.model import AGENCY_KINDS

    found = {}
    for part in value.replace(";", ",").split(","):
        if not part.strip():
            continue
        kind, sep, title = (p.strip() for p in part.partition("="))
        if not sep or kind not in AGENCY_KINDS or not title:
            raise InputError(
                N_('expected kind=title pairs such as "department=Giám đốc", kinds among {allowed}, got "{value}"'),
                allowed=", ".join(AGENCY_KINDS),
                value=part.strip(),
            )
        found[kind] = " ".join(title.split())
    return found


def networks_value(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma- or space-separated IP addresses or networks (CIDR)."""
    found = []
    for part in value.replace(",", " ").split():
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise InputError(
                N_('expected IP addresses or networks such as 10.0.0.1 or 10.0.0.0/8, got "{value}"'), value=part
            ) from None
    return tuple(found)
