"""The API docs work without internet: /docs is Swagger UI served from the
installed package (fastapi-offline) under /docs/assets, the page names no
other origin, its policy allows no origin but this site and no inline
script but the page's own (by hash); /redoc is not served."""

from __future__ import annotations

import re
from datetime import UTC

import pytest
from fastapi.testclient import TestClient

from html_tree import html
from scheduler.clock import Clock
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.web.api_docs import script_hashes
from scheduler.web.app import create_app


@pytest.fixture
def client(tmp_path):
    settings = Settings.load(env={"OUTPUTS_DIR": str(tmp_path)})
    db = Database(settings.database_url)
    yield TestClient(create_app(settings, db, Clock(UTC)), follow_redirects=False)
    db.close()


def policy(header: str) -> dict[str, str]:
    return {d.split()[0]: " ".join(d.split()[1:]) for d in header.split(";") if d.strip()}


def test_the_docs_page_names_no_other_origin(client):
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert not re.search(r"(https?:)?//[a-z0-9.-]+", r.text, re.IGNORECASE), "a URL of another origin"
    assert "cdn" not in r.text.lower()


def test_the_docs_policy_allows_this_site_and_the_pages_own_script_alone(client):
    r = client.get("/docs")
    csp = policy(r.headers["content-security-policy"])
    assert "http" not in r.headers["content-security-policy"] and "unsafe" not in r.headers["content-security-policy"]
    assert csp["default-src"] == "'self'" and csp["style-src"] == "'self'" and csp["img-src"] == "'self' data:"
    inline = script_hashes(r.text)
    assert len(inline) == 1 and csp["script-src"] == "'self' " + inline[0]
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"


def test_the_docs_assets_are_served_by_the_app(client):
    page = html(client.get("/docs"))
    scripts = [s.attrs["src"] for s in page.all("script") if "src" in s.attrs]
    styles = [a.attrs["href"] for a in page.all("link", rel="stylesheet")]
    icons = [a.attrs["href"] for a in page.all("link", rel="shortcut icon")]
    assert scripts == ["/docs/assets/swagger-ui-bundle.js"] and styles == ["/docs/assets/swagger-ui.css"]
    for url, kind in ((scripts[0], "text/javascript"), (styles[0], "text/css"), (icons[0], "image/png")):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind) and len(r.content) > 1000, url
    assert b"SwaggerUIBundle" in client.get(scripts[0]).content
    assert client.get("/openapi.json").json()["paths"]


def test_redoc_and_the_oauth2_redirect_are_not_served(client):
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404
