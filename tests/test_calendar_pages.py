"""The editors' pages through the real app, on SQLite and PostgreSQL: the
month calendar and its filters, subscribing to a view, the feed it gives,
revoking it. HTML is read with the standard library's parser, feeds with
icalendar."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
from sqlalchemy import func, select

import test_pages
from html_tree import Node, html
from scheduler.i18n import gettext_for
from scheduler.store.tables import SubscriptionRow
from test_pages import EPISODE, NOW, SECOND, Site

site = test_pages.site  # the same people and plan as the producer pages' tests

EDITOR = "ed@dai.example"
PRODUCER = "prod@dai.example"
ARTICLE = "phu-tho-2024.bao-phu-tho-cchc.2024-03.1"
PORTAL = "phu-tho-2024.cong-tttt-chuyen-trang.2024-Q1.1"
vi = gettext_for("vi")


def cell(page: Node, day: str) -> Node:
    return page.one("table", id="month-grid").one("td", data_date=day)


def shown(page: Node, kind: str = "occurrence") -> set[str]:
    return {li.attrs["data-id"] for li in page.one("table", id="month-grid").all("li", cls=kind)}


def csrf_of(page: Node) -> str:
    return page.one("form", action="/logout").one("input", name="csrf").attrs["value"]


def selected(page: Node, name: str) -> str:
    return next(o.attrs["value"] for o in page.one("select", id=name).all("option") if "selected" in o.attrs)


def subscribe(client, csrf: str | None, **fields) -> object:
    return client.post("/subscriptions", data={**({"csrf": csrf} if csrf is not None else {}), **fields})


def feed_path(page: Node) -> str:
    return urlsplit(page.one("input", id="feed-url").attrs["value"]).path


def count(site: Site) -> int:
    with site.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(SubscriptionRow))


def test_the_calendar_needs_signing_in(site):
    r = site.client().get("/calendar?month=2024-03")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/calendar")
    assert site.client().get("/subscriptions").status_code == 303
    assert subscribe(site.client(), "x", obligation="cchc-radio-tv").status_code == 303 and count(site) == 0


def test_march_shows_the_station_s_episodes_on_their_due_days(site):
    deliver = site.cli(
        "deliver", EPISODE, "--by", PRODUCER, "--at", "2024-03-14 19:30", "--now", NOW, "--duration", "10m"
    )
    assert deliver.code == 0, deliver.err
    r = site.client(EDITOR).get("/calendar")  # the month of "now", 20/03/2024
    assert r.status_code == 200
    page = html(r)
    table = page.one("table", id="month-grid")
    assert table.one("caption").text() == "Tháng 3 năm 2024" and table.attrs["data-month"] == "2024-03"
    headers = table.one("thead").all("th")
    assert [th.attrs["scope"] for th in headers] == ["col"] * 7
    assert headers[0].one("span", cls="long").text() == "Thứ Hai" and headers[6].text().startswith("Chủ Nhật")
    first = cell(page, "2024-03-15")
    assert "15/03/2024" in first.one("time").text()
    link = first.one("li", data_id=EPISODE).one("a")
    assert link.attrs["href"] == f"/o/{EPISODE}" and link.text().startswith("✓")
    assert 'Chuyên mục "Cải cách hành chính" – số 1' in link.text()
    assert first.one("li", data_id=EPISODE).one("span", cls="state").classes >= {"state-on_time"}
    last = cell(page, "2024-03-29")
    assert {li.attrs["data-id"] for li in last.all("li")} >= {SECOND, ARTICLE, PORTAL}
    assert last.one("li", data_id=SECOND).one("span", cls="state").text() == vi("Pending")
    today = cell(page, "2024-03-20")
    assert today.attrs["aria-current"] == "date" and len(page.all(aria_current="date")) == 1
    assert "off" in cell(page, "2024-03-16").classes and "off" not in cell(page, "2024-03-15").classes
    assert "outside" in cell(page, "2024-02-29").classes  # the weeks shown start on Monday 26/02
    assert "phu-tho-2024.cchc-radio-tv.2024-02.2" in shown(page)
    assert not [i for i in shown(page) if ".2024-04." in i]  # only the weeks shown are read
    assert not shown(page, "milestone")
    with_steps = html(site.client(EDITOR).get("/calendar?month=2024-03&milestones=1"))
    steps = cell(with_steps, "2024-03-08").all("li", cls="milestone")  # script approval, 5 working days before
    assert [li.attrs["data-id"] for li in steps] == [EPISODE]
    assert steps[0].one("a").attrs["href"] == f"/o/{EPISODE}"
    assert with_steps.one("input", id="milestones").attrs.get("checked") == ""


@pytest.mark.parametrize(
    "query, expected, absent",
    [
        ("agency=bao-phu-tho", {ARTICLE}, {EPISODE, PORTAL}),
        ("obligation=cchc-radio-tv", {EPISODE, SECOND}, {ARTICLE, PORTAL}),
        ("channel=print", {ARTICLE}, {EPISODE, PORTAL}),
        ("channel=tv", {EPISODE, SECOND}, {ARTICLE, PORTAL}),
        ("channel=portal&agency=so-tttt", {PORTAL}, {EPISODE, ARTICLE}),
        ("plan=phu-tho-2024&agency=dai-ptth&channel=print", set(), {EPISODE, ARTICLE, PORTAL}),
    ],
)
def test_filters_really_filter(site, query, expected, absent):
    client = site.client(EDITOR)
    page = html(client.get(f"/calendar?month=2024-03&{query}"))
    march = {i for i in shown(page) if ".2024-03." in i or ".2024-Q1." in i}
    assert expected <= march and not (absent & march)
    for name, values in parse_qs(query).items():
        assert selected(page, name) == values[0]
    if not expected:
        assert page.one("p", id="nothing-owed")
    else:
        assert not page.all("p", id="nothing-owed")
    nav = parse_qs(urlsplit(page.one("a", id="next-month").attrs["href"]).query)
    assert nav.pop("month") == ["2024-04"] and nav.pop("milestones") == ["0"]
    assert nav == parse_qs(query)  # the filters are kept from month to month


def test_month_navigation_and_tet(site):
    client = site.client(EDITOR)
    march = html(client.get("/calendar?month=2024-03&agency=dai-ptth"))
    february = html(client.get(march.one("a", id="previous-month").attrs["href"]))
    assert february.one("caption").text() == "Tháng 2 năm 2024" and selected(february, "agency") == "dai-ptth"
    for day in ("2024-02-10", "2024-02-11", "2024-02-12", "2024-02-13", "2024-02-14"):
        tet = cell(february, day)
        assert "off" in tet.classes and "Tết" in tet.one("span", cls="holiday").text()
    assert "Mùng ba Tết Nguyên Đán" in cell(february, "2024-02-12").text()
    assert "off" not in cell(february, "2024-02-15").classes and not cell(february, "2024-02-15").all(cls="holiday")
    assert not february.all(aria_current="date")  # today is in March
    back = html(client.get(february.one("a", id="this-month").attrs["href"]))
    assert back.one("caption").text() == "Tháng 3 năm 2024"
    december = html(client.get("/calendar?month=2024-12"))
    assert parse_qs(urlsplit(december.one("a", id="next-month").attrs["href"]).query)["month"] == ["2025-01"]
    assert cell(december, "2025-01-01").one("span", cls="holiday")  # New Year's Day, in the last week shown


def test_a_month_or_filter_that_cannot_be_read_is_said_near_its_field(site):
    client = site.client(EDITOR)
    r = client.get("/calendar?month=2024-13&channel=fax")
    assert r.status_code == 422
    page = html(r)
    assert page.one("input", id="month").attrs["aria-invalid"] == "true"
    assert '"2024-13"' in page.one("p", id="month-error").text()
    assert '"fax"' in page.one("p", id="channel-error").text()
    assert page.one("p", id="calendar-error").attrs["role"] == "alert"
    assert page.one("caption").text() == "Tháng 3 năm 2024"  # still a calendar: this month, unfiltered


def test_english_names_after_the_language_switch(site):
    client = site.client(EDITOR)
    page = html(client.get("/calendar"))
    assert client.post("/lang", data={"csrf": csrf_of(page), "lang": "en", "next": "/calendar"}).status_code == 303
    page = html(client.get("/calendar?month=2024-02"))
    assert page.one("caption").text() == "February 2024"
    assert [th.one("span", cls="long").text() for th in page.all("th")][:2] == ["Monday", "Tuesday"]


def test_subscribe_to_a_view_then_its_feed_then_revoke(site):
    client = site.client(EDITOR)
    calendar = html(client.get("/calendar?month=2024-03&obligation=cchc-radio-tv"))
    link = calendar.one("a", id="subscribe-view").attrs["href"]
    assert parse_qs(urlsplit(link).query) == {"obligation": ["cchc-radio-tv"], "milestones": ["0"]}
    form_page = html(client.get(link))
    form = form_page.one("form", id="subscribe")
    assert selected(form, "obligation") == "cchc-radio-tv" and selected(form, "agency") == ""
    assert "checked" not in form.one("input", id="milestones").attrs
    assert all(form.one("label", for_=name) for name in ("plan", "agency", "obligation", "channel", "milestones"))
    assert form_page.one("p", id="no-subscriptions")

    r = subscribe(client, csrf_of(form_page), plan="", agency="", obligation="cchc-radio-tv", channel="")
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    done = html(r)
    https = done.one("input", id="feed-url")
    assert "readonly" in https.attrs and done.one("label", for_="feed-url")
    assert https.attrs["value"].startswith("http") and https.attrs["value"].endswith(".ics")
    webcal = done.one("a", id="webcal-link").attrs["href"]
    assert webcal.startswith("webcal://") and webcal.split("://")[1] == https.attrs["value"].split("://")[1]
    google = done.one("a", id="google-link").attrs["href"]
    assert google.startswith("https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2F")
    assert parse_qs(urlsplit(google).query)["cid"] == [webcal]
    assert len(done.one("section", id="how").all("ol")) == 4

    feed = client.get(feed_path(done))
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    uids = [str(e["UID"]) for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")]
    assert len(uids) == 24  # two episodes a month, all of 2024
    assert all(u.startswith("occurrence-phu-tho-2024.cchc-radio-tv.") for u in uids)

    mine = html(client.get("/subscriptions"))
    (item,) = mine.one("ul", id="subscriptions").all("li", cls="subscription")
    assert "active" in item.classes and 'Chuyên mục "Cải cách hành chính"' in item.text()
    assert "20/03/2024" in item.text() and https.attrs["value"] not in client.get("/subscriptions").text
    revoke = item.one("form", cls="revoke")
    r = client.post(revoke.attrs["action"], data={"csrf": revoke.one("input", name="csrf").attrs["value"]})
    assert r.status_code == 303 and r.headers["location"].startswith("/subscriptions?revoked=")
    after = html(client.get(r.headers["location"]))
    assert after.one("p", id="revoked").attrs["role"] == "status"
    item = after.one("li", cls="subscription")
    assert "revoked" in item.classes and not item.all("form")
    deadline = time.monotonic() + 5
    while (status := client.get(feed_path(done)).status_code) == 200 and time.monotonic() < deadline:
        time.sleep(0.2)  # the feed cache looks at the database at most once a second
    assert status == 404


def test_nobody_revokes_another_person_s_subscription(site):
    producer = site.client(PRODUCER)
    page = html(producer.get("/subscriptions"))
    made = html(subscribe(producer, csrf_of(page), agency="dai-ptth", milestones="1"))
    path = feed_path(made)
    with site.db.transaction() as s:
        (theirs,) = s.scalars(select(SubscriptionRow.id))
    editor = site.client(EDITOR)
    token = csrf_of(html(editor.get("/subscriptions")))
    for target in (theirs, 9999, "abc"):
        r = editor.post(f"/subscriptions/{target}/revoke", data={"csrf": token})
        assert r.status_code == 404 and html(r).one("h1").text() == vi("Not found")
    assert not html(editor.get("/subscriptions")).all("li", cls="subscription")
    with site.db.transaction() as s:
        assert s.get(SubscriptionRow, theirs).revoked_at is None
    time.sleep(1.1)
    feed = producer.get(path)
    assert feed.status_code == 200
    uids = [str(e["UID"]) for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")]
    assert any(u.startswith("milestone-") for u in uids) and not any("bao-phu-tho" in u for u in uids)


def test_forms_without_their_csrf_token_are_refused_and_nothing_changes(site):
    client = site.client(EDITOR)
    page = html(client.get("/subscriptions"))
    for token in (None, "wrong"):
        r = subscribe(client, token, obligation="cchc-radio-tv")
        assert r.status_code == 403 and html(r).one("p", id="forbidden")
    assert count(site) == 0
    subscribe(client, csrf_of(page), obligation="cchc-radio-tv")
    (sid,) = [li.attrs["data-id"] for li in html(client.get("/subscriptions")).all("li", cls="subscription")]
    assert client.post(f"/subscriptions/{sid}/revoke", data={"csrf": "wrong"}).status_code == 403
    with site.db.transaction() as s:
        assert s.get(SubscriptionRow, int(sid)).revoked_at is None


def test_a_scope_naming_nothing_loaded_is_refused_near_its_field(site):
    client = site.client(EDITOR)
    token = csrf_of(html(client.get("/subscriptions")))
    for field, value in (("agency", "so-khong-co"), ("obligation", "khong-co"), ("channel", "fax"), ("plan", "x")):
        r = subscribe(client, token, **{field: value})
        assert r.status_code == 422, field
        page = html(r)
        assert f'"{value}"' in page.one("p", id=f"{field}-error").text()
        assert page.one("select", id=field).attrs["aria-invalid"] == "true"
        assert page.one("p", id="subscribe-error").attrs["role"] == "alert"
    assert count(site) == 0
