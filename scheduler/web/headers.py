"""Headers every answer carries unless it set its own: a Content-Security-
Policy that lets pages run only this site's own scripts and styles (no inline
script, nothing from elsewhere, no framing), X-Frame-Options for browsers
without frame-ancestors, a Referrer-Policy and nosniff.

Feeds keep their no-referrer and evidence files their sandbox: an answer's
own header wins. The API docs (/docs, /redoc) load Swagger UI and ReDoc from
their CDN with an inline script, so they get a policy that allows just that."""

from __future__ import annotations

PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
               "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
               "object-src 'none'")
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com "
               "https://cdn.redoc.ly; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "
               "object-src 'none'")
DOCS = ("/docs", "/redoc")
# /password/set/TOKEN carries its secret in the path: never send it on.
NO_REFERRER = ("/password/set/",)


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    """
    >>> dict(headers_for("/login"))[b"referrer-policy"], dict(headers_for("/password/set/x"))[b"referrer-policy"]
    (b'same-origin', b'no-referrer')
    """
    policy = DOCS_POLICY if path in DOCS or path.startswith("/docs/") else PAGE_POLICY
    referrer = "no-referrer" if path.startswith(NO_REFERRER) else "same-origin"
    return [(b"content-security-policy", policy.encode()), (b"x-frame-options", b"DENY"),
            (b"referrer-policy", referrer.encode()), (b"x-content-type-options", b"nosniff")]


class SecurityHeaders:
    """Pure ASGI, so streamed answers (feeds, files) pass through untouched."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        wanted = headers_for(scope.get("path", ""))

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                have = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in wanted if h[0] not in have)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
