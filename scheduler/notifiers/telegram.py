"""The Telegram channel (issue 19): one sendMessage per claimed outbox row.

What Telegram's answers mean for the row:
- ok: sent.
- 429 Too Many Requests: try again, no sooner than its ``retry_after``.
- 403 (the bot was blocked by the user, the user is deactivated, the bot
  was kicked from or is no longer in the group) and 400 "chat not found":
  ``Unreachable``: not retried, the link is marked blocked for admins.
- 400 "group chat was upgraded to a supergroup chat" with
  ``migrate_to_chat_id``: the group's row follows the new id and the
  message goes there at once, in the same attempt.
- other 400s: the request itself is wrong; retrying cannot help
  (``PermanentFailure``).
- 401/404: the bot token is wrong or revoked, a configuration error that
  no message can fix: ``TemporaryFailure`` (retried every 10 minutes, rows
  wait until the token is fixed or they expire), logged as ERROR once per
  process so it is seen without flooding the log.
- 5xx, no answer (refused, dropped, timed out): ``TemporaryFailure``.
The token is masked in every one of these words.
"""

from __future__ import annotations

import logging
from datetime import datetime

from scheduler.errors import SchedulerError
from scheduler.notifiers.chat import Delivery, Sender
from scheduler.notifiers.telegram_api import BotApi, TelegramError, cut
from scheduler.reminders.outbox import PermanentFailure, TemporaryFailure, Unreachable
from scheduler.settings import Settings
from scheduler.store import telegram_chats
from scheduler.store.database import Database

log = logging.getLogger("scheduler.notify.telegram")
BAD_TOKEN_WAIT = 600.0  # seconds before a row tries a refused token again
GONE = ("chat not found", "peer_id_invalid", "user not found")


class TelegramSender:
    channel = "telegram"

    def __init__(self, api: BotApi, db: Database | None = None):
        self.api, self.db = api, db
        self.told_bad_token = False

    def send(self, delivery: Delivery, now: datetime) -> None:
        """One attempt (two when the group moved to a supergroup)."""
        text = cut(delivery.text.strip())
        if not text:
            raise PermanentFailure("Telegram: the message has no text")
        try:
            self._send(delivery.address, text)
        except TelegramError as e:
            if e.status == 400 and e.migrate_to:
                self._moved(delivery.address, e.migrate_to)
                try:
                    self._send(e.migrate_to, text)
                except TelegramError as again:
                    raise self._failure(again) from None
                return
            raise self._failure(e) from None

    def _send(self, chat_id: str, text: str) -> None:
        payload = {"chat_id": chat_id, "text": text, "link_preview_options": {"is_disabled": True}}
        self.api.call("sendMessage", payload)

    def _moved(self, old: str, new: str) -> None:
        if self.db is None:
            return
        with self.db.transaction() as s:
            moved = telegram_chats.move(s, old, new)
        log.info("telegram group %s became supergroup %s (%s row moved)", old, new, moved)

    def _failure(self, e: TelegramError) -> Exception:
        words = str(e)
        low = e.description.lower()
        if e.status == 429:
            return TemporaryFailure(words, retry_after=e.retry_after)
        if e.status == 403 or (e.status == 400 and any(g in low for g in GONE)):
            return Unreachable(words)
        if e.status in (401, 404):
            if not self.told_bad_token:
                self.told_bad_token = True
                log.error("%s: check TELEGRAM_BOT_TOKEN; messages wait until it is fixed", words)
            return TemporaryFailure(f"{words} (check TELEGRAM_BOT_TOKEN)", retry_after=BAD_TOKEN_WAIT)
        if 400 <= e.status < 500 and e.status not in (408, 409):
            return PermanentFailure(words)
        return TemporaryFailure(words, retry_after=e.retry_after)  # 5xx, no answer

    def close(self) -> None:
        """Nothing held open: each message is its own connection."""


def sender_for(settings: Settings, db: Database) -> Sender | None:
    """The channel's sender, or None when it is not configured (its rows wait)."""
    try:
        api = BotApi.of(settings)
    except SchedulerError as e:  # TELEGRAM_BOT_TOKEN_FILE unreadable: as if not set, and said
        log.error("telegram not configured: %s", e.render())
        return None
    return TelegramSender(api, db) if api else None
