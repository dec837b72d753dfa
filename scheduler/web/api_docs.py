"""The API's documentation page, /docs (Swagger UI), with its script, style
and icon served from the installed ``fastapi-offline`` package under
/docs/assets: it works on an office network without internet, and loads
nothing from elsewhere.

FastAPI writes the page; its one inline script (Swagger UI's start) is
allowed by its hash alone, in the policy the page sends
(``headers.docs_policy``). There is no /redoc: ReDoc styles itself with
inline style elements, which the site's policy refuses, and /docs covers the
same document. No OAuth2 flow is declared, so there is no oauth2-redirect
page either."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from scheduler.web.headers import docs_policy

ASSETS = Path(str(files("fastapi_offline") / "static"))  # swagger-ui-bundle.js, swagger-ui.css, favicon.png
ASSETS_URL = "/docs/assets"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
router = APIRouter(include_in_schema=False)


def script_hashes(page: str) -> list[str]:
    """The CSP source of each inline script of ``page``.

    >>> script_hashes('<script src="/a.js"></script><script>go()</script>')
    ["'sha256-5KYv+PUboo5h+0+YAtGRPbwv5d/QxzHslP4YGnUaxRw='"]
    """
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in INLINE_SCRIPT.findall(page)
    ]


@router.api_route("/docs", methods=["GET", "HEAD"])  # HEAD too, as FastAPI's own page
async def swagger_ui_html(request: Request) -> HTMLResponse:
    app = request.app
    at = request.scope.get("root_path", "").rstrip("/")  # behind a proxy's --root-path, as FastAPI's own page
    page = get_swagger_ui_html(
        openapi_url=at + app.openapi_url,
        title=f"{app.title} - Swagger UI",
        oauth2_redirect_url=None,
        swagger_js_url=f"{at}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{at}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{at}{ASSETS_URL}/favicon.png",
        swagger_ui_parameters=app.swagger_ui_parameters,
    )
    page.headers["Content-Security-Policy"] = docs_policy(script_hashes(page.body.decode()))
    return page
