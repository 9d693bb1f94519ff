"""A loopback HTTP server that records every request exactly as it arrived (method, raw target,
headers, body) and answers with Encord's "not found" shapes, so the real SDK sends a request and
then stops cleanly. Used to capture what the SDK puts on the wire."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Recorded:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    server: _RecordingServer

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.recorded.append(
            Recorded(self.command, self.path, dict(self.headers.items()), body)
        )
        if self.path.startswith("/v2/"):
            status, answer = 404, {"message": "recorded by the test recorder"}
        else:  # the legacy envelope: errors are HTTP 200 with the code in a list
            status = 200
            answer = {
                "status": 404,
                "response": ["RESOURCE_NOT_FOUND_ERROR"],
                "payload": "recorded by the test recorder",
            }
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _record

    def log_message(self, format: str, *args: object) -> None:
        return


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.recorded: list[Recorded] = []


@contextmanager
def recording_server() -> Iterator[tuple[str, list[Recorded]]]:
    """(base URL, the list requests are appended to) while the server runs."""
    server = _RecordingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.recorded
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
