"""The warm path at the app's door (web.warm_feeds) gives the route's and
the middleware's own answers, header for header and byte for byte, and leaves every
other case (first build, a cache due for its look at the database, unknown
and revoked tokens, HEAD) to the route."""

from __future__ import annotations

import re
from datetime import UTC

import pytest
from fastapi.testclient import TestClient

from scheduler.bounds import MAX_BODY
from scheduler.clock import Clock
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.web import warm_feeds
from scheduler.web.app import create_app


@pytest.fixture
def served(cli, db_url, monkeypatch):
    """The bundled plan loaded, one subscription, the real app, and a count
    of the answers the warm path gave."""
    assert cli("load", "--now", "2024-01-02").code == 0
    out = cli("subscribe", "--email", "a@x.example", "--agency", "bao-phu-tho").out
    token = re.search(r"/feeds/([A-Za-z0-9_-]+)\.ics", out)[1]
    answered = []
    real = warm_feeds.warm

    def counted(app, scope, token):
        answer = real(app, scope, token)
        answered.append(answer is not None)
        return answer

    monkeypatch.setattr(warm_feeds, "warm", counted)
    db = Database(db_url)
    client = TestClient(create_app(Settings.load(), db, Clock(UTC)))
    yield client, token, answered
    db.close()


def _hold(client) -> None:
    """The cache stays current (its clock stands still), so the warm path may answer."""
    cache = client.app.state.services.feeds
    cache.monotonic = lambda: cache.checked_at


def test_the_warm_answer_is_the_routes(served):
    client, token, answered = served
    path = f"/feeds/{token}.ics"
    cold = client.get(path)  # built by the route
    assert cold.status_code == 200 and answered == [False]
    _hold(client)
    warm = client.get(path)
    assert answered[-1] is True
    assert (warm.status_code, warm.content) == (200, cold.content)
    assert warm.headers.items() == cold.headers.items()  # ETag, Last-Modified, security headers, all of them
    assert warm.headers["content-length"] == str(len(cold.content))
    for asked in ({"If-None-Match": cold.headers["etag"]}, {"If-Modified-Since": cold.headers["last-modified"]}):
        again = client.get(path, headers=asked)
        assert (again.status_code, again.content, answered[-1]) == (304, b"", True)
        assert again.headers["etag"] == cold.headers["etag"]
    assert client.get(path, headers={"If-None-Match": '"foreign"'}).content == cold.content


def test_everything_else_goes_to_the_route(served, cli):
    client, token, answered = served
    path = f"/feeds/{token}.ics"
    client.get(path)
    _hold(client)
    head = client.head(path)
    assert head.status_code == 200 and head.content == b"" and len(answered) == 1  # HEAD: not looked at
    with_body = client.request("GET", path, content=b"x" * (MAX_BODY + 1), headers={"Content-Type": "application/json"})
    assert with_body.status_code == 413 and answered[-1] is False  # BodyLimit's answer, as before
    unknown = client.get("/feeds/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics")
    assert (unknown.status_code, answered[-1]) == (404, False)
    assert client.get(f"/feeds/public/{token}.ics").status_code == 404  # not the token pattern
    assert cli("subscriptions", "revoke", "1").code == 0
    cache = client.app.state.services.feeds
    cache.monotonic = lambda: cache.checked_at + 2  # due: the route looks at the database
    revoked = client.get(path)
    assert (revoked.status_code, revoked.content, answered[-1]) == (404, unknown.content, False)
