"""A real HTTP server on 127.0.0.1 in a thread, with programmable routes:
status, headers, body (sent at once or trickled), a delay before answering,
redirects, an ETag that answers 304. It records every request (path,
headers, when it started and ended) and the most requests it served at once.

    with HttpServer() as server:
        server.route("/feed.xml", body=b"<rss/>", headers={"Content-Type": "application/rss+xml"})
        fetch(server.url("/feed.xml"), ...)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    trickle: float = 0.0  # seconds between two 100-byte pieces of the body
    length: bool = True  # send Content-Length
    location: str = ""  # a redirect's target
    etag: str = ""  # If-None-Match equal to it answers 304


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    started: float
    ended: float = 0.0


class HttpServer:
    """``route`` what to answer; ``seen`` what was asked; ``most_at_once``."""

    def __init__(self, host: str = "127.0.0.1"):
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.active = 0
        self.most_at_once = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server._serve(self)

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.host, self.port = host, self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def route(self, path: str, **answer) -> Route:
        self.routes[path] = Route(**answer)
        return self.routes[path]

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        seen = Seen(handler.path, {k.lower(): v for k, v in handler.headers.items()}, time.monotonic())
        with self._lock:
            self.seen.append(seen)
            self.active += 1
            self.most_at_once = max(self.most_at_once, self.active)
        try:
            route = self.routes.get(handler.path.split("?")[0], Route(404, b"not here"))
            time.sleep(route.delay)
            if route.etag and seen.headers.get("if-none-match") == route.etag:
                handler.send_response(304)
                handler.send_header("ETag", route.etag)
                handler.end_headers()
                return
            handler.send_response(route.status)
            for name, value in route.headers.items():
                handler.send_header(name, value)
            if route.location:
                handler.send_header("Location", route.location)
            if route.etag:
                handler.send_header("ETag", route.etag)
            if route.length:
                handler.send_header("Content-Length", str(len(route.body)))
            handler.end_headers()
            if not route.trickle:
                handler.wfile.write(route.body)
                return
            for start in range(0, len(route.body), 100):
                handler.wfile.write(route.body[start : start + 100])
                handler.wfile.flush()
                time.sleep(route.trickle)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout, a size limit): what the test wants
        finally:
            with self._lock:
                self.active -= 1
                seen.ended = time.monotonic()

    def __enter__(self) -> HttpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
