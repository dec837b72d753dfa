"""The editors' pages in a real browser (Debian's Chromium through Playwright,
a 360×740 phone in Vietnamese) against the real service: the month calendar,
filtering it, subscribing to the view, reading the feed over HTTP as a
calendar app would, revoking it. Every page is screenshotted
(tests/screenshots/<test>/); each must fit the phone and label its inputs."""

from __future__ import annotations

import time
import urllib.error
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest

from browser import EDITOR, PASSWORD, fits
from scheduler.i18n import gettext_for

EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.1"
vi = gettext_for("vi")
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def visible_items(page) -> list[str]:
    return [li.get_attribute("data-id") for li in page.locator("#month-grid li.occurrence").all() if li.is_visible()]


def fetch(site, path: str) -> int | bytes:
    """The feed over real HTTP: its bytes, or the error status."""
    try:
        return site.server.get(path)
    except urllib.error.HTTPError as e:
        return e.code


def until(check, seconds: float = 5):
    """Poll: the feed cache looks at the database at most once a second."""
    deadline = time.monotonic() + seconds
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def test_an_editor_subscribes_to_a_program_and_the_feed_works(phone, site):
    page = phone.page
    phone.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    phone.sign_in(EDITOR, PASSWORD, "calendar")
    assert phone.path() == "/calendar"  # an editor starts on the calendar
    assert page.locator("#month-grid caption").inner_text().strip() == "Tháng 3 năm 2024"
    headers = [h.strip() for h in page.locator("#month-grid thead th").all_text_contents()]
    assert headers[0].startswith("Thứ Hai") and headers[6].startswith("Chủ Nhật")
    assert page.locator("#month-grid").evaluate("t => getComputedStyle(t).display") == "block"  # a list on phones
    assert page.locator('#month-grid td[data-date="2024-03-15"]').is_visible()
    assert page.locator('#month-grid td[data-date="2024-03-15"] .weekday').inner_text().startswith("Thứ Sáu")
    assert not page.locator('#month-grid td[data-date="2024-03-14"]').is_visible()  # nothing that day
    assert not page.locator('#month-grid td[data-date="2024-02-29"]').is_visible()  # February's
    assert page.locator('#month-grid td[aria-current="date"]').get_attribute("data-date") == "2024-03-20"
    march = visible_items(page)
    assert EPISODE in march and any(".bao-phu-tho-cchc." in i for i in march)
    fits(page, "calendar")

    assert not page.locator("#obligation").is_visible()  # the filters fold away on a phone
    page.click("#filter-box summary")
    page.select_option("#obligation", "cchc-radio-tv")
    with page.expect_navigation():
        page.click("#show")
    phone.snap("calendar-filtered")
    assert parse_qs(urlsplit(phone.path()).query)["obligation"] == ["cchc-radio-tv"]
    assert page.locator("#filter-box .active-filters").inner_text() == 'Chuyên mục "Cải cách hành chính"'
    filtered = visible_items(page)
    assert filtered == [EPISODE, EPISODE.replace(".1", ".2")]
    fits(page, "filtered calendar")

    with page.expect_navigation():
        page.click("#subscribe-view")
    phone.snap("subscriptions-prefilled")
    assert phone.path().startswith("/subscriptions?")
    assert page.input_value("#obligation") == "cchc-radio-tv" and not page.is_checked("#milestones")
    fits(page, "subscriptions")

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#subscribe-submit")
    page.wait_for_load_state()
    phone.snap("subscribed")
    assert answer.value.status == 201 and answer.value.headers["cache-control"] == "no-store"
    https = page.input_value("#feed-url")
    assert page.get_attribute("#webcal-link", "href") == "webcal://" + https.split("://", 1)[1]
    assert "cid=webcal%3A%2F%2F" in page.get_attribute("#google-link", "href")
    assert page.locator("#how ol").count() == 4
    page.click("#copy")  # the JavaScript copy button, shown because the clipboard exists
    assert until(lambda: page.inner_text("#copy-status").strip()) == vi("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == https
    fits(page, "subscribed")

    path = urlsplit(https).path
    assert https.startswith(site.url) and path.startswith("/feeds/")
    body = until(lambda: (lambda r: r if isinstance(r, bytes) else None)(fetch(site, path)))
    assert body, "the new feed never answered"
    uids = [str(e["UID"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")]
    assert len(uids) == 24 and all(u.startswith("occurrence-phu-tho-2024.cchc-radio-tv.") for u in uids)

    with page.expect_navigation():
        page.click("#back-to-subscriptions")
    phone.snap("subscriptions")
    item = page.locator("#subscriptions li.subscription.active")
    assert item.count() == 1 and 'Chuyên mục "Cải cách hành chính"' in item.inner_text()
    assert https not in page.content()  # the address was shown once
    with page.expect_navigation():
        item.locator("form.revoke button").click()
    phone.snap("revoked")
    assert phone.path().startswith("/subscriptions?revoked=")
    assert page.locator("#revoked").is_visible()
    assert page.locator("#subscriptions li.subscription.revoked").count() == 1
    assert page.locator("form.revoke").count() == 0
    fits(page, "after revoke")
    assert until(lambda: fetch(site, path) == 404), "the revoked feed still answers"


@sqlite_only
def test_tet_and_the_desktop_grid(phone):
    page = phone.page
    phone.sign_in(EDITOR, PASSWORD, "calendar")
    phone.goto("/calendar?month=2024-02&milestones=1", "february-with-milestones")
    assert page.locator("#month-grid caption").inner_text().strip() == "Tháng 2 năm 2024"
    assert page.locator('#month-grid td[data-date="2024-02-02"] li.milestone').is_visible()  # recording, 07/02's
    fits(page, "february")
    page.set_viewport_size({"width": 1280, "height": 900})
    phone.snap("february-desktop")
    assert page.locator("#month-grid").evaluate("t => getComputedStyle(t).display") == "table"
    assert page.locator("#month-grid thead th").first.inner_text().strip() == "Thứ Hai"
    tet = page.locator('#month-grid td[data-date="2024-02-12"]')
    assert tet.is_visible() and "off" in tet.get_attribute("class").split()
    assert "Mùng ba Tết Nguyên Đán" in tet.inner_text()
    assert page.locator('#month-grid td[data-date="2024-01-29"]').is_visible()  # January's days fill the week
    phone.goto("/calendar?month=2024-13", "a-month-that-does-not-exist")
    assert page.locator("#month-error").is_visible() and page.locator("#month-grid caption").is_visible()
