"""Which workflow rules fire: triggers of a message and the conditions every rule may set.

Pure decisions over plain facts (the message's words and buttons, the conversation's
platform and campaign, the customer's tags, the tenant's local time), shared by the reply
path, the event jobs and the editor's try-it box.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from app.ai.catalog import match_products
from app.ai.intents import BUY
from app.models import Platform, RuleTrigger, utcnow

MESSAGE_TRIGGERS = frozenset({RuleTrigger.KEYWORD, RuleTrigger.NEW_CONVERSATION,
                              RuleTrigger.ORDER_INTENT, RuleTrigger.OUTSIDE_HOURS})
BUY_PAYLOAD = "BUY "  # the catalog's Buy buttons: "BUY <sku>"


@dataclass
class Facts:
    """What the conditions and triggers of a message's rules look at."""

    texts: list[str]
    payloads: list[str] = field(default_factory=list)
    first: bool = False
    platform: str = ""
    campaign_id: int | None = None
    tags: set[str] = field(default_factory=set)
    now: datetime = field(default_factory=utcnow)
    zone: str = "Asia/Kolkata"
    products: list | None = None  # the tenant's active products, read only if a rule needs them

    def buying(self) -> bool:
        """Buying intent: a Buy button, or "I want / order / chahiye ..." naming a product."""
        if any(p.upper().startswith(BUY_PAYLOAD) for p in self.payloads):
            return True
        said = " ".join(self.texts)
        return bool(BUY.search(said)) and bool(match_products(said, self.products or []))


def keywords(match: str | None) -> list[str]:
    return [k.strip().lower() for k in (match or "").split(",") if k.strip()]


def has_keyword(texts: list[str], words: list[str]) -> bool:
    said = " ".join(texts).lower()
    return any(re.search(rf"(?<!\w){re.escape(k)}(?!\w)", said) for k in words)


def parse_hours(match: str | None) -> tuple[time, time] | None:
    """'09:00-21:00' -> (09:00, 21:00); None if it isn't that."""
    found = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", match or "")
    if not found:
        return None
    h1, m1, h2, m2 = map(int, found.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        return None
    return time(h1, m1), time(min(h2, 23), m2 if h2 < 24 else 59)


def inside_hours(match: str | None, zone: str, now: datetime) -> bool:
    hours = parse_hours(match)
    if hours is None:
        return False
    local = now.astimezone(ZoneInfo(zone)).time()
    start, end = hours
    return start <= local < end if start <= end else (local >= start or local < end)


def outside_hours(match: str | None, zone: str, now: datetime) -> bool:
    return parse_hours(match) is not None and not inside_hours(match, zone, now)


def tags_of(customer) -> set[str]:
    return {t.strip().lower() for t in (customer.tags or "").split(",") if t.strip()}


def conditions_hold(rule, facts: Facts) -> bool:
    """Every condition the rule sets. The Playground stands in for any platform."""
    if rule.platform and rule.platform != "all" and facts.platform != Platform.PLAYGROUND \
            and rule.platform != facts.platform:
        return False
    if rule.campaign_id and rule.campaign_id != facts.campaign_id:
        return False
    if rule.customer_tag and rule.customer_tag.strip().lower() not in facts.tags:
        return False
    if rule.hours and not inside_hours(rule.hours, facts.zone, facts.now):
        return False
    return True


def triggered(rule, facts: Facts) -> bool:
    if rule.trigger == RuleTrigger.KEYWORD:
        return has_keyword(facts.texts + facts.payloads, keywords(rule.match))
    if rule.trigger == RuleTrigger.NEW_CONVERSATION:
        return facts.first
    if rule.trigger == RuleTrigger.OUTSIDE_HOURS:
        return outside_hours(rule.match, facts.zone, facts.now)
    if rule.trigger == RuleTrigger.ORDER_INTENT:
        return facts.buying()
    return False


def matching(rules, facts: Facts) -> list:
    """The message-triggered rules that fire for these facts, in priority order."""
    return [r for r in rules if r.trigger in MESSAGE_TRIGGERS and conditions_hold(r, facts)
            and triggered(r, facts)]
