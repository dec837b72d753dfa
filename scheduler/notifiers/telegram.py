"""Placeholder of the telegram channel (issue 19): its helper fills it in."""

from __future__ import annotations

from scheduler.notifiers.chat import Sender
from scheduler.settings import Settings
from scheduler.store.database import Database


def sender_for(settings: Settings, db: Database) -> Sender | None:
    """The channel's sender, or None when it is not configured (its rows wait)."""
    return None
