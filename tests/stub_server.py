"""A tiny JSON HTTP server on 127.0.0.1 in a thread, the base of the local outside-world stubs
(tests and benchmarks whose workers run in other processes, where respx/responses can't reach)."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # headers and body go out as two writes: without NODELAY, Nagle and the client's
        # delayed ACK add ~40 ms to every call
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def read_json(self) -> dict:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        return json.loads(raw or b"{}")

    def reply(self, body: dict, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class StubServer:
    """Serve `handler` (a JsonHandler subclass) until the `with` block ends."""

    def __init__(self, handler: type[JsonHandler]):
        self.lock = threading.Lock()
        # a real API's listen queue is deep; the default of 5 drops connections under a burst
        # and the clients' retransmits would add whole seconds that the real world doesn't
        server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 1024})
        self.server = server_class(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
