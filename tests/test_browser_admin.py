"""The administration pages in a real browser (Debian's Chromium driven by
Playwright, 360×740, Vietnamese) against the real service: the
administrator uploads a broken schedule and sees every problem with its
line, then a fixed one, sees the preview, loads it and sees what changed;
adds a user and disables them. Every page is screenshotted (tests/screenshots/),
fits the phone's width and labels every input.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from browser import ADMIN, EDITOR, PASSWORD, PRODUCER, fits

UPLOADS = Path(__file__).parent / "data" / "upload"
BROKEN_LINES = (11, 132, 213, 215)  # see tests/data/upload/broken.yaml
EXPECTED = {"created": 5, "revised": 1, "cancelled": 1, "unchanged": 48}  # fixed.yaml over the bundled plan

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def submit(phone, selector: str, step: str) -> int:
    """Press a form's button; the status of the page it leads to."""
    page = phone.page
    with page.expect_navigation() as answer:
        page.click(selector)
    phone.snap(step)
    return answer.value.status


def counts(page, scope: str) -> dict[str, int]:
    return {k: int(page.inner_text(f"{scope} li.count-{k} strong")) for k in EXPECTED}


def test_admin_uploads_a_broken_schedule_then_a_fixed_one_and_loads_it(phone):
    page = phone.page
    phone.sign_in(ADMIN, PASSWORD, "start-page")
    assert phone.path() == "/admin"  # an administrator starts here
    fits(phone.page, "overview")
    assert page.locator('table#plans tr[data-plan="phu-tho-2024"]').count() == 1
    with page.expect_navigation():
        page.click('ul#sections a[href="/admin/schedules"]')
    phone.snap("schedules")
    fits(phone.page, "schedules")
    assert page.get_attribute("input#files", "accept") == ".yaml,.yml"

    page.set_input_files("input#files", str(UPLOADS / "broken.yaml"))
    assert submit(phone, "#check-submit", "broken-file-refused") == 422
    fits(phone.page, "problems")
    problems = page.locator("section#problems li.problem p.problem-text")
    assert problems.count() == len(BROKEN_LINES)
    for line in BROKEN_LINES:
        text = page.locator(f'li.problem[data-line="{line}"] p.problem-text')
        assert text.is_visible() and text.inner_text().startswith(f"broken.yaml:{line}: ")
        excerpt = page.locator(f'li.problem[data-line="{line}"] pre.excerpt mark')
        assert excerpt.is_visible() and excerpt.inner_text().strip().startswith(f"{line} │")
    assert page.locator("form#load").count() == 0  # nothing to load

    page.set_input_files("input#files", str(UPLOADS / "fixed.yaml"))
    assert submit(phone, "#check-submit", "preview") == 200
    fits(phone.page, "preview")
    preview = 'section#preview section[data-plan="phu-tho-2024"]'
    assert counts(page, preview) == EXPECTED
    assert page.locator(f'{preview} li[data-id="phu-tho-2024.thi-tim-hieu-cchc.2024-Q3.1"]').is_visible()

    with page.expect_navigation():
        page.click("#load-submit")
    page.wait_for_url(re.compile(r"/admin/schedules/loads/[\d,]+$"))
    phone.snap("loaded")
    fits(phone.page, "what changed")
    loaded = counts(page, 'section.load[data-plan="phu-tho-2024"]')
    assert loaded == EXPECTED and all(loaded[k] > 0 for k in ("created", "revised", "cancelled"))
    assert page.locator('ul[id$="-created"] li[data-id="phu-tho-2024.ban-tin-cchc.2024-Q2.1"]').is_visible()

    phone.goto("/admin/schedules", "recent-loads")
    assert page.locator("table#loads tbody tr").count() == 2
    phone.goto("/admin", "overview-after-load")
    assert page.inner_text('table#plans tr[data-plan="phu-tho-2024"] td.number') == "55"


def test_admin_adds_a_user_and_disables_them(phone):
    page = phone.page
    phone.sign_in(ADMIN, PASSWORD, "start-page")
    phone.goto("/admin/users", "users")
    fits(phone.page, "users")
    assert page.locator(f'table#users tr[data-email="{PRODUCER}"]').count() == 1
    page.fill("form#add-user #email", "phongvien2@bao.example")
    page.fill("form#add-user #name", "Lê Mai")
    page.check("form#add-user #role-producer")
    page.select_option("form#add-user #agency", "bao-phu-tho")
    page.select_option("form#add-user #lang", "vi")
    assert page.is_checked("form#add-user #send_link")
    phone.snap("add-user-filled")
    assert submit(phone, "#add-user-submit", "user-added") == 200
    assert re.fullmatch(r"/admin/users/\d+\?done=added-link.*", phone.path())
    assert "phongvien2@bao.example" in page.inner_text("#done")
    fits(phone.page, "user")

    assert submit(phone, "form#disable-user button", "user-disabled") == 200
    assert page.locator("#user-state.state-disabled").is_visible()
    assert page.locator("form#enable-user").count() == 1 and page.locator("form#disable-user").count() == 0
    phone.goto("/admin/users", "users-after")
    row = page.locator('table#users tr[data-email="phongvien2@bao.example"]')
    assert row.locator("td.state-disabled").count() == 1 and "Lê Mai" in row.inner_text()


@sqlite_only
def test_every_admin_page_fits_a_phone_and_labels_every_input(phone, site):
    result = site.cli("subscribe", "--email", EDITOR, "--agency", "dai-ptth", "--no-milestones")
    assert result.code == 0, result.err
    page = phone.page
    phone.sign_in(ADMIN, PASSWORD, "start-page")
    fits(phone.page, "overview")
    for path, step in (
        ("/admin/users", "users"),
        ("/admin/subscriptions", "subscriptions"),
        ("/admin/schedules", "schedules"),
        ("/admin/tokens", "tokens"),
    ):
        response = phone.goto(path, step)
        assert response.status == 200
        fits(phone.page, step)
    page.select_option("#token-user", ADMIN)
    assert submit(phone, "#create-token-submit", "token-shown-once") == 200
    fits(phone.page, "token")
    token = page.inner_text("code#token")
    assert token.startswith("mps_")
    answer = page.request.get("/api/users", headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 200
    phone.goto("/admin/tokens", "tokens-again")
    assert token not in page.content()
    assert submit(phone, "table#tokens tbody tr form button", "token-revoked") == 200
    assert page.request.get("/api/users", headers={"Authorization": f"Bearer {token}"}).status == 401

    phone.goto("/admin/subscriptions", "subscriptions-again")
    assert "Đài Phát thanh và Truyền hình tỉnh" in page.inner_text("table#subscriptions tbody tr")
    assert submit(phone, "table#subscriptions tbody tr form button", "subscription-revoked") == 200
    assert page.locator("table#subscriptions tbody tr form").count() == 0
    phone.goto("/admin/users", "users-again")
    with page.expect_navigation():
        page.click(f'table#users tr[data-email="{EDITOR}"] a')
    phone.snap("editor")
    fits(phone.page, "user")
    assert page.locator("form#edit-user").count() == 1
