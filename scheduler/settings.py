"""One table of settings: default, help, converter; read once, passed down.

Each value remembers where it came from (default, environment, flag), and
the command line's global flags are generated from this table.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from scheduler.bounds import format_size, parse_size
from scheduler.documents import MAX_DOCUMENT_BYTES
from scheduler.errors import N_, InputError

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str
    help: str
    convert: Callable[[str], object] = str


def _lang(value: str) -> str:
    if value not in ("vi", "en"):
        raise InputError(N_('expected "vi" or "en", got "{value}"'), value=value)
    return value


def _base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or "?" in value or "#" in value:
        raise InputError(N_('expected an http(s) address without query, got "{value}"'), value=value)
    return value.rstrip("/")


def _switch(value: str) -> bool:
    if value.lower() in ("on", "true", "1", "yes"):
        return True
    if value.lower() in ("off", "false", "0", "no"):
        return False
    raise InputError(N_('expected "on" or "off", got "{value}"'), value=value)


def _days(value: str) -> int:
    if not (value.strip().isascii() and value.strip().isdigit()) or int(value) > 60:
        raise InputError(N_('expected a number of working days from 0 to 60, got "{value}"'), value=value)
    return int(value)


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0
    if not 0.1 <= seconds <= 3600:
        raise InputError(N_('expected a number of seconds from 0.1 to 3600, got "{value}"'), value=value)
    return seconds


def _security(value: str) -> str:
    if value not in ("starttls", "ssl", "none"):
        raise InputError(N_('expected "starttls", "ssl" or "none", got "{value}"'), value=value)
    return value


def _minutes(value: str) -> int:
    if not value.strip().isdigit() or not 1 <= int(value) <= 14 * 24 * 60:
        raise InputError(N_('expected a number of minutes from 1 to 20160 (14 days), got "{value}"'), value=value)
    return int(value)


def _titles(value: str) -> dict[str, str]:
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


def _networks(value: str) -> tuple:
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


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "outputs_dir",
        "OUTPUTS_DIR",
        "outputs",
        N_("folder for runtime data: the embedded database, feeds, reports, evidence files"),
        Path,
    ),
    Setting(
        "database_url",
        "DATABASE_URL",
        "",
        N_(
            "database URL; empty means SQLite in OUTPUTS_DIR/scheduler.sqlite3 "
            "(e.g. postgresql://user@host/db for PostgreSQL)"
        ),
    ),
    Setting(
        "schedules_dir",
        "SCHEDULES_DIR",
        "schedules",
        N_("folder of schedule files that load reads when given no paths"),
        Path,
    ),
    Setting("lang", "SCHEDULER_LANG", "vi", N_("language of what people read: vi or en"), _lang),
    Setting(
        "base_url",
        "BASE_URL",
        "http://127.0.0.1:8000",
        N_("public address of the service, used in links in feeds, mail and pages"),
        _base_url,
    ),
    Setting(
        "public_feed",
        "PUBLIC_FEED",
        "off",
        N_("serve a plan-wide feed without a token at /feeds/public/PLAN.ics: on or off"),
        _switch,
    ),
    Setting(
        "evidence_limit", "EVIDENCE_LIMIT", "2GiB", N_("largest evidence file accepted, e.g. 2GiB, 500MiB"), parse_size
    ),
    Setting(
        "at_risk_days",
        "AT_RISK_DAYS",
        "3",
        N_("an unmet occurrence is at risk when its window closes within this many working days"),
        _days,
    ),
    Setting(
        "report_agency",
        "REPORT_AGENCY",
        "so-noi-vu",
        N_("code of the agency that issues compliance reports (the Department of Home Affairs)"),
    ),
    Setting(
        "signer_titles",
        "SIGNER_TITLES",
        "department=Giám đốc, government=Chủ tịch, commune=Chủ tịch, district=Chủ tịch, "
        "newspaper=Tổng Biên tập, broadcaster=Giám đốc, division=Trưởng phòng",
        N_(
            "who signs a consolidated report, by the issuing agency's kind: kind=title pairs "
            "separated by commas; a kind not listed gets no title line"
        ),
        _titles,
    ),
    Setting(
        "report_grace_days",
        "REPORT_GRACE_DAYS",
        "3",
        N_("working days after a reporting cut-off before the periodic report goes to the DHA"),
        _days,
    ),
    Setting(
        "tick_seconds",
        "TICK_SECONDS",
        "30",
        N_("seconds between two sends of the outbox; other jobs run every 10 to 120 ticks"),
        _seconds,
    ),
    Setting("smtp_host", "SMTP_HOST", "", N_("SMTP server; empty writes mail as .eml files to OUTPUTS_DIR/mail/")),
    Setting("smtp_port", "SMTP_PORT", "", N_("SMTP port; empty means 587 for starttls, 465 for ssl, 25 for none")),
    Setting("smtp_security", "SMTP_SECURITY", "starttls", N_("starttls, ssl or none"), _security),
    Setting("smtp_user", "SMTP_USER", "", N_("SMTP user name, if the server wants a login")),
    Setting("smtp_password", "SMTP_PASSWORD", "", N_("SMTP password; never printed or logged")),
    Setting(
        "mail_from",
        "MAIL_FROM",
        "Lịch tuyên truyền <lich-tuyen-truyen@localhost>",
        N_("the From address of every message"),
    ),
    Setting(
        "ledger_key_file",
        "LEDGER_KEY_FILE",
        "",
        N_(
            "Ed25519 key that signs ledger checkpoints; empty means OUTPUTS_DIR/ledger-key.pem "
            "(keep it off the database host in production)"
        ),
    ),
    Setting(
        "session_idle_minutes",
        "SESSION_IDLE_MINUTES",
        "120",
        N_("minutes without a request after which a sign-in ends (a session never lasts over 14 days)"),
        _minutes,
    ),
    Setting(
        "trusted_proxies",
        "TRUSTED_PROXIES",
        "",
        N_("IP addresses or networks of reverse proxies whose X-Forwarded-For is believed; empty believes none"),
        _networks,
    ),
    Setting(
        "harvest_allow",
        "HARVEST_ALLOW",
        "",
        N_(
            "private, loopback or link-local addresses or networks the harvester may fetch from "
            "(an outlet's intranet playout server); empty allows only public addresses"
        ),
        _networks,
    ),
    Setting(
        "harvest_timeout",
        "HARVEST_TIMEOUT",
        "20",
        N_("seconds a harvest fetch may take (connect, each read, and in all)"),
        _seconds,
    ),
    Setting(
        "harvest_max_bytes",
        "HARVEST_MAX_BYTES",
        "10MiB",
        N_("largest answer the harvester reads (a feed, a sitemap, a page, a playout API answer)"),
        parse_size,
    ),
    Setting(
        "harvest_pause",
        "HARVEST_PAUSE",
        "2",
        N_("seconds between two requests to the same host (one request per host at a time)"),
        _seconds,
    ),
    Setting(
        "harvest_feed_minutes",
        "HARVEST_FEED_MINUTES",
        "60",
        N_("minutes between two reads of an outlet's feeds, sitemaps and playout API"),
        _minutes,
    ),
)


def _read_file(path: Path) -> dict:
    import tomllib

    try:
        with path.open("rb") as f:
            raw = f.read(MAX_DOCUMENT_BYTES + 1)  # the limit of every document (documents.py)
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise InputError(
                N_("settings file {path}: the file is larger than {size}"),
                path=str(path),
                size=format_size(MAX_DOCUMENT_BYTES),
            )
        data = tomllib.loads(raw.decode("utf-8"))
    except OSError as e:
        raise InputError(N_("settings file {path}: {reason}"), path=str(path), reason=str(e)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as e:  # RecursionError: [[[[... nested
        raise InputError(N_("settings file {path}: not valid TOML ({reason})"), path=str(path), reason=str(e)) from None
    unknown = sorted(set(data) - {s.env for s in SETTINGS})
    if unknown:
        raise InputError(
            N_("settings file {path}: unknown setting {name} (known: {allowed})"),
            path=str(path),
            name=unknown[0],
            allowed=", ".join(s.env for s in SETTINGS),
        )
    return data


@dataclass(frozen=True)
class Settings:
    outputs_dir: Path
    database_url: str
    schedules_dir: Path
    lang: str
    base_url: str
    public_feed: bool
    evidence_limit: int
    at_risk_days: int
    report_agency: str
    signer_titles: dict[str, str]
    report_grace_days: int
    tick_seconds: float
    smtp_host: str
    smtp_port: str
    smtp_security: str
    smtp_user: str
    smtp_password: str
    mail_from: str
    ledger_key_file: str
    session_idle_minutes: int
    trusted_proxies: tuple
    harvest_allow: tuple
    harvest_timeout: float
    harvest_max_bytes: int
    harvest_pause: float
    harvest_feed_minutes: int
    sources: Mapping[str, str]

    @classmethod
    def load(
        cls, env: Mapping[str, str] | None = None, flags: Mapping[str, str | None] | None = None, root: Path = ROOT
    ) -> Settings:
        """Flags win over the environment, which wins over the settings file
        (SETTINGS_FILE, TOML with the environment names as keys), which wins
        over defaults."""
        env = os.environ if env is None else env
        flags = flags or {}
        path = env.get("SETTINGS_FILE", "")
        from_file = _read_file(root / path if path and not Path(path).is_absolute() else Path(path)) if path else {}
        values, sources = {}, {}
        for s in SETTINGS:
            if flags.get(s.name) not in (None, ""):
                raw, source = flags[s.name], "flag --" + s.name.replace("_", "-")
            elif env.get(s.env):
                raw, source = env[s.env], "environment " + s.env
            elif from_file.get(s.env) not in (None, ""):
                raw, source = str(from_file[s.env]), f"settings file {path}"
            else:
                raw, source = s.default, "default"
            try:
                values[s.name] = s.convert(raw)
            except InputError as e:
                raise InputError(
                    N_("setting {name} (from {source}): {problem}"), name=s.env, source=source, problem=e.render()
                ) from None
            sources[s.name] = source
        for key in ("outputs_dir", "schedules_dir"):
            if not values[key].is_absolute():
                values[key] = root / values[key]
        values["ledger_key_file"] = (
            str(root / values["ledger_key_file"])
            if values["ledger_key_file"]
            else str(values["outputs_dir"] / "ledger-key.pem")
        )
        if not values["database_url"]:
            values["database_url"] = f"sqlite:///{values['outputs_dir'] / 'scheduler.sqlite3'}"
        return cls(sources=sources, **values)

    def __repr__(self) -> str:  # secrets never reach logs, even by accident
        return f"Settings(outputs_dir={self.outputs_dir!s}, database_url={self.masked_database_url()}, ...)"

    def masked_database_url(self) -> str:
        """The database URL with any password hidden, for logs and messages."""
        head, sep, tail = self.database_url.partition("@")
        if not sep or ":" not in head.split("//", 1)[-1]:
            return self.database_url
        scheme, _, userinfo = head.partition("//")
        return f"{scheme}//{userinfo.split(':', 1)[0]}:***@{tail}"
