"""APScheduler 3 as the clock's tick: a few fixed jobs with stable ids.

APScheduler 3 cannot share a job store between processes and drops late
runs after a one-second grace by default; so its jobs live in memory, each
coalesces missed runs and has a grace as long as its own interval, and all
the state that matters is in our tables. Several processes on one
PostgreSQL are safe; on SQLite a second daemon on the same file refuses to
start.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler

from scheduler.clock import system_now
from scheduler.daemon.jobs import Runtime, run
from scheduler.daemon.notify_jobs import close_senders
from scheduler.errors import N_, SchedulerError

log = logging.getLogger("scheduler.daemon")

# job id -> ticks (TICK_SECONDS, 30 s by default) between runs
INTERVALS = {  # in this order at start: plan (and supersede) what a late start owes before sending any of it
    "plan_reminders": 10,
    "send_outbox": 1,
    "send_notifications": 1,  # Telegram, Zalo, webhooks: their own claims, on the mail job's tick
    "close_windows": 30,
    "refresh_feeds": 10,
    "periodic_reports": 120,
    "harvest": 2,  # cheap when nothing is due (one UPDATE); each source keeps its own next_at
    "telegram_updates": 1,  # a chat that sent /start CODE hears back within a tick; nothing without a bot token
}


class DaemonError(SchedulerError):
    pass


class SqliteLock:
    """One daemon per SQLite file: an advisory lock beside the database."""

    def __init__(self, database_url: str):
        self.path = None
        if database_url.startswith("sqlite:///"):
            self.path = Path(database_url[len("sqlite:///") :] + ".daemon.lock")
        self.handle = None

    def acquire(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = self.path.open("a+")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.handle.close()
            self.handle = None
            raise DaemonError(
                N_(
                    "another scheduler already runs on {path}; SQLite allows one (run the web "
                    "alone with serve --no-scheduler, or use PostgreSQL for several workers)"
                ),
                path=str(self.path.with_suffix("")),
            ) from None

    def release(self) -> None:
        if self.handle:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


class Daemon:
    """The scheduler with its jobs, started and stopped as one thing."""

    def __init__(self, rt: Runtime, first_run: datetime | None = None):
        self.rt = rt
        self.lock = SqliteLock(rt.settings.database_url)
        self.scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        self.scheduler.add_listener(self._event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        start = first_run or system_now(UTC)
        tick = rt.settings.tick_seconds
        for offset, (job_id, ticks) in enumerate(INTERVALS.items()):
            seconds = ticks * tick
            self.scheduler.add_job(
                run,
                "interval",
                seconds=seconds,
                id=job_id,
                name=job_id,
                args=[job_id, rt],
                replace_existing=True,
                misfire_grace_time=max(1, int(seconds)),
                next_run_time=start + timedelta(seconds=min(tick, 1) * (offset + 1)),
            )

    def _event(self, event) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run; the next run catches up", event.job_id)

    def start(self) -> None:
        self.lock.acquire()
        self.scheduler.start()
        log.info("scheduler started with jobs %s", ", ".join(INTERVALS))

    def stop(self) -> None:
        """Finish the message being sent, record it, then stop."""
        self.rt.stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.rt.mailer.close()
        close_senders(self.rt)
        self.lock.release()
        log.info("scheduler stopped")

    def state(self) -> dict:
        jobs = {}
        for job in self.scheduler.get_jobs():
            jobs[job.id] = {
                "next_run": job.next_run_time.isoformat() if job.next_run_time else None,
                **self.rt.history.get(job.id, {"last_run": None}),
            }
        return {"running": bool(self.scheduler.running), "owner": self.rt.owner, "jobs": jobs}


def wait_for_signal(stop: threading.Event) -> None:
    """Block until SIGTERM or SIGINT (the worker's main thread)."""
    import signal

    def handler(signum, _frame):
        log.info("signal %s: stopping after the current message", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not stop.wait(1.0):
        pass
