"""The application built in a worker process of ``serve --workers N``:
uvicorn's supervisor starts each worker afresh, so the settings, the zone
and ``--now`` the parent was given reach it through environment variables
(never on a command line) and are read here with ``Settings.load``."""

from __future__ import annotations

import json
import os
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from scheduler.clock import Clock
from scheduler.settings import Settings
from scheduler.store.database import Database

FLAGS = "SCHEDULER_SERVE_FLAGS"  # JSON: the settings given as flags to the parent
ZONE = "SCHEDULER_SERVE_ZONE"
NOW = "SCHEDULER_SERVE_NOW"  # ISO 8601, when the parent was given --now


def app_from_environment() -> FastAPI:
    """One worker's app: the web alone (the parent runs the jobs)."""
    from scheduler.web.app import create_app

    settings = Settings.load(flags=json.loads(os.environ.get(FLAGS) or "{}"))
    now = os.environ.get(NOW)
    clock = Clock(ZoneInfo(os.environ.get(ZONE) or "Asia/Ho_Chi_Minh"), datetime.fromisoformat(now) if now else None)
    return create_app(settings, Database(settings.database_url), clock, None)
