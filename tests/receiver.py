"""A real local HTTP server for integration tests: records every request it receives and
answers as the test tells it (status, body, a delay, or hanging until released)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay_s: float = 0.0
    hang: bool = False  # until the receiver closes
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.routes: dict[str, Callable[[Received], Reply]] = {}
        self.released = threading.Event()
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                item = Received(self.path, dict(self.headers.items()), self.rfile.read(size))
                with receiver._lock:
                    receiver.received.append(item)
                    receiver._lock.notify_all()
                answer = receiver.routes.get(self.path, lambda _: Reply())(item)
                if answer.hang:
                    receiver.released.wait(60)
                    return
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the caller gave up first

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def answer(self, path: str, reply: Reply | Callable[[Received], Reply]) -> str:
        self.routes[path] = reply if callable(reply) else (lambda _: reply)
        return self.url(path)

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [item for item in self.received if item.path == path]

    def wait(self, path: str, count: int = 1, timeout: float = 10) -> list[Received]:
        """The first `count` requests to `path`, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [item for item in self.received if item.path == path]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(found)} of {count} requests to {path}")
                self._lock.wait(left)

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
