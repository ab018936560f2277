"""A local stand-in for Groq's chat completions: answers every call after a fixed delay."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LLMStub:
    def __init__(self, delay: float = 1.0, text: str = "Thanks for your message! How can I help you today?"):
        self.delay, self.text, self.calls = delay, text, 0
        self.lock = threading.Lock()
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

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(stub.delay)
                with stub.lock:
                    stub.calls += 1
                body = json.dumps({
                    "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
                    "model": "bench", "choices": [{"index": 0, "finish_reason": "stop",
                                                   "message": {"role": "assistant", "content": stub.text}}],
                    "usage": {"prompt_tokens": 500, "completion_tokens": 20, "total_tokens": 520}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
