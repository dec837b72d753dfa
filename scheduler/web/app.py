"""The FastAPI application: calendar feeds, the API, pages for people, health.

Errors are translated here once: a page or a plain 404 for people and
calendar clients; an unexpected error is logged with its traceback and
answered with a plain sentence. Feed tokens and password links never reach
the logs.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import func, select, text
from starlette.concurrency import run_in_threadpool

from scheduler import __version__
from scheduler.clock import Clock
from scheduler.errors import SchedulerError
from scheduler.store.files import EvidenceStore
from scheduler.i18n import gettext_for
from scheduler.people.accounts import FeedScope
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.outbox import backlog as outbox_backlog
from scheduler.store.tables import OccurrenceRow, PlanRow
from scheduler.web.api import api_router
from scheduler.web.auth import Sessions, auth_router
from scheduler.web.conditional import http_date, not_modified
from scheduler.store.feed_cache import FeedCache
from scheduler.web.feed_response import FeedResponse
from scheduler.web.headers import SecurityHeaders
from scheduler.web.admin import admin_router
from scheduler.web import admin_outbox
from scheduler.web import calendar_pages, dashboard, pages
from scheduler.web.deps import Answer, Services, answer
from scheduler.web.limits import BodyLimit, SafeJSON, invalid
from scheduler.web.views import Views

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


def _lang(request: Request, default: str) -> str:
    asked = request.query_params.get("lang")
    if asked in ("vi", "en"):
        return asked
    accept = request.headers.get("accept-language", "")
    first = accept.split(",")[0].strip().lower()
    return "en" if first.startswith("en") else default


FEED_HEADERS = {"Cache-Control": "private, no-cache", "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff"}
NOT_FOUND = "Not Found\n"
FEED_ANSWERS = {200: {"content": {"text/calendar": {}}, "description": "The feed (iCalendar)"},
                304: {"description": "Not modified since the client's copy"},
                404: {"content": {"text/plain": {}}, "description": "No such feed, or revoked"}}


def create_app(settings: Settings, db: Database, clock: Clock, daemon=None) -> FastAPI:
    """The application; with a daemon, its scheduler starts and stops with it."""
    install_log_masks()

    @asynccontextmanager
    async def lifespan(_app):
        if daemon is not None:
            await run_in_threadpool(daemon.start)
        try:
            yield
        finally:
            if daemon is not None:
                await run_in_threadpool(daemon.stop)

    app = FastAPI(title="Media production scheduler", version=__version__, lifespan=lifespan,
                  description="Lịch sản xuất tuyên truyền — calendar feeds, occurrences, evidence, compliance.")
    app.add_middleware(BodyLimit, lang=settings.lang)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")  # the pages' CSS and scripts
    cache = FeedCache(db)
    app.state.feed_cache = cache

    store = EvidenceStore(settings.outputs_dir / "evidence", settings.evidence_limit)
    app.include_router(api_router(settings, db, clock, store))
    sessions = Sessions(settings, db, clock)
    app.state.sessions = sessions
    app.state.services = Services(settings, db, clock, store, sessions, cache, Views(settings, sessions), daemon)
    app.add_exception_handler(Answer, answer)
    app.include_router(auth_router(settings, db, clock, sessions))
    for router in (pages.router, calendar_pages.router, dashboard.router):
        app.include_router(router)
    app.include_router(admin_router(settings, db, clock, sessions, store))
    app.include_router(admin_outbox.router)

    @app.exception_handler(SchedulerError)
    async def refused(request: Request, exc: SchedulerError):
        """Our own errors, in the reader's language, each with its HTTP status."""
        _ = gettext_for(getattr(request.state, "lang", settings.lang))
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

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # pragma: no cover - last resort
        log.exception("unexpected error on %s %s", request.method, mask_secrets(request.url.path))
        return PlainTextResponse(gettext_for(settings.lang)("Something went wrong on our side; please try again."),
                                 status_code=500)

    @app.get("/healthz", summary="Service and database state")
    def healthz():
        try:
            with db.transaction() as s:
                revision = s.execute(text("SELECT version_num FROM alembic_version")).scalar()
                plans = s.scalar(select(func.count()).select_from(PlanRow))
                occurrences = s.scalar(select(func.count()).select_from(OccurrenceRow))
                queue = outbox_backlog(s, clock.now())
        except Exception as e:  # the database is the one thing health must report, not raise
            log.warning("health check: database unavailable: %s", type(e).__name__)
            return JSONResponse({"status": "error", "database": {"ok": False}}, status_code=503)
        return {"status": "ok", "version": __version__,
                "database": {"ok": True, "dialect": db.engine.dialect.name, "schema": revision,
                             "plans": plans, "occurrences": occurrences},
                "scheduler": daemon.state() if daemon is not None else {"running": False, "jobs": {}},
                "outbox": queue}

    async def serve_feed(request: Request, scope: FeedScope, lang: str) -> Response:
        # The date before the feed: a refresh changes feeds before it moves the
        # date, so an old body never goes out under a new date (a client's
        # If-Modified-Since would then hide the change from it).
        last_modified = cache.last_modified
        # Reading or changing a feed takes up to a second: never on the event loop.
        feed = cache.ready(scope, lang) or await run_in_threadpool(cache.feed, scope, lang)
        headers = {**FEED_HEADERS, "ETag": feed.etag, "Last-Modified": http_date(last_modified)}
        if not_modified(request.headers, feed.etag, last_modified, clock.now()):
            return Response(status_code=304, headers=headers)
        return FeedResponse(feed, headers)

    @app.get("/feeds/public/{plan}.ics", summary="Plan-wide public feed (when PUBLIC_FEED is on)",
             response_class=Response, responses=FEED_ANSWERS)
    async def public_feed(plan: str, request: Request) -> Response:
        if cache.stale():
            await run_in_threadpool(cache.refresh)
        if not settings.public_feed or plan not in cache.state.names.get("plan", {}):
            return PlainTextResponse(NOT_FOUND, status_code=404, headers=FEED_HEADERS)
        return await serve_feed(request, FeedScope(plan=plan, milestones=False), _lang(request, settings.lang))

    @app.get("/feeds/{token}.ics", summary="A subscription's feed", response_class=Response,
             responses=FEED_ANSWERS)
    async def feed(token: str, request: Request) -> Response:
        """The token is the secret; unknown and revoked ones are the same 404."""
        if cache.stale():
            await run_in_threadpool(cache.refresh)
        found = cache.subscription(token)
        if found is None:
            return PlainTextResponse(NOT_FOUND, status_code=404, headers=FEED_HEADERS)
        scope, lang = found
        return await serve_feed(request, scope, lang)

    for path, endpoint in (("/feeds/public/{plan}.ics", public_feed), ("/feeds/{token}.ics", feed)):
        app.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)

    return app


def plan_tz(plan: PlanRow) -> ZoneInfo:
    return ZoneInfo(plan.timezone)
