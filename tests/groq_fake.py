"""Groq's chat completions faked at the HTTP boundary with respx (shared by the agent tests)."""
from __future__ import annotations

import json
from contextlib import contextmanager

import httpx
import respx

URL = "http://groq.test/openai/v1/chat/completions"
SCORING_MODEL = "llama-3.1-8b-instant"


def completion(content=None, tool_calls=(), prompt=100, completion_tokens=20, model="openai/gpt-oss-120b"):
    """A chat.completion body: a final answer, or tool calls given as (name, args) pairs."""
    msg = {"role": "assistant", "content": content}
    if tool_calls:
        msg["tool_calls"] = [{"id": f"call_{i}", "type": "function",
                              "function": {"name": n, "arguments": a if isinstance(a, str) else json.dumps(a)}}
                             for i, (n, a) in enumerate(tool_calls)]
    return httpx.Response(200, json={
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1730000000, "model": model,
        "choices": [{"index": 0, "finish_reason": "tool_calls" if tool_calls else "stop", "message": msg}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion_tokens,
                  "total_tokens": prompt + completion_tokens}})


@contextmanager
def fake_groq(app, monkeypatch):
    """Turn the Groq agent on; yields the chat route (script it with side_effect). The model
    rating job, which uses a small model in its own job, always gets a fixed rating."""
    monkeypatch.setitem(app.config, "GROQ_API_KEY", "test-key")
    with respx.mock(assert_all_called=False) as mock:
        mock.post(URL, json__model=SCORING_MODEL).mock(return_value=completion(
            '{"lead_score": 90, "sentiment": 0.6}', prompt=50, completion_tokens=10, model=SCORING_MODEL))
        yield mock.post(URL)


def tool_results(call) -> list[dict]:
    """The tool results our code sent the model in one faked request, in order."""
    messages = json.loads(call.request.content)["messages"]
    return [json.loads(m["content"]) for m in messages if m["role"] == "tool"]
