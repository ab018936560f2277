"""Checks on a reply before it is sent: nothing the catalog and tools didn't say.

A reply may state only prices (and totals) that a tool returned this turn, no discount the
campaign doesn't offer, no payment link and no order number that isn't this customer's.
A violation is reported; the agent then regenerates or falls back to a safe answer, and the
event is recorded on the message.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.ai.tools import ToolContext

AMOUNT = re.compile(r"(?:₹|rs\.?|inr)\s*([0-9][0-9,]*(?:\.[0-9]{1,2})?)", re.IGNORECASE)
DISCOUNT = re.compile(r"\b(\d{1,2}\s*%\s*(?:off|discount)|discount|coupon|promo code)\b", re.IGNORECASE)
LINK = re.compile(r"https?://\S+", re.IGNORECASE)
ORDER_NO = re.compile(r"\bORD-\d+\b", re.IGNORECASE)


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def amounts_minor(text: str) -> list[int]:
    out = []
    for raw in AMOUNT.findall(text or ""):
        value = raw.replace(",", "")
        rupees, _, paise = value.partition(".")
        out.append(int(rupees) * 100 + int((paise + "00")[:2]))
    return out


def check(text: str, ctx: ToolContext, *, allowed_links: set[str] = frozenset(),
          discount_allowed: bool = False, known_orders: set[str] = frozenset()) -> Verdict:
    verdict = Verdict()
    for amount in amounts_minor(text):
        if amount not in ctx.prices_quoted:
            verdict.problems.append(f"price ₹{amount / 100:.2f} is not from the catalog")
    if not discount_allowed and DISCOUNT.search(text or ""):
        verdict.problems.append("mentions a discount the campaign doesn't offer")
    for link in LINK.findall(text or ""):
        if not any(link.startswith(ok) for ok in allowed_links):
            verdict.problems.append(f"link {link} is not one of the business's")
    for number in ORDER_NO.findall(text or ""):
        if number.upper() not in known_orders:
            verdict.problems.append(f"order number {number} is not this customer's")
    return verdict
