"""Every input has a bound: each probe that once answered 500 (or computed
for a minute) now answers 4xx at once, through the real app on SQLite and
PostgreSQL, with the field at fault named; the command line keeps the same
bounds."""

from __future__ import annotations

import io
import time

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
EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.1"
HUGE = "18446744073709551616"  # 2**64: beyond every integer column
USERS = {
    "admin": ("admin@x.example", "admin", None),
    "dha": ("dha@snv.example", "dha", "so-noi-vu"),
    "prod": ("prod@dai.example", "producer", "dai-ptth"),
}


def _cli(*args: str):
    import main

    out, err = io.StringIO(), io.StringIO()
    code = main.run([str(a) for a in args], out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    """The bundled plan, an admin, the DHA and a producer with tokens and
    passwords; the app as if it were 20/03/2024 10:00."""
    tmp = tmp_path_factory.mktemp("bounds")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'scheduler.sqlite3'}"
    else:
        server = request.getfixturevalue("postgres")
        server.reset()
        url = server.url
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OUTPUTS_DIR", str(tmp / "outputs"))
        mp.setenv("DATABASE_URL", url)
        mp.delenv("SCHEDULER_LANG", raising=False)
        assert _cli("load", "--now", "2024-01-02")[0] == 0
        tokens = {}
        for key, (email, role, agency) in USERS.items():
            assert _cli("users", "add", email, "--role", role, *(["--agency", agency] if agency else []))[0] == 0
            tokens[key] = {"Authorization": "Bearer " + _cli("tokens", "create", "--user", email)[1].split()[-1]}
        db = Database(url)
        with db.transaction() as s:
            set_password(s, find_user(s, "admin@x.example"), PASSWORD, parse_now(NOW, DEFAULT_TZ))
        app = create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ)))
        api = TestClient(app, raise_server_exceptions=False)
        pages = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        token = html(pages.get("/login")).one("form", id="login").one("input", name="csrf").attrs["value"]
        signed_in = pages.post(
            "/login", data={"csrf": token, "email": "admin@x.example", "password": PASSWORD, "next": "/"}
        )
        assert signed_in.status_code == 303, signed_in.text
        yield api, pages, tokens, mp
        db.close()


def _excuse(reason=None, supersedes=None, raw: bytes | None = None):
    body = (
        raw
        if raw is not None
        else ('{"reason": %s%s}' % (reason, f', "supersedes": {supersedes}' if supersedes else "")).encode()
    )
    return (
        "post",
        f"/api/occurrences/{EPISODE}/excuses",
        "dha",
        {"content": body, "headers": {"content-type": "application/json"}},
    )


def _deliver(**fields):
    return (
        "post",
        f"/api/occurrences/{EPISODE}/deliveries",
        "prod",
        {"data": {"aired_at": "14/03/2024 19:30", **fields}},
    )


