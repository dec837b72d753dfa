"""Every form route of the pages (each POST the app serves outside /api),
posted by each role with its session's CSRF token and generated values:
long text, lone surrogates (as the UTF-8 bytes a client would send), Unicode
digits, huge integers, odd dates, empty and missing fields, odd ids in the
path. No answer is a 5xx or shows a traceback. Fixed seed, bounded examples."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from html_tree import html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.web.app import create_app
from scheduler.web.auth import set_password

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))  # per route and role
NOW = "2024-03-20 10:00"
PASSWORD = "mat-khau-du-dai"
EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.1"
ROLES = {
    "admin": ("admin@x.example", "admin", None),
    "dha": ("dha@snv.example", "dha", "so-noi-vu"),
    "producer": ("prod@dai.example", "producer", "dai-ptth"),
    "editor": ("ed@dai.example", "editor", None),
}
SIGNS_OUT = {"/logout"}  # fuzzed, it would end the session the other routes need
HUGE = "18446744073709551616"
ODD = [
    "",
    " ",
    "\ud800",
    "a\udfffb",
    "²",
    "١٢",
    "１２",
    HUGE,
    "-1",
    "0",
    "1e9",
    "9" * 5000,
    "x" * 20_000,
    "31/12/9999",
    "0001-01-01T00:00+14:00",
    "9999",
    "0001-01-01..9999-12-31",
    "999999999999h",
    "25h",
    "\x00",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "Q4/9999",
    "2024-13",
    "admin",
    "vi",
    "on",
    EPISODE,
    "cchc-radio-tv",
    "dai-ptth",
    "https://x.example/" + "a" * 3000,
    "14/03/2024 19:30",
]
# The names the pages' forms use, and a few they do not.
FIELDS = sorted(
    set(
        re.findall(
            r'name="([a-z_]+)"',
            "".join(p.read_text(encoding="utf-8") for p in (Path(__file__).parent.parent / "templates").glob("*.html")),
        )
    )
    - {"csrf"}
    | {"aired_at", "published_at", "sha256", "unknown", "issue_number"}
)
IDS = ["1", "2", "3", "4", "0", HUGE, "²", "-1", "1,2", "abc", "9" * 40, EPISODE, "cchc-radio-tv"]
# Path values that reach the routes' logic (an existing row), by parameter name.
REAL = {
    "occurrence_id": [EPISODE],
    "code": ["dai-ptth", "cchc-radio-tv"],
    "obligation": ["cchc-radio-tv"],
    "fmt": ["csv", "json", "xlsx", "html"],
    "plan": ["phu-tho-2024"],
    "ids": ["1"],
}

values = st.one_of(
    st.sampled_from(ODD), st.text(max_size=30), st.integers().map(str), st.dates().map(lambda d: d.strftime("%d/%m/%Y"))
)
forms = st.dictionaries(st.sampled_from(FIELDS), st.lists(values, min_size=1, max_size=3), max_size=8)


def path_values(name: str):
    return st.one_of(
        st.sampled_from(REAL.get(name, ["1", "2"])), st.sampled_from(IDS), st.text(min_size=1, max_size=20)
    )


def target(path: str, params: dict[str, str]) -> str:
    return path.format(**{k: quote(v.encode("utf-8", "surrogatepass"), safe="") for k, v in params.items()})


def run_cli(*args: str) -> str:
    import main

    out, err = io.StringIO(), io.StringIO()
    assert main.run(list(args), out, err) == 0, err.getvalue()
    return out.getvalue()


def page_routes(routes, method: str = "POST", found=None) -> list[str]:
    """Every path outside the API that answers ``method``, through included routers."""
    found = [] if found is None else found
    for route in routes:
        if hasattr(route, "path"):
            if method in (getattr(route, "methods", None) or ()) and not route.path.startswith(
                ("/api/", "/docs", "/redoc")
            ):
                found.append(route.path)
        else:
            page_routes(route.original_router.routes, method, found)
    return sorted(set(found))


def encoded(fields: dict[str, list[str]], csrf: str | None) -> bytes:
    """urlencoded as a client sends it: a lone surrogate goes out as its (invalid) UTF-8 bytes."""
    pairs = [("csrf", csrf)] if csrf is not None else []
    pairs += [(k, v) for k, vs in fields.items() for v in vs]
    return "&".join(quote_plus(k) + "=" + quote_plus(v.encode("utf-8", "surrogatepass")) for k, v in pairs).encode(
        "ascii"
    )


@pytest.fixture
def world(monkeypatch, tmp_path):
    monkeypatch.setenv("OUTPUTS_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'scheduler.sqlite3'}")
    monkeypatch.delenv("SCHEDULER_LANG", raising=False)
    run_cli("load", "--now", "2024-01-02")
    for email, role, agency in ROLES.values():
        run_cli("users", "add", email, "--role", role, *(["--agency", agency] if agency else []))
    run_cli("subscribe", "--email", "ed@dai.example", "--obligation", "cchc-radio-tv")
    db = Database(f"sqlite:///{tmp_path / 'scheduler.sqlite3'}")
    with db.transaction() as s:
        for email, _role, _agency in ROLES.values():
            set_password(s, find_user(s, email), PASSWORD, parse_now(NOW, DEFAULT_TZ))
    yield create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ)))
    db.close()


def signed_in(app, role: str) -> TestClient:
    client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    token = html(client.get("/login")).one("form", id="login").one("input", name="csrf").attrs["value"]
    answer = client.post("/login", data={"csrf": token, "email": ROLES[role][0], "password": PASSWORD, "next": "/"})
    assert answer.status_code == 303, answer.text
    return client


@pytest.mark.parametrize("role", ROLES)
def test_every_form_route_survives_generated_values(world, role):
    client = signed_in(world, role)
    csrf = html(client.get("/me")).all("input", name="csrf")[0].attrs["value"]
    routes = [p for p in page_routes(world.routes) if p not in SIGNS_OUT]
    assert len(routes) > 15
    failures, seen = [], set()
    for path, odd in ((p, v) for p in routes for v in ODD):  # first each odd value in every field at once
        real = target(path, {name: REAL.get(name, ["1"])[0] for name in re.findall(r"{(\w+)}", path)})
        r = client.post(
            real,
            content=encoded({name: [odd] for name in FIELDS}, csrf),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        seen.add(r.status_code)
        if r.status_code >= 500 or "Traceback" in r.text:
            failures.append(f"{real} with every field {odd[:40]!r}: {r.status_code} {r.text[:300]}")
    for path in routes:

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            fields=forms,
            params=st.fixed_dictionaries({name: path_values(name) for name in re.findall(r"{(\w+)}", path)}),
            with_csrf=st.sampled_from([True, True, True, False]),
        )
        def post(fields, params, with_csrf):
            r = client.post(
                target(path, params),
                content=encoded(fields, csrf if with_csrf else "wrong"),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            seen.add(r.status_code)
            assert r.status_code < 500 and "Traceback" not in r.text, (
                path,
                params,
                fields,
                r.status_code,
                r.text[:300],
            )

        try:
            post()
        except (Exception, BaseExceptionGroup) as e:  # every route's failure, not only the first route's
            failures.append(f"{path}: {e}")
    assert not failures, "\n\n".join(failures)
    assert {303, 422} <= seen  # forms were read and acted on, not only refused at the gate


# The query names the pages read: their declared parameters and those read from request.query_params.
QUERY = sorted(
    set(
        re.findall(
            r'(?:query_params|query)\.get\("(\w+)"',
            "".join(
                p.read_text(encoding="utf-8") for p in (Path(__file__).parent.parent / "scheduler" / "web").glob("*.py")
            ),
        )
    )
    | {"plan", "period", "cutoff", "agency", "obligation", "channel", "milestones", "month", "lang"}
)


@pytest.mark.parametrize("role", ["admin", "producer"])
def test_every_page_survives_generated_queries(world, role):
    """The GET pages (calendar months, dashboard periods, notices...) with odd query values."""
    client = signed_in(world, role)
    routes = page_routes(world.routes, "GET")
    assert len(routes) > 15
    failures = []
    for path, odd in ((p, v) for p in routes for v in ODD):  # first each odd value in every name at once
        real = target(path, {name: REAL.get(name, ["1"])[0] for name in re.findall(r"{(\w+)}", path)})
        r = client.get(real + "?" + encoded({name: [odd[:1000]] for name in QUERY}, None).decode())
        if r.status_code >= 500 or "Traceback" in r.text:
            failures.append(f"{real} with every query value {odd[:40]!r}: {r.status_code} {r.text[:300]}")
    for path in routes:

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            query=st.dictionaries(st.sampled_from(QUERY), values, min_size=1, max_size=3),
            params=st.fixed_dictionaries({name: path_values(name) for name in re.findall(r"{(\w+)}", path)}),
        )
        def get(query, params):
            url = target(path, params) + "?" + encoded({k: [v] for k, v in query.items()}, None).decode()
            r = client.get(url)
            assert r.status_code < 500 and "Traceback" not in r.text, (path, params, query, r.status_code, r.text[:300])

        try:
            get()
        except (Exception, BaseExceptionGroup) as e:
            failures.append(f"{path}: {e}")
    assert not failures, "\n\n".join(failures)
