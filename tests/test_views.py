"""What every page shares: each role's start page, the menu each role sees,
and the refusal a page gated on roles gives (through the real app)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from html_tree import html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.web.app import create_app
from scheduler.web.auth import set_password

NOW = "2024-03-20 10:00"
PASSWORD = "mat-khau-du-dai"
PEOPLE = {
    "sx@dai.example": ("producer", "dai-ptth"),
    "bt@dai.example": ("editor", "dai-ptth"),
    "cv@snv.example": ("dha", "so-noi-vu"),
    "qt@tttt.example": ("admin", None),
}
MENU = {"/me", "/calendar", "/subscriptions", "/dashboard", "/admin"}

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def app(cli, db_url):
    assert cli("load", "--now", "2024-01-02").code == 0
    for email, (role, agency) in PEOPLE.items():
        assert cli("users", "add", email, "--role", role, *(["--agency", agency] if agency else [])).code == 0
    db = Database(db_url)
    with db.transaction() as s:
        for email in PEOPLE:
            set_password(s, find_user(s, email), PASSWORD, parse_now(NOW, DEFAULT_TZ))
    yield create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ)))
    db.close()


def signed_in(app, email: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    csrf = html(client.get("/login")).one("form", id="login").one("input", name="csrf").attrs["value"]
    r = client.post("/login", data={"csrf": csrf, "email": email, "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    return client


@sqlite_only
@pytest.mark.parametrize(
    "email, start, menu",
    [
        ("sx@dai.example", "/me", {"/me", "/calendar", "/subscriptions"}),
        ("bt@dai.example", "/calendar", {"/calendar", "/subscriptions"}),
        ("cv@snv.example", "/dashboard", {"/calendar", "/subscriptions", "/dashboard"}),
        ("qt@tttt.example", "/admin", {"/calendar", "/subscriptions", "/dashboard", "/admin"}),
    ],
)
def test_each_role_starts_on_its_own_page_and_sees_its_menu(app, email, start, menu):
    client = signed_in(app, email)
    r = client.get("/")
    assert r.status_code == 303 and r.headers["location"] == start
    page = html(client.get("/calendar"))
    links = {a.attrs["href"] for a in page.one("header", cls="site").one("nav").all("a")}
    assert links & MENU == menu
    assert [
        a.attrs["href"]
        for a in page.one("header", cls="site").one("nav").all("a")
        if a.attrs.get("aria-current") == "page"
    ] == ["/calendar"]
    first = page.one("body").elements()[0]  # keyboard users skip the menu
    assert first.tag == "a" and first.attrs["href"] == "#main" and page.one("main", id="main")


@sqlite_only
def test_a_page_for_other_roles_names_who_it_is_for(app):
    r = signed_in(app, "bt@dai.example").get("/admin")
    assert r.status_code == 403
    assert "Quản trị viên" in html(r).one("p", id="forbidden").text()


@sqlite_only
def test_signing_in_without_a_target_goes_to_the_start_page(app):
    anonymous = TestClient(app, follow_redirects=False)
    assert anonymous.get("/").headers["location"] == "/login?next=/"
    assert anonymous.get("/calendar").headers["location"] == "/login?next=/calendar"
