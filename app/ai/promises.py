"""Reading what a reply promises: prices, discounts, delivery promises and order numbers.

Pure text work (no database): `claims(text)` finds each claim with the sentence it was made
in; `delivery_terms(text)` reads the same kind of promise out of the business's own policies,
so the two can be compared. Guardrails decide whether a reply may go out; this records what
went out, so staff can see and filter it afterwards.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from app.ai.guardrails import AMOUNT, ORDER_NO, amounts_minor

# A sentence ends at ! ? or a newline, or at a full stop followed by a capital or an emoji;
# not inside "Rs. 799" or "₹799.00".
_SENTENCES = re.compile(r"(?<=[!?])\s+|(?<=\.)\s+(?=[A-Z\"'(\u2600-\U0001faff])|\n+")
_AFTER_AMOUNT_DISCOUNT = re.compile(r"^\s*(?:flat\s+)?(?:off|discount)\b", re.I)
_TOTAL = re.compile(r"\b(total|altogether|in all|comes? to|grand)\b", re.I)
_PCT = r"\s*(?:%|percent\b|per\s*cent\b|pc\b)"
PERCENT_OFF = re.compile(
    r"\b(\d{1,2})" + _PCT + r"\s*(?:off|discount)\b|\b(?:discount|off|save|saving)\s+(?:of\s+|up\s+to\s+)?(\d{1,2})"
    + _PCT, re.I)
DISCOUNT_WORD = re.compile(r"\b(discount|coupon|promo code|cashback|offer price)\b", re.I)
_NEGATION = re.compile(r"\b(no|not|don't|do not|doesn't|can't|cannot|unable|isn't|aren't|without|won't|never)\b",
                       re.I)
# A negation this close before a delivery term, in the same clause, refuses it ("we do not
# offer same-day delivery"); further back or past a comma or "but" it is about something else.
_NEGATION_REACH = 20
_CLAUSE_END = re.compile(r"[,;:]|\bbut\b", re.I)
# An amount right after these is a threshold ("free above ₹999"), not the price of anything.
_THRESHOLD = re.compile(r"\b(above|over|more than|at least|minimum(?: order)?(?: of)?|orders? of)\s*$", re.I)

_UNIT = r"(?:working\s+|business\s+)?(day|hour|week|hr)s?\b"
_SPAN = r"(\d{1,2})(?:\s*(?:-|–|to)\s*(\d{1,2}))?\s*" + _UNIT
_VERB = r"\b(?:deliver\w*|ship\w*|dispatch\w*|arriv\w*|reach(?:es)? you|get (?:it|them|your order))\b"
DELIVERY_SPAN = re.compile(_VERB + r"[^.!?\n,;]{0,40}?\b(with)?in\s+" + _SPAN, re.I)
SPAN_DELIVERY = re.compile(r"\b" + _SPAN + r"\s+(?:delivery|shipping|dispatch)\b", re.I)
# "delivery takes 5-7 days", "shipping usually takes about 3 days"
DELIVERY_TAKES = re.compile(r"\b(?:delivery|shipping|dispatch)\s+(?:usually\s+|normally\s+|only\s+|generally\s+)?"
                            r"takes?\s+(?:about\s+|around\s+|just\s+|up\s+to\s+)?" + _SPAN, re.I)
DELIVERY_WORDS = re.compile(
    r"\b(same[- ]day|next[- ]day|overnight)\s+(?:delivery|shipping|dispatch)\b|"
    + _VERB + r"[^.!?\n]{0,30}?\b(today|tomorrow|by (?:monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|the weekend))\b", re.I)
FREE_DELIVERY = re.compile(r"\bfree\s+(?:delivery|shipping)\b|\b(?:delivery|shipping) is free\b", re.I)
_HOURS = {"hour": 1, "hr": 1, "day": 24, "week": 24 * 7}
# The latest a worded promise means, in hours ("tomorrow" = by the end of the next day).
_WORDED_HOURS = {"same-day": 24, "today": 24, "next-day": 48, "overnight": 48, "tomorrow": 48}


@dataclass
class Claim:
    kind: str  # price | discount | delivery | order_number
    sentence: str
    value: str
    value_minor: int | None = None
    percent: int | None = None
    within_hours: int | None = None  # delivery: the latest it promises, in hours
    free: bool = False  # delivery: free delivery/shipping
    total: bool = False  # price: a total, not a unit price
    position: int = 0  # where in the sentence (to find the product named before it)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCES.split(text or "") if s and s.strip()]


def _span_hours(lo: str | None, hi: str | None, unit: str) -> tuple[str, int]:
    unit = unit.lower()
    per = _HOURS.get(unit, 24)
    latest = int(hi or lo)
    shown = f"{lo}-{hi}" if hi else f"{lo}"
    name = "hour" if unit in ("hour", "hr") else unit
    return f"{shown} {name}{'' if shown == '1' else 's'}", latest * per


# "was delivered today", "has been dispatched": what already happened is a report, not a promise.
_DONE_BEFORE = re.compile(r"\b(?:was|were|has|have|had)(?:\s+(?:been|already|just))*\s+$", re.I)


def _already_done(sentence: str, m: re.Match) -> bool:
    return bool(_DONE_BEFORE.search(sentence[max(0, m.start() - 30):m.start()]))


def _refused(sentence: str, start: int) -> bool:
    """Whether the term at `start` is negated in its own clause, just before it."""
    before = sentence[max(0, start - _NEGATION_REACH):start]
    before = _CLAUSE_END.split(before)[-1]
    return _NEGATION.search(before) is not None


def delivery_terms(sentence: str) -> list[Claim]:
    """Delivery promises in one sentence (a reply's or a policy's); refused ones are none."""
    return [c for c in _delivery_terms(sentence) if not _refused(sentence, c.position)]


def _delivery_terms(sentence: str) -> list[Claim]:
    found: list[Claim] = []
    for m in DELIVERY_SPAN.finditer(sentence):
        if _already_done(sentence, m):
            continue
        value, hours = _span_hours(m.group(2), m.group(3), m.group(4))
        found.append(Claim("delivery", sentence, ("within " if m.group(1) else "in ") + value,
                           within_hours=hours, position=m.start()))
    for pattern in (SPAN_DELIVERY, DELIVERY_TAKES):
        for m in pattern.finditer(sentence):
            if any(c.position <= m.start() < c.position + 80 for c in found):
                continue
            value, hours = _span_hours(m.group(1), m.group(2), m.group(3))
            found.append(Claim("delivery", sentence, value + " delivery", within_hours=hours,
                               position=m.start()))
    for m in DELIVERY_WORDS.finditer(sentence):
        if _already_done(sentence, m):
            continue
        word = (m.group(1) or m.group(2)).lower().replace(" ", "-")
        found.append(Claim("delivery", sentence, f"{word} delivery" if m.group(1) else f"delivery {word.replace('-', ' ')}",
                           within_hours=_WORDED_HOURS.get(word), position=m.start()))
    for m in FREE_DELIVERY.finditer(sentence):
        found.append(Claim("delivery", sentence, "free delivery", free=True, position=m.start()))
    return found


def _discounts(sentence: str) -> list[Claim]:
    found = [Claim("discount", sentence, f"{m.group(1) or m.group(2)}%", percent=int(m.group(1) or m.group(2)),
                   position=m.start()) for m in PERCENT_OFF.finditer(sentence) if not _refused(sentence, m.start())]
    if not found and DISCOUNT_WORD.search(sentence) and not _NEGATION.search(sentence):
        word = DISCOUNT_WORD.search(sentence)
        found.append(Claim("discount", sentence, word.group(1).lower(), position=word.start()))
    return found


def _amounts(sentence: str) -> list[Claim]:
    found = []
    total = bool(_TOTAL.search(sentence))
    for m, minor in zip(AMOUNT.finditer(sentence), amounts_minor(sentence)):
        if _THRESHOLD.search(sentence[:m.start()]):
            continue
        if _AFTER_AMOUNT_DISCOUNT.match(sentence[m.end():]):
            found.append(Claim("discount", sentence, f"₹{minor / 100:.2f} off", value_minor=minor,
                               position=m.start()))
            continue
        found.append(Claim("price", sentence, m.group(0).strip(), value_minor=minor, total=total,
                           position=m.start()))
    return found


def claims(text: str) -> list[Claim]:
    """Every price, discount, delivery promise and order number stated in `text`."""
    out: list[Claim] = []
    for sentence in sentences(text):
        out += _amounts(sentence)
        out += _discounts(sentence)
        out += delivery_terms(sentence)
        seen = set()
        for m in ORDER_NO.finditer(sentence):
            number = m.group(0).upper()
            if number not in seen:
                seen.add(number)
                out.append(Claim("order_number", sentence, number, position=m.start()))
    return out


def policy_hours(text: str) -> set[int]:
    """Every delivery time a policy states, in hours: in each sentence that talks about
    delivering, shipping or arriving, each span after the first such word ("packed within 24
    hours of payment and arrive in 4-6 days (2-3 days in metro cities)": 144 and 72)."""
    hours: set[int] = set()
    for sentence in sentences(text):
        verb = re.search(_VERB, sentence, re.I)
        if verb is None:
            continue
        for m in re.finditer(_SPAN, sentence[verb.start():], re.I):
            hours.add(_span_hours(m.group(1), m.group(2), m.group(3))[1])
        hours |= {c.within_hours for c in delivery_terms(sentence) if c.within_hours}
    return hours


def free_delivery_stated(text: str) -> bool | None:
    """True if the policy offers free delivery (at least above some amount), False if it
    only mentions delivery charges, None if it says nothing about them."""
    if FREE_DELIVERY.search(text or ""):
        return True
    if re.search(r"(delivery|shipping)\s+(charges?|fees?|costs?)|flat\s+(?:₹|rs\.?)", text or "", re.I):
        return False
    return None


def percents_offered(text: str) -> set[int]:
    """Percentages off that a campaign's own wording offers."""
    return {int(m.group(1) or m.group(2)) for m in PERCENT_OFF.finditer(text or "")}
