"""(being built for issue 8)"""

from __future__ import annotations

from fastapi import APIRouter

from ..clock import Clock
from ..evidence import EvidenceStore
from ..settings import Settings
from ..store.database import Database
from .auth import Sessions
from .views import Views


def dashboard_router(settings: Settings, db: Database, clock: Clock, sessions: Sessions, store: EvidenceStore) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    views = Views(settings, sessions)  # noqa: F841
    return router
