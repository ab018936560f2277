"""Leo with a Groq model: tool calls into the analytics functions in a bounded loop.

The model sees only this tenant's figures, through tools bound to the tenant on the server.
Outside context (industry benchmarks) comes, when asked for, from Groq's compound model in a
separate call that is given the question and the business's industry only, never its figures,
and is always labelled as outside information.
"""
from __future__ import annotations

import logging
import re

from app.ai.leo import tools
from app.ai.tool_loop import run_tool_loop
from app.clients.groq_client import complete

log = logging.getLogger(__name__)
MAX_ROUNDS = 5
OUTSIDE = re.compile(r"\bbenchmarks?\b|\bindustry\b|\btypical\b|\bcompetitors?\b|\bother (shops|stores|brands|businesses)\b|"
                     r"\bnormal\b|\bgood (conversion|rate)\b|\bmarket average\b", re.I)
OUTSIDE_LABEL = "Outside information (general, not from your data)"


def system_prompt(ctx: tools.LeoContext) -> str:
    return (
        f"You are Leo, the analytics assistant of {ctx.name}. Today is {ctx.today.isoformat()} "
        f"({ctx.today.strftime('%A')}) in the business's timezone {ctx.zone.key}; its currency is "
        f"{ctx.currency}. Answer the owner's question about their sales chats from tool results only: "
        "call a tool for every figure you state and never estimate or invent one. Amounts in tool "
        "results ending in _minor are minor units (paise for INR: divide by 100). Rates are 0-1 "
        "fractions: show them as percentages. Name the period you used. If no period is given, use "
        "the last 30 days. Answer in at most 120 words, plain text, no tables. You know nothing "
        "about other businesses: if asked about one, say you can only see this business."
    )


class GroqLeo:
    def __init__(self, client, model: str, *, outside_model: str | None = None,
                 call_timeout_s: float = 20.0):
        self.client, self.model, self.outside_model = client, model, outside_model
        self.call_timeout_s = call_timeout_s

    def answer(self, ctx: tools.LeoContext, question: str) -> tuple[str, dict]:
        out = run_tool_loop(
            self.client, model=self.model,
            messages=[{"role": "system", "content": system_prompt(ctx)}, {"role": "user", "content": question}],
            tool_schemas=tools.TOOL_SCHEMAS, run_tool=lambda name, args: tools.call(ctx, name, args),
            max_rounds=MAX_ROUNDS, timeout=lambda: self.call_timeout_s, temperature=0.2,
            max_completion_tokens=700)
        text = out.text
        meta = {"model": self.model, "model_text": text, **out.usage}
        if self.outside_model and OUTSIDE.search(question):
            outside = self._outside(question, ctx)
            if outside:
                meta["outside"] = {"model": self.outside_model, "label": OUTSIDE_LABEL, "text": outside}
                text = f"{text}\n\n{OUTSIDE_LABEL}: {outside}"
        return text, meta

    def _outside(self, question: str, ctx: tools.LeoContext) -> str | None:
        """General context from the web-searching compound model; none of the tenant's data goes
        out with the question. A failure here leaves the answer without it."""
        from groq import APIError

        try:
            resp = complete(self.client, timeout=self.call_timeout_s, model=self.outside_model, messages=[
                {"role": "system", "content": "Give brief, general industry context (benchmarks, typical "
                 "rates) for a small business selling through chat in India. At most 80 words. Say where "
                 "figures come from."},
                {"role": "user", "content": question}], max_completion_tokens=300)
        except APIError as exc:
            log.info("leo: outside context unavailable (%s)", exc)
            return None
        return (resp.choices[0].message.content or "").strip() or None
