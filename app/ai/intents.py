"""What a customer's message asks for, read from its words (the offline agent's ear).

Patterns, not a model: each one is a phrase family real chat shoppers use, in English and
the Hinglish common in Indian shops ("kitna", "kaunsa sasta hai", "haan"). The agent decides
what to do with them; this module only says what was asked.
"""
from __future__ import annotations

import re

from app.models import MAX_QUANTITY

NUMBER_WORDS = {"one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                "seven": 7, "eight": 8, "nine": 9, "ten": 10, "couple": 2, "pair": 2,
                "ek": 1, "teen": 3, "paanch": 5}
GREETING = re.compile(r"^\s*(hi+|hello+|hey+|namaste|good (morning|afternoon|evening))\b[\s!.,]*$", re.I)
BUY = re.compile(r"\b(i'?ll take|i will take|i want|i'd like|i would like|buy|order|send me|book|"
                 r"add to cart|i'll have|give me|chahiye|le lunga|le lungi|lena hai)\b", re.I)
PRICE = re.compile(r"\b(price|cost|how much|rate|kitna|kitne|mrp)\b", re.I)
STOCK = re.compile(r"\b(in stock|stock|available|availability|have any|left)\b", re.I)
DETAILS = re.compile(r"\b(feature|material|fabric|detail|describe|tell me (more )?about|what is|size)\w*", re.I)
CATALOG = re.compile(r"\b(what do you (have|sell)|show me|catalog(ue)?|collection|categories|products|"
                     r"options|menu)\b", re.I)
BUDGET = re.compile(r"\b(under|below|less than|within|budget( of)?|upto|up to)\s*(?:₹|rs\.?|inr)?\s*([0-9][0-9,]*)", re.I)
HAGGLE = re.compile(r"\b(discount|coupon|promo|offer|cheaper|best price|less price|kam|too (costly|expensive)|"
                    r"\d+\s*%)", re.I)
LOOKING = re.compile(r"\b(do you have|do you sell|looking for|searching for|need a|want a)\b", re.I)
HUMAN = re.compile(r"\b(human|real person|agent|talk to (someone|a person)|call me|manager)\b", re.I)
QUANTITY = re.compile(r"\b(\d{1,3}|" + "|".join(NUMBER_WORDS) + r")\b(?:\s*(?:x|pcs|pieces|of))?", re.I)
# "which is cheaper", "X vs Y", "compare", "difference between", "kaunsa sasta hai", "dono mein fark"
COMPARE = re.compile(r"\b(vs\.?|v/s|versus|compare[sd]?|comparison|difference|differ|fa?ra?k|better|"
                     r"cheap(er|est)|costlier|pricier|(more|less) expensive|lighter|heavier|which (one|is|of)|"
                     r"kaun ?sa|kon ?sa|kaunsi|konsi|sast[ai]|meh[ae]?ng[ai])\b", re.I)
# a word pointing back at something already said: "I'll take it", "2 of those", "the blue one"
REFERENCE = re.compile(r"\b(it|that|this|those|these|them|same|one|ones|wala|wali|wale|woh|wo|yeh|ye)\b", re.I)
# a new quantity for what is already ordered: "make that 3", "change it to 2", "3 instead"
CHANGE = re.compile(r"\b(make (it|that|this|them|those|mine)|change (it|that|the quantity|quantity|my order)?\s*"
                    r"(to)?|instead|actually|update (it|the order|my order)|kar do)\b", re.I)
# "2 more of those", "another one": a second order, not a new quantity for the first
ANOTHER = re.compile(r"\b(more|another|also|extra|aur|add)\b", re.I)
YES = re.compile(r"^\s*(yes|yeah|yep|yup|sure|ok(ay)?|haan?|ha+n|ji|go ahead|confirm|done|please do|"
                 r"yes please)\b[\s!.,🙏👍]*(please|pls|plz|ji)?[\s!.]*$", re.I)
OFFERED = re.compile(r"(would you like to order|shall i (reserve|order|book)|would you like to go ahead|"
                     r"shall i place)", re.I)


POINTER_ONE = re.compile(r"\b(the|that|this|which|wo|woh|ye|yeh)\s+(\w+\s+)?ones?\b", re.I)


def quantity(text: str) -> int | None:
    """The number of pieces the message asks for, or None if it gives none."""
    text = re.sub(r"\d+\s*%", " ", text or "")  # "90% off" is not a quantity
    text = POINTER_ONE.sub(" ", text)  # nor is "the blue one"
    for token in QUANTITY.findall(text):
        token = token.lower()
        if token.isdigit() and 0 < int(token) <= MAX_QUANTITY:
            return int(token)
        if token in NUMBER_WORDS and token not in ("a", "an"):
            return NUMBER_WORDS[token]
    return None


# "which one ...?", "compare them", "dono mein": a choice among things already on the table
CHOOSING = re.compile(r"\b(which|kaun|kon|compare|comparison|difference|vs|versus|between|both|dono)\b", re.I)


def wants_change(text: str) -> bool:
    """A new quantity for the pending order ("make that 3"), not a fresh purchase."""
    return bool(CHANGE.search(text or "")) and quantity(text) is not None


def points_back(text: str) -> bool:
    return bool(REFERENCE.search(text or ""))


def agrees(text: str) -> bool:
    return bool(YES.match(text or ""))
