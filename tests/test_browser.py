"""The producer pages in a real browser: Debian's Chromium driven by
Playwright on a phone-sized window (360×740, touch, Vietnamese), against the
real service (`python main.py serve --no-scheduler`), on SQLite and, for the
tests that record or disable, on PostgreSQL too.

Every page visited is saved as a full-page screenshot in tests/screenshots/
(git-ignored), one folder per test. In CI (REQUIRE_POSTGRES=1 or CI set) a
missing Chromium fails these tests; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import re
import time

import icalendar
import pytest

from browser import NEWSPAPER, NOW, PASSWORD, PRODUCER, fits

EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.1"  # Đài PT-TH, radio or TV, 10 minutes at least
ARTICLE = "phu-tho-2024.bao-phu-tho-cchc.2024-03.1"  # Báo Phú Thọ, print or online
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4000  # an MP4 header: detected as video/mp4
PDF = b"%PDF-1.4\n" + b"x" * 300

# Recording, correcting and disabling touch the database in ways that differ
# between SQLite and PostgreSQL; the other tests exercise the pages alone, so
# they run on SQLite only (each test starts its own service: seconds count).
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def deliver_by_cli(site, occurrence: str, *extra: str) -> None:
    result = site.cli("deliver", occurrence, "--by", PRODUCER, "--at", "2024-03-14 19:30", "--now", NOW, *extra)
    assert result.code == 0, result.err


def entries(page) -> list[tuple[str, bool]]:
    """The history's entries: (seq, superseded)."""
    return [
        (li.get_attribute("data-seq"), "superseded" in (li.get_attribute("class") or "").split())
        for li in page.query_selector_all("section#evidence ol#history li.entry")
    ]


def form_fields(page, form: str = "form#deliver") -> dict[str, str]:
    """What a form would send, files left out."""
    return page.evaluate(
        """(sel) => {
        const out = {};
        for (const [k, v] of new FormData(document.querySelector(sel))) if (typeof v === 'string') out[k] = v;
        return out;
    }""",
        form,
    )


def form_path(page, form: str = "form#deliver") -> str:
    return page.evaluate("(sel) => new URL(document.querySelector(sel).action).pathname", form)


def fill_duration(page, value: str) -> None:
    """`#duration` as text ("00:10:30") or, if the page made it a number, in seconds."""
    if page.get_attribute("#duration", "type") == "number":
        h, m, s = (int(x) for x in value.split(":"))
        value = str(h * 3600 + m * 60 + s)
    page.fill("#duration", value)


def feed_summary(site, occurrence: str, deadline: float = 10) -> str:
    """Subscribe as a person would and read the occurrence's SUMMARY over
    HTTP (the feed cache refreshes at most once a second)."""
    result = site.cli("subscribe", "--email", "watch@x.example", "--obligation", "cchc-radio-tv", "--no-milestones")
    assert result.code == 0, result.err
    token = re.search(r"/feeds/([A-Za-z0-9_-]+)\.ics", result.out)[1]
    time.sleep(1.1)
    end = time.monotonic() + deadline
    while True:
        cal = icalendar.Calendar.from_ical(site.server.get(f"/feeds/{token}.ics"))
        summary = next(str(e["SUMMARY"]) for e in cal.walk("VEVENT") if occurrence in str(e["UID"]))
        if summary.startswith("✓") or time.monotonic() > end:
            return summary
        time.sleep(0.3)


@sqlite_only
def test_sign_in(phone):
    page = phone.page
    phone.goto("/login", "login")
    assert page.locator("form#login #email").is_visible() and page.locator("form#login #password").is_visible()
    page.fill("#email", PRODUCER)
    page.fill("#password", "sai-mat-khau-roi")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("form#login [type=submit]")
    phone.snap("wrong-password")
    assert answer.value.status == 401
    assert phone.path().startswith("/login")
    assert page.locator(".error").is_visible()
    assert page.input_value("#email") == PRODUCER  # kept, so only the password is typed again
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("form#login [type=submit]")
    phone.snap("my-work")
    assert phone.path() == "/me"
    assert page.inner_text("h1").strip() == "Việc của tôi"
    item = page.locator(f'ul#my-work li.occurrence[data-id="{EPISODE}"]')
    assert item.count() == 1
    assert item.locator(f'a[href="/o/{EPISODE}"]').count() == 1
    assert page.locator("a.record-period").count() >= 1
    assert page.locator(f'ul#my-work li.occurrence[data-id="{ARTICLE}"]').count() == 0  # not this agency's
    assert page.locator('header form[action="/logout"] button').count() == 1
    switch = page.locator('header form[action="/lang"] button')
    assert switch.inner_text().strip() == "English"

    with page.expect_navigation():
        switch.click()
    phone.snap("my-work-english")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator('header form[action="/lang"] button').inner_text().strip() == "Tiếng Việt"
    with page.expect_navigation():
        page.click('header form[action="/lang"] button')
    phone.snap("my-work-vietnamese-again")
    assert page.inner_text("h1").strip() == "Việc của tôi"

    with page.expect_navigation():
        page.click('header form[action="/logout"] button')
    phone.snap("signed-out")
    assert phone.path().startswith("/login")
    phone.goto("/me", "me-after-sign-out")
    assert phone.path().startswith("/login")


