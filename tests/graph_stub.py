"""A local stand-in for the Graph API on 127.0.0.1 for tests and benchmarks whose workers run in
other processes (where `responses` can't reach). It records what was sent."""
from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class GraphStub:
    def __init__(self, send_delay: float = 0.0, get_delay: float = 0.0):
        self.send_delay, self.get_delay = send_delay, get_delay
        self.sends: list[dict] = []
        self.sent_log: list[tuple[float, dict]] = []  # (monotonic time answered, body)
        self.gets: list[str] = []
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # headers and body go out as two writes: without NODELAY, Nagle and the
                # client's delayed ACK add ~40 ms to every call
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _reply(self, body: dict):
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                with stub.lock:
                    stub.gets.append(self.path)
                time.sleep(stub.get_delay)
                self._reply({"first_name": "Stub", "last_name": "Person", "id": "x"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if "sender_action" in body or body.get("status") == "read":
                    return self._reply({"success": True})
                time.sleep(stub.send_delay)
                with stub.lock:
                    n = next(stub._ids)
                    stub.sends.append(body)
                    stub.sent_log.append((time.monotonic(), body))
                if body.get("messaging_product") == "whatsapp":
                    return self._reply({"messaging_product": "whatsapp", "messages": [{"id": f"wamid.S{n}"}]})
                return self._reply({"recipient_id": body.get("recipient", {}).get("id"), "message_id": f"m_stub_{n}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v25.0"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
