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

# "Rs" and "INR" only as words: "3 colours 2 sizes" states no price of ₹2
AMOUNT = re.compile(r"(?:₹|(?<![A-Za-z])(?:rs\.?|inr)(?![A-Za-z]))\s*([0-9][0-9,]*(?:\.[0-9]{1,2})?)",
                    re.IGNORECASE)
DISCOUNT = re.compile(r"\b(\d{1,2}\s*%\s*(?:off|discount)|discount|coupon|promo code)\b", re.IGNORECASE)
LINK = re.compile(r"https?://\S+", re.IGNORECASE)
ORDER_NO = re.compile(r"\bORD-\d+\b", re.IGNORECASE)
# Three or more capitalised words in a row ("Sandalwood Soy Jar Candle"): how product names
# appear in a reply. Shorter phrases ("Blue Dart", "Hi Priya") are too often not products.
NAME = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:&\s+|with\s+|of\s+)?[A-Z(][\w'()-]*){2,}")
NAME_MATCH = 80


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


def unknown_names(text: str, vocabulary: list[str]) -> list[str]:
    """Product-like names in `text` that match nothing this tenant has (rapidfuzz)."""
    from rapidfuzz import fuzz

    found = []
    text = text or ""
    for m in NAME.finditer(text):
        phrase = m.group(0)
        if re.match(r"^\s*$|.*[.!?:]\s*$", text[:m.start()], re.S):
            # the first word is capitalised because it starts a sentence: not part of a name
            phrase = re.sub(r"^\S+\s+(?:(?:&|with|of)\s+)?", "", phrase)
            if len(phrase.split()) < 3:
                continue
        if not any(fuzz.token_set_ratio(phrase.lower(), known.lower()) >= NAME_MATCH for known in vocabulary):
            found.append(phrase)
    return found


def check(text: str, ctx: ToolContext, *, allowed_links: set[str] = frozenset(),
          discount_allowed: bool = False, known_orders: set[str] = frozenset(),
          vocabulary: list[str] | None = None) -> Verdict:
    verdict = Verdict()
    if vocabulary is not None:
        for name in unknown_names(text, vocabulary):
            verdict.problems.append(f"names '{name}', which is not in this store's catalog")
    for amount in amounts_minor(text):
        if amount not in ctx.prices_quoted:
            verdict.problems.append(f"price ₹{amount / 100:.2f} is not from the catalog")
    if not discount_allowed and DISCOUNT.search(text or ""):
        verdict.problems.append("mentions a discount the campaign doesn't offer")
    for link in LINK.findall(text or ""):
        if not any(link.startswith(ok) for ok in allowed_links):
            verdict.problems.append(f"link {link} is not one of the business's")
    for number in ORDER_NO.findall(text or ""):
        if number.upper() not in known_orders and number.upper() not in ctx.orders_created:
            verdict.problems.append(f"order number {number} is not this customer's")
    return verdict
