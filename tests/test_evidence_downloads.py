"""Evidence files are sent so that a browser never runs them: whatever type
an entry recorded (files recorded before the safe list may say text/html,
image/svg+xml or a JavaScript type), anything not on the safe list goes out
as application/octet-stream, as an attachment, never sniffed."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.evidence.deliveries import Evidence, FileRef
from scheduler.evidence.file_rules import OCTET, served_type, trusted_type
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.files import EvidenceStore
from scheduler.store.recording import actor_by_email, record_delivery
from scheduler.web.app import create_app

EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.1"
NOW = "2024-03-20 10:00"
PAGE = b"<!doctype html><script>fetch('/admin')</script>"
ACTIVE = [
    "text/html",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "text/ecmascript",
    "application/ecmascript",
    "text/jscript",
    "text/x-javascript",
    "module",
    "text/javascript; charset=utf-8",
    "TEXT/HTML",
    "image/svg+xml",
    "application/xhtml+xml",
    "text/xml",
    "application/xml",
    "text/xsl",
    "text/css",
    "application/x-shockwave-flash",
    "application/pdf+html",
    "multipart/x-mixed-replace",
    "",
    None,
]


@pytest.mark.parametrize("recorded", ACTIVE)
def test_an_active_or_unknown_type_is_sent_as_octet_stream(recorded):
    assert served_type(recorded) == OCTET


@pytest.mark.parametrize(
    "recorded", ["video/mp4", "audio/mpeg", "image/png", "application/pdf", "text/csv", "text/plain"]
)
def test_a_safe_type_is_sent_as_recorded(recorded):
    assert served_type(recorded) == recorded


@pytest.mark.parametrize("declared", ["text/x-javascript", "text/jscript", "text/vbscript", "text/html"])
def test_a_text_upload_of_an_active_kind_is_kept_as_plain_text(declared):
    assert trusted_type("x", declared, b"alert(1)") == "text/plain"


@pytest.mark.parametrize("recorded", ["text/html", "image/svg+xml", "application/javascript"])
def test_a_file_recorded_with_an_active_type_downloads_as_an_inert_attachment(cli, db_url, tmp_path, recorded):
    assert cli("load", "--now", "2024-01-02").code == 0
    assert cli("users", "add", "prod@dai.example", "--role", "producer", "--agency", "dai-ptth").code == 0
    token = cli("tokens", "create", "--user", "prod@dai.example").out.strip().splitlines()[-1]
    settings = Settings.load()
    store = EvidenceStore(settings.outputs_dir / "evidence", settings.evidence_limit)
    with store.writer("page.html", None) as writer:  # the bytes as an earlier version kept them
        writer.write(PAGE)
        store.commit(writer.finish())
    sha = hashlib.sha256(PAGE).hexdigest()
    db = Database(db_url)
    now = parse_now(NOW, DEFAULT_TZ)
    try:
        with db.transaction() as s:
            evidence = Evidence(
                parse_now("2024-03-14 19:30", DEFAULT_TZ),
                "aired",
                630,
                files=(FileRef(sha, len(PAGE), "page.html", recorded),),
            )
            seq = record_delivery(
                s, actor_by_email(s, "prod@dai.example"), evidence, now, settings.base_url, EPISODE
            ).seq
        client = TestClient(create_app(settings, db, Clock(DEFAULT_TZ, now)))
        r = client.get(f"/api/ledger/{seq}/files/{sha}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.content == PAGE
        assert r.headers["content-type"] == OCTET
        assert r.headers["content-disposition"].startswith("attachment;")
        assert r.headers["x-content-type-options"] == "nosniff"
    finally:
        db.close()
