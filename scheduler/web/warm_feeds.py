"""A subscription's feed answered in front of the routes when it is warm.

Served through FastAPI, a warm feed cost about a millisecond of CPU per
request before its first byte (routing through every route, the request
object, dependencies), three to four times what sending a megabyte costs
(bench/feeds.py). This pure ASGI layer answers a GET of ``/feeds/{token}.ics``
whose feed is in the cache and current with the same answer the route gives
(``feeds.feed_answer``: the same bytes, ETag, Last-Modified and 304); anything
else (a cache due for its look at the database, an unknown or revoked token,
a feed not built yet, HEAD, the public feeds) goes on to the routes as before.
It sits inside the other middleware, so their headers and limits still apply."""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.responses import Response

from scheduler.web.feeds import feed_answer

TOKEN_PATH = re.compile(r"/feeds/([^/]+)\.ics")  # the route's own pattern, /feeds/{token}.ics


class WarmFeeds:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            match = TOKEN_PATH.fullmatch(scope["path"])
            answer = warm(scope, match.group(1)) if match else None
            if answer is not None:
                return await answer(scope, receive, send)
        await self.app(scope, receive, send)


def warm(scope, token: str) -> Response | None:
    """The route's answer when it needs no work, else None (the route answers)."""
    services = scope["app"].state.services
    cache = services.feeds
    if cache.stale():  # due for its look at the database: the route does it, off the loop
        return None
    last_modified = cache.last_modified  # before the scope, as the route reads it
    found = cache.subscription(token)
    feed = cache.ready(*found) if found is not None else None
    if feed is None:
        return None
    return feed_answer(Headers(scope=scope), feed, services.clock, last_modified)
