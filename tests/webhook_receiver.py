"""A webhook receiver on 127.0.0.1, as a subscriber would write one: it
verifies each POST with its OWN copy of the ten lines our docs give
(docs/webhooks.md), not with the service's function; refuses a
bad signature (401), a stale timestamp (401) and a replay of an id it has
already accepted (acknowledged with 200, not processed again); and can be told to answer 500, 429 or 410, or to
drop the connection after reading the request.

    with WebhookReceiver(secret) as r:
        r.plan("500", "drop", "ok")   # the next answers, in order; then "ok"
        ... r.url ... r.events ... r.refused
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: str, headers, body: bytes, now: float, tolerance: int = 300) -> bool:
    """The docs' ten lines: Standard Webhooks' v1 signature."""
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(now - int(stamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, g) for g in given)


class WebhookReceiver:
    def __init__(self, secret: str = ""):
        self.secret = secret
        self.events: list[dict] = []  # accepted, verified, in order
        self.requests: list[dict] = []  # every request: headers, body, answer given
        self.refused: list[str] = []  # why each refused request was refused
        self.clock = time.time  # a test of planned moments sets its own
        self._plan: list[str] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                receiver._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def plan(self, *answers: str) -> None:
        """The next answers: "ok", "500", "429" (Retry-After: 120), "410", "drop"."""
        with self._lock:
            self._plan.extend(answers)

    def _answer(self, handler, status: int, text: str, headers: dict | None = None) -> None:
        handler.send_response(status)
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.send_header("Content-Length", str(len(text.encode())))
        handler.end_headers()
        handler.wfile.write(text.encode())

    def _handle(self, handler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            mode = self._plan.pop(0) if self._plan else "ok"
            self.requests.append({"headers": headers, "body": body, "mode": mode})
            if mode == "drop":
                handler.connection.shutdown(socket.SHUT_RDWR)
                handler.close_connection = True
                return
            if mode in ("500", "410"):
                return self._answer(handler, int(mode), "Lỗi máy chủ" if mode == "500" else "gone")
            if mode == "429":
                return self._answer(handler, 429, "slow down", {"Retry-After": "120"})
            try:
                good = verify(self.secret, headers, body, self.clock())
            except (KeyError, ValueError):
                good = False
            if not good:
                self.refused.append("signature or timestamp")
                return self._answer(handler, 401, "bad signature")
            if headers["webhook-id"] in self._seen:
                self.refused.append("replay")  # acknowledged (a resend after a crash), not processed again
                return self._answer(handler, 200, "duplicate")
            self._seen.add(headers["webhook-id"])
            self.events.append(json.loads(body))
            return self._answer(handler, 204 if len(self.events) % 2 else 200, "")

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
