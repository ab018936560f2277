"""Owners type fast: "how r my campains doin", "conversoin rate ths month". The offline
answerer reads a question's intent, period and platform by their keywords, so the question's
words are first set right against those keywords: chat shorthand by a table, and a misspelt
word of five letters or more by its edit distance to one keyword (one edit for words up to six
letters, two for longer ones; the same first letter, which a typo seldom changes). A word the
keywords don't come near is left as typed, and the names of products and campaigns are
matched on the question as typed (they have their own fuzzy match).
"""
from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

SHORTHAND = {
    "r": "are", "u": "you", "ur": "your", "ths": "this", "dis": "this", "thsi": "this", "tis": "this",
    "wk": "week", "wks": "weeks", "mnth": "month", "mth": "month", "mnths": "months", "yr": "year",
    "yrs": "years", "tdy": "today", "2day": "today", "tday": "today", "yday": "yesterday",
    "yest": "yesterday", "hw": "how", "wat": "what", "wht": "what", "whts": "whats", "convo": "conversation",
    "convos": "conversations", "msg": "message", "msgs": "messages", "prod": "product",
    "prods": "products", "rev": "revenue", "conv": "conversion", "camp": "campaign",
    "camps": "campaigns", "promo": "campaign", "promos": "campaigns", "qtr": "quarter",
    # Hinglish, as owners in India type it: "aaj ka revenue", "pichle hafte ki sales"
    "aaj": "today", "kal": "yesterday", "hafte": "week", "hafta": "week", "mahine": "month",
    "mahina": "month", "saal": "year", "pichle": "last", "pichhle": "last", "pichla": "last",
    "pichhla": "last", "kamai": "earnings", "bikri": "sales", "becha": "sold", "bechi": "sold",
    "bika": "sold", "bike": "sold", "bikta": "selling", "bikne": "selling",
}
# "is hafte" is "this week": "is" alone is English, so only before a Hinglish period word.
_HINGLISH_THIS = re.compile(r"\biss? (?=(hafte|hafta|mahine|mahina|saal)\b)")
# The words the intents, periods and platforms are read by (app.ai.leo.offline, .periods).
KEYWORDS = sorted(set("""
campaign campaigns conversion conversions convert converts converting converted revenue refund
refunds refunded product products promise promises promised guarantee guaranteed improve
improving increase better advice suggest suggestions response respond responding reply replies
message messages conversation conversations customer customers platform platforms channel
channels instagram whatsapp messenger facebook today yesterday week weeks month months year
years selling seller sellers popular busiest compare compared comparison versus trend orders
sales income money turnover average enquiries inquiries previous discount discounts delivery
advertisement adverts percentage performing performance
""".split()))
# Real words a keyword is one or two edits from, kept as typed ("monthly" is not "months").
KNOWN = set(KEYWORDS) | {"monthly", "weekly", "yearly", "earrings", "earnings", "repay", "report", "reports"}
_BY_FIRST: dict[str, list[str]] = {}
for _word in KEYWORDS:
    _BY_FIRST.setdefault(_word[0], []).append(_word)
_WORD = re.compile(r"[a-z0-9]+")


def _fixed(word: str) -> str:
    if word in SHORTHAND:
        return SHORTHAND[word]
    if len(word) < 5 or not word.isalpha() or word in KNOWN:
        return word
    most = 1 if len(word) <= 6 else 2
    near = [(Levenshtein.distance(word, k, score_cutoff=most), k) for k in _BY_FIRST.get(word[0], ())]
    near = sorted((d, k) for d, k in near if d <= most)
    if not near or (len(near) > 1 and near[0][0] == near[1][0]):
        return word  # nothing close, or two keywords equally close: leave it as typed
    return near[0][1]


def corrected(question: str) -> str:
    """The question in lower case with its shorthand and misspelt keywords set right."""
    text = _HINGLISH_THIS.sub("this ", (question or "").lower())
    return _WORD.sub(lambda m: _fixed(m.group(0)), text)
