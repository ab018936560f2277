"""Comparing products the way a shop assistant would: both names, both prices, an answer.

"Which is cheaper, X or Y?", "X vs Y", "X ya Y, kaunsa sasta hai?": the question is split
into the product phrases it names, the catalog (the compare_products tool) says what each
is and costs, and the answer comes from that result only. A question about something else
than price ("better for summer", "lighter") is answered from what the catalog's own
descriptions and features say; when they don't settle it, the reply says so and shows what
they do say, instead of picking one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.fuzz import ratio

from app.ai.catalog import keywords, words

# splits "X or Y", "X vs Y", "X ya Y", "X, Y and Z", "difference between X and Y"
SEPARATORS = re.compile(r"\s+(?:vs\.?|v/s|versus|or|and|ya|yaa|aur|against)\s+|\s*[,/;?]\s*|\bvs\.?\s+", re.I)
QUESTION_MATCH = 88
# words of the question itself, not of a product ("which is better for summer", "kaunsa sasta hai")
QUESTION_WORDS = {
    "which", "better", "best", "cheaper", "cheapest", "cheap", "costlier", "pricier", "expensive",
    "more", "less", "lighter", "light", "heavier", "heavy", "compare", "comparison", "difference",
    "differ", "between", "versus", "should", "would", "could", "buy", "choose", "pick", "recommend",
    "kaunsa", "kaun", "konsa", "kon", "kaunsi", "konsi", "sasta", "sasti", "mehnga", "mehenga",
    "mehanga", "mehngi", "halka", "halki", "fark", "farak", "hai", "hain", "kya", "mein", "wala",
    "wali", "dono", "accha", "acha", "zyada", "kam", "liye", "lie", "summer", "winter", "garmi",
    "office", "work", "wear", "wedding", "festive", "party", "comfortable", "soft", "weight",
    "option", "than", "both", "them", "vs", "also", "price", "prices", "cost", "costs", "get",
    "okay", "think", "whats", "what", "tell", "thing", "gift", "daily", "everyday", "good", "nice",
    "suitable", "prefer", "too", "something", "anything", "else", "than", "very", "really",
    "other", "another", "pls", "plz", "bhai", "yaar", "sir", "madam", "hmm", "look", "looks",
}


@dataclass(frozen=True)
class Attribute:
    label: str  # how the reply names it: "better for summer"
    asked: re.Pattern
    price: str | None = None  # "low" / "high": answered from the prices alone
    signs: frozenset = field(default_factory=frozenset)  # catalog words that speak for it


ATTRIBUTES = (
    Attribute("cheaper", re.compile(r"cheap|sast|less expensive|lower price|kam (price|daam|keemat|rate)|"
                                    r"affordable", re.I), price="low"),
    Attribute("more expensive", re.compile(r"costl|pricier|more expensive|meh[ae]?ng|premium", re.I),
              price="high"),
    Attribute("better for summer", re.compile(r"summer|garmi|hot weather|heat|humid", re.I), signs=frozenset(
        {"light", "featherlight", "lightweight", "breathable", "airy", "cotton", "mul", "mulmul", "linen"})),
    Attribute("lighter", re.compile(r"light|halk|weigh|heav", re.I), signs=frozenset(
        {"light", "featherlight", "lightweight", "airy", "mul", "mulmul", "sheer"})),
    Attribute("better for the office", re.compile(r"office|work|daily|everyday|college", re.I), signs=frozenset(
        {"office", "work", "everyday", "daily"})),
    Attribute("better for festive wear", re.compile(r"festiv|wedding|shaadi|party|diwali|puja|occasion", re.I),
              signs=frozenset({"festive", "zari", "gota", "silk", "banarasi", "wedding", "embroidery",
                               "embroidered", "party"})),
    Attribute("more comfortable", re.compile(r"comfort|soft|breath", re.I), signs=frozenset(
        {"soft", "breathable", "comfortable", "elasticated", "cotton"})),
)


def named_phrases(text: str) -> list[str]:
    """The product phrases a comparison names, in order: "the indigo kurta", "mustard kurti"."""
    out = []
    for part in SEPARATORS.split(text or ""):
        left = [w for w in keywords(part or "") if not _question_word(w)]
        if left:
            out.append(" ".join(left))
    return out


def _question_word(word: str) -> bool:
    """A word of the question, typos included ("cheapr", "wich"); strict enough that a
    product word one letter away from one ("lehenga", "mehenga") stays a product word."""
    return word in QUESTION_WORDS or process.extractOne(word, QUESTION_WORDS, scorer=ratio,
                                                        score_cutoff=QUESTION_MATCH) is not None


def attribute(text: str) -> Attribute | None:
    return next((a for a in ATTRIBUTES if a.asked.search(text or "")), None)


def answer(result: dict, asked: Attribute | None) -> str:
    """The reply to a comparison, from the compare_products tool's result only."""
    cards, missing = result["products"], result.get("not_found") or []
    if len(cards) < 2:
        return _partial(cards, missing)
    closing = ("Which one would you like?" if any(c["in_stock"] for c in cards)
               else "Can I help you with something else?")
    if asked is not None and asked.price == "high":
        text = _dearest(cards, result)
    elif asked is not None and asked.price == "low":
        text = _cheapest(cards, result)
    elif asked is not None:
        text, settled = _by_attribute(cards, result, asked)
        if not settled:
            closing = "Tell me what matters most to you and I'll help you choose."
    else:
        text = "\n".join(f"• {_label(c)}: {_about(c)}" for c in cards) + "\n" + _cheapest(cards, result)
    if missing:
        text += "\nI couldn't find " + _quoted(missing) + " in our catalog."
    return text + "\n" + closing


