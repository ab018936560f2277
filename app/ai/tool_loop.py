"""One Groq tool-calling loop, shared by the reply agent and Leo.

Both talk to the model the same way: the model may call tools for a bounded number of rounds,
then must answer without them. A malformed tool call (Groq's 400 `tool_use_failed`, or arguments
that are not JSON) is answered with a message the model can correct instead of ending the
exchange, so a single sloppy round never costs the customer or the owner their answer. What
differs between the callers (which tools, what each call records, time budgets, logging) comes
in through the arguments.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from groq import BadRequestError

from app.clients.groq_client import complete

MALFORMED_CALL = ("Your last tool call was malformed. Call the tool again with valid JSON "
                  "arguments, or answer without tools.")
BAD_JSON = {"error": "arguments were not valid JSON; try again"}


@dataclass
class LoopResult:
    text: str
    usage: dict
    rounds: int
    convo: list[dict]
    calls: list[dict] = field(default_factory=list)


def tool_use_failed(exc: BadRequestError) -> bool:
    """Groq rejects a tool call it could not parse with this code; the model can retry it."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    return isinstance(error, dict) and error.get("code") == "tool_use_failed"


def run_tool_loop(client, *, model: str, messages: list[dict], tool_schemas: list[dict],
                  run_tool: Callable[[str, dict], Any], max_rounds: int,
                  timeout: Callable[[], float], temperature: float, max_completion_tokens: int,
                  on_malformed: Callable[[], None] | None = None) -> LoopResult:
    """Ask the model, run the tools it calls, and feed their results back until it answers.

    `run_tool(name, args)` runs one call and returns a JSON-able result. `timeout()` is asked
    before every round, so a caller with an overall budget can shrink the per-call timeout or
    raise to stop in time. After `max_rounds` rounds with tools the model gets `tool_choice=none`,
    which bounds the cost of a model that would call tools forever.
    """
    convo = list(messages)
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    calls: list[dict] = []
    for round_no in range(max_rounds + 1):
        last = round_no == max_rounds
        call_timeout = timeout()
        try:
            resp = complete(client, timeout=call_timeout, model=model, messages=convo,
                            tools=tool_schemas, tool_choice="none" if last else "auto",
                            temperature=temperature, max_completion_tokens=max_completion_tokens)
        except BadRequestError as exc:
            if last or not tool_use_failed(exc):
                raise
            if on_malformed:
                on_malformed()
            convo.append({"role": "system", "content": MALFORMED_CALL})
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
                except ValueError:
                    result = BAD_JSON
                else:
                    args = args if isinstance(args, dict) else {}
                    result = run_tool(call.function.name, args)
                    calls.append({"tool": call.function.name, "args": args, "result": result})
                convo.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
            continue
        return LoopResult((msg.content or "").strip(), usage, round_no + 1, convo, calls)
    raise RuntimeError("unreachable: the last round either answers or raises")
