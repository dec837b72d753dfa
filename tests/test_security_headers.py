"""What every answer tells the browser (a Content-Security-Policy with no
inline script, no framing, a Referrer-Policy, nosniff), the pages' own CSS
and scripts served from /static, and password links kept out of the logs."""

from __future__ import annotations

import logging
from datetime import UTC

import pytest
from fastapi.testclient import TestClient

from html_tree import html
from scheduler.clock import Clock
from scheduler.rendering import TEMPLATES
from scheduler.settings import ROOT, Settings
from scheduler.store.database import Database
from scheduler.web.app import MaskFeedTokens, create_app

PAGES = ["/login", "/password/forgot", "/password/set/abcdef", "/nothing-here"]


@pytest.fixture
def client(tmp_path):
    settings = Settings.load(env={"OUTPUTS_DIR": str(tmp_path)})
    db = Database(settings.database_url)
    yield TestClient(create_app(settings, db, Clock(UTC)), follow_redirects=False)
    db.close()


def policy(header: str) -> dict[str, str]:
    return {d.split()[0]: " ".join(d.split()[1:]) for d in header.split(";") if d.strip()}


@pytest.mark.parametrize("path", PAGES)
def test_every_page_forbids_inline_scripts_framing_and_sniffing(client, path):
    r = client.get(path)
    csp = policy(r.headers["content-security-policy"])
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'" and csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
    assert csp["form-action"] == "'self'"
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    expected = "no-referrer" if path.startswith("/password/set/") else "same-origin"
    assert r.headers["referrer-policy"] == expected


def test_a_feed_keeps_its_own_referrer_policy(client):
    r = client.get("/feeds/unknown-token.ics")
    assert r.status_code == 404 and r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"


def test_the_api_docs_load_their_script_from_this_site_alone(client):
    """Swagger UI comes from an installed package, not a CDN (more in test_api_docs)."""
    r = client.get("/docs")
    assert r.status_code == 200 and policy(r.headers["content-security-policy"])["script-src"].startswith(
        "'self' 'sha256-"
    )
    assert "http" not in r.headers["content-security-policy"]


def test_no_template_has_an_inline_script_or_style_element():
    """The policy would block them: the pages' CSS and JavaScript live in scheduler/web/static/."""
    printable = {"report.html", "report_consolidated.html", "_report_style.html"}  # documents on their own
    for path in TEMPLATES.glob("*.html"):  # mail/ and the printable reports are not pages of the site
        if path.name in printable:
            continue
        text = path.read_text(encoding="utf-8")
        assert "<style" not in text and "<script>" not in text and " onclick=" not in text, path.name


def test_the_pages_link_their_css_and_scripts_and_each_is_served(client):
    page = html(client.get("/login"))
    links = [a.attrs["href"] for a in page.all("link", rel="stylesheet")]
    assert "/static/base.css" in links
    for name in sorted(p.name for p in (ROOT / "scheduler" / "web" / "static").iterdir()):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and r.content == (ROOT / "scheduler" / "web" / "static" / name).read_bytes()
        assert r.headers["content-type"].startswith("text/css" if name.endswith(".css") else "text/javascript")
    assert client.get("/static/../scheduler/settings.py").status_code == 404


def test_password_links_are_masked_in_the_access_log_like_feed_tokens():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/password/set/S3cr3t-t0ken?lang=en", "1.1", 303),
        None,
    )
    MaskFeedTokens().filter(record)
    line = record.getMessage()
    assert "S3cr3t-t0ken" not in line and "/password/set/***?lang=en" in line
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/login?next=%2Fpassword%2Fset%2FS3cr3t", "1.1", 200),
        None,
    )
    MaskFeedTokens().filter(record)
    assert "S3cr3t" not in record.getMessage()


def test_the_printable_report_keeps_its_inline_style_and_runs_nothing():
    from scheduler.store.reporting import ReportFile

    csp = policy(ReportFile(b"", "text/html; charset=utf-8", "r.html", True).headers()["Content-Security-Policy"])
    assert csp["default-src"] == "'none'" and csp["style-src"] == "'unsafe-inline'" and "script-src" not in csp
    assert "Content-Security-Policy" not in ReportFile(b"", "text/csv", "r.csv", False).headers()
