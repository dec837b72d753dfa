"""Reading a production file's ``harvest:`` section and an obligation's
``match:`` and ``checks:`` (the shape: ``plan/harvest_settings.py``), with
every problem at its file and line and the values accepted.

Checked here, on load, so the daemon never meets a feed it may not fetch or
a date format it cannot read: URLs are http(s) with a host and without
``user:password@``; a time zone must exist; a date format must write and
read back a moment; every list and text is bounded (``scheduler/bounds.py``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler.bounds import LIMITS, MAX_HARVEST_URLS, MAX_MATCH_PATTERNS, SHORT
from scheduler.errors import N_, Problem
from scheduler.plan.cadence import Continuous
from scheduler.plan.channels import channels_of
from scheduler.plan.harvest_settings import ASRUN_FORMATS, AsrunLayout, Check, Match, OutletHarvest
from scheduler.plan.model import Obligation, Plan
from scheduler.plan.yaml_source import CODE, EMAIL, Node, Reader

HARVEST_FIELDS = ("account", "auto_record", "asrun", "feeds", "sitemaps")
ASRUN_FIELDS = ("format", "columns", "date_format", "timezone", "url", "api_key_file")
COLUMNS = ("start", "end", "duration", "title", "code")
MATCH_FIELDS = tuple(Match.__dataclass_fields__)  # titles, codes, categories, tags, keywords, exclude
CHECK_FIELDS = (("url",), ("expect_link", "expect_text"))
FEED_ONLY = ("categories", "tags", "keywords")  # what a feed entry has and an as-run row has not
API_ONLY = ("url", "api_key_file")
SAMPLE = datetime(2024, 3, 15, 19, 30, 5)  # a date format must write and read back this moment's day

BAD_URL = N_(
    'expected a web address starting with http:// or https://, with a host and without "user:password@", '
    'at most {limit} characters, got "{value}"'
)
TOO_MANY = N_("at most {limit} items, got {count}")
TOO_LONG = N_("expected text of at most {limit} characters")


def web_address(text: str) -> bool:
    """An address the daemon may be asked to fetch: http or https, a host,
    no credentials, a valid port, no spaces, bounded."""
    if not text or len(text) > LIMITS["url"] or any(c.isspace() or ord(c) < 32 for c in text):
        return False
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a port that is not one)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "@" not in parts.netloc


def host_of(url: str) -> str:
    """The lease's unit: the lower-case host, with its port unless it is the
    scheme's default (so ``https://a.vn:443/x`` and ``https://a.vn/y`` share
    one lease); "" when the URL has no host. The fetcher keys its per-host
    pause the same way (``fetching.client.host_key``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    host = (parts.hostname or "").lower()
    if not host:
        return ""
    default = 443 if parts.scheme.lower() == "https" else 80
    name = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    return name if port in (None, default) else f"{name}:{port}"


def read_harvest(reader: Reader, node: Node, outlet: str) -> OutletHarvest | None:
    """One layer's ``harvest:`` section; its owner is the outlet."""
    if not reader.mapping(node, (), HARVEST_FIELDS):
        return None
    account = ""
    if node.has("account") and node.value["account"] is not None:
        account = reader.text(node, "account")
        if account and not (EMAIL.match(account) or CODE.match(account)) or len(account) > LIMITS["email"]:
            reader.fail(
                node.child("account"),
                N_('expected an email address or a code (lowercase letters, digits and "-"), got "{value}"'),
                value=account,
            )
    auto_record = False
    if node.has("auto_record"):
        value = node.value["auto_record"]
        if isinstance(value, bool):
            auto_record = value
        else:
            reader.fail(
                node.child("auto_record"),
                N_('expected true or false (a YAML boolean; "có" and "không" are not read as one), got "{value}"'),
                value=value,
            )
    return OutletHarvest(
        outlet=outlet,
        account=account,
        auto_record=auto_record,
        asrun=_asrun(reader, node.child("asrun")) if node.has("asrun") else None,
        feeds=_addresses(reader, node, "feeds"),
        sitemaps=_addresses(reader, node, "sitemaps"),
        where=f"{reader.source}:{node.line}",
    )


def add_outlet(reader: Reader, node: Node, plan: Plan, harvest: OutletHarvest) -> tuple[OutletHarvest, ...]:
    """The plan's harvest sections with this one; one per outlet and plan, so
    a second one is an error naming where the first is."""
    first = next((h for h in plan.outlets if h.outlet == harvest.outlet), None)
    if first is not None:
        reader.fail(
            node,
            N_("the harvest settings of {outlet} for plan {plan} are already given in {other}; give them once"),
            outlet=harvest.outlet,
            plan=plan.code,
            other=first.where,
        )
        return plan.outlets
    return plan.outlets + (harvest,)


def _asrun(reader: Reader, node: Node) -> AsrunLayout | None:
    if not reader.mapping(node, (), ASRUN_FIELDS):
        return None
    fmt = reader.text(node, "format", "csv")
    if fmt not in ASRUN_FORMATS:
        reader.fail(
            node.child("format"),
            N_('unknown as-run format "{value}" (allowed: {allowed})'),
            value=fmt,
            allowed=", ".join(ASRUN_FORMATS),
        )
    columns: dict[str, str] = {}
    if node.has("columns") and node.value["columns"] is not None:
        child = node.child("columns")
        if reader.mapping(child, (), COLUMNS):
            columns = {k: _short(reader, child, k) for k in COLUMNS if child.has(k)}
    timezone = _short(reader, node, "timezone")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            reader.fail(
                node.child("timezone"),
                N_('unknown time zone "{value}" (an IANA name such as Asia/Ho_Chi_Minh)'),
                value=timezone,
            )
    date_format = _date_format(reader, node)
    url = _address(reader, node.child("url")) if node.has("url") and node.value["url"] is not None else ""
    api_key_file = _short(reader, node, "api_key_file")
    if fmt == "libretime-api" and not url:
        reader.fail(
            node,
            N_('format libretime-api needs "url": the address of the LibreTime instance'),
            where=f"{node.where}.url",
        )
    if fmt in ASRUN_FORMATS and fmt != "libretime-api":
        for key in API_ONLY:
            if node.has(key):
                reader.fail(
                    node.child(key),
                    N_('"{field}" is only read with format libretime-api (this layout\'s format is {format})'),
                    field=key,
                    format=fmt,
                )
    return AsrunLayout(
        format=fmt,
        date_format=date_format,
        timezone=timezone,
        url=url,
        api_key_file=api_key_file,
        **columns,
    )


def _date_format(reader: Reader, node: Node) -> str:
    """A strptime format that writes a moment and reads the same day back."""
    text = _short(reader, node, "date_format")
    if not text:
        return ""
    try:
        ok = "%" in text and datetime.strptime(SAMPLE.strftime(text), text).date() == SAMPLE.date()
    except ValueError:
        ok = False
    if not ok:
        reader.fail(
            node.child("date_format"),
            N_(
                'expected a date format that writes and reads back a day and time, such as "%d/%m/%Y %H:%M:%S" '
                '(Python strptime), got "{value}"'
            ),
            value=text,
        )
        return ""
    return text


def _short(reader: Reader, node: Node, key: str) -> str:
    """Text of at most SHORT characters (a column name, a zone, a path)."""
    text = reader.text(node, key)
    if len(text) > SHORT:
        reader.fail(node.child(key), TOO_LONG, limit=SHORT)
        return ""
    return text


def _address(reader: Reader, node: Node) -> str:
    text = str(node.value).strip() if isinstance(node.value, str) else ""
    if not web_address(text):
        reader.fail(node, BAD_URL, limit=f"{LIMITS['url']:,}", value=str(node.value)[:200])
        return ""
    return text


def _bounded(reader: Reader, node: Node, key: str, limit: int) -> list[Node]:
    items = reader.texts(node, key)
    if len(items) > limit:
        reader.fail(node.child(key), TOO_MANY, limit=limit, count=len(items))
        return []
    return items


def _addresses(reader: Reader, node: Node, key: str) -> tuple[str, ...]:
    found = (_address(reader, n) for n in _bounded(reader, node, key, MAX_HARVEST_URLS))
    return tuple(dict.fromkeys(u for u in found if u))


def obligation_fields(reader: Reader, node: Node, plan: Plan, obligation: Obligation) -> Obligation:
    """An obligation's ``match`` and ``checks``, with the warnings of what
    nothing would read."""
    changes: dict[str, Any] = {}
    if node.has("match"):
        changes["match"] = _match(reader, node.child("match"))
        aired = channels_of(obligation.channels, plan.channels)
        match = changes["match"]
        if match and aired and all(c.moment == "aired" for c in aired) and not (match.titles or match.codes):
            reader.warn(
                node.child("match"),
                N_(
                    "categories, tags and keywords are read from feeds, and this obligation is aired only "
                    "({channels}): as-run logs have none, so nothing matches; add titles or codes"
                ),
                channels=", ".join(obligation.channels),
            )
    if node.has("checks"):
        changes["checks"] = tuple(
            filter(None, (_check(reader, n) for n in _bounded(reader, node, "checks", MAX_HARVEST_URLS)))
        )
        if not isinstance(obligation.cadence, Continuous):
            reader.warn(
                node.child("checks"),
                N_(
                    "the checks are made, but only a continuous obligation (cadence continuous) is attested "
                    'from them; this one is "{cadence}"'
                ),
                cadence=obligation.cadence.describe(),
            )
    return replace(obligation, **changes)


def _match(reader: Reader, node: Node) -> Match | None:
    if not reader.mapping(node, (), MATCH_FIELDS):
        return None
    found: dict[str, tuple[str, ...]] = {}
    for key in MATCH_FIELDS:
        patterns = []
        for item in _bounded(reader, node, key, MAX_MATCH_PATTERNS):
            if isinstance(item.value, (dict, list, bool)) or item.value is None:
                reader.fail(item, N_("expected text"))
                continue
            text = " ".join(str(item.value).split())
            if len(text) > SHORT:
                reader.fail(item, TOO_LONG, limit=SHORT)
            elif not any(c.isalnum() for c in text):
                reader.fail(
                    item,
                    N_(
                        "expected words to look for (at least one letter or digit; "
                        '"*" stands for any words), got "{value}"'
                    ),
                    value=text,
                )
            else:
                patterns.append(text)
        found[key] = tuple(dict.fromkeys(patterns))
    if not any(found[k] for k in MATCH_FIELDS if k != "exclude"):
        reader.fail(
            node,
            N_("expected at least one of {allowed}"),
            allowed=", ".join(k for k in MATCH_FIELDS if k != "exclude"),
        )
        return None
    return Match(**found)


def _check(reader: Reader, node: Node) -> Check | None:
    if not reader.mapping(node, *CHECK_FIELDS) or node.value.get("url") in (None, ""):
        return None
    url = _address(reader, node.child("url"))
    link = reader.text(node, "expect_link")
    if len(link) > LIMITS["url"]:
        reader.fail(node.child("expect_link"), TOO_LONG, limit=LIMITS["url"])
    text = _short(reader, node, "expect_text")
    return Check(url, link, text) if url and len(link) <= LIMITS["url"] else None


# A warning kept until every layer is read: a match whose outlet has no harvest section.
Pending = tuple[Problem, str, str]


def unread_match(reader: Reader, node: Node, plan: str, owner: str) -> Pending:
    """A layer without a ``harvest:`` section sets a ``match``: a warning,
    unless another layer of the same outlet and plan has the section."""
    problem = Problem(
        reader.source,
        node.line,
        node.where,
        N_('nothing reads this match: {outlet} has no "harvest:" section in any production file of plan {plan}'),
        {"outlet": owner, "plan": plan},
    )
    return problem, plan, owner


def unread_matches(pending: list[Pending], plans: dict[str, Plan]) -> list[Problem]:
    return [
        problem
        for problem, code, owner in pending
        if code in plans and not any(h.outlet == owner for h in plans[code].outlets)
    ]
