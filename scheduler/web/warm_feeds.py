"""A subscription's feed answered before the framework when it is warm.

Served through FastAPI, a warm feed cost about a millisecond of server CPU
per request before its first byte (routing through every route, the request
object, dependencies, the middleware), three to four times what sending a
megabyte costs (bench/feeds.py). ``WarmApp`` answers a plain GET of
``/feeds/{token}.ics`` whose feed is in the cache and current with the answer
the route and the middleware give (``feeds.feed_answer`` plus the security
headers, made once per feed and date); anything else (a cache due for its
look at the database, an unknown or revoked token, a feed not built yet,
HEAD, a request with a body, the public feeds) goes through the app as
before."""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.datastructures import Headers

from scheduler.web.conditional import not_modified
from scheduler.web.feeds import feed_answer
from scheduler.web.headers import headers_for

TOKEN_PATH = re.compile(r"/feeds/([^/]+)\.ics")  # the route's own pattern, /feeds/{token}.ics
CONDITIONAL = (b"if-none-match", b"if-modified-since")
BODY = (b"content-length", b"transfer-encoding")  # BodyLimit's business: the app answers


class WarmApp(FastAPI):
    """The app, with warm feeds answered at its door."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            match = TOKEN_PATH.fullmatch(scope["path"])
            answer = warm(self, scope, match.group(1)) if match else None
            if answer is not None:
                status, headers, pieces = answer
                await send({"type": "http.response.start", "status": status, "headers": headers})
                last = len(pieces) - 1
                for n, piece in enumerate(pieces):
                    await send({"type": "http.response.body", "body": piece, "more_body": n < last})
                return
        await super().__call__(scope, receive, send)


class _Made:
    """One feed's two answers under one date, as the app would send them."""

    def __init__(self, feed, last_modified, ok, not_modified):
        self.feed, self.last_modified, self.ok, self.not_modified = feed, last_modified, ok, not_modified


def warm(app: FastAPI, scope, token: str) -> tuple[int, list, tuple[bytes, ...]] | None:
    """(status, headers, body pieces) when the feed needs no work, else None."""
    conditional = False
    for name, _value in scope["headers"]:
        if name in BODY:
            return None
        conditional = conditional or name in CONDITIONAL
    services = app.state.services
    cache = services.feeds
    if cache.stale():  # due for its look at the database: the route does it, off the loop
        return None
    last_modified = cache.last_modified  # before the scope, as the route reads it
    found = cache.subscription(token)
    feed = cache.ready(*found) if found is not None else None
    if feed is None:
        return None
    made = app.state.warm_feeds.get(found)
    if made is None or made.feed is not feed or made.last_modified != last_modified:
        made = _made(scope["path"], feed, services.clock, last_modified)
        if len(app.state.warm_feeds) > 2 * len(cache.built) + 16:  # scopes dropped by the cache
            app.state.warm_feeds.clear()
        app.state.warm_feeds[found] = made
    if conditional and not_modified(Headers(scope=scope), feed.etag, last_modified, services.clock.now()):
        return made.not_modified
    return made.ok


def _made(path: str, feed, clock, last_modified) -> _Made:
    """Both answers from ``feed_answer`` itself, with the headers SecurityHeaders adds."""
    answers = []
    for asked in ({}, {"if-none-match": feed.etag}):
        response = feed_answer(asked, feed, clock, last_modified)
        have = {name for name, _ in response.raw_headers}
        headers = [*response.raw_headers, *(h for h in headers_for(path) if h[0] not in have)]
        answers.append((response.status_code, headers, feed.pieces if response.status_code == 200 else (b"",)))
    return _Made(feed, last_modified, *answers)
