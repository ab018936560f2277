"""A local stand-in for the Graph API on 127.0.0.1 for tests and benchmarks whose workers run in
other processes (where `responses` can't reach). It records what was sent."""
from __future__ import annotations

import itertools
import time

from tests.stub_server import JsonHandler, StubServer


class GraphStub(StubServer):
    def __init__(self, send_delay: float = 0.0, get_delay: float = 0.0):
        self.send_delay, self.get_delay = send_delay, get_delay
        self.sends: list[dict] = []
        self.sent_log: list[tuple[float, dict]] = []  # (monotonic time answered, body)
        self.gets: list[str] = []
        self._ids = itertools.count(1)
        stub = self

        class Handler(JsonHandler):
            def do_GET(self):
                with stub.lock:
                    stub.gets.append(self.path)
                time.sleep(stub.get_delay)
                self.reply({"first_name": "Stub", "last_name": "Person", "id": "x"})

            def do_POST(self):
                body = self.read_json()
                time.sleep(stub.send_delay)
                with stub.lock:
                    n = next(stub._ids)
                    stub.sends.append(body)
                    stub.sent_log.append((time.monotonic(), body))
                if body.get("messaging_product") == "whatsapp":
                    return self.reply({"messaging_product": "whatsapp", "messages": [{"id": f"wamid.S{n}"}]})
                return self.reply({"recipient_id": body.get("recipient", {}).get("id"),
                                   "message_id": f"m_stub_{n}"})

        super().__init__(Handler)

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v25.0"