def test_producer_records_an_episode_with_a_file(phone, site, tmp_path):
    page = phone.page
    recording = tmp_path / "Phóng sự tháng 3.mp4"
    recording.write_bytes(MP4)
    minutes = tmp_path / "bien-ban.pdf"
    minutes.write_bytes(PDF)

    phone.sign_in(PRODUCER, PASSWORD, "my-work")
    with page.expect_navigation():
        page.click(f'ul#my-work li.occurrence[data-id="{EPISODE}"] a[href="/o/{EPISODE}"]')
    phone.snap("occurrence")
    assert phone.path() == f"/o/{EPISODE}"
    assert page.locator("h1").is_visible() and page.locator("dl#details").is_visible()
    assert entries(page) == []
    form = page.locator("form#deliver")
    assert form.count() == 1
    assert page.get_attribute("#aired_at", "type") == "datetime-local"
    assert page.locator("#published_at").count() == 0  # radio and TV air; they are not published
    assert page.locator("progress#upload-progress").count() == 1

    page.fill("#aired_at", "2024-03-14T19:30")
    fill_duration(page, "00:10:30")
    page.fill("#url", "https://vod.example/cchc/2024-03-1")
    page.fill("#title", "Số 1 tháng 3: một cửa liên thông")
    page.fill("#note", "Phát trên sóng truyền hình, phát lại trên radio ngày 15/03")
    files = [recording, minutes] if page.get_attribute("input#files", "multiple") is not None else [recording]
    page.set_input_files("input#files[type=file]", [str(f) for f in files])
    phone.snap("form-filled")
    page.click("#deliver-submit")
    page.wait_for_url(re.compile(rf"/o/{re.escape(EPISODE)}\?recorded=\d+$"))
    phone.snap("recorded")
    seq = phone.path().rsplit("=", 1)[1]
    assert page.locator("#recorded.notice").is_visible()
    assert entries(page) == [(seq, False)]
    entry = page.locator(f'ol#history li.entry[data-seq="{seq}"]')
    link = entry.locator("a", has_text="Phóng sự tháng 3.mp4")
    assert link.count() == 1
    download = page.request.get(link.get_attribute("href"))  # with the page's cookies
    assert download.status == 200 and download.body() == MP4
    assert "Ph%C3%B3ng%20s%E1%BB%B1" in download.headers["content-disposition"]
    if len(files) == 2:
        pdf = entry.locator("a", has_text="bien-ban.pdf")
        assert page.request.get(pdf.get_attribute("href")).body() == PDF

    phone.goto(f"/o/{EPISODE}", "occurrence-again")  # what was recorded stays without the notice
    assert page.locator("#recorded").count() == 0 and entries(page) == [(seq, False)]
    summary = feed_summary(site, EPISODE)
    assert summary.startswith("✓"), summary


@sqlite_only
def test_upload_shows_progress(phone, tmp_path):
    """A large file from a slow phone: the small script shows its progress."""
    page = phone.page
    recording = tmp_path / "ban-day-du.mp4"
    recording.write_bytes(MP4 + b"\x00" * 600_000)
    phone.sign_in(PRODUCER, PASSWORD, "my-work", next_path=f"/o/{EPISODE}")
    assert phone.path() == f"/o/{EPISODE}"
    page.fill("#aired_at", "2024-03-14T19:30")
    fill_duration(page, "00:10:30")
    page.set_input_files("input#files", str(recording))
    cdp = phone.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",  # about 3 s to send the file
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 200_000},
    )
    page.click("#deliver-submit", no_wait_after=True)
    progress = page.locator("progress#upload-progress")
    progress.wait_for(state="visible", timeout=5_000)
    page.wait_for_function("() => document.querySelector('progress#upload-progress').value > 0", timeout=5_000)
    phone.snap("uploading")
    page.wait_for_url(re.compile(rf"/o/{re.escape(EPISODE)}\?recorded=\d+$"), timeout=30_000)
    phone.snap("recorded")
    assert page.locator("#recorded.notice").is_visible()


