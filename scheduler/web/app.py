"""The FastAPI application: calendar feeds, the API, pages for people, health,
each area a module with its own ``router``; their handlers reach the app's
services through ``deps``.

Errors are translated here once: a page or a plain 404 for people and
calendar clients; an unexpected error is logged with its traceback and
answered with a plain sentence. Feed tokens and password links never reach
the logs.
"""

from __future__ import annotations

import logging
import re
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from scheduler import __version__
from scheduler.clock import Clock
from scheduler.errors import SchedulerError
from scheduler.i18n import gettext_for
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.feed_cache import FeedCache
from scheduler.store.files import EvidenceStore
from scheduler.web import (
    admin,
    admin_access,
    admin_harvest,
    admin_notifiers,
    admin_outbox,
    admin_plan_documents,
    admin_schedules,
    admin_webhooks,
    api,
    api_docs,
    api_people,
    asrun_upload,
    calendar_pages,
    closed_periods,
    dashboard,
    feeds,
    health,
    occurrence_changes,
    pages,
    profile,
    proposals,
    sign_in,
    zalo_hook,
)
from scheduler.web.auth import Sessions
from scheduler.web.deps import Answer, Services, answer
from scheduler.web.headers import SecurityHeaders
from scheduler.web.limits import BodyLimit, SafeJSON, invalid
from scheduler.web.views import Views
from scheduler.web.warm_feeds import WarmApp

log = logging.getLogger("scheduler.web")
# Paths that are secrets, as such or percent-encoded (in a ?next=): a feed's, a password link's.
FEED_PATH = re.compile(r"(/|%2F)feeds(/|%2F)(?!public(/|%2F))[^/?#&\s]+", re.IGNORECASE)
PASSWORD_PATH = re.compile(r"(/|%2F)password(/|%2F)set(/|%2F)[^/?#&\s]+", re.IGNORECASE)


def mask_secrets(text: str) -> str:
    """A path or a log line with its secrets hidden.

    >>> mask_secrets("GET /password/set/abc123 HTTP/1.1 /feeds/t0k3n.ics")
    'GET /password/set/*** HTTP/1.1 /feeds/***.ics'
    """
    return PASSWORD_PATH.sub("/password/set/***", FEED_PATH.sub("/feeds/***.ics", text))


class MaskFeedTokens(logging.Filter):
    """uvicorn's access log prints whole paths; a feed path or a password
    link is a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(mask_secrets(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = mask_secrets(record.msg)
        return True


def install_log_masks() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "scheduler"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskFeedTokens) for f in logger.filters):
            logger.addFilter(MaskFeedTokens())


@asynccontextmanager
async def lifespan(app: FastAPI):
    """The reminder daemon, when the app runs one, starts and stops with it."""
    daemon = app.state.services.daemon
    if daemon is not None:
        await run_in_threadpool(daemon.start)
    try:
        yield
    finally:
        if daemon is not None:
            await run_in_threadpool(daemon.stop)


def services_for(settings: Settings, db: Database, clock: Clock, daemon=None) -> Services:
    """What the app holds for its life (``deps.Services``); a test may mount one area's router with them."""
    sessions = Sessions(settings, db, clock)
    store = EvidenceStore(settings.outputs_dir / "evidence", settings.evidence_limit)
    return Services(settings, db, clock, store, sessions, FeedCache(db), Views(settings, sessions), daemon)


def create_app(settings: Settings, db: Database, clock: Clock, daemon=None) -> FastAPI:
    """The application; with a daemon, its scheduler starts and stops with it."""
    install_log_masks()
    app = WarmApp(  # FastAPI, with warm feeds answered at its door (web.warm_feeds)
        title="Media production scheduler",
        version=__version__,
        lifespan=lifespan,
        description="Lịch sản xuất tuyên truyền — calendar feeds, occurrences, evidence, compliance.",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )  # /docs is api_docs'; no /redoc
    app.state.services = services_for(settings, db, clock, daemon)
    app.state.warm_feeds = {}
    app.add_middleware(BodyLimit, lang=settings.lang)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Answer, answer)
    app.add_exception_handler(SchedulerError, refused)
    app.add_exception_handler(Exception, unexpected)
    app.add_middleware(SecurityHeaders)
    app.mount(
        "/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"
    )  # the pages' CSS and scripts
    app.mount(api_docs.ASSETS_URL, StaticFiles(directory=api_docs.ASSETS), name="docs-assets")
    for router in (
        api_docs.router,
        api.router,
        api_people.router,
        sign_in.router,
        pages.router,
        profile.router,  # /me/profile: name, language, chats (issue 19)
        occurrence_changes.router,
        occurrence_changes.api_router,
        proposals.router,
        proposals.api_router,
        calendar_pages.router,
        closed_periods.router,  # before the dashboard's: /dashboard/periods is its own page
        dashboard.router,
        admin.router,
        admin_access.router,
        admin_schedules.router,
        admin_plan_documents.router,
        admin_outbox.router,
        admin_notifiers.router,  # chats and group chats (issue 19)
        admin_harvest.router,
        admin_harvest.api_router,
        admin_webhooks.router,
        health.router,
        feeds.router,
        asrun_upload.router,
        zalo_hook.router,
    ):
        app.include_router(router)  # in this order: the first route that matches a path answers it
    return app


async def refused(request: Request, exc: SchedulerError):
    """Our own errors, in the reader's language, each with its HTTP status."""
    _ = gettext_for(getattr(request.state, "lang", request.app.state.services.settings.lang))
    status = getattr(exc, "status", 422)
    field = getattr(exc, "field", None)
    message = exc.render(_)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if field:
        part = "query" if field in request.query_params else "body"
        body = {"detail": [{"loc": [part, field], "msg": message, "type": "value_error"}]}
    else:
        body = {"detail": message}
    return SafeJSON(body, status_code=status, headers=headers)


async def unexpected(request: Request, exc: Exception):  # pragma: no cover - last resort
    log.exception("unexpected error on %s %s", request.method, mask_secrets(request.url.path))
    lang = request.app.state.services.settings.lang
    return PlainTextResponse(gettext_for(lang)("Something went wrong on our side; please try again."), status_code=500)
