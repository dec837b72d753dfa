"""The web's dependencies (``scheduler.web.deps``): a handler gets the app's
services, the signed-in person and a CSRF-checked form as parameters, so an
area's router can be mounted alone, and a handler called as a function."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from html_tree import html
from scheduler.clock import Clock
from scheduler.settings import Settings
from scheduler.store import people
from scheduler.store.database import Database
from scheduler.web import health, sign_in
from scheduler.web.app import services_for
from scheduler.web.auth import SessionUser, set_password
from scheduler.web.deps import Answer, Posted, ServicesDep, answer, form_post, signed_in

PASSWORD = "mat-khau-du-dai"
router = APIRouter()


@router.get("/admin/thing")
def thing(user: Annotated[SessionUser, Depends(signed_in("admin"))]):
    return {"user": user.email}


@router.post("/admin/things/{thing_id}")
def change(thing_id: str, posted: Annotated[Posted, Depends(form_post("admin", back="/admin/things/{thing_id}"))]):
    return {"changed": thing_id, "by": posted.user.email, "name": posted.form.get("name")}


@router.get("/lang")
def lang(s: ServicesDep):
    return {"lang": s.settings.lang, "limit": s.store.limit}


@pytest.fixture
def services(tmp_path):
    settings = Settings.load(env={"OUTPUTS_DIR": str(tmp_path)})
    db = Database(f"sqlite:///{tmp_path / 'scheduler.sqlite3'}")
    with db.transaction() as s:
        for email, role in (("admin@x.example", "admin"), ("editor@x.example", "editor")):
            set_password(
                s, people.add_user(s, email, [role], None, role, "en", datetime.now(UTC)), PASSWORD, datetime.now(UTC)
            )
    yield services_for(settings, db, Clock(UTC))
    db.close()


def client_of(services, *routers: APIRouter) -> TestClient:
    """These routers alone, with the services and the answer handler ``create_app`` installs."""
    app = FastAPI()
    app.state.services = services
    app.add_exception_handler(Answer, answer)
    for r in routers:
        app.include_router(r)
    return TestClient(app, follow_redirects=False)


def csrf(client: TestClient) -> str:
    return html(client.get("/login")).one("form", id="login").one("input", name="csrf").attrs["value"]


def signed_in_as(client: TestClient, email: str) -> str:
    """Sign in through the sign-in pages; the new session's CSRF token."""
    assert client.post("/login", data={"csrf": csrf(client), "email": email, "password": PASSWORD}).status_code == 303
    return csrf(client)


def test_a_stranger_is_sent_to_sign_in_and_back(services):
    client = client_of(services, router)
    r = client.get("/admin/thing?x=1")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/thing%3Fx%3D1"
    r = client.post("/admin/things/7", data={"csrf": "whatever"})
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/things/7"  # the form's page


def test_the_wrong_role_gets_the_403_page(services):
    client = client_of(services, router, sign_in.router)
    token = signed_in_as(client, "editor@x.example")
    assert client.get("/admin/thing").status_code == 403
    r = client.post("/admin/things/7", data={"csrf": token})
    assert r.status_code == 403 and "text/html" in r.headers["content-type"]


def test_the_right_role_gets_the_page_and_a_checked_form(services):
    client = client_of(services, router, sign_in.router)
    token = signed_in_as(client, "admin@x.example")
    assert client.get("/admin/thing").json() == {"user": "admin@x.example"}
    assert client.post("/admin/things/7", data={"csrf": "stale", "name": "x"}).status_code == 403  # expired form
    assert client.post("/admin/things/7", data={"csrf": token, "name": "x"}).json() == {
        "changed": "7",
        "by": "admin@x.example",
        "name": "x",
    }


def test_health_is_a_plain_function_of_the_services(services):
    found = health.healthz(services)
    assert found["status"] == "ok" and found["database"]["plans"] == 0
    assert client_of(services, health.router).get("/healthz").json()["database"]["dialect"] == "sqlite"


def test_services_come_from_the_app(services):
    assert client_of(services, router).get("/lang").json() == {
        "lang": services.settings.lang,
        "limit": services.store.limit,
    }
