"""The pages people use, through the real app on SQLite and PostgreSQL:
signing in, "my work", recording an episode with a file through the form,
corrections, CSRF, another agency refused, a disabled user out, the
language switch. HTML is read with the standard library's parser."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from html_tree import Node, html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.i18n import gettext_for
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.store.tables import LedgerRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password

PLAN = "phu-tho-2024"
EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.1"
SECOND = "phu-tho-2024.cchc-radio-tv.2024-03.2"
NOW = "2024-03-20 10:00"
PASSWORD = "mat-khau-du-dai"
RECORDING = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 3000  # an MP4 header: detected as video/mp4


class Site:
    """The app as if it were 20/03/2024 10:00, with people who can sign in."""

    def __init__(self, db: Database, cli):
        self.db, self.cli = db, cli
        self.app = create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ)))

    def client(self, email: str | None = None) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        if email:
            form = html(client.get("/login")).one("form", id="login")
            r = client.post(
                "/login",
                data={
                    "csrf": form.one("input", name="csrf").attrs["value"],
                    "email": email,
                    "password": PASSWORD,
                    "next": "/me",
                },
            )
            assert r.status_code == 303 and r.headers["location"] == "/me", r.text
        return client

    def entries(self) -> int:
        with self.db.transaction() as s:
            return s.scalar(select(func.count()).select_from(LedgerRow))


@pytest.fixture
def site(cli, db_url, monkeypatch):
    assert cli("load", "--now", "2024-01-02").code == 0
    people = {
        "prod@dai.example": ("producer", "dai-ptth"),
        "prod@bao.example": ("producer", "bao-phu-tho"),
        "ed@dai.example": ("editor", None),
    }
    for email, (role, agency) in people.items():
        assert cli("users", "add", email, "--role", role, *(["--agency", agency] if agency else [])).code == 0
    monkeypatch.setenv("EVIDENCE_LIMIT", "64KiB")
    db = Database(db_url)
    with db.transaction() as s:
        for email in people:
            set_password(s, find_user(s, email), PASSWORD, parse_now(NOW, DEFAULT_TZ))
    yield Site(db, cli)
    db.close()


def csrf_of(page: Node) -> str:
    return page.one("form", id="deliver").elements()[0].attrs["value"]


def deliver(client: TestClient, path: str, csrf: str | None, files=(), **fields):
    data = {"aired_at": "2024-03-14T19:30", "duration": "00:10:30", "title": "Số 1 tháng 3", **fields}
    if csrf is not None:
        data["csrf"] = csrf
    return client.post(path, data=data, files=list(files) or None)  # without files: urlencoded, as clients send


def browser_post(client: TestClient, path: str, fields: list[tuple[str, str]]):
    """multipart/form-data as a browser sends it: the fields in page order, and the
    file input left empty still sent as a part with an empty file name."""
    boundary = "----formboundaryX7pages"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n\r\n".encode()
    )
    return client.post(
        path,
        content=b"".join(parts) + f"--{boundary}--\r\n".encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


def test_sign_in_then_my_work_lists_the_station_s_march_episodes(site):
    anonymous = site.client()
    assert anonymous.get("/").headers["location"] == "/login?next=/"
    r = anonymous.get(f"/o/{EPISODE}")
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=/o/{EPISODE}"
    client = site.client("prod@dai.example")
    page = html(client.get("/me"))
    assert page.one("h1").text() == gettext_for("vi")("My work")
    items = page.one("ul", id="my-work").all("li", cls="occurrence")
    ids = [li.attrs["data-id"] for li in items]
    assert ids[:2] == [EPISODE, SECOND] and not any(".2024-02." in i for i in ids)
    first = items[0]
    assert first.one("a", href=f"/o/{EPISODE}").text().startswith('Chuyên mục "Cải cách hành chính" – số 1')
    quota = first.one("p", cls="quota").text()
    assert quota.startswith("0/2") and "03/2024" in quota and "8" in quota  # 20/03–29/03: 8 working days
    links = page.all("a", cls="record-period")
    march = [a for a in links if "period=2024-03" in a.attrs["href"] and "cchc-radio-tv" in a.attrs["href"]]
    assert [a.attrs["href"] for a in march] == ["/obligations/cchc-radio-tv/deliver?period=2024-03&plan=phu-tho-2024"]
    editor = html(site.client("ed@dai.example").get("/me"))  # no agency: a short text instead
    assert editor.one("p", id="no-agency") and not editor.all("ul", id="my-work")


def test_recording_an_episode_with_a_file_through_the_form(site):
    client = site.client("prod@dai.example")
    page = html(client.get(f"/o/{EPISODE}"))
    form = page.one("form", id="deliver")
    assert form.attrs["action"] == f"/o/{EPISODE}/deliveries" and form.attrs["enctype"] == "multipart/form-data"
    assert form.elements()[0].attrs == {"type": "hidden", "name": "csrf", "value": csrf_of(page)}
    assert form.one("input", id="aired_at").attrs["type"] == "datetime-local" and not form.all(id="published_at")
    assert form.one("label", for_="aired_at") and form.one("button", id="deliver-submit")
    assert not form.all("select", id="supersedes") and page.one("progress", id="upload-progress")
    r = deliver(
        client,
        f"/o/{EPISODE}/deliveries",
        csrf_of(page),
        topics=["mot-cua", "chi-so-cchc"],
        files=[("files", ("Phóng sự tháng 3.mp4", RECORDING, "video/mp4"))],
    )
    assert r.status_code == 303 and r.headers["location"] == f"/o/{EPISODE}?recorded=1", r.text
    page = html(client.get(r.headers["location"]))
    notice = page.one("p", id="recorded")
    assert notice.attrs["role"] == "status" and "#1" in notice.text()
    assert gettext_for("vi")("On time") in notice.text()
    entry = page.one("ol", id="history").one("li", cls="entry")
    assert entry.attrs["data-seq"] == "1" and "superseded" not in entry.classes
    assert "14/03/2024 19:30" in entry.text() and "prod@dai.example" in entry.text() and "10m30s" in entry.text()
    (link,) = [a for a in entry.all("a") if a.attrs["href"].startswith("/files/1/")]
    assert link.text() == "Phóng sự tháng 3.mp4"
    download = client.get(link.attrs["href"])
    assert download.status_code == 200 and download.content == RECORDING
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-security-policy"] == "sandbox"
    assert "filename*=UTF-8''Ph%C3%B3ng%20s%E1%BB%B1" in download.headers["content-disposition"]
    assert site.client().get(link.attrs["href"]).status_code == 303  # files are for signed-in people
    for other in ("prod@bao.example", "ed@dai.example"):  # another agency; an editor of none
        outsider = site.client(other)
        entry = html(outsider.get(f"/o/{EPISODE}")).one("ol", id="history").one("li", cls="entry")
        assert "Phóng sự tháng 3.mp4" in entry.text() and not entry.all("a", href=link.attrs["href"])
        refused = outsider.get(link.attrs["href"])
        assert refused.status_code == 403 and refused.content != RECORDING
    mine = html(client.get("/me")).one("ul", id="my-work")
    assert not mine.all("li", data_id=EPISODE)
    assert mine.one("li", data_id=SECOND).one("p", cls="quota").text().startswith("1/2")


def test_a_correction_supersedes_an_entry(site):
    client = site.client("prod@dai.example")
    page = html(client.get(f"/o/{EPISODE}"))
    short = deliver(client, f"/o/{EPISODE}/deliveries", csrf_of(page), duration="8m")
    assert short.status_code == 303, short.text
    page = html(client.get(short.headers["location"]))
    assert gettext_for("vi")("Non-conforming") in page.one("p", id="recorded").text()
    select_ = page.one("select", id="supersedes")
    assert [o.attrs["value"] for o in select_.all("option")] == ["", "1"]
    fixed = browser_post(
        client,
        f"/o/{EPISODE}/deliveries",
        [
            ("csrf", csrf_of(page)),
            ("aired_at", "2024-03-14T19:30"),
            ("duration", "10m"),
            ("url", ""),
            ("title", ""),
            ("topics", "mot-cua"),
            ("note", "Bản phát sóng đầy đủ"),
            ("supersedes", "1"),
        ],
    )
    assert fixed.status_code == 303 and fixed.headers["location"].endswith("?recorded=2")
    page = html(client.get(fixed.headers["location"]))
    old, new = page.one("ol", id="history").all("li", cls="entry")
    assert "superseded" in old.classes and old.attrs["data-seq"] == "1" and "#2" in old.text()
    assert "superseded" not in new.classes and "#1" in new.text() and "Bản phát sóng đầy đủ" in new.text()
    assert [o.attrs["value"] for o in page.one("select", id="supersedes").all("option")] == ["", "2"]


def test_a_form_without_its_csrf_token_is_refused_and_nothing_is_kept(site, tmp_path):
    client = site.client("prod@dai.example")
    page = html(client.get(f"/o/{EPISODE}"))
    for token in (None, "wrong"):
        r = deliver(client, f"/o/{EPISODE}/deliveries", token, files=[("files", ("a.mp4", RECORDING, "video/mp4"))])
        assert r.status_code == 403 and html(r).one("p", id="forbidden")
    assert site.entries() == 0
    assert not [p for p in (tmp_path / "outputs" / "evidence").rglob("*") if p.is_file()]
    assert csrf_of(page)  # the page itself still works
    lang = client.post("/lang", data={"lang": "en", "next": "/me"})
    assert lang.status_code == 403


def test_another_agency_sees_no_form_and_is_refused(site):
    client = site.client("prod@bao.example")
    page = html(client.get(f"/o/{EPISODE}"))
    assert not page.all("form", id="deliver") and page.one("dl", id="details")
    token = html(client.get("/me")).one("form", action="/logout").one("input", name="csrf").attrs["value"]
    r = deliver(client, f"/o/{EPISODE}/deliveries", token)
    assert r.status_code == 403 and "dai-ptth" in html(r).one("p", id="forbidden").text()
    period = client.get("/obligations/cchc-radio-tv/deliver?period=2024-03&plan=phu-tho-2024")
    assert period.status_code == 403
    r = deliver(client, "/obligations/cchc-radio-tv/deliveries?period=2024-03&plan=phu-tho-2024", token)
    assert r.status_code == 403 and site.entries() == 0
    own = html(client.get("/me")).one("ul", id="my-work").all("li", cls="occurrence")
    assert own and all(".bao-phu-tho-cchc." in li.attrs["data-id"] for li in own)


def test_recording_against_the_period_and_errors_keep_the_values(site):
    client = site.client("prod@dai.example")
    page = html(client.get("/obligations/cchc-radio-tv/deliver?period=2024-03&plan=phu-tho-2024"))
    form = page.one("form", id="deliver")
    assert form.attrs["action"] == "/obligations/cchc-radio-tv/deliveries?period=2024-03&plan=phu-tho-2024"
    assert page.one("p", id="target").one("a").attrs["href"] == f"/o/{EPISODE}"
    future = deliver(client, form.attrs["action"], csrf_of(page), aired_at="2024-03-25T19:30", title="Giữ lại")
    assert future.status_code == 422
    again = html(future)
    error = again.one("p", cls="error")
    assert error.attrs["role"] == "alert" and gettext_for("vi")("Aired at") in error.text()
    assert again.one("input", id="title").attrs["value"] == "Giữ lại"
    assert again.one("input", id="aired_at").attrs["aria-invalid"] == "true"
    too_large = deliver(
        client, form.attrs["action"], csrf_of(page), files=[("files", ("x.mp4", RECORDING * 30, "video/mp4"))]
    )  # over EVIDENCE_LIMIT
    assert too_large.status_code == 413 and html(too_large).one("p", cls="error").attrs["role"] == "alert"
    assert site.entries() == 0
    for expected in (EPISODE, SECOND):
        r = deliver(client, form.attrs["action"], csrf_of(page))
        assert r.status_code == 303 and urlsplit(r.headers["location"]).path == f"/o/{expected}"
        assert parse_qs(urlsplit(r.headers["location"]).query)["recorded"] == [str(site.entries())]
    assert client.get("/obligations/cchc-radio-tv/deliver?period=1999-01").status_code == 404


def test_a_disabled_user_is_out_at_the_next_request(site):
    client = site.client("prod@dai.example")
    assert client.get("/me").status_code == 200
    assert site.cli("users", "disable", "prod@dai.example").code == 0
    r = client.get("/me")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert client.get(f"/o/{EPISODE}").status_code == 303


def test_the_language_switch_changes_the_pages_to_english(site):
    client = site.client("prod@dai.example")
    page = html(client.get(f"/o/{EPISODE}"))
    assert page.one("html").attrs["lang"] == "vi"
    switch = page.one("form", action="/lang")
    fields = {i.attrs["name"]: i.attrs.get("value", "") for i in switch.all("input")}
    assert fields["next"] == f"/o/{EPISODE}"
    r = client.post("/lang", data={**fields, "lang": "en"})
    assert r.status_code == 303 and r.headers["location"] == f"/o/{EPISODE}"
    page = html(client.get(r.headers["location"]))
    assert page.one("html").attrs["lang"] == "en"
    assert page.one("h1").text().startswith('"Administrative Reform" program – no. 1, month 03/2024')
    assert "Window" in page.one("dl", id="details").text()
    assert (
        client.post("/lang", data={**fields, "lang": "en", "next": "https://evil.example/"}).headers["location"] == "/"
    )
