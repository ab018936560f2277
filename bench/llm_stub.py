"""A local stand-in for Groq's chat completions: answers every call after a fixed delay."""
from __future__ import annotations

import time

from tests.stub_server import JsonHandler, StubServer


class LLMStub(StubServer):
    def __init__(self, delay: float = 1.0, text: str = "Thanks for your message! How can I help you today?"):
        self.delay, self.text, self.calls = delay, text, 0
        stub = self

        class Handler(JsonHandler):
            def do_POST(self):
                self.read_json()
                time.sleep(stub.delay)
                with stub.lock:
                    stub.calls += 1
                self.reply({
                    "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
                    "model": "bench", "choices": [{"index": 0, "finish_reason": "stop",
                                                   "message": {"role": "assistant", "content": stub.text}}],
                    "usage": {"prompt_tokens": 500, "completion_tokens": 20, "total_tokens": 520}})

        super().__init__(Handler)

    @property
    def base_url(self) -> str:
        return self.root_url
