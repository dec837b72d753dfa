"""A local fake of the Zalo OA API v3 and its OAuth v4 on 127.0.0.1, with
the documented request and answer shapes:

- POST /v4/oa/access_token (header secret_key; form app_id,
  grant_type=refresh_token, refresh_token): a new access token, its
  expires_in (seconds, as a string like Zalo's) and a NEW refresh token;
  each refresh token works once (a used one answers an error, as Zalo does).
- POST /v3.0/oa/message/cs and /v3.0/oa/message/transaction (header
  access_token; JSON recipient.user_id and message): HTTP 200 with
  {"error": 0, "message": "Success", "data": {"message_id": ...}} or
  {"error": code, "message": ...}; a user who does not follow: -213.

``script`` queues what the next message requests get instead: an error
code, an HTTP status (429 with Retry-After), or "drop" (the body read,
then the connection closed without an answer).
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Sent:
    path: str
    user_id: str
    message: dict[str, Any]
    access_token: str


@dataclass
class ZaloServer:
    app_id: str = "1234567890"
    app_secret: str = "app-secret-xyz"
    expires_in: int = 90000
    followers: set[str] = field(default_factory=set)
    access_tokens: set[str] = field(default_factory=set)
    refresh_token: str = ""  # the one that works now
    spent: list[str] = field(default_factory=list)  # refresh tokens used, in order
    refused_refresh: list[str] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    script: list[Any] = field(default_factory=list)  # int code, ("http", status, retry_after), "drop"
    refresh_delay: float = 0.0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.refresh_token = "rt-" + secrets.token_hex(8)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                server._serve(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> ZaloServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def expire_access_tokens(self) -> None:
        """Zalo forgets every access token (expired, revoked)."""
        with self.lock:
            self.access_tokens.clear()

    def _answer(self, h: BaseHTTPRequestHandler, data: dict[str, Any], status: int = 200, headers=None) -> None:
        raw = json.dumps(data).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(raw)

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length", "0")))
        if h.path == "/v4/oa/access_token":
            return self._refresh(h, body)
        if h.path not in ("/v3.0/oa/message/cs", "/v3.0/oa/message/transaction"):
            return self._answer(h, {"error": 404, "message": "not found"}, 404)
        with self.lock:
            step = self.script.pop(0) if self.script else None
        if step == "drop":
            h.close_connection = True
            h.connection.shutdown(2)
            return
        if isinstance(step, tuple):
            _, status, after = step
            return self._answer(h, {"error": -32, "message": "busy"}, status, {"Retry-After": str(after)})
        if isinstance(step, int):
            return self._answer(h, {"error": step, "message": f"scripted error {step}"})
        token = h.headers.get("access_token", "")
        with self.lock:
            valid = token in self.access_tokens
        if not valid:
            return self._answer(h, {"error": -216, "message": "Access token is invalid"})
        data = json.loads(body)
        user = data["recipient"]["user_id"]
        if user not in self.followers:
            return self._answer(h, {"error": -213, "message": "User has not followed OA"})
        with self.lock:
            self.sent.append(Sent(h.path, user, data["message"], token))
        self._answer(
            h, {"error": 0, "message": "Success", "data": {"message_id": secrets.token_hex(8), "user_id": user}}
        )

    def _refresh(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if h.headers.get("secret_key") != self.app_secret or form.get("app_id") != self.app_id:
            return self._answer(h, {"error": -14002, "error_name": "Invalid app", "error_description": "bad app"})
        if form.get("grant_type") != "refresh_token":
            return self._answer(h, {"error": -14003, "error_description": "grant_type"})
        if self.refresh_delay:
            threading.Event().wait(self.refresh_delay)
        with self.lock:
            given = form.get("refresh_token", "")
            if given != self.refresh_token:
                self.refused_refresh.append(given)
                return self._answer(h, {"error": -14014, "error_description": "Invalid refresh token"})
            self.spent.append(given)
            access, self.refresh_token = "at-" + secrets.token_hex(8), "rt-" + secrets.token_hex(8)
            self.access_tokens.add(access)
            fresh = self.refresh_token
        self._answer(h, {"access_token": access, "refresh_token": fresh, "expires_in": str(self.expires_in)})
