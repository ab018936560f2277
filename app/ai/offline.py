"""The offline salesperson: deterministic, no API key, same tools and guardrails.

It answers the questions a chat shop gets most — price, stock, features, what's on offer,
what fits a budget — by matching the catalog, walks the campaign's qualification questions,
and takes orders with quantities ("I'll take 2 of the blue ones") down the same order path.
When it can't help it hands the chat to a person rather than guess.
"""
from __future__ import annotations

import re

from app.ai import tools
from app.ai.catalog import match_products
from app.ai.reply import Reply
from app.money import format_money

NUMBER_WORDS = {"one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                "seven": 7, "eight": 8, "nine": 9, "ten": 10, "couple": 2, "pair": 2}
GREETING = re.compile(r"^\s*(hi+|hello+|hey+|namaste|good (morning|afternoon|evening))\b[\s!.,]*$", re.I)
BUY = re.compile(r"\b(i'?ll take|i will take|i want|i'd like|i would like|buy|order|send me|book|"
                 r"add to cart|i'll have|give me)\b", re.I)
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


def _quantity(text: str) -> int:
    text = re.sub(r"\d+\s*%", " ", text or "")  # "90% off" is not a quantity
    for token in QUANTITY.findall(text):
        token = token.lower()
        if token.isdigit() and 0 < int(token) <= tools.MAX_QUANTITY:
            return int(token)
        if token in NUMBER_WORDS and token not in ("a", "an"):
            return NUMBER_WORDS[token]
    return 1


def _line(card: dict) -> str:
    stock = "in stock" if card["in_stock"] else "out of stock right now"
    return f"• {card['name']} — {card['price']} ({stock})"


class OfflineAgent:
    name = "offline"

    def reply(self, ctx: tools.ToolContext, *, text: str, campaign, business: str,
              asked_questions: int, first: bool) -> Reply:
        products = tools.search_products(ctx)["products"]  # the whole active catalog, priced
        by_id = {c["product_id"]: c for c in products}
        mentioned = [by_id[m.product.id] for m in match_products(text, list(_catalog(ctx)))
                     if m.product.id in by_id]
        if HUMAN.search(text):
            tools.call(ctx, "handoff", {"reason": "customer asked for a person"})
            return Reply("Sure, I'm connecting you with someone from our team. They'll reply here shortly.",
                         agent=self.name)
        if HAGGLE.search(text):
            return self._haggle(ctx, campaign, mentioned)
        if mentioned and BUY.search(text):
            return self._order(ctx, mentioned[0], _quantity(text))
        budget = BUDGET.search(text)
        if budget:
            limit = int(budget.group(3).replace(",", "")) * 100
            picks = tools.call(ctx, "recommend", {"needs": text, "budget_minor": limit})["products"]
            if not picks:
                return Reply(f"I don't have anything under {format_money(limit, ctx.currency)} right now. "
                             "Would you like to see our most popular pieces?", agent=self.name)
            return Reply("Here's what fits your budget:\n" + "\n".join(_line(c) for c in picks) +
                         "\nWhich one would you like?", agent=self.name)
        if mentioned:
            card = mentioned[0]
            tools.call(ctx, "product_details", {"product_id": card["product_id"]})
            if STOCK.search(text) and not PRICE.search(text):
                if card["in_stock"]:
                    return Reply(f"Yes, {card['name']} is in stock ({card['available']} available) at "
                                 f"{card['price']}. Shall I reserve one for you?", agent=self.name)
                return Reply(f"Sorry, {card['name']} is out of stock right now. "
                             + self._alternatives(ctx, card), agent=self.name)
            if DETAILS.search(text) and not PRICE.search(text):
                details = tools.product_details(ctx, product_id=card["product_id"])
                about = " ".join(x for x in (details.get("description"), details.get("features")) if x)
                return Reply(f"{card['name']} ({card['price']}): {about or 'a customer favourite.'}",
                             agent=self.name)
            lines = [_line(c) for c in mentioned[:3]]
            follow = "Would you like to order?" if mentioned[0]["in_stock"] else self._alternatives(ctx, mentioned[0])
            return Reply("\n".join(lines) + "\n" + follow, agent=self.name)
        if LOOKING.search(text) and not CATALOG.search(text):
            cats = tools.call(ctx, "list_categories", {})["categories"]
            return Reply("I couldn't find that in our catalog. We have " + ", ".join(cats) +
                         ". Tell me a little about what you need and I'll suggest something.",
                         agent=self.name)
        if CATALOG.search(text) or PRICE.search(text):
            cats = tools.call(ctx, "list_categories", {})["categories"]
            shown = [c for c in products if c["in_stock"]][:5]
            head = f"We have {', '.join(cats)}." if cats else "Here's what we have:"
            return Reply(head + "\n" + "\n".join(_line(c) for c in shown) +
                         "\nTell me what you're looking for and I'll help you choose.", agent=self.name)
        if first or GREETING.match(text):
            greeting = (campaign.greeting if campaign and campaign.greeting
                        else f"Hi! Thanks for messaging {business}. How can I help you today?")
            return Reply(greeting, agent=self.name)
        questions = _lines(campaign.qualification_questions) if campaign else []
        if asked_questions < len(questions):
            return Reply(questions[asked_questions], agent=self.name)
        tools.call(ctx, "handoff", {"reason": "offline agent could not help"})
        return Reply("I want to get this right for you, so I'm asking someone from our team to "
                     "reply here shortly.", agent=self.name)

    def _haggle(self, ctx, campaign, mentioned: list[dict]) -> Reply:
        """Price objections get the campaign's answer; never an invented discount."""
        answer = (campaign.objection_handling if campaign and campaign.objection_handling else
                  "Our prices are already the best we can offer, and every piece is quality-checked.")
        if mentioned:
            answer += f" {mentioned[0]['name']} is {mentioned[0]['price']}."
        return Reply(answer + " Would you like to go ahead?", agent=self.name)

    def _order(self, ctx, card: dict, quantity: int) -> Reply:
        result = tools.call(ctx, "create_order", {"items": [{"product_id": card["product_id"],
                                                              "quantity": quantity}]})
        if "error" in result:
            if not card["in_stock"] or "available" in result["error"] or "out of stock" in result["error"]:
                return Reply(f"Sorry, we don't have {quantity} of {card['name']} right now "
                             f"({card['available']} available). " + self._alternatives(ctx, card),
                             agent=self.name)
            return Reply("I couldn't take that order. Could you tell me which product and how many?",
                         agent=self.name)
        line = result["items"][0]
        unit = format_money(line["unit_price_minor"], ctx.currency)
        return Reply(f"Great choice! {line['quantity']} × {line['name']} at {unit} each — total "
                     f"{result['total']}. Your order is {result['number']}; the payment link follows "
                     "right here.", agent=self.name)

    def _alternatives(self, ctx, card: dict) -> str:
        picks = [c for c in tools.recommend(ctx, needs=card["category"] or card["name"])["products"]
                 if c["product_id"] != card["product_id"]][:2]
        if not picks:
            return "Can I help you with something else?"
        return "You might like:\n" + "\n".join(_line(c) for c in picks)


def _catalog(ctx: tools.ToolContext):
    return tools._products(ctx)


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]
