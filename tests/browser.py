"""Helpers for the browser tests: Debian's Chromium driven by Playwright, the
real service in a subprocess, and a phone that screenshots every page.

Playwright's own browser download cannot run here, so the tests point it at
the distribution's ``chromium`` package (``.ci/run`` installs it in CI).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOW = "2024-03-20 10:00"
PASSWORD = "mat-khau-du-dai"
PRODUCER = "bientap@dai.example"  # Trần Bình, of Đài Phát thanh và Truyền hình
NEWSPAPER = "phongvien@bao.example"  # of Báo Phú Thọ
DHA = "chuyenvien@snv.example"  # Nguyễn Lan, of Sở Nội vụ (the Department of Home Affairs)
ADMIN = "quantri@tttt.example"  # Đỗ Minh, who administers the service
EDITOR = "lich@dai.example"  # Phạm An, an editor of the station who plans from the calendar
USERS = (
    (PRODUCER, "producer", "dai-ptth", "Trần Bình"),
    (NEWSPAPER, "producer", "bao-phu-tho", "Lê Hoa"),
    (DHA, "dha", "so-noi-vu", "Nguyễn Lan"),
    (ADMIN, "admin", None, "Đỗ Minh"),
    (EDITOR, "editor", "dai-ptth", "Phạm An"),
)
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "locale": "vi-VN",
    "timezone_id": "Asia/Ho_Chi_Minh",
}


UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden')
    .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
    .map(e => e.outerHTML)"""


def fits(page, step: str) -> None:
    """No sideways scrolling on the phone, and a label on every visible field."""
    width, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width <= client, f"{step}: the page is {width} px wide on a {client} px screen"
    assert page.evaluate(UNLABELLED) == [], f"{step}: inputs without a label"


def required() -> bool:
    """In CI (REQUIRE_POSTGRES=1, or CI set) a missing browser is a failure."""
    return os.environ.get("REQUIRE_POSTGRES") == "1" or bool(os.environ.get("CI"))


def unavailable_reason() -> str | None:
    if not CHROMIUM.exists():
        return (
            f"no Chromium at {CHROMIUM} (install Debian's package: apt-get install -y --no-install-recommends chromium)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        return f"the playwright package is not installed ({e}); pip install -e '.[test]'"
    return None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python main.py serve`` in its own process, on a free port, with the
    environment of the test (OUTPUTS_DIR, DATABASE_URL, BASE_URL)."""

    def __init__(self, port: int, now: str, log: Path):
        self.port, self.now, self.log_path = port, now, log
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def launch(self) -> Server:
        """Start the process; it takes a few seconds to answer (see ``wait``)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "PYTEST"))}
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (open while the server runs; closed by stop)
        self.process = subprocess.Popen(
            [sys.executable, "main.py", "serve", "--port", str(self.port), "--no-scheduler", "--now", self.now],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait(self, timeout: float = 60) -> Server:
        """Until /healthz answers "ok"."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited with {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as r:
                    if json.load(r).get("status") == "ok":
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the service did not answer /healthz in {timeout:.0f} s:\n{self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()
        return self.process.returncode

    def get(self, path: str) -> bytes:
        """A plain HTTP GET, as a calendar client would make it."""
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as r:
            return r.read()


class Phone:
    """A phone-sized browser tab that names and keeps a full-page screenshot
    of each page it visits (``tests/screenshots/<test>/<nn>-<step>.png``)."""

    def __init__(self, context, base_url: str, test_name: str):
        self.context, self.base_url = context, base_url
        self.page = context.new_page()
        self.page.set_default_timeout(15_000)
        self.blocked: list[str] = []  # what the Content-Security-Policy refused: a page that lost its CSS or script
        self.page.on("console", lambda m: self.blocked.append(m.text) if "Content Security Policy" in m.text else None)
        self.folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "-", test_name).strip("-")
        if self.folder.exists():
            for old in self.folder.glob("*.png"):
                old.unlink()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.shots = 0

    def snap(self, step: str) -> Path:
        self.shots += 1
        name = re.sub(r"[^\w.-]+", "-", step)
        path = self.folder / f"{self.shots:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def goto(self, path: str, step: str):
        response = self.page.goto(self.base_url + path)
        self.snap(step)
        return response

    def path(self) -> str:
        """The current address without the host: ``/o/x?recorded=1``."""
        url = self.page.url
        return url[len(self.base_url) :] if url.startswith(self.base_url) else url

    def sign_in(self, email: str, password: str, step: str = "signed-in", next_path: str | None = None):
        self.goto("/login" + (f"?next={next_path}" if next_path else ""), "login")
        self.page.fill("form#login #email", email)
        self.page.fill("form#login #password", password)
        with self.page.expect_navigation():
            self.page.click("form#login [type=submit]")
        self.snap(step)

    def csrf(self) -> str:
        """The session's CSRF token, as the page's forms carry it."""
        return self.page.get_attribute("input[name=csrf]", "value")
