"""The Groq agent: tool calling in a bounded loop through the official SDK.

A malformed tool call (bad JSON arguments, or Groq's 400 `tool_use_failed`) is answered with an
error the model can correct, never a crash; after MAX_ROUNDS the model must answer without tools.
"""
from __future__ import annotations

import logging
import time

import httpx
from groq import APITimeoutError

from app.ai import tools
from app.ai.reply import Reply
from app.ai.tool_loop import BAD_JSON, run_tool_loop
from app.ai.tool_schemas import TOOL_SCHEMAS
from app.extensions import end_read

log = logging.getLogger(__name__)
MAX_ROUNDS = 4


class GroqAgent:
    name = "groq"

    def __init__(self, client, model: str, *, budget_s: float = 60.0, call_timeout_s: float = 20.0):
        self.client, self.model = client, model
        self.budget_s, self.call_timeout_s = budget_s, call_timeout_s

    def reply(self, ctx: tools.ToolContext, messages: list[dict]) -> Reply:
        """Raises groq.APITimeoutError when the whole exchange would outlast its budget, so
        the caller (and the job around it) always ends in time."""
        started = time.monotonic()

        def timeout() -> float:
            remaining = self.budget_s - (time.monotonic() - started)
            if remaining < 2:
                raise APITimeoutError(request=httpx.Request("POST", "chat/completions"))
            end_read()  # no database connection is held while the model thinks
            return min(self.call_timeout_s, remaining)

        def run_tool(name: str, args: dict):
            """A tool that refuses its arguments with ValueError is answered like unparseable
            JSON, so the model corrects the call instead of the reply failing."""
            try:
                return tools.call(ctx, name, args)
            except ValueError:
                return BAD_JSON

        out = run_tool_loop(
            self.client, model=self.model, messages=messages, tool_schemas=TOOL_SCHEMAS,
            run_tool=run_tool, max_rounds=MAX_ROUNDS, timeout=timeout, temperature=0.3,
            max_completion_tokens=600,
            on_malformed=lambda: log.info("groq: tool_use_failed, asking the model to try again"))
        return Reply(out.text, agent=self.name, meta={
            "model": self.model, **out.usage, "rounds": out.rounds,
            "llm_ms": int((time.monotonic() - started) * 1000), "_convo": out.convo})