def test_a_correction_supersedes_the_entry(phone, site):
    deliver_by_cli(site, EPISODE, "--duration", "9m")  # too short: the producer corrects it
    page = phone.page
    phone.goto(f"/o/{EPISODE}", "link-from-a-reminder")  # not signed in: the sign-in leads back here
    assert phone.path().startswith("/login?next=")
    page.fill("form#login #email", PRODUCER)
    page.fill("form#login #password", PASSWORD)
    with page.expect_navigation():
        page.click("form#login [type=submit]")
    phone.snap("signed-in")
    assert phone.path() == f"/o/{EPISODE}"
    ((first, superseded),) = entries(page)
    assert not superseded
    options = page.locator("select#supersedes option")
    assert first in [options.nth(i).get_attribute("value") for i in range(options.count())]
    page.select_option("select#supersedes", first)
    page.fill("#aired_at", "2024-03-14T19:30")
    fill_duration(page, "00:11:00")
    page.fill("#note", "Thời lượng đúng là 11 phút")
    phone.snap("correction-filled")
    page.click("#deliver-submit")
    page.wait_for_url(re.compile(rf"/o/{re.escape(EPISODE)}\?recorded=\d+$"))
    phone.snap("corrected")
    seq = phone.path().rsplit("=", 1)[1]
    assert page.locator("#recorded.notice").is_visible()
    assert sorted(entries(page)) == sorted([(first, True), (seq, False)])
    assert page.locator(f'ol#history li.entry.superseded[data-seq="{first}"]').count() == 1


@sqlite_only
def test_a_post_without_its_csrf_token_is_refused(phone):
    page = phone.page
    phone.sign_in(PRODUCER, PASSWORD, "signed-in", next_path=f"/o/{EPISODE}")
    page.fill("#aired_at", "2024-03-14T19:30")
    fill_duration(page, "00:10:30")
    fields = form_fields(page)
    assert fields.get("csrf"), "form#deliver carries no csrf field"
    path = form_path(page)

    page.evaluate("document.querySelectorAll('form#deliver input[name=csrf]').forEach(e => e.remove())")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#deliver-submit")
    page.wait_for_load_state()
    phone.snap("refused")
    assert answer.value.status == 403
    assert page.locator(".error").is_visible()

    forged = {k: v for k, v in fields.items() if k != "csrf"}
    assert page.request.post(path, multipart=forged).status == 403
    assert page.request.post(path, multipart={**forged, "csrf": "not-the-token"}).status == 403
    phone.goto(f"/o/{EPISODE}", "nothing-recorded")
    assert entries(page) == []


@sqlite_only
def test_another_agencys_occurrence_is_refused(phone):
    page = phone.page
    phone.sign_in(NEWSPAPER, PASSWORD, "my-work")
    phone.goto(f"/o/{ARTICLE}", "own-article")
    assert page.locator("form#deliver").count() == 1
    assert page.get_attribute("#published_at", "type") == "datetime-local"  # print and online are published
    assert page.locator("#aired_at").count() == 0
    own = form_path(page)
    csrf = form_fields(page)["csrf"]

    phone.goto(f"/o/{EPISODE}", "station-episode")
    assert page.locator("h1").is_visible()
    assert page.locator("form#deliver").count() == 0
    forged = {
        "csrf": csrf,
        "aired_at": "2024-03-14T19:30",
        "published_at": "2024-03-14T19:30",
        "duration": "00:10:30",
        "title": "Không phải của tôi",
    }
    answer = page.request.post(own.replace(ARTICLE, EPISODE), multipart=forged)
    assert answer.status == 403
    phone.goto(f"/o/{EPISODE}", "still-nothing")
    assert entries(page) == []


def test_a_disabled_user_is_thrown_out(phone, site):
    page = phone.page
    phone.sign_in(PRODUCER, PASSWORD, "my-work")
    assert phone.path() == "/me"
    result = site.cli("users", "disable", PRODUCER)
    assert result.code == 0, result.err
    page.reload()
    phone.snap("after-disable")
    assert phone.path().split("?")[0] == "/login"
    page.fill("#email", PRODUCER)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("form#login [type=submit]")
    phone.snap("sign-in-refused")
    assert phone.path().startswith("/login") and page.locator(".error").is_visible()


@sqlite_only
def test_pages_fit_a_phone_and_label_every_input(phone, site, tmp_path):
    evidence = tmp_path / (
        "Phóng sự chuyên mục cải cách hành chính số 1 tháng 03 năm 2024 bản đầy đủ phát trên sóng truyền hình.mp4"
    )
    evidence.write_bytes(MP4)
    deliver_by_cli(
        site,
        EPISODE,
        "--duration",
        "9m",
        "--url",
        "https://vod.example/chuyen-muc/cai-cach-hanh-chinh/2024/03/so-1-ban-day-du-khong-cat-xen",
        "--file",
        str(evidence),
    )
    page = phone.page

    phone.goto("/login", "login")
    fits(page, "login")
    phone.sign_in(PRODUCER, PASSWORD, "my-work")
    fits(page, "my work")
    phone.goto(f"/o/{EPISODE}", "occurrence-with-history")
    assert len(entries(page)) == 1 and page.locator("select#supersedes").count() == 1
    fits(page, "occurrence")
    phone.goto("/me", "my-work-again")
    href = page.locator("a.record-period").first.get_attribute("href")
    assert href
    response = phone.goto(href, "record-for-a-period")
    assert response.status == 200 and page.locator("form#deliver").count() == 1
    fits(page, "record for a period")