# name: (method, path, who, request arguments), the status, the field named
API_PROBES = {
    "period 9999": (("get", "/api/compliance?period=9999", "dha", {}), 422, "period"),
    "as_of 31/12/9999": (("get", "/api/compliance?period=2024&as_of=31/12/9999", "dha", {}), 422, "as_of"),
    "period 0001..9999": (("get", "/api/compliance?period=0001-01-01..9999-12-31", "dha", {}), 422, "period"),
    "period decades from the plan": (
        ("get", "/api/compliance?period=1900-01-01..2199-12-31", "dha", {}),
        422,
        "period",
    ),
    "as_of decades after the plan": (("get", "/api/compliance?period=2024&as_of=01/01/2150", "dha", {}), 422, "as_of"),
    "period in superscript digits": (("get", "/api/compliance?period=²⁰²⁴", "dha", {}), 422, "period"),
    "aired_at year 1 at +14:00": (_deliver(aired_at="0001-01-01T00:00+14:00"), 422, "aired_at"),
    "published_at 31/12/9999": (_deliver(aired_at="", published_at="31/12/9999 23:59"), 422, "published_at"),
    "duration 999999999999h": (_deliver(duration="999999999999h"), 422, "duration"),
    "duration over a day": (_deliver(duration="25h"), 422, "duration"),
    "duration of 5,000 digits": (_deliver(duration="9" * 5000), 422, "duration"),
    "supersedes ²": (_deliver(supersedes="²"), 422, "supersedes"),
    "supersedes 2**64": (_deliver(supersedes=HUGE), 422, "supersedes"),
    "note over its limit": (_deliver(note="n" * 10_001), 422, "note"),
    "title over its limit": (_deliver(title="t" * 2001), 422, "title"),
    "token id 2**64": (("post", f"/api/tokens/{HUGE}/revoke", "admin", {}), 422, "token_id"),
    "token id ²": (("post", "/api/tokens/²/revoke", "admin", {}), 422, "token_id"),
    "subscription id 2**64": (("post", f"/api/subscriptions/{HUGE}/revoke", "admin", {}), 422, "subscription_id"),
    "subscription id ²": (("post", "/api/subscriptions/²/revoke", "admin", {}), 422, "subscription_id"),
    "ledger entry 2**64": (("get", f"/api/ledger/{HUGE}/files/{'0' * 64}", "dha", {}), 422, "seq"),
    "excuse reason with a lone surrogate": (_excuse('"\\ud800"'), 422, "reason"),
    "excuse reason over its limit": (_excuse('"%s"' % ("r" * 10_001)), 422, "reason"),
    "excuse supersedes 2**64": (_excuse('"ok"', HUGE), 422, "supersedes"),
    "user email over its limit": (
        ("post", "/api/users", "admin", {"json": {"email": "a" * 300 + "@x.example", "roles": ["editor"]}}),
        422,
        "email",
    ),
    "user name with a lone surrogate": (
        (
            "post",
            "/api/users",
            "admin",
            {
                "content": b'{"email": "s@x.example", "roles": ["editor"], "name": "a\\udfffb"}',
                "headers": {"content-type": "application/json"},
            },
        ),
        422,
        "name",
    ),
    "excuse reason with a NUL": (_excuse('"a\\u0000b"'), 422, "reason"),
    "note with a NUL": (_deliver(note="a\x00b"), 422, "note"),
    "JSON body over 256 KiB": (
        (
            "post",
            "/api/tokens",
            "admin",
            {"content": b'{"email": "' + b"a" * 300_000 + b'"}', "headers": {"content-type": "application/json"}},
        ),
        413,
        None,
    ),
    "streamed JSON body over 256 KiB": (
        (
            "post",
            "/api/tokens",
            "admin",
            {
                "content": lambda: iter([b'{"email": "'] + [b"a" * 65536] * 5 + [b'"}']),  # anew for each database
                "headers": {"content-type": "application/json"},
            },
        ),
        413,
        None,
    ),
}


@pytest.mark.parametrize("name", API_PROBES)
def test_api_probe_is_refused_with_its_field(site, name):
    api, _pages, tokens, _mp = site
    (method, path, who, kwargs), status, field = API_PROBES[name]
    kwargs = dict(kwargs)
    headers = {**tokens[who], **kwargs.pop("headers", {})}
    if callable(kwargs.get("content")):
        kwargs["content"] = kwargs["content"]()
    started = time.monotonic()
    r = getattr(api, method)(path, headers=headers, **kwargs)
    assert time.monotonic() - started < 5  # refused at once, not after computing
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    if field is None:
        assert "256 KiB" in detail
    else:
        assert detail[0]["loc"][-1] == field, detail
        assert "\ud800" not in r.text and "a" * 300 not in r.text  # the input is not echoed back


PAGE_PROBES = {
    "user 2**64": f"/admin/users/{HUGE}",
    "user ²": "/admin/users/²",
    "schedule load 2**64": f"/admin/schedules/loads/{HUGE}",
    "schedule loads ² and 1": "/admin/schedules/loads/²,1",
    "evidence file of entry 2**64": f"/files/{HUGE}/{'0' * 64}",
    "evidence file of entry ²": f"/files/²/{'0' * 64}",
    "subscriptions notice 2**64": f"/subscriptions?revoked={HUGE}",
    "occurrence notice ²": f"/o/{EPISODE}?recorded=²",
}


@pytest.mark.parametrize("name", PAGE_PROBES)
def test_page_probe_is_not_found(site, name):
    _api, pages, _tokens, _mp = site
    r = pages.get(PAGE_PROBES[name])
    assert r.status_code == (200 if "notice" in name else 404), r.text[:300]
    if "notice" in name:
        assert html(r).all("p", cls="notice") == []  # no entry was recorded, so nothing is announced


