"""One table of settings: default, help, converter; read once, passed down.

Each value remembers where it came from (default, environment, flag), and
the command line's global flags are generated from this table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scheduler.bounds import format_size, parse_size
from scheduler.documents import MAX_DOCUMENT_BYTES
from scheduler.errors import N_, InputError
from scheduler.setting_values import (
    Setting,
    base_url_value,
    days_value,
    lang_value,
    minutes_value,
    networks_value,
    seconds_value,
    security_value,
    switch_value,
    titles_value,
)

ROOT = Path(__file__).resolve().parent.parent


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
    Setting("lang", "SCHEDULER_LANG", "vi", N_("language of what people read: vi or en"), lang_value),
    Setting(
        "base_url",
        "BASE_URL",
        "http://127.0.0.1:8000",
        N_("public address of the service, used in links in feeds, mail and pages"),
        base_url_value,
    ),
    Setting(
        "public_feed",
        "PUBLIC_FEED",
        "off",
        N_("serve a plan-wide feed without a token at /feeds/public/PLAN.ics: on or off"),
        switch_value,
    ),
    Setting(
        "evidence_limit", "EVIDENCE_LIMIT", "2GiB", N_("largest evidence file accepted, e.g. 2GiB, 500MiB"), parse_size
    ),
    Setting(
        "at_risk_days",
        "AT_RISK_DAYS",
        "3",
        N_("an unmet occurrence is at risk when its window closes within this many working days"),
        days_value,
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
        titles_value,
    ),
    Setting(
        "report_grace_days",
        "REPORT_GRACE_DAYS",
        "3",
        N_("working days after a reporting cut-off before the periodic report goes to the DHA"),
        days_value,
    ),
    Setting(
        "tick_seconds",
        "TICK_SECONDS",
        "30",
        N_("seconds between two sends of the outbox; other jobs run every 10 to 120 ticks"),
        seconds_value,
    ),
    Setting("smtp_host", "SMTP_HOST", "", N_("SMTP server; empty writes mail as .eml files to OUTPUTS_DIR/mail/")),
    Setting("smtp_port", "SMTP_PORT", "", N_("SMTP port; empty means 587 for starttls, 465 for ssl, 25 for none")),
    Setting("smtp_security", "SMTP_SECURITY", "starttls", N_("starttls, ssl or none"), security_value),
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
        minutes_value,
    ),
    Setting(
        "trusted_proxies",
        "TRUSTED_PROXIES",
        "",
        N_("IP addresses or networks of reverse proxies whose X-Forwarded-For is believed; empty believes none"),
        networks_value,
    ),
    Setting(
        "harvest_allow",
        "HARVEST_ALLOW",
        "",
        N_(
            "private, loopback or link-local addresses or networks the harvester may fetch from "
            "(an outlet's intranet playout server); empty allows only public addresses"
        ),
        networks_value,
    ),
    Setting(
        "harvest_timeout",
        "HARVEST_TIMEOUT",
        "20",
        N_("seconds a harvest fetch may take (connect, each read, and in all)"),
        seconds_value,
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
        seconds_value,
    ),
    Setting(
        "harvest_feed_minutes",
        "HARVEST_FEED_MINUTES",
        "60",
        N_("minutes between two reads of an outlet's feeds, sitemaps and playout API"),
        minutes_value,
    ),
    Setting(
        "notifier_key",
        "NOTIFIER_KEY",
        "",
        N_(
            "keys that seal the secrets we store (webhook signing secrets, the Zalo OA's tokens): Fernet keys, "
            "comma-separated, the first one seals; empty means OUTPUTS_DIR/notifier.key, made on first use"
        ),
    ),
    Setting("telegram_bot_token", "TELEGRAM_BOT_TOKEN", "", N_("Telegram bot token; never printed or logged")),
    Setting("telegram_bot_token_file", "TELEGRAM_BOT_TOKEN_FILE", "", N_("file holding the Telegram bot token")),
    Setting("telegram_bot_name", "TELEGRAM_BOT_NAME", "", N_("the bot's @username, for the links that connect a chat")),
    Setting("telegram_api", "TELEGRAM_API", "https://api.telegram.org", N_("Telegram Bot API address")),
    Setting("zalo_app_id", "ZALO_APP_ID", "", N_("Zalo app id of the Official Account")),
    Setting("zalo_app_secret", "ZALO_APP_SECRET", "", N_("Zalo app secret key; never printed or logged")),
    Setting("zalo_app_secret_file", "ZALO_APP_SECRET_FILE", "", N_("file holding the Zalo app secret key")),
    Setting(
        "zalo_oa_secret",
        "ZALO_OA_SECRET",
        "",
        N_("the Official Account's secret key, which checks the events Zalo sends to our webhook"),
    ),
    Setting("zalo_oa_secret_file", "ZALO_OA_SECRET_FILE", "", N_("file holding the OA's secret key")),
    Setting("zalo_api", "ZALO_API", "https://openapi.zalo.me", N_("Zalo OA API address")),
    Setting("zalo_oauth_api", "ZALO_OAUTH_API", "https://oauth.zaloapp.com", N_("Zalo OAuth address (token refresh)")),
    Setting(
        "notify_allow",
        "NOTIFY_ALLOW",
        "",
        N_("addresses or networks that webhooks and chat providers may be on though not public (e.g. 10.0.0.0/8)"),
        networks_value,
    ),
    Setting(
        "notify_timeout",
        "NOTIFY_TIMEOUT",
        "10",
        N_("seconds to connect, read and in all for one message to a chat provider or a webhook"),
        seconds_value,
    ),
    # issue 19, the Zalo channel: outside the consultation window, a transaction message (an approved template)
    Setting(
        "zalo_transaction_template",
        "ZALO_TRANSACTION_TEMPLATE",
        "",
        N_("Zalo transaction template type for reminders outside the consultation window (empty: none)"),
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
    notifier_key: str
    telegram_bot_token: str
    telegram_bot_token_file: str
    telegram_bot_name: str
    telegram_api: str
    zalo_app_id: str
    zalo_app_secret: str
    zalo_app_secret_file: str
    zalo_oa_secret: str
    zalo_oa_secret_file: str
    zalo_api: str
    zalo_oauth_api: str
    notify_allow: tuple
    notify_timeout: float
    zalo_transaction_template: str
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

    def secret(self, name: str) -> str:
        """A secret from its setting, else from the file its ``_FILE`` setting
        names (a container's mounted secret); empty when neither is set."""
        value = getattr(self, name)
        path = getattr(self, name + "_file", "")
        if value or not path:
            return value
        try:
            with open(path, encoding="utf-8") as f:
                return f.read(16 * 1024).strip()
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(N_("{name}_FILE {path}: {reason}"), name=name.upper(), path=path, reason=str(e)) from None

    def __repr__(self) -> str:  # secrets never reach logs, even by accident
        return f"Settings(outputs_dir={self.outputs_dir!s}, database_url={self.masked_database_url()}, ...)"

    def masked_database_url(self) -> str:
        """The database URL with any password hidden, for logs and messages."""
        head, sep, tail = self.database_url.partition("@")
        if not sep or ":" not in head.split("//", 1)[-1]:
            return self.database_url
        scheme, _, userinfo = head.partition("//")
        return f"{scheme}//{userinfo.split(':', 1)[0]}:***@{tail}"
