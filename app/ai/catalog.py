"""Finding the products a customer means, tolerant of case, plurals and typos.

Matching is done with rapidfuzz (fuzzy token comparison); this module only decides which
words to compare: the product's name, category and SKU against the customer's words, minus
words too common to tell products apart.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

STOPWORDS = {
    "the", "and", "for", "you", "your", "have", "has", "what", "which", "how", "much", "price",
    "cost", "this", "that", "with", "are", "any", "can", "get", "want", "need", "please", "take",
    "will", "ill", "buy", "order", "some", "one", "two", "three", "four", "five", "pieces", "piece",
    "stock", "available", "size", "sizes", "there", "them", "those", "these", "ones", "from",
    "about", "tell", "more", "details", "under", "below", "budget", "rs", "inr", "rupees", "hi",
    "hello", "is", "in", "of", "do", "it", "me", "my", "a", "an", "to", "i", "we", "our", "set",
}
MATCH = 84  # rapidfuzz ratio at which two words are the same word (typos included)


def words(text: str) -> list[str]:
    out = []
    for w in re.findall(r"[a-z0-9]+", (text or "").lower()):
        if len(w) > 3 and w.endswith("ies"):
            w = w[:-3] + "y"
        elif len(w) > 3 and w.endswith("es") and w[-3] in "sxz":
            w = w[:-2]
        elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def keywords(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and len(w) >= 3 and not w.isdigit()]


@dataclass
class Match:
    product: object
    score: float


def product_terms(product) -> list[str]:
    category = product.category.name if getattr(product, "category", None) else ""
    return keywords(f"{product.name} {category}") + [product.sku.lower()]


def match_products(text: str, products: list) -> list[Match]:
    """Products named in `text`, best first (a SKU or the name's words; typos tolerated)."""
    asked = keywords(text)
    if not asked:
        return []
    found = []
    for product in products:
        terms = product_terms(product)
        name_terms = keywords(product.name)
        hits = 0.0
        for word in asked:
            best = max((fuzz.ratio(word, t) for t in terms), default=0)
            if best >= MATCH:
                hits += 1.0 if any(fuzz.ratio(word, t) >= MATCH for t in name_terms) else 0.5
        if product.sku.lower() in (text or "").lower():
            hits += 3
        if hits:
            found.append(Match(product, hits / max(len(name_terms), 1) + hits))
    found.sort(key=lambda m: m.score, reverse=True)
    if not found:
        return []
    top = found[0].score
    return [m for m in found if m.score >= top * 0.75]


def best_match(phrase: str, products: list, coverage: float = 0.5):
    """The one product a short phrase names ("the mustard kurti", "banarasi"), or None.

    Stricter than `match_products`, which finds every product a whole message touches: here
    most of the phrase's words must name the product ("silk lehenga" is not the silk saree),
    and a phrase that names several products equally well ("kurta") names none of them, so
    a comparison never quietly compares the wrong piece."""
    asked = keywords(phrase)
    found = match_products(phrase, products)
    if not asked or not found:
        return None
    top = found[0]
    if top.product.sku.lower() in (phrase or "").lower():
        return top.product
    if len(found) > 1 and found[1].score >= top.score:
        return None
    terms = product_terms(top.product)
    hits = sum(1 for word in asked if max((fuzz.ratio(word, t) for t in terms), default=0) >= MATCH)
    return top.product if hits / len(asked) > coverage else None
