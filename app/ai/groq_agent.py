"""The Groq agent: tool calling in a bounded loop through the official SDK.

A malformed tool call (bad JSON arguments, or Groq's 400 `tool_use_failed`) is answered with an
error the model can correct, never a crash; after MAX_ROUNDS the model must answer without tools.
"""
from __future__ import annotations

import json
import logging
import time

import httpx
from groq import APITimeoutError, BadRequestError

from app.ai import tools
from app.ai.reply import Reply
from app.ai.tool_schemas import TOOL_SCHEMAS
from app.clients.groq_client import complete
from app.extensions import end_read

log = logging.getLogger(__name__)
MAX_ROUNDS = 4


def _tool_use_failed(exc: BadRequestError) -> bool:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    return isinstance(error, dict) and error.get("code") == "tool_use_failed"


class GroqAgent:
    name = "groq"

    def __init__(self, client, model: str, *, budget_s: float = 60.0, call_timeout_s: float = 20.0):
        self.client, self.model = client, model
        self.budget_s, self.call_timeout_s = budget_s, call_timeout_s

    def reply(self, ctx: tools.ToolContext, messages: list[dict]) -> Reply:
        """Raises groq.APITimeoutError when the whole exchange would outlast its budget, so
        the caller (and the job around it) always ends in time."""
        started = time.monotonic()
        convo = list(messages)
        usage = {"prompt_tokens": 0, "completion_tokens": 0}
        for round_no in range(MAX_ROUNDS + 1):
            last = round_no == MAX_ROUNDS
            remaining = self.budget_s - (time.monotonic() - started)
            if remaining < 2:
                raise APITimeoutError(request=httpx.Request("POST", "chat/completions"))
            end_read()  # no database connection is held while the model thinks
            try:
                resp = complete(self.client, timeout=min(self.call_timeout_s, remaining),
                                model=self.model, messages=convo, tools=TOOL_SCHEMAS,
                                tool_choice="none" if last else "auto", temperature=0.3,
                                max_completion_tokens=600)
            except BadRequestError as exc:
                if not _tool_use_failed(exc) or last:
                    raise
                log.info("groq: tool_use_failed, asking the model to try again")
                convo.append({"role": "system", "content": "Your last tool call was malformed. "
                              "Call the tool again with valid JSON arguments, or answer without tools."})
                continue
            if resp.usage:
                usage["prompt_tokens"] += resp.usage.prompt_tokens or 0
                usage["completion_tokens"] += resp.usage.completion_tokens or 0
            msg = resp.choices[0].message
            if msg.tool_calls and not last:
                convo.append({"role": "assistant", "content": msg.content or "", "tool_calls": [
                    {"id": c.id, "type": "function",
                     "function": {"name": c.function.name, "arguments": c.function.arguments}}
                    for c in msg.tool_calls]})
                for call in msg.tool_calls:
                    try:
                        args = json.loads(call.function.arguments or "{}")
                        result = tools.call(ctx, call.function.name, args if isinstance(args, dict) else {})
                    except ValueError:
                        result = {"error": "arguments were not valid JSON; try again"}
                    convo.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
                continue
            return Reply((msg.content or "").strip(), agent=self.name, meta={
                "model": self.model, **usage, "rounds": round_no + 1,
                "llm_ms": int((time.monotonic() - started) * 1000), "_convo": convo})
        raise RuntimeError("unreachable")
