"""A local stand-in for the Graph API on 127.0.0.1 for tests and benchmarks whose workers run in
other processes (where `responses` can't reach). It records what was sent."""
from __future__ import annotations

import itertools
import random
import time

from tests.stub_server import JsonHandler, StubServer


# Meta's answer to a send it could not take right now (code 2: "Service temporarily unavailable")
TRANSIENT_ERROR = {"error": {"message": "An unexpected error has occurred. Please retry your request later.",
                             "type": "OAuthException", "code": 2, "is_transient": True,
                             "fbtrace_id": "AStubTrace"}}


class GraphStub(StubServer):
    """`fail_rate`: the share of sends answered with Meta's transient 500 (seeded, so a run
    repeats); those are counted in `failed` and not recorded as sent."""

    def __init__(self, send_delay: float = 0.0, get_delay: float = 0.0, fail_rate: float = 0.0,
                 seed: int = 7):
        self.send_delay, self.get_delay = send_delay, get_delay
        self.fail_rate, self.failed = fail_rate, 0
        self._random = random.Random(seed)
        self.sends: list[dict] = []
        self.sent_log: list[tuple[float, dict]] = []  # (monotonic time answered, body)
        self.gets: list[str] = []
        # WhatsApp media: id -> bytes. GET /{id} answers its download URL on this server, which
        # serves the bytes only with a bearer token (as Meta's does); media_auth records them.
        self.media: dict[str, bytes] = {}
        self.media_auth: list[str | None] = []
        self.media_gone: set[str] = set()  # ids Meta no longer has (GET /{id} answers code 100)
        self._ids = itertools.count(1)
        stub = self

        class Handler(JsonHandler):
            def do_GET(self):
                with stub.lock:
                    stub.gets.append(self.path)
                path = self.path.split("?")[0]
                media_id = path.rsplit("/", 1)[-1]
                if path.startswith("/media/") and media_id in stub.media:
                    return self.media_file(stub.media[media_id])
                if media_id in stub.media_gone:
                    return self.reply({"error": {"message": f"Object with ID '{media_id}' does not exist",
                                                 "type": "GraphMethodException", "code": 100}}, status=400)
                if media_id in stub.media:
                    return self.reply({"messaging_product": "whatsapp", "id": media_id,
                                       "url": f"{stub.root_url}/media/{media_id}",
                                       "mime_type": "image/png", "file_size": len(stub.media[media_id])})
                time.sleep(stub.get_delay)
                self.reply({"first_name": "Stub", "last_name": "Person", "id": "x"})

            def media_file(self, data: bytes):
                auth = self.headers.get("Authorization")
                with stub.lock:
                    stub.media_auth.append(auth)
                if not (auth or "").startswith("Bearer "):
                    return self.reply({"error": {"message": "no token", "code": 190}}, status=401)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = self.read_json()
                time.sleep(stub.send_delay)
                with stub.lock:
                    if stub.fail_rate and stub._random.random() < stub.fail_rate:
                        stub.failed += 1
                        return self.reply(TRANSIENT_ERROR, status=500)
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
