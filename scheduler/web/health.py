"""``/healthz``: the service's version, the database's state (schema, plans,
occurrences), the reminder daemon's jobs and the outbox's backlog. An
unreachable database is reported (503), never raised."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import func, select, text

from scheduler import __version__
from scheduler.store.outbox_views import backlog as outbox_backlog
from scheduler.store.tables import OccurrenceRow, PlanRow
from scheduler.web.deps import ServicesDep

log = logging.getLogger("scheduler.web")
router = APIRouter()


@router.get("/healthz", summary="Service and database state")
def healthz(services: ServicesDep):
    db, daemon = services.db, services.daemon
    try:
        with db.transaction() as s:
            revision = s.execute(text("SELECT version_num FROM alembic_version")).scalar()
            plans = s.scalar(select(func.count()).select_from(PlanRow))
            occurrences = s.scalar(select(func.count()).select_from(OccurrenceRow))
            queue = outbox_backlog(s, services.clock.now())
    except Exception as e:
        log.warning("health check: database unavailable: %s", type(e).__name__)
        return JSONResponse({"status": "error", "database": {"ok": False}}, status_code=503)
    return {
        "status": "ok",
        "version": __version__,
        "database": {
            "ok": True,
            "dialect": db.engine.dialect.name,
            "schema": revision,
            "plans": plans,
            "occurrences": occurrences,
        },
        "scheduler": daemon.state() if daemon is not None else {"running": False, "jobs": {}},
        "outbox": queue,
    }
