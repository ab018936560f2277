"""A local stand-in for Groq's chat completions: answers every call after a fixed delay, and
with `fail_rate` answers that share of calls with a 500 (seeded, so a run repeats)."""
from __future__ import annotations

import random
import time

from tests.stub_server import JsonHandler, StubServer


class LLMStub(StubServer):
    def __init__(self, delay: float = 1.0, text: str = "Thanks for your message! How can I help you today?",
                 fail_rate: float = 0.0, seed: int = 11):
        self.delay, self.text, self.calls = delay, text, 0
        self.fail_rate, self.failed = fail_rate, 0
        self._random = random.Random(seed)
        stub = self

        class Handler(JsonHandler):
            def do_POST(self):
                self.read_json()
                time.sleep(stub.delay)
                with stub.lock:
                    stub.calls += 1
                    failing = stub.fail_rate and stub._random.random() < stub.fail_rate
                    stub.failed += bool(failing)
                if failing:
                    return self.reply({"error": {"message": "Internal Server Error",
                                                 "type": "internal_server_error"}}, status=500)
                self.reply({
                    "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
                    "model": "bench", "choices": [{"index": 0, "finish_reason": "stop",
                                                   "message": {"role": "assistant", "content": stub.text}}],
                    "usage": {"prompt_tokens": 500, "completion_tokens": 20, "total_tokens": 520}})

        super().__init__(Handler)

    @property
    def base_url(self) -> str:
        return self.root_url
