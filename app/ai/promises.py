"""Reading what a reply promises: prices, discounts, delivery promises and order numbers.

Pure text work (no database): `claims(text)` finds each claim with the sentence it was made
in; `delivery_terms(text)` reads the same kind of promise out of the business's own policies,
so the two can be compared. Guardrails decide whether a reply may go out; this records what
went out, so staff can see and filter it afterwards.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from app.ai.guardrails import ORDER_NO

# A sentence ends at ! ? or a newline, or at a full stop followed by a capital or an emoji;
# not inside "Rs. 799" or "₹799.00".
_SENTENCES = re.compile(r"(?<=[!?])\s+|(?<=\.)\s+(?=[A-Z\"'(\u2600-\U0001faff])|\n+")
_AFTER_AMOUNT_DISCOUNT = re.compile(r"^\s*(?:flat\s+)?(?:off|discount|cashback)\b", re.I)
_BEFORE_AMOUNT_DISCOUNT = re.compile(r"\b(?:save|saving|savings|discount|cashback)\s+(?:of\s+|up\s+to\s+|an?\s+extra\s+)?$",
                                     re.I)
# An amount as a reply states one: "₹1,299", "Rs. 1299/-", "Rs1299", "INR 1,299.00", "1,29,999
# rupees", "₹1.5 lakh". "rs"/"inr" only as words of their own ("colours 2" is no price), commas
# only between digits (the comma after "₹999," ends the sentence's clause, not the amount), and
# every decimal digit is read, so "₹ 1.299" is seen for what it is (no amount in rupees and paise)
# rather than ₹1.29 or ₹1,299.
_NUMBER = r"([0-9]+(?:,[0-9]+)*(?:\.[0-9]+)?)(?:\s*(lakhs?|lacs?|crores?|cr|k)\b)?"
AMOUNT = re.compile(
    r"(?:₹|(?<![A-Za-z])(?:rs\.?|inr)(?![A-Za-z]))\s*" + _NUMBER + r"(?:\s*/-)?"
    r"|(?<![\w.,₹])" + _NUMBER + r"(?:\s*/-|\s*(?:rupees?|rs|inr)\b\.?)", re.I)
_SCALE = {"k": 1_000, "lakh": 100_000, "lakhs": 100_000, "lac": 100_000, "lacs": 100_000,
          "crore": 10_000_000, "crores": 10_000_000, "cr": 10_000_000}
_TOTAL = re.compile(r"\b(totals?|altogether|in all|comes? to|grand)\b", re.I)
_PCT = r"\s*(?:%|percent\b|per\s*cent\b|pc\b)"
PERCENT_OFF = re.compile(
    r"\b(\d{1,2})" + _PCT + r"\s*(?:off|discount|cashback)\b|\b(?:discount|off|save|saving)\s+(?:of\s+|up\s+to\s+)?(\d{1,2})"
    + _PCT, re.I)
# "buy 1 get 1 (free)", "buy two get one", "BOGO": an offer in kind, stated as said.
BUY_GET = re.compile(r"\bbuy\s+(\d+|one|two|three)\s*(?:,\s*|and\s+)?get\s+(\d+|one|two|three)\b|\bBOGO\b", re.I)
_COUNT = {"one": "1", "two": "2", "three": "3"}
# "use code DIWALI20", "coupon code: SAVE10", "apply promo FEST": the code itself is what is
# checked, so only a word written as codes are (capitals, perhaps digits) counts as one.
CODE = re.compile(r"\b(?:code|coupon|promo)\s*(?:code\s*)?[:\-]?\s*[\"'“]?([A-Za-z0-9][A-Za-z0-9_-]{2,23})\b", re.I)
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
# An order named by its digits alone: "#1001", "order 1001", "Order ID: 1001", "order no. 1001";
# not a quantity ("order 100 pcs") or a street number.
ORDER_REF = re.compile(r"(?:(?<![\w#])#\s?|\border\s*(?:no\.?|number|id|#)?\s*[:#]?\s*)([0-9]{3,12})\b"
                       r"(?!\s*(?:pcs|pieces|items|units|nos|sets|qty|kg|gm?s?|ml|m|metres|meters)\b)", re.I)
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
    malformed: bool = False  # price: written as no amount in rupees and paise can be ("₹ 1.299")
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


def buy_get(m: re.Match) -> str:
    if m.group(1) is None:
        return "buy 1 get 1"
    return f"buy {_COUNT.get(m.group(1).lower(), m.group(1))} get {_COUNT.get(m.group(2).lower(), m.group(2))}"


def _code_matches(text: str):
    seen = set()
    for m in CODE.finditer(text or ""):
        code = m.group(1)
        if (code.isupper() or any(ch.isdigit() for ch in code)) and code.upper() not in seen:
            seen.add(code.upper())
            yield code.upper(), m


def codes(text: str) -> set[str]:
    """Discount codes named in `text`, upper-cased ("DIWALI20")."""
    return {code for code, _ in _code_matches(text)}


def _discounts(sentence: str, stated: bool = False) -> list[Claim]:
    """Discounts in one sentence; `stated`: an amount off was already read from it, so the
    word "discount" beside it is no second claim."""
    found = [Claim("discount", sentence, f"{m.group(1) or m.group(2)}%", percent=int(m.group(1) or m.group(2)),
                   position=m.start()) for m in PERCENT_OFF.finditer(sentence) if not _refused(sentence, m.start())]
    found += [Claim("discount", sentence, buy_get(m), position=m.start())
              for m in BUY_GET.finditer(sentence) if not _refused(sentence, m.start())]
    found += [Claim("discount", sentence, f"code {code}", position=m.start())
              for code, m in _code_matches(sentence) if not _refused(sentence, m.start())]
    if not found and not stated and DISCOUNT_WORD.search(sentence) and not _NEGATION.search(sentence):
        word = DISCOUNT_WORD.search(sentence)
        found.append(Claim("discount", sentence, word.group(1).lower(), position=word.start()))
    return found


def amount_minor(number: str, scale: str | None) -> int | None:
    """Minor units of a number as written ("1,29,999", "799.50", "1.5" lakh); None when it
    has more decimals than paise allow and no scale word to explain them."""
    value = Decimal(number.replace(",", "")) * _SCALE.get((scale or "").lower(), 1) * 100
    if value != value.to_integral_value():
        return None
    return int(value)


def _amounts(sentence: str) -> list[Claim]:
    found = []
    total = bool(_TOTAL.search(sentence))
    for m in AMOUNT.finditer(sentence):
        number, scale = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        minor = amount_minor(number, scale)
        stated = m.group(0).strip()
        if _THRESHOLD.search(sentence[:m.start()]):
            continue
        if minor is not None and (_AFTER_AMOUNT_DISCOUNT.match(sentence[m.end():])
                                  or _BEFORE_AMOUNT_DISCOUNT.search(sentence[:m.start()])):
            found.append(Claim("discount", sentence, f"₹{minor / 100:.2f} off", value_minor=minor,
                               position=m.start()))
            continue
        found.append(Claim("price", sentence, stated, value_minor=minor, total=total,
                           malformed=minor is None, position=m.start()))
    return found


def claims(text: str) -> list[Claim]:
    """Every price, discount, delivery promise and order number stated in `text`."""
    out: list[Claim] = []
    for sentence in sentences(text):
        amounts = _amounts(sentence)
        out += amounts
        out += _discounts(sentence, stated=any(c.kind == "discount" for c in amounts))
        out += delivery_terms(sentence)
        seen = set()
        for m in sorted([*ORDER_NO.finditer(sentence), *ORDER_REF.finditer(sentence)], key=lambda m: m.start()):
            number = m.group(0).upper() if m.re is ORDER_NO else m.group(1)
            if order_digits(number) not in seen:
                seen.add(order_digits(number))
                out.append(Claim("order_number", sentence, number if m.re is ORDER_NO else f"#{number}",
                                 position=m.start()))
    return out


def order_digits(number: str) -> str:
    """The part of an order number people say: "ORD-1001", "#1001" and "order 1001" are one."""
    return "".join(ch for ch in number if ch.isdigit())


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
    if re.search(r"\b(delivery|shipping)\s+(charges?|fees?|costs?)\b|\bflat\s+(?:₹|rs\.?)", text or "", re.I):
        return False
    return None


def free_delivery_above(text: str) -> int | None:
    """The order value (minor units) from which `text` offers free delivery ("free delivery on
    orders above ₹999", "shipping is free over Rs 500"): the lowest it names, or None when its
    free delivery names no threshold."""
    found = []
    for sentence in sentences(text or ""):
        if not FREE_DELIVERY.search(sentence):
            continue
        for m in AMOUNT.finditer(sentence):
            number, scale = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            minor = amount_minor(number, scale)
            if minor is not None and _THRESHOLD.search(sentence[:m.start()]):
                found.append(minor)
    return min(found) if found else None


def percents_offered(text: str) -> set[int]:
    """Percentages off that a campaign's own wording offers."""
    return {int(m.group(1) or m.group(2)) for m in PERCENT_OFF.finditer(text or "")}