def _partial(cards: list[dict], missing: list[str]) -> str:
    if not cards:
        return (f"I couldn't find {_quoted(missing)} in our catalog. Tell me a little about what "
                "you need and I'll suggest something.")
    card = cards[0]
    return (f"I found {_label(card)}, but I couldn't match {_quoted(missing)} to one product in "
            f"our catalog, so I can't compare them. {_about(card)} Would you like to know more, "
            "or shall I show you similar pieces?")


def _cheapest(cards: list[dict], result: dict) -> str:
    if not result.get("cheapest"):
        return "They're the same price: " + " and ".join(_label(c) for c in cards) + "."
    ranked = sorted(cards, key=lambda c: c["price_minor"])
    low = ranked[0]
    others = "; ".join(f"{c['name']} is {c['price']}" for c in ranked[1:])
    if len(cards) == 2:
        return f"{low['name']} is the cheaper one at {low['price']}; {others} ({result['price_difference']} more)."
    return f"{low['name']} is the cheapest at {low['price']}; {others}."


def _dearest(cards: list[dict], result: dict) -> str:
    if not result.get("most_expensive"):
        return _cheapest(cards, result)
    ranked = sorted(cards, key=lambda c: -c["price_minor"])
    others = "; ".join(f"{c['name']} is {c['price']}" for c in ranked[1:])
    return f"{ranked[0]['name']} is the more expensive one at {ranked[0]['price']}; {others}."


def _by_attribute(cards: list[dict], result: dict, asked: Attribute) -> tuple[str, bool]:
    """The answer, and whether the catalog's words settled the question."""
    scores = {c["product_id"]: len(asked.signs & set(words(_text(c)))) for c in cards}
    best = max(scores.values())
    winners = [c for c in cards if scores[c["product_id"]] == best]
    if best == 0 or len(winners) > 1:
        return (f"Our catalog doesn't say which is {asked.label}. Here's what it says about each:\n"
                + "\n".join(f"• {_label(c)}: {_about(c)}" for c in cards) + "\n" + _cheapest(cards, result),
                False)
    top = winners[0]
    rest = "\n".join(f"• {_label(c)}: {_about(c)}" for c in cards if c is not top)
    return (f"{_label(top)} looks {asked.label}: {_evidence(top, asked)}\n{rest}\n"
            + _cheapest(cards, result), True)


def _text(card: dict) -> str:
    return " ".join(x for x in (card["name"], card.get("description"), card.get("features")) if x)


def _evidence(card: dict, asked: Attribute) -> str:
    """The catalog's own words that speak for the attribute: its description, else a feature."""
    for source in [card.get("description"), *(card.get("features") or "").splitlines()]:
        if source and asked.signs & set(words(source)):
            return f"our catalog describes it as \"{source.strip().rstrip('.')}\"."
    return "our catalog says: " + _about(card)


def _about(card: dict) -> str:
    first = (card.get("features") or "").splitlines()
    about = card.get("description") or (first[0] if first else "")
    about = about.strip()
    if not about:
        return "Our catalog has no description for it yet."
    return about if about.endswith(".") else about + "."


def _label(card: dict) -> str:
    stock = "" if card["in_stock"] else ", out of stock right now"
    return f"{card['name']} ({card['price']}{stock})"


def _quoted(names: list[str]) -> str:
    return " or ".join(f"\"{n}\"" for n in names)
