"""Calendar feeds over HTTP: a subscription's feed by its secret token, and
the plan-wide public feed when PUBLIC_FEED is on. Both come from the feed
cache, answer 304 to a client whose copy is current, and never run the
cache's work on the event loop. An unknown and a revoked token are the same
plain 404."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from scheduler.clock import Clock
from scheduler.people.accounts import FeedScope
from scheduler.store.feed_cache import Feed, FeedCache
from scheduler.web.conditional import http_date, not_modified
from scheduler.web.deps import ClockDep, FeedCacheDep, SettingsDep
from scheduler.web.feed_response import FeedResponse

FEED_HEADERS = {
    "Cache-Control": "private, no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
NOT_FOUND = "Not Found\n"
FEED_ANSWERS = {
    200: {"content": {"text/calendar": {}}, "description": "The feed (iCalendar)"},
    304: {"description": "Not modified since the client's copy"},
    404: {"content": {"text/plain": {}}, "description": "No such feed, or revoked"},
}
router = APIRouter()


def asked_lang(request: Request, default: str) -> str:
    """``?lang=``, else the client's first Accept-Language, else ``default``."""
    asked = request.query_params.get("lang")
    if asked in ("vi", "en"):
        return asked
    accept = request.headers.get("accept-language", "")
    first = accept.split(",")[0].strip().lower()
    return "en" if first.startswith("en") else default


def not_found() -> Response:
    return PlainTextResponse(NOT_FOUND, status_code=404, headers=FEED_HEADERS)


async def serve_feed(
    request: Request, cache: FeedCache, clock: Clock, scope: FeedScope, lang: str, last_modified: datetime | None = None
) -> Response:
    # The date before the feed: a refresh changes feeds before it moves the
    # date, so an old body never goes out under a new date (a client's
    # If-Modified-Since would then hide the change from it). A subscription's
    # scope is a feed too (a group's members): its caller reads the date first.
    last_modified = last_modified or cache.last_modified
    # Reading or changing a feed takes up to a second: never on the event loop.
    feed = cache.ready(scope, lang) or await run_in_threadpool(cache.feed, scope, lang)
    return feed_answer(request.headers, feed, clock, last_modified)


def feed_answer(asked: Mapping[str, str], feed: Feed, clock: Clock, last_modified: datetime) -> Response:
    """The feed, or 304 to a client whose copy is current: one place for both
    the routes and the warm path in front of them (``web.warm_feeds``)."""
    headers = {**FEED_HEADERS, "ETag": feed.etag, "Last-Modified": http_date(last_modified)}
    if not_modified(asked, feed.etag, last_modified, clock.now()):
        return Response(status_code=304, headers=headers)
    return FeedResponse(feed, headers)


@router.get(
    "/feeds/public/{plan}.ics",
    summary="Plan-wide public feed (when PUBLIC_FEED is on)",
    response_class=Response,
    responses=FEED_ANSWERS,
)
async def public_feed(
    plan: str, request: Request, cache: FeedCacheDep, settings: SettingsDep, clock: ClockDep
) -> Response:
    if cache.stale():
        await run_in_threadpool(cache.refresh)
    if not settings.public_feed or plan not in cache.state.names.get("plan", {}):
        return not_found()
    scope = FeedScope(plan=plan, milestones=False)
    return await serve_feed(request, cache, clock, scope, asked_lang(request, settings.lang))


@router.get("/feeds/{token}.ics", summary="A subscription's feed", response_class=Response, responses=FEED_ANSWERS)
async def feed(token: str, request: Request, cache: FeedCacheDep, clock: ClockDep) -> Response:
    """The token is the secret; unknown and revoked ones are the same 404."""
    if cache.stale():
        await run_in_threadpool(cache.refresh)
    last_modified = cache.last_modified  # before the scope: see serve_feed
    found = cache.subscription(token)
    if found is None:
        return not_found()
    scope, lang = found
    return await serve_feed(request, cache, clock, scope, lang, last_modified)


for _path, _endpoint in (("/feeds/public/{plan}.ics", public_feed), ("/feeds/{token}.ics", feed)):
    router.add_api_route(_path, _endpoint, methods=["HEAD"], include_in_schema=False)
