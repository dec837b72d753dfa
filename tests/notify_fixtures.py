"""What the notify job's tests share: a person with a linked chat, a due
reminder about one occurrence, a runtime, a sender that records what it was
given, and a local chat provider that counts what it accepted (a real
HTTP server, for the worker killed mid-send)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

from scheduler.clock import Clock
from scheduler.daemon import jobs
from scheduler.notifiers.chat import Delivery
from scheduler.reminders.outbox import Message
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.notifier_choices import set_choice
from scheduler.store.notifier_tables import NotifierLinkRow
from scheduler.store.people_tables import UserRow

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 3, 14, 9, 0, tzinfo=TZ)  # a Thursday, in working hours
NIGHT = datetime(2024, 3, 14, 22, 0, tzinfo=TZ)
ANH = "anh@daiptth.phutho.example"
OCCURRENCE = "phu-tho-2024.cchc-radio-tv.2024-03.1"
BASE_URL = "https://lich.phutho.example"


def due(recipient: str = ANH, send_at: datetime = NOW - timedelta(hours=1), lang: str = "vi") -> Message:
    context = {
        "tz": "Asia/Ho_Chi_Minh",
        "occurrence": OCCURRENCE,
        "plan": "phu-tho-2024",
        "obligation": "cchc-radio-tv",
        "agency": "daiptth",
        "title": "Cải cách hành chính",
        "title_en": "Administrative reform",
        "period": "2024-03",
        "number": 1,
        "count": 2,
        "due": "2024-03-15T17:00:00+07:00",
        "slot": None,
        "window_start": "2024-03-01T00:00:00+07:00",
        "window_end": "2024-03-16T00:00:00+07:00",
        "state": "pending",
        "working_days_before": 1,
    }
    at = datetime(2024, 3, 15, 17, tzinfo=TZ)
    return Message("due", f"{OCCURRENCE}#D-1", recipient, at, send_at, at, lang, (), context)


def person(database: Database, email: str = ANH, links: dict[str, str] | None = None, chooses=("telegram",)) -> int:
    """A person with chats linked (channel -> address) who chose them for due reminders."""
    links = {"telegram": "7001"} if links is None else links
    with database.transaction() as s:
        user = UserRow(email=email, name="Anh", roles=["producer"], lang="vi", created_at=NOW, updated_at=NOW)
        s.add(user)
        s.flush()
        for channel, address in links.items():
            s.add(NotifierLinkRow(user_id=user.id, channel=channel, address=address, linked_at=NOW, changed_at=NOW))
        s.flush()
        set_choice(s, user.id, "due", list(chooses))
        return user.id


def runtime(database: Database, db_url: str, outputs, now: datetime = NOW, **env: str) -> jobs.Runtime:
    settings = Settings.load(
        env={"OUTPUTS_DIR": str(outputs), "DATABASE_URL": db_url, "BASE_URL": BASE_URL, "TICK_SECONDS": "0.1", **env}
    )
    return jobs.runtime(settings, database, Clock(TZ, now))


@dataclass
class Recorder:
    """A sender that records each delivery and answers from ``outcomes``
    (an exception to raise, or None: accepted), then accepts."""

    channel: str = "telegram"
    outcomes: list = field(default_factory=list)
    seen: list[Delivery] = field(default_factory=list)
    closed: bool = False

    def send(self, delivery: Delivery, now: datetime) -> None:
        self.seen.append(delivery)
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome

    def close(self) -> None:
        self.closed = True


class ChatProvider:
    """A local chat API that accepts every POST and counts what it accepted."""

    def __init__(self) -> None:
        self.accepted: list[dict] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                provider.accepted.append(json.loads(body))
                answer = json.dumps({"ok": True, "result": {"message_id": len(provider.accepted)}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/sendMessage"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ChatProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
