"""The browser tests' fixtures (a plugin of conftest.py): one Chromium per
test module, the real service with the bundled plan and its people, and a
phone-sized tab that screenshots every page."""

from __future__ import annotations

import io
import sys

import pytest

import browser
from browser import NOW, PASSWORD, USERS, Phone, Server


@pytest.fixture(scope="module")
def chromium():
    """One Chromium for this module; every test gets its own context. Not for
    the session: while the sync API runs, its event loop is the thread's
    running loop, and later tests calling asyncio.run() would fail."""
    reason = browser.unavailable_reason()
    if reason:
        if browser.required():
            pytest.fail(f"the browser tests must run in CI but cannot: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(browser.CHROMIUM), args=browser.CHROMIUM_ARGS)
        yield instance
        instance.close()


class Site:
    def __init__(self, server: Server, cli):
        self.server, self.cli, self.url = server, cli, server.url


@pytest.fixture
def site(cli, monkeypatch, tmp_path):
    """The bundled plan, the people of ``browser.USERS`` (one password for
    all), and the real service on a free port as if it were 20/03/2024 10:00."""
    port = browser.free_port()
    monkeypatch.setenv("BASE_URL", f"http://127.0.0.1:{port}")  # links in feeds and pages lead here
    monkeypatch.setenv("EVIDENCE_LIMIT", "16MiB")
    assert cli("load", "--now", "2024-01-02").code == 0
    server = Server(port, NOW, tmp_path / "serve.log").launch()  # it starts while the users are added
    try:
        for email, role, agency, name in USERS:
            result = cli(
                "users", "add", email, "--role", role, *(["--agency", agency] if agency else []), "--name", name
            )
            assert result.code == 0, result.err
            monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))  # read as one line: not a TTY
            result = cli("users", "password", email)
            assert result.code == 0, result.err
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        server.wait()
        yield Site(server, cli)
    finally:
        code = server.stop()
    assert code == 0, f"the service did not stop cleanly on SIGTERM:\n{server.output()}"


@pytest.fixture
def phone(chromium, site, request):
    context = chromium.new_context(base_url=site.url, **browser.PHONE)
    try:
        phone = Phone(context, site.url, request.node.name)
        yield phone
        assert not phone.blocked, phone.blocked
    finally:
        context.close()
