"""One call to the Telegram Bot API, and what its answer means.

Every method is a POST of JSON to ``{TELEGRAM_API}/bot<TOKEN>/<method>``
through ``fetching.posting`` (NOTIFY_ALLOW, NOTIFY_TIMEOUT, a bounded
answer). The API answers ``{"ok": true, "result": ...}`` or ``{"ok": false,
"error_code": N, "description": "...", "parameters": {"retry_after": S,
"migrate_to_chat_id": ID}}``. The token is in every URL, so every text that
leaves this module (errors, logs, the outbox's last_error) has it masked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from scheduler.errors import SchedulerError
from scheduler.fetching.posting import MAX_ANSWER, post
from scheduler.settings import Settings

MASK = "***"
MAX_TEXT = 4096  # a message's text, in UTF-16 code units (as Telegram counts)


@dataclass(eq=False)
class TelegramError(Exception):
    """The API said no (``status`` its error_code, 0 when there was no
    answer at all), in words with the token masked."""

    status: int
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"Telegram {self.status or 'no answer'}: {self.description}"

    @property
    def retry_after(self) -> float | None:
        value = self.parameters.get("retry_after")
        return float(value) if isinstance(value, int | float) and value >= 0 else None

    @property
    def migrate_to(self) -> str:
        value = self.parameters.get("migrate_to_chat_id")
        return str(value) if isinstance(value, int) else ""


class BotApi:
    """The bot's API, with its token kept out of every word it says."""

    def __init__(self, token: str, api: str, timeout: float, allow: tuple[Any, ...] = ()):
        self.token, self.timeout, self.allow = token, timeout, allow
        self.base = f"{api.rstrip('/')}/bot{token}/"
        self._username = ""

    @classmethod
    def of(cls, settings: Settings) -> BotApi | None:
        """None when no token is set (TELEGRAM_BOT_TOKEN or its _FILE)."""
        token = settings.secret("telegram_bot_token").strip()
        if not token:
            return None
        return cls(token, settings.telegram_api, settings.notify_timeout, settings.notify_allow)

    def username(self, configured: str = "") -> str:
        """The bot's @username without the @: TELEGRAM_BOT_NAME, else asked
        once of getMe (empty when it cannot be asked now)."""
        if configured.strip().lstrip("@"):
            return configured.strip().lstrip("@")
        if not self._username:
            try:
                me = self.call("getMe", {})
            except TelegramError:
                return ""
            self._username = str(me.get("username") or "") if isinstance(me, dict) else ""
        return self._username

    def mask(self, text: str) -> str:
        return text.replace(self.token, MASK) if self.token else text

    def call(self, method: str, payload: dict[str, Any], max_answer: int = MAX_ANSWER) -> Any:
        """The method's ``result``; TelegramError otherwise (status 0: the
        connection failed, dropped or timed out; no answer was read)."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
        try:
            answer = post(
                self.base + method, body, headers=headers, timeout=self.timeout, allow=self.allow, max_answer=max_answer
            )
        except SchedulerError as e:  # FetchFailed: refused, dropped, timed out, not an allowed address
            raise TelegramError(0, self.mask(e.render())) from None
        try:
            data = json.loads(answer.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            reason = f"{answer.status} {answer.reason}: not a Bot API answer"
            raise TelegramError(answer.status if answer.status >= 300 else 502, self.mask(reason))
        if data.get("ok") is True and 200 <= answer.status < 300:
            return data.get("result")
        status = data.get("error_code") if isinstance(data.get("error_code"), int) else answer.status
        description = str(data.get("description") or answer.reason)[:500]
        parameters = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
        if "retry_after" not in parameters and answer.headers.get("retry-after", "").isdigit():
            parameters = {**parameters, "retry_after": int(answer.headers["retry-after"])}
        raise TelegramError(status, self.mask(description), parameters)


def cut(text: str, limit: int = MAX_TEXT) -> str:
    """At most ``limit`` UTF-16 code units, cut at a space and marked with
    "…", never inside a character; a last line that is a link (the
    occurrence's) is kept whole, the body before it is cut.

    >>> cut("a" * 10, 10) == "a" * 10
    True
    >>> cut("word " * 5 + "\\nhttps://x.vn/o/1", 40)
    'word word word word…\\nhttps://x.vn/o/1'
    """
    if _units(text) <= limit:
        return text
    body, _, last = text.rpartition("\n")
    if body and last.startswith(("http://", "https://")) and _units(last) < limit // 2:
        return _cut(body, limit - _units(last) - 1) + "\n" + last
    return _cut(text, limit)


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> str:
    kept, used = [], 0
    for char in text:
        size = _units(char)
        if used + size > limit - 1:  # room for the "…"
            break
        kept.append(char)
        used += size
    head = "".join(kept)
    space = head.rfind(" ")
    if space > len(head) - 200 and space > 0:
        head = head[:space]
    return head.rstrip() + "…"


def deep_link(username: str, code: str, group: bool = False) -> str:
    """The link that opens the bot with ``/start CODE`` (``startgroup``: pick
    a group to add the bot to, which then sends ``/start@Bot CODE``).

    >>> deep_link("LichBot", "abc123")
    'https://t.me/LichBot?start=abc123'
    """
    return f"https://t.me/{username}?{'startgroup' if group else 'start'}={code}"
