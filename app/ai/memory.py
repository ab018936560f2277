"""What "it" means: the product the conversation is about, read from the chat so far.

A customer says "I'll take it", "2 of those" or "the blue one" about what was just shown,
so the offline agent looks back through the recent turns (the same history the model gets)
for the newest one that names products: the salesperson's replies and the payment-link
message name them verbatim, the customer's own words are matched fuzzily. Nothing is stored
for this beyond the messages themselves.
"""
from __future__ import annotations

from app.ai.catalog import match_products, words
from app.ai.intents import OFFERED

# Colour words shoppers use, with the shade names catalogs use for them ("the blue one" is
# the indigo kurta) and the Hindi words heard in Hinglish chats.
COLOURS = {
    "blue": {"blue", "indigo", "navy", "teal", "turquoise", "aqua", "denim", "sky", "neela", "nila"},
    "red": {"red", "maroon", "crimson", "wine", "burgundy", "rust", "laal", "lal"},
    "green": {"green", "sage", "olive", "mint", "emerald", "teal", "hara", "hari"},
    "yellow": {"yellow", "mustard", "lemon", "haldi", "peela", "pila", "peeli"},
    "white": {"white", "ivory", "cream", "offwhite", "safed"},
    "pink": {"pink", "rose", "blush", "magenta", "gulabi"},
    "orange": {"orange", "rust", "saffron", "peach", "kesari"},
    "black": {"black", "charcoal", "kaala", "kala", "kaali"},
    "purple": {"purple", "violet", "lavender", "wine", "jamuni"},
}
SHADES: dict[str, set[str]] = {}  # shade -> its families ("teal" is blue and green)
for _family, _shades in COLOURS.items():
    for _shade in _shades:
        SHADES.setdefault(_shade, set()).add(_family)


def earlier(turns: list[dict] | None, current: str) -> list[dict]:
    """The turns before the message being answered (the history ends with it: it is stored
    before it is answered), so "the blue one" is looked up in what came before it."""
    turns = list(turns or [])
    i = len(turns) - 1
    while i >= 0 and turns[i].get("role") != "user":  # a message sent meanwhile (a payment link)
        i -= 1
    end = len(turns)
    while i >= 0 and turns[i].get("role") == "user" and (turns[i].get("content") or "") in current:
        end, i = i, i - 1
    return turns[:end]


def focus(turns: list[dict], products: list) -> list:
    """The products of the newest turn that names any: full names in the order they appear
    (as replies and payment links write them), else the catalog's fuzzy match."""
    for turn in reversed(turns or []):
        content = turn.get("content") or ""
        low = content.lower()
        named = sorted((p for p in products if p.name.lower() in low), key=lambda p: low.index(p.name.lower()))
        if not named:  # the customer's words, or a reply that shortened the names
            named = [m.product for m in match_products(content, products)]
        if named:
            return named
    return []


def colours(text: str) -> set[str]:
    """The colour families a message asks for ("the blue one", "neela wala")."""
    return set().union(*(SHADES[w] for w in words(text) if w in SHADES))


def narrow(text: str, candidates: list) -> list:
    """Which of the candidates the customer picks out: by colour (in the name or the
    features), else by other words of the message ("the saree"); all of them if it says no
    more than "it"."""
    wanted = colours(text)
    if wanted:
        return [p for p in candidates if wanted & colours(_looks(p))]
    picked = [m.product for m in match_products(text, candidates)]
    return picked or list(candidates)


def offered_to_order(turns: list[dict]) -> bool:
    """Did the salesperson's last reply ask whether to go ahead ("Would you like to order?")?"""
    last = next((t for t in reversed(turns or []) if t.get("role") == "assistant"), None)
    return bool(last and OFFERED.search(last.get("content") or ""))


def _looks(product) -> str:
    return f"{product.name} {product.features or ''}"
