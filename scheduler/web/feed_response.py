"""A feed's bytes sent as they are held: one body message per piece."""

from __future__ import annotations

from starlette.responses import Response

from scheduler.store.feed_cache import Feed


class FeedResponse(Response):
    """A feed as one body message per piece, with its Content-Length up front:
    no joined copy, and the server drains each piece before taking the next."""

    media_type = "text/calendar; charset=utf-8"

    def __init__(self, feed: Feed, headers: dict[str, str]):
        self.pieces = feed.pieces
        super().__init__(None, 200, {**headers, "Content-Length": str(feed.length)})

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        last = len(self.pieces) - 1
        for n, piece in enumerate(self.pieces):
            await send({"type": "http.response.body", "body": piece, "more_body": n < last})
