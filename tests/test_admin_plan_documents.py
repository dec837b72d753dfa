"""A plan document uploaded on /admin/schedules, through the real app on
SQLite and PostgreSQL: its lines shown with their numbers beside the draft
(or, while the importer is not installed, the page says so), documents too
large or of another kind refused with their name (in Vietnamese, the
administrator's language), and the corrected draft
sent into the usual check and preview."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import web_session
from html_tree import html
from scheduler.bounds import MAX_PLAN_DOCUMENT
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.web.app import create_app
from scheduler.web.auth import set_password

ROOT = Path(__file__).parent.parent
PLAN = ROOT / "tests" / "data" / "plans" / "ke-hoach-tuyen-truyen-cchc-phu-tho-2024.txt"
NOW, PASSWORD, ADMIN = "2024-03-20 10:00", "mat-khau-du-dai", "quantri@tttt.example"


@pytest.fixture
def admin(cli, db_url) -> TestClient:
    assert cli("load", "--now", "2024-01-02").code == 0
    assert cli("users", "add", ADMIN, "--role", "admin").code == 0
    db = Database(db_url)
    with db.transaction() as s:
        set_password(s, find_user(s, ADMIN), PASSWORD, parse_now(NOW, DEFAULT_TZ))
    app = create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ)))
    yield web_session.signed_in(app, ADMIN, PASSWORD)
    db.close()


def token(client: TestClient) -> str:
    page = html(client.get("/admin/schedules"))
    return page.one("form", id="document-upload").one("input", name="csrf").attrs["value"]


def send(client: TestClient, name: str, data: bytes, csrf: str | None = None, year: str = ""):
    return client.post(
        "/admin/schedules/document",
        data={"csrf": token(client) if csrf is None else csrf, "year": year},
        files=[("document", (name, data, "application/octet-stream"))],
    )


def test_a_text_plan_is_shown_line_by_line_beside_its_draft(admin):
    answer = send(admin, "ke-hoach.txt", PLAN.read_bytes())
    assert answer.status_code == 200, answer.text
    page = html(answer)
    lines = PLAN.read_text(encoding="utf-8").splitlines()
    numbers = [
        int(row.attrs["data-line"])
        for row in page.one("table", cls="source-lines").all("tr")
        if "data-line" in row.attrs
    ]
    assert numbers == list(range(1, len(lines) + 1))
    header = page.one("tr", id="source-85")
    assert "Số TT" in header.text() and "Cơ quan chủ trì" in header.text()
    assert len(header.all("span", cls="cell")) == 5
    assert page.one("tr", id="source-3").text() == "3 KẾ HOẠCH"
    draft = page.one("textarea", id="draft-yaml").text()
    assert 'cadence: "02 số/tháng"' in draft, draft[:400]  # the plan's row 1, read
    assert page.one("form", id="draft-form").attrs["action"] == "/admin/schedules/draft"


@pytest.mark.parametrize(
    "name,data,status,words",
    [
        ("ke-hoach.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, 422, "ke-hoach.doc: tệp Word .doc kiểu cũ"),
        ("ke-hoach.gif", b"GIF89a", 422, "ke-hoach.gif: không phải văn bản kế hoạch"),
        ("scan.pdf", b"%PDF-1.4\n" + b"x" * 100, 422, "scan.pdf: không đọc được tệp PDF"),
        ("big.txt", b"a" * (MAX_PLAN_DOCUMENT + 1), 422, "big.txt: văn bản lớn hơn 20 MiB"),
        ("bigger.txt", b"a" * (MAX_PLAN_DOCUMENT + 2**20), 413, "Văn bản quá lớn: tối đa 20 MiB"),
    ],
    ids=["doc", "gif", "broken-pdf", "too-large", "body-too-large"],
)
def test_documents_of_another_kind_or_too_large_are_refused(admin, name, data, status, words):
    answer = send(admin, name, data)
    assert answer.status_code == status, answer.text[:500]
    assert words in html(answer).one("p", id="upload-error").text()


def test_the_document_form_needs_its_csrf_token(admin):
    assert send(admin, "ke-hoach.txt", PLAN.read_bytes(), csrf="forged").status_code == 403


def test_a_corrected_draft_goes_through_the_usual_check(admin):
    schedule = (ROOT / "schedules" / "phu-tho-2024.yaml").read_text(encoding="utf-8")
    csrf = token(admin)
    answer = admin.post(
        "/admin/schedules/draft",
        data={"csrf": csrf, "name": "phu-tho-2024", "yaml": schedule},
        files=[("x", ("", b""))],
    )
    assert answer.status_code == 200, answer.text[:500]
    page = html(answer)
    assert page.one("section", id="preview").one("section", cls="plan").attrs["data-plan"] == "phu-tho-2024"
    assert page.one("form", id="load").all("input", name="name")[0].attrs["value"] == "phu-tho-2024.yaml"
    broken = admin.post(
        "/admin/schedules/draft",
        data={"csrf": csrf, "name": "nhap.yaml", "yaml": schedule.replace("timezone:", "timezon:", 1)},
        files=[("x", ("", b""))],
    )
    assert broken.status_code == 422
    assert html(broken).one("section", id="problems").all("li", cls="problem")[0].attrs["data-source"] == "nhap.yaml"
