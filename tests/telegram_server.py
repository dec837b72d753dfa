"""A fake Telegram Bot API on 127.0.0.1, in a thread: POST
/bot<TOKEN>/<method> with JSON, answered in the documented shapes
({"ok": true, "result": ...} or {"ok": false, "error_code", "description",
"parameters"}). It keeps the updates it was given (``message``,
``member``) for getUpdates (an offset confirms those before it), answers
sendMessage and getMe, records every call, and can be told what to answer
next: ``fail("429", retry_after=5)``, "blocked", "deactivated", "kicked",
"not_found", "migrated" (migrate_to=ID), "401", "500", "409", or "drop"
(read the request, then close without a word).

    with TelegramServer("123:ABC") as bot:
        env = bot.env  # TELEGRAM_BOT_TOKEN, TELEGRAM_API, NOTIFY_ALLOW
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERRORS: dict[str, tuple[int, str]] = {
    "429": (429, "Too Many Requests: retry after {retry_after}"),
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "deactivated": (403, "Forbidden: user is deactivated"),
    "kicked": (403, "Forbidden: bot was kicked from the group chat"),
    "not_found": (400, "Bad Request: chat not found"),
    "migrated": (400, "Bad Request: group chat was upgraded to a supergroup chat"),
    "bad_request": (400, "Bad Request: message is too long"),
    "401": (401, "Unauthorized"),
    "500": (500, "Internal Server Error"),
    "409": (409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"),
}


@dataclass
class Call:
    method: str
    payload: dict[str, Any]
    path: str


class TelegramServer:
    def __init__(self, token: str = "123456:TEST-token_ABCdef", bot_name: str = "LichTestBot"):
        self.token, self.bot_name = token, bot_name
        self.calls: list[Call] = []
        self.updates: list[dict] = []
        self.next_update = 700000001
        self.failures: list[tuple[str, str, dict]] = []  # (method, kind, parameters)
        self._lock = threading.Lock()
        self._message_id = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                server._serve(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "TELEGRAM_BOT_TOKEN": self.token,
            "TELEGRAM_API": self.api,
            "TELEGRAM_BOT_NAME": self.bot_name,
            "NOTIFY_ALLOW": "127.0.0.1",
            "NOTIFY_TIMEOUT": "3",
        }

    def fail(self, kind: str, method: str = "sendMessage", **parameters) -> None:
        """The next call of ``method`` answers ``kind`` (see ERRORS, or "drop")."""
        with self._lock:
            self.failures.append((method, kind, parameters))

    def sent(self) -> list[dict]:
        return [c.payload for c in self.calls if c.method == "sendMessage"]

    def message(self, chat: dict, text: str, sender: dict | None = None, **extra) -> int:
        """A message the bot receives (a private chat or a group)."""
        who = sender or {"id": chat["id"], "is_bot": False, "first_name": chat.get("first_name", "Người dùng")}
        body = {"message_id": 1, "date": 1710467000, "chat": chat, "from": who, "text": text, **extra}
        return self._update({"message": body})

    def member(self, chat: dict, status: str, old: str = "member") -> int:
        """A my_chat_member update: the bot's status in ``chat`` changed."""
        bot = {"id": 42, "is_bot": True, "first_name": "Lich", "username": self.bot_name}
        body = {
            "chat": chat,
            "from": {"id": 7, "is_bot": False, "first_name": "Ai đó"},
            "date": 1710467000,
            "old_chat_member": {"status": old, "user": bot},
            "new_chat_member": {"status": status, "user": bot},
        }
        return self._update({"my_chat_member": body})

    def _update(self, content: dict) -> int:
        with self._lock:
            update_id = self.next_update
            self.next_update += 1
            self.updates.append({"update_id": update_id, **content})
        return update_id

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        prefix = f"/bot{self.token}/"
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            payload = {}
        method = handler.path[len(prefix) :] if handler.path.startswith(prefix) else ""
        with self._lock:
            self.calls.append(Call(method or handler.path, payload, handler.path))
            forced = next((f for f in self.failures if f[0] == method), None)
            if forced:
                self.failures.remove(forced)
        if not method:
            if handler.path.startswith("/bot"):  # another token: what Telegram says of a wrong one
                return self._answer(handler, 401, _error(401, "Unauthorized"))
            return self._answer(handler, 404, _error(404, "Not Found"))
        if forced:
            _, kind, parameters = forced
            if kind == "drop":
                handler.close_connection = True
                handler.connection.close()
                return None
            status, description = ERRORS[kind]
            body = _error(status, description.format(**parameters), parameters)
            if kind == "401":
                body = _error(401, "Unauthorized")
            if kind == "migrated":
                body["parameters"] = {"migrate_to_chat_id": parameters["migrate_to"]}
            return self._answer(handler, status, body)
        return self._answer(handler, 200, {"ok": True, "result": self._result(method, payload)})

    def _result(self, method: str, payload: dict) -> Any:
        if method == "getMe":
            return {"id": 42, "is_bot": True, "first_name": "Lich", "username": self.bot_name}
        if method == "getUpdates":
            offset, limit = int(payload.get("offset") or 0), int(payload.get("limit") or 100)
            with self._lock:
                if offset:
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                return self.updates[:limit]
        if method == "sendMessage":
            with self._lock:
                self._message_id += 1
                return {"message_id": self._message_id, "date": 1710467000, "chat": {"id": payload.get("chat_id")}}
        return True

    def _answer(self, handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def __enter__(self) -> TelegramServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _error(status: int, description: str, parameters: dict | None = None) -> dict:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body
