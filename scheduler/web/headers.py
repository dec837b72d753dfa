"""Headers every answer carries unless it set its own: a Content-Security-
Policy that lets pages run only this site's own scripts and styles (no inline
script, nothing from elsewhere, no framing), X-Frame-Options for browsers
without frame-ancestors, a Referrer-Policy and nosniff.

Feeds keep their no-referrer and evidence files their sandbox: an answer's
own header wins. The API docs (/docs) load Swagger UI from this site too
(``api_docs``); the page sends its own policy that adds the hash of its one
inline script (``docs_policy``)."""

from __future__ import annotations

from collections.abc import Iterable

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)
DOCS_POLICY = (
    "default-src 'self'; script-src 'self'{scripts}; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
# /password/set/TOKEN carries its secret in the path: never send it on.
NO_REFERRER = ("/password/set/",)


def docs_policy(scripts: Iterable[str] = ()) -> str:
    """The docs' policy, allowing these inline scripts (CSP sources, as ``'sha256-…'``) and no other.

    >>> docs_policy(["'sha256-abc='"]).split("; ")[1:3]
    ["script-src 'self' 'sha256-abc='", "style-src 'self'"]
    """
    return DOCS_POLICY.format(scripts="".join(f" {s}" for s in scripts))


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    """
    >>> dict(headers_for("/login"))[b"referrer-policy"], dict(headers_for("/password/set/x"))[b"referrer-policy"]
    (b'same-origin', b'no-referrer')
    """
    policy = docs_policy() if path == "/docs" or path.startswith("/docs/") else PAGE_POLICY
    referrer = "no-referrer" if path.startswith(NO_REFERRER) else "same-origin"
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", referrer.encode()),
        (b"x-content-type-options", b"nosniff"),
    ]


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