FORM_PROBES = {
    "user id 2**64": (f"/admin/users/{HUGE}/disable", {}, 404),
    "user id ²": ("/admin/users/²/enable", {}, 404),
    "token id 2**64": (f"/admin/tokens/{HUGE}/revoke", {}, 404),
    "subscription id ² (admin)": ("/admin/subscriptions/²/revoke", {}, 404),
    "own subscription id 2**64": (f"/subscriptions/{HUGE}/revoke", {}, 404),
    "excuse reason over its limit": (f"/o/{EPISODE}/excuses", {"reason": "r" * 10_001}, 422),
    "user name over its limit": ("/admin/users", {"email": "n@x.example", "name": "n" * 201, "roles": "editor"}, 422),
}


@pytest.mark.parametrize("name", FORM_PROBES)
def test_form_probe_is_refused(site, name):
    _api, pages, _tokens, _mp = site
    path, data, status = FORM_PROBES[name]
    token = html(pages.get("/admin/users")).all("input", name="csrf")[0].attrs["value"]
    r = pages.post(path, data={"csrf": token, **data})
    assert r.status_code == status, r.text[:300]
    if status == 422:
        field = next(iter(data)) if "reason" in data else "name"
        assert html(r).one("p", id="invalid").text().startswith(f"{field}: ")


def test_form_bytes_that_are_not_utf8_are_refused_not_kept(site):
    """Found by the outside probe: %ED%A0%80 (a surrogate's bytes) and %FF in
    an urlencoded form were read as U+FFFD and kept in a ledger entry."""
    _api, pages, _tokens, _mp = site
    token = html(pages.get("/admin/users")).all("input", name="csrf")[0].attrs["value"]
    for raw in ("%ED%A0%80", "%FF"):
        r = pages.post(
            f"/o/{EPISODE}/excuses",
            content=f"csrf={token}&reason=ok{raw}ok",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 422 and html(r).one("p", id="invalid").text().startswith("reason: "), r.text[:300]


CLI_PROBES = {
    "reason over its limit": (["excuse", EPISODE, "--by", "dha@snv.example", "--reason", "r" * 10_001], "--reason: "),
    "reason with a lone surrogate": (
        ["excuse", EPISODE, "--by", "dha@snv.example", "--reason", "ok \udcff"],
        "--reason: ",
    ),
    "title over its limit": (
        ["deliver", EPISODE, "--by", "prod@dai.example", "--at", "14/03/2024 19:30", "--title", "t" * 2001],
        "--title: ",
    ),
    "name over its limit": (["users", "add", "x@x.example", "--role", "editor", "--name", "n" * 201], "--name: "),
    "duration over a day": (
        ["deliver", EPISODE, "--by", "prod@dai.example", "--at", "14/03/2024 19:30", "--duration", "999999999999h"],
        "24h",
    ),
    "at in year 9999": (["deliver", EPISODE, "--by", "prod@dai.example", "--at", "31/12/9999 19:30"], "2199"),
    "report period 9999": (["report", "--period", "9999"], "9999"),
    "report decades from the plan": (["report", "--period", "1990"], "phu-tho-2024"),
    "token id 2**64": (["tokens", "revoke", HUGE], HUGE),
    "supersedes 2**64": (
        ["excuse", EPISODE, "--by", "dha@snv.example", "--reason", "ok", "--supersedes", HUGE],
        "--supersedes: ",
    ),
    "subscription id ²": (["subscriptions", "revoke", "²"], "²"),
}


@pytest.mark.parametrize("name", CLI_PROBES)
def test_cli_probe_is_one_line_and_exit_1(site, name):
    args, named = CLI_PROBES[name]
    code, _out, err = _cli(*args, "--now", NOW)
    assert code == 1 and named in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_a_password_is_bounded_both_ways():
    """argon2 would hash any length; the sign-in forms' other fields have bounds, so passwords do too."""
    from scheduler.errors import InputError
    from scheduler.web.auth import MAX_PASSWORD, hash_password

    assert hash_password("p" * MAX_PASSWORD).startswith("$argon2id$")
    for wrong in ("p" * 9, "p" * (MAX_PASSWORD + 1)):
        with pytest.raises(InputError):
            hash_password(wrong)
