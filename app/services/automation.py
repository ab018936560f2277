"""Automation rules, run before any responder: keywords, first message, outside hours.

Rules run in priority order; every matching TAG rule applies, and the first matching REPLY,
HANDOFF or OPT_OUT rule decides the answer and stops the responder.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from app.ai.reply import Reply
from app.models import Conversation, ConversationMode, Message, RuleAction, RuleTrigger, utcnow
from app.services import tenant_content
from app.services.tenant_content import Content

HANDOFF_TEXT = "Connecting you with a person from our team. They'll reply here shortly."
OPT_OUT_TEXT = "You won't get automated messages from us any more. Message us any time to talk."


@dataclass
class Outcome:
    reply: Reply | None = None
    stop: bool = False  # the responder must not answer


def _keywords(match: str | None) -> list[str]:
    return [k.strip().lower() for k in (match or "").split(",") if k.strip()]


def _has_keyword(texts: list[str], keywords: list[str]) -> bool:
    words = " ".join(texts).lower()
    return any(re.search(rf"(?<!\w){re.escape(k)}(?!\w)", words) for k in keywords)


def parse_hours(match: str | None) -> tuple[time, time] | None:
    """'09:00-21:00' -> (09:00, 21:00)."""
    found = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", match or "")
    if not found:
        return None
    h1, m1, h2, m2 = map(int, found.groups())
    return time(h1, m1), time(h2, m2)


def outside_hours(match: str | None, zone: str, now: datetime) -> bool:
    hours = parse_hours(match)
    if hours is None:
        return False
    local = now.astimezone(ZoneInfo(zone)).time()
    start, end = hours
    inside = start <= local < end if start <= end else (local >= start or local < end)
    return not inside


def _matches(rule, texts: list[str], first: bool, now, zone: str) -> bool:
    if rule.trigger == RuleTrigger.KEYWORD:
        return _has_keyword(texts, _keywords(rule.match))
    if rule.trigger == RuleTrigger.FIRST_MESSAGE:
        return first
    if rule.trigger == RuleTrigger.OUTSIDE_HOURS:
        return outside_hours(rule.match, zone, now)
    return False


def run_rules(conv: Conversation, incoming: list[Message], first: bool,
              content: Content | None = None) -> Outcome:
    """`content`: the tenant's, whose rules are its active ones in priority order."""
    content = content or tenant_content.get(conv.tenant_id)
    texts = [m.text or "" for m in incoming] + [((m.payload or {}).get("payload") or "") for m in incoming]
    now = utcnow()
    for rule in content.rules:
        if not _matches(rule, texts, first, now, content.tenant.timezone):
            continue
        text = rule.response or (rule.template.body if rule.template else None)
        if rule.action == RuleAction.TAG:
            tags = {t.strip() for t in (conv.customer.tags or "").split(",") if t.strip()}
            tags.add((rule.response or rule.name).strip())
            conv.customer.tags = ", ".join(sorted(tags))
            continue
        if rule.action == RuleAction.OPT_OUT:
            conv.customer.opted_out = True
            return Outcome(Reply(text or OPT_OUT_TEXT, agent=f"rule:{rule.name}"), stop=True)
        if rule.action == RuleAction.HANDOFF:
            conv.mode = ConversationMode.HUMAN
            return Outcome(Reply(text or HANDOFF_TEXT, agent=f"rule:{rule.name}"), stop=True)
        if rule.action == RuleAction.REPLY and text:
            return Outcome(Reply(text, agent=f"rule:{rule.name}"), stop=True)
    return Outcome()
