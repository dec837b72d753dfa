"""A chat's words for an outbox row: short, in its reader's language
(Vietnamese unless they chose otherwise; a group chat's always), the
subject line the letter would have and the link to open. The words are the
letter's (``letter.headline``), so a chat and a mail never disagree."""

from __future__ import annotations

from scheduler.notifiers.letter import headline
from scheduler.reminders.outbox import Message

LIMIT = 1000  # well within Telegram's 4096 and Zalo's 2000 characters


def chat_text(message: Message, base_url: str) -> str:
    """``[Nhắc việc] Hạn 15/03/2024: …`` then the link on its own line."""
    subject, link = headline(message, base_url)
    text = subject if len(subject) <= LIMIT else subject[: LIMIT - 1] + "…"
    return f"{text}\n{link}" if link else text
