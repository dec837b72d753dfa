"""Sessions and signing in, through the real app on SQLite and PostgreSQL:
signing out ends the session on the server, a quiet session ends after
SESSION_IDLE_MINUTES, a failed sign-in answers alike for an unknown
address, a disabled user and a wrong password (and so does the limit),
addresses match whatever their capitals, X-Forwarded-For is believed only
from TRUSTED_PROXIES."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from argon2 import PasswordHasher, Type
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

import light_hashes
from html_tree import html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import parse_now
from scheduler.settings import Settings
from scheduler.store import database as store_database
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.store.tables import SessionRow, SignInFailureRow
from scheduler.web import auth
from scheduler.web.app import create_app
from scheduler.web.auth import COOKIE, set_password

NOW = "2024-03-20 10:00"
PASSWORD = "mat-khau-du-dai"
PRODUCER, SHOUTED, GONE = "prod@dai.example", "Anh.Nguyen@Dai.Example", "cu@dai.example"


class Moving:
    """A clock the test moves by hand (the app reads only ``now()`` and ``tz``)."""

    def __init__(self, at: datetime):
        self.at, self.tz = at, DEFAULT_TZ

    def now(self) -> datetime:
        return self.at


class Site:
    def __init__(self, db: Database):
        self.db = db
        self.clock = Moving(parse_now(NOW, DEFAULT_TZ))
        self.app = create_app(Settings.load(), db, self.clock)

    def client(self, email: str | None = None, peer: str = "testclient") -> TestClient:
        client = TestClient(self.app, follow_redirects=False, client=(peer, 50000))
        if email:
            r = sign_in(client, email, PASSWORD)
            assert r.status_code == 303, r.text
        return client

    def failures(self) -> list[tuple[str, str]]:
        with self.db.transaction() as s:
            return list(
                s.execute(select(SignInFailureRow.email, SignInFailureRow.client).order_by(SignInFailureRow.id))
            )

    def sessions(self) -> list[SessionRow]:
        with self.db.transaction() as s:
            rows = list(s.scalars(select(SessionRow).order_by(SessionRow.created_at)))
            s.expunge_all()
            return rows


def sign_in(client: TestClient, email: str, password: str, headers: dict | None = None):
    token = html(client.get("/login")).one("form", id="login").one("input", name="csrf").attrs["value"]
    return client.post(
        "/login", data={"csrf": token, "email": email, "password": password, "next": "/me"}, headers=headers
    )


@pytest.fixture
def site(cli, db_url, monkeypatch):
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "30")
    assert cli("load", "--now", "2024-01-02").code == 0
    for email in (PRODUCER, SHOUTED, GONE):
        assert cli("users", "add", email, "--role", "producer", "--agency", "dai-ptth").code == 0
    db = Database(db_url)
    with db.transaction() as s:
        for email in (PRODUCER, SHOUTED, GONE):
            set_password(s, find_user(s, email), PASSWORD, parse_now(NOW, DEFAULT_TZ))
    assert cli("users", "disable", GONE).code == 0
    yield Site(db)
    db.close()


def test_signing_out_ends_the_session_on_the_server(site):
    client = site.client(PRODUCER)
    copied = client.cookies[COOKIE]
    assert client.get("/me").status_code == 200
    csrf = html(client.get("/me")).one("form", action="/logout").one("input", name="csrf").attrs["value"]
    r = client.post("/logout", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    thief = site.client()
    thief.cookies.set(COOKIE, copied)
    r = thief.get("/me")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/me"
    [row] = site.sessions()
    assert row.ended_at == site.clock.now()


def test_a_quiet_session_ends_after_the_idle_time_a_busy_one_does_not(site):
    client = site.client(PRODUCER)
    for _ in range(3):  # 3 × 29 minutes: each request keeps it going past the 30 minutes
        site.clock.at += timedelta(minutes=29)
        assert client.get("/me").status_code == 200
    site.clock.at += timedelta(minutes=30)
    r = client.get("/me")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/me"
    assert site.client(PRODUCER).get("/me").status_code == 200  # signing in again starts anew
    assert sorted((row.ended_at for row in site.sessions()), key=str) == [site.clock.now(), None]


def test_no_session_outlives_14_days_however_busy(site, monkeypatch):
    monkeypatch.setenv("SESSION_IDLE_MINUTES", str(14 * 24 * 60))
    busy = Site(site.db)
    client = busy.client(PRODUCER)
    busy.clock.at += timedelta(days=14, minutes=-1)
    assert client.get("/me").status_code == 200
    busy.clock.at += timedelta(minutes=1)
    assert client.get("/me").status_code == 303


def test_last_seen_is_written_at_most_once_a_minute(site):
    client = site.client(PRODUCER)
    start = site.clock.now()
    site.clock.at += timedelta(seconds=50)
    assert client.get("/me").status_code == 200
    assert site.sessions()[0].seen_at == start
    site.clock.at += timedelta(seconds=20)
    assert client.get("/me").status_code == 200
    assert site.sessions()[0].seen_at == site.clock.now()


def test_a_disabled_user_and_a_new_password_still_end_every_session(site, cli):
    client = site.client(PRODUCER)
    with site.db.transaction() as s:
        set_password(s, find_user(s, PRODUCER), "mot-mat-khau-moi", site.clock.now())
    assert client.get("/me").status_code == 303


def _alike(r, email: str) -> tuple:
    """What a failed sign-in shows, with the address typed and the form's token taken out."""
    body = re.sub(r'name="csrf" value="[^"]*"', 'name="csrf"', r.text.replace(email, "ADDRESS"))
    headers = {k: v for k, v in r.headers.items() if k not in ("content-length", "set-cookie")}
    return r.status_code, body, headers


