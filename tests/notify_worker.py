"""A notify worker in its own process (test_notify_job.py): one run of the
notify job with a telegram sender that POSTs to a local provider; with
``--die`` the process kills itself (SIGKILL) right after the provider
accepted, before the row is marked sent.

    python tests/notify_worker.py DATABASE_URL OUTPUTS PROVIDER_URL [--die]
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent.parent), str(Path(__file__).parent)]  # this checkout first

from notify_fixtures import NOW, runtime  # noqa: E402
from scheduler.daemon.notify_jobs import send_notifications  # noqa: E402
from scheduler.fetching.posting import post  # noqa: E402
from scheduler.notifiers.chat import Delivery  # noqa: E402
from scheduler.store.database import Database  # noqa: E402


class PostingSender:
    channel = "telegram"

    def __init__(self, url: str, die: bool):
        self.url, self.die = url, die

    def send(self, delivery: Delivery, now: datetime) -> None:
        body = json.dumps({"chat_id": delivery.address, "text": delivery.text, "event": delivery.event_id}).encode()
        answer = post(
            self.url,
            body,
            headers={"Content-Type": "application/json"},
            timeout=5,
            allow=(ipaddress.ip_network("127.0.0.1/32"),),
        )
        assert answer.status == 200, answer
        if self.die:
            os.kill(os.getpid(), signal.SIGKILL)

    def close(self) -> None:
        pass


def main() -> None:
    url, outputs, provider = sys.argv[1:4]
    database = Database(url)
    rt = runtime(database, url, outputs, NOW, TICK_SECONDS="30")  # a lease of 300 s: outlives a slow start
    rt.senders = {"telegram": PostingSender(provider, "--die" in sys.argv)}
    print(json.dumps(send_notifications(rt)))


if __name__ == "__main__":
    main()
