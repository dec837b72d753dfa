"""What every job needs, made once per process: the settings, the
database, the clock, the mailer, who this worker is and whether it stops.
Its own module so that the job modules (``jobs``, ``harvest_jobs``) import
it without importing each other."""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from scheduler.clock import Clock
from scheduler.notifiers.mail import Mailer, SmtpConfig, mailer_from
from scheduler.settings import Settings
from scheduler.store.database import Database

DEFAULT_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
# Sent only in working hours; AT_ONCE_KINDS (a password link, a failed portal check) go at once.
WORKING_HOURS_KINDS = ("milestone", "due", "at_risk", "overdue", "digest", "moved", "cancelled", "report", "expiry")


@dataclass
class Runtime:
    """What every job needs, made once per process."""

    settings: Settings
    db: Database
    clock: Clock
    mailer: Mailer
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    stop: threading.Event = field(default_factory=threading.Event)
    last_feed_change: int = -1
    history: dict = field(default_factory=dict)  # job id -> last run, result or error
    senders: dict | None = None  # channel -> Sender, made by the notify job once (daemon/notify_jobs.py)
    senders_checked_at: float | None = None  # when the channels not configured were last looked at again

    @property
    def domain(self) -> str:
        return urlparse(self.settings.base_url).hostname or "localhost"


def lease(rt: Runtime) -> timedelta:
    """Long enough to send a claimed batch; a row still 'sending' after it is in doubt."""
    return timedelta(seconds=max(5.0, 10 * rt.settings.tick_seconds))


def smtp_config(settings: Settings) -> SmtpConfig | None:
    if not settings.smtp_host:
        return None
    port = int(settings.smtp_port) if settings.smtp_port else {"ssl": 465, "none": 25}.get(settings.smtp_security, 587)
    return SmtpConfig(
        settings.smtp_host, port, settings.smtp_security, settings.smtp_user, settings.smtp_password, settings.mail_from
    )


def runtime(settings: Settings, db: Database, clock: Clock) -> Runtime:
    return Runtime(settings, db, clock, mailer_from(smtp_config(settings), settings.outputs_dir / "mail"))