def test_unknown_disabled_and_wrong_password_answer_alike_after_one_verification(site, monkeypatch):
    verified, hashed = [], []

    class Counting(PasswordHasher):
        def verify(self, h, p):
            verified.append(h)
            return super().verify(h, p)

        def hash(self, p, **kw):
            hashed.append(p)
            return super().hash(p, **kw)

    auth.dummy_hash()  # the stand-in is hashed once per process, by whichever test needs it first
    monkeypatch.setattr(auth, "hasher", Counting())
    answers = []
    for email, password in (
        ("nobody@dai.example", PASSWORD),
        (GONE, PASSWORD),
        (PRODUCER, "not-the-password"),
        ("not an address", PASSWORD),
    ):
        client = site.client()
        client.get("/login")
        before = len(verified)
        r = sign_in(client, email, password)
        assert len(verified) == before + 1, email  # exactly one argon2 verification, whoever it is
        answers.append(_alike(r, email))
    assert answers[0][0] == 401 and all(a == answers[0] for a in answers[1:])
    assert not hashed  # no hashing instead of verifying: the same work in each case
    assert [e for e, _ in site.failures()] == ["nobody@dai.example", GONE, PRODUCER, "not an address"]
    params = {h.split("$")[3] for h in verified}
    assert len(params) == 1  # the stand-in hash has the real ones' parameters


def test_the_product_hashes_with_argon2ids_memory_hard_defaults():
    """The tests hash lightly (tests/light_hashes.py); the product does not."""
    product = light_hashes.PRODUCT_HASHER
    assert product.type is Type.ID and product.memory_cost == PasswordHasher().memory_cost == 65536
    assert (product.time_cost, product.parallelism) == (PasswordHasher().time_cost, PasswordHasher().parallelism)
    assert product.hash("mat-khau-du-dai").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_the_failed_sign_in_limit_answers_alike_whether_the_address_exists(site):
    answers = []
    for email in (PRODUCER, "nobody@dai.example"):
        client = site.client()
        for _ in range(auth.MAX_FAILURES_PER_ADDRESS):
            assert sign_in(client, email, "wrong-password").status_code == 401
        r = sign_in(client, email, PASSWORD if email == PRODUCER else "wrong-password")
        answers.append(_alike(r, email))
    assert answers[0][0] == 429 and answers[0] == answers[1]


def test_an_address_with_capitals_signs_in_typed_any_way(site, cli):
    assert "anh.nguyen@dai.example" in cli("users", "list").out
    for typed in ("anh.nguyen@dai.example", "ANH.NGUYEN@DAI.EXAMPLE", " Anh.Nguyen@Dai.Example "):
        assert sign_in(site.client(), typed, PASSWORD).status_code == 303, typed
    assert cli("users", "add", "ANH.nguyen@dai.example", "--role", "editor").code == 1  # the same person
    assert cli("users", "disable", "Anh.NGUYEN@dai.example").code == 0
    assert sign_in(site.client(), "anh.nguyen@dai.example", PASSWORD).status_code == 401


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(site, db_url, monkeypatch):
    spoofed = {"X-Forwarded-For": "198.51.100.7"}
    sign_in(site.client(peer="203.0.113.5"), "a@dai.example", "x", spoofed)
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    proxied = Site(site.db)
    through = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9, 192.0.2.1"}
    sign_in(proxied.client(peer="10.1.2.3"), "b@dai.example", "x", through)
    sign_in(proxied.client(peer="203.0.113.5"), "c@dai.example", "x", spoofed)  # not a proxy of ours
    assert site.failures() == [
        ("a@dai.example", "203.0.113.5"),
        ("b@dai.example", "203.0.113.9"),
        ("c@dai.example", "203.0.113.5"),
    ]


def test_a_spoofed_forwarded_for_does_not_escape_the_limit_per_client(site):
    client = site.client(peer="203.0.113.5")
    statuses = [
        sign_in(client, f"guess{i}@dai.example", "x", {"X-Forwarded-For": f"198.51.100.{i}"}).status_code
        for i in range(auth.MAX_FAILURES_PER_CLIENT + 1)
    ]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {401}


def test_the_migration_lowers_stored_addresses_and_refuses_a_clash(db_url):
    engine = store_database.create(db_url)
    config = Config()
    config.set_main_option("script_location", str(store_database.MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
    insert = text(
        "INSERT INTO users (email, name, roles, agency_code, lang, disabled, session_epoch, created_at, "
        "updated_at) VALUES (:e, '', '[\"editor\"]', NULL, 'vi', :f, 0, :t, :t)"
    )
    at = datetime(2024, 3, 20)
    with engine.begin() as connection:
        connection.execute(insert, {"e": "Lan.Tran@Bao.Example", "f": False, "t": at})
        connection.execute(insert, {"e": "LAN.TRAN@bao.example", "f": False, "t": at})
    with pytest.raises(
        RuntimeError,
        match="Lan.Tran@Bao.Example and LAN.TRAN@bao.example|LAN.TRAN@bao.example and Lan.Tran@Bao.Example",
    ):
        store_database.migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM users WHERE email = 'LAN.TRAN@bao.example'"))
    store_database.migrate(engine)
    with engine.begin() as connection:
        assert connection.execute(text("SELECT email FROM users")).scalars().all() == ["lan.tran@bao.example"]
        assert connection.execute(select(func.count()).select_from(SessionRow.__table__)).scalar() == 0
    engine.dispose()
