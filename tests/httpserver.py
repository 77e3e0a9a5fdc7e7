"""A real HTTP server on 127.0.0.1 for the collector's tests (stdlib http.server in a thread).

Routes are set per test: fixed responses with optional ETag/Last-Modified handling, delays, trickled bodies,
gzip, failures for the first N requests, or a function for anything else. Every request is recorded, and the
number of requests in flight at once is tracked to check the per-host limits.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # before the status line
    trickle: float = 0.0  # between 1-byte chunks of the body
    gzip: bool = False
    send_length: bool = True
    fail_first: int = 0  # answer 503 to this many requests first
    fail_status: int = 503
    hits: int = 0


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]
    at: float


Handler = Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]


class SampleServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route | Handler] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(
                        Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
                    )
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    server._answer(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeouts, size limits): expected in these tests
                finally:
                    with server._lock:
                        server.in_flight -= 1

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self.port = self._httpd.server_address[1]
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> SampleServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        route = self.routes.get(handler.path.split("?")[0])
        if route is None:
            handler.send_response(404)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if callable(route):
            status, headers, body = route(handler)
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        with self._lock:
            route.hits += 1
            attempt = route.hits
        if route.delay:
            time.sleep(route.delay)
        if attempt <= route.fail_first:
            handler.send_response(route.fail_status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        etag_match = route.etag is not None and handler.headers.get("If-None-Match") == route.etag
        date_match = route.last_modified is not None and handler.headers.get("If-Modified-Since") == route.last_modified
        if etag_match or (route.etag is None and date_match):
            handler.send_response(304)
            handler.end_headers()
            return
        body = gzip.compress(route.body) if route.gzip else route.body
        handler.send_response(route.status)
        if route.content_type:
            handler.send_header("Content-Type", route.content_type)
        if route.etag:
            handler.send_header("ETag", route.etag)
        if route.last_modified:
            handler.send_header("Last-Modified", route.last_modified)
        if route.gzip:
            handler.send_header("Content-Encoding", "gzip")
        for name, value in route.headers.items():
            handler.send_header(name, value)
        if route.send_length:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if route.trickle:
            for i in range(len(body)):
                handler.wfile.write(body[i : i + 1])
                handler.wfile.flush()
                time.sleep(route.trickle)
        else:
            handler.wfile.write(body)


def redirect(location: str, status: int = 302) -> Handler:
    def answer(_: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        return status, {"Location": location}, b""

    return answer
