"""The DHA's pages in a real browser (Debian's Chromium through Playwright,
a 360×740 phone in Vietnamese) against the real service: from the dashboard
to a delivered episode's file and its verified hashes, an excuse, a report
downloaded. Every page is screenshotted (tests/screenshots/<test>/) and
checked for sideways scrolling and unlabelled inputs."""

from __future__ import annotations

import hashlib
import re

import pytest

from browser import DHA, NOW, PASSWORD, PRODUCER, fits

EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.1"  # delivered with a file before the DHA looks
SECOND = "phu-tho-2024.cchc-radio-tv.2024-03.2"  # still open: the DHA excuses it
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4000  # an MP4 header: detected as video/mp4

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def click_to(phone, selector: str, step: str) -> None:
    with phone.page.expect_navigation():
        phone.page.click(selector)
    phone.snap(step)
    fits(phone.page, step)


def test_the_dha_drills_down_to_a_delivered_file_and_excuses_another_occurrence(phone, site, tmp_path):
    recording = tmp_path / "Phóng sự tháng 3.mp4"
    recording.write_bytes(MP4)
    result = site.cli(
        "deliver",
        EPISODE,
        "--by",
        PRODUCER,
        "--at",
        "2024-03-14 19:30",
        "--duration",
        "00:12:00",
        "--file",
        str(recording),
        "--now",
        NOW,
    )
    assert result.code == 0, result.err
    page = phone.page

    phone.sign_in(DHA, PASSWORD, "dashboard")
    assert phone.path() == "/dashboard"
    fits(page, "dashboard")
    march = page.locator('table#heatmap tr[data-agency="dai-ptth"] td[data-month="2024-03"]')
    assert march.inner_text().split() == ["1/1", "100%"]
    assert page.locator("dl#totals").is_visible()

    click_to(phone, 'table#heatmap tr[data-agency="dai-ptth"] th a', "agency")
    assert phone.path().startswith("/dashboard/agencies/dai-ptth?")
    click_to(phone, 'table#obligations tr[data-key="cchc-radio-tv"] th a', "obligation")
    assert phone.path().startswith("/dashboard/agencies/dai-ptth/obligations/cchc-radio-tv?")
    row = page.locator(f'table#occurrences tr[data-id="{EPISODE}"]')
    assert row.locator("span.state-on_time").count() == 1
    click_to(phone, f'table#occurrences tr[data-id="{EPISODE}"] th a', "delivered-occurrence")
    assert phone.path() == f"/o/{EPISODE}"

    audit = page.locator("div.audit").first
    assert audit.locator("p.verification.verified").is_visible()
    assert re.fullmatch(r"[0-9a-f]{64}", audit.locator("code.hash").first.inner_text().strip())
    sha256 = hashlib.sha256(MP4).hexdigest()
    file = audit.locator(f'li.file[data-sha256="{sha256}"]')
    assert sha256 in file.inner_text()
    with page.expect_download() as download:
        file.locator("a").click()
    got = download.value
    assert got.suggested_filename == "Phóng sự tháng 3.mp4"
    with open(got.path(), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == sha256

    phone.goto(f"/o/{SECOND}", "open-occurrence")
    fits(page, "open occurrence")
    assert page.locator("form#excuse-form").count() == 1
    page.fill("#excuse-reason", "Khung giờ phát sóng dành cho tin khẩn cấp về bão số 3")
    phone.snap("excuse-filled")
    page.click("#excuse-submit")
    page.wait_for_url(re.compile(rf"/o/{re.escape(SECOND)}\?recorded=\d+$"))
    phone.snap("excused")
    fits(page, "excused")
    assert page.locator("#recorded.notice").is_visible()
    assert page.locator("dl#details span.state.state-excused").is_visible()
    assert page.locator("form#excuse-form").count() == 0
    seq = phone.path().rsplit("=", 1)[1]
    assert "bão số 3" in page.locator(f'ol#history li.entry[data-seq="{seq}"]').inner_text()

    phone.goto("/dashboard?period=2024-03", "dashboard-march")
    fits(page, "dashboard for March")
    assert page.locator('table#agencies tr[data-key="dai-ptth"] td[data-count="excused"]').inner_text() == "1"
    with page.expect_download() as download:
        page.click('section#downloads a[data-format="xlsx"]')
    assert download.value.suggested_filename == "compliance-phu-tho-2024-2024-03.xlsx"
    with open(download.value.path(), "rb") as f:
        assert f.read(2) == b"PK"  # a workbook is a zip


@sqlite_only
def test_the_period_form_and_the_ledger_check(phone):
    page = phone.page
    phone.sign_in(DHA, PASSWORD, "dashboard")
    fits(page, "dashboard")
    page.select_option("select#period", "2024-Q1")
    page.check("#cutoff")
    phone.snap("period-chosen")
    click_to(phone, "#period-submit", "first-quarter-cut-off")
    assert "period=2024-Q1" in phone.path() and "cutoff=1" in phone.path()
    assert "15/12/2023" in page.inner_text("#period-line")
    assert page.locator("table#heatmap thead th").nth(1).inner_text().strip() == "T12/23"

    response = phone.goto("/dashboard/report.html?period=2024-Q1", "printable-report")
    assert response.status == 200 and page.locator("svg.heatmap").count() == 1

    phone.goto("/dashboard", "dashboard-again")
    click_to(phone, "form#verify-ledger button", "ledger-verified")
    assert page.locator("#ledger-result.notice").is_visible()

    phone.goto("/dashboard?period=2024-Q7", "bad-period")
    assert page.locator("#period-error").is_visible()
    fits(page, "bad period")
