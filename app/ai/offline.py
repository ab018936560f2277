"""The offline salesperson: deterministic, no API key, same tools and guardrails.

It answers the questions a chat shop gets most — price, stock, features, what's on offer,
what fits a budget, which of two pieces is cheaper or better for summer — by matching the
catalog, walks the campaign's qualification questions, and takes orders with quantities
("I'll take 2 of the blue ones") down the same order path. It remembers what the chat is
about ("I'll take it", "make that 3") from the recent turns it is given, so a customer
never has to repeat a product's name. When it can't help it hands the chat to a person
rather than guess.
"""
from __future__ import annotations

from app.ai import compare, memory, tools
from app.ai.catalog import match_products
from app.ai.intents import (
    BUDGET,
    ANOTHER,
    BUY,
    CATALOG,
    CHOOSING,
    COMPARE,
    DETAILS,
    GREETING,
    HAGGLE,
    HUMAN,
    LOOKING,
    PRICE,
    STOCK,
    agrees,
    points_back,
    quantity,
    wants_change,
)
from app.ai.reply import Reply
from app.money import format_money


def _line(card: dict) -> str:
    stock = "in stock" if card["in_stock"] else "out of stock right now"
    return f"• {card['name']} — {card['price']} ({stock})"


class OfflineAgent:
    name = "offline"

    def reply(self, ctx: tools.ToolContext, *, text: str, campaign, business: str,
              asked_questions: int, first: bool, history: list[dict] | None = None) -> Reply:
        """`history`: the chat's recent turns ({"role", "content"}, oldest first), where
        "it" and "those" are looked up."""
        history = memory.earlier(history, text)
        catalog = _catalog(ctx)
        named = [m.product for m in match_products(text, catalog)]
        if memory.colours(text):
            if history and points_back(text):
                # "the blue one" is one of the pieces just discussed before any other blue piece
                named = memory.narrow(text, memory.focus(history, catalog)) or named
            named = memory.narrow(text, named) or named  # "a kurta in blue"
        mentioned = [tools.card(ctx, p) for p in named]
        if HUMAN.search(text):
            tools.call(ctx, "handoff", {"reason": "customer asked for a person"})
            return Reply("Sure, I'm connecting you with someone from our team. They'll reply here shortly.",
                         agent=self.name)
        if COMPARE.search(text):
            answer = self._compare(ctx, text, catalog, history)
            if answer is not None:
                return answer
        if HAGGLE.search(text):
            return self._haggle(ctx, campaign, mentioned)
        if wants_change(text):
            answer = self._change(ctx, text, mentioned, catalog, history)
            if answer is not None:
                return answer
        if mentioned and BUY.search(text):
            return self._order(ctx, mentioned[0], quantity(text) or 1)
        if not mentioned and history:
            answer = self._remembered(ctx, text, catalog, history)
            if answer is not None:
                return answer
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
            return self._about(ctx, text, mentioned)
        if LOOKING.search(text) and not CATALOG.search(text):
            cats = tools.call(ctx, "list_categories", {})["categories"]
            return Reply("I couldn't find that in our catalog. We have " + ", ".join(cats) +
                         ". Tell me a little about what you need and I'll suggest something.",
                         agent=self.name)
        if CATALOG.search(text) or PRICE.search(text):
            cats = tools.call(ctx, "list_categories", {})["categories"]
            shown = [c for c in tools.search_products(ctx)["products"] if c["in_stock"]][:5]
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

    def _compare(self, ctx, text: str, catalog: list, history) -> Reply | None:
        """Products named side by side ("X or Y, which is cheaper?"), or, for "which one is
        cheaper?", the ones the chat was just about. None: not a comparison after all."""
        phrases = compare.named_phrases(text)
        if len(phrases) >= 2:
            result = tools.call(ctx, "compare_products", {"names": phrases})
            if len(result["products"]) == 1 and not result["not_found"]:
                return None  # two ways of naming one product: a question about it
        elif CHOOSING.search(text) and len(shown := memory.focus(history, catalog)) >= 2:
            result = tools.call(ctx, "compare_products", {"product_ids": [p.id for p in shown]})
        else:
            return None
        return Reply(compare.answer(result, compare.attribute(text)), agent=self.name)

    def _change(self, ctx, text: str, mentioned: list[dict], catalog: list, history) -> Reply | None:
        """"Make that 3": the pending order gets the new quantity; without one, it is an order
        of the product being discussed. None: nothing to change or order."""
        qty = quantity(text)
        target = mentioned[0] if mentioned else None
        if target is None:
            picks = memory.narrow(text, memory.focus(history, catalog)) if history else []
            target = tools.card(ctx, picks[0]) if len(picks) == 1 else None
        args = {"quantity": qty, **({"product_id": target["product_id"]} if mentioned else {})}
        result = tools.call(ctx, "change_order", args)
        if "several products" in result.get("error", "") and target is not None:
            result = tools.call(ctx, "change_order", {"quantity": qty, "product_id": target["product_id"]})
        if "error" not in result:
            return self._confirm(ctx, result)
        error = result["error"]
        if "no order" in error or "not in order" in error:  # nothing pending: a new order
            return self._order(ctx, target, qty) if target is not None else None
        if "several products" in error:
            return Reply(f"Which product in your order should I change to {qty}?", agent=self.name)
        return Reply(f"Sorry, I couldn't change your order: {error}. It stays as it was.", agent=self.name)

    def _remembered(self, ctx, text: str, catalog: list, history) -> Reply | None:
        """"I'll take it", "2 of those", "I want 2", "yes please": an order of the product the chat is
        about (asking which, if it was about several). None: not that kind of message."""
        buying = ((BUY.search(text) or quantity(text)) and points_back(text)
                  or (BUY.search(text) and quantity(text)))  # "le lunga 2": the "it" left unsaid
        if not (buying or (agrees(text) and memory.offered_to_order(history))):
            return None
        picks = [tools.card(ctx, p) for p in memory.narrow(text, memory.focus(history, catalog))]
        if not picks:
            return None
        if len(picks) > 1:
            return Reply("Which one would you like?\n" + "\n".join(_line(c) for c in picks), agent=self.name)
        if quantity(text) and not ANOTHER.search(text):  # "2 of those" right after ordering one
            changed = self._change(ctx, text, picks, catalog, history)
            if changed is not None:
                return changed
        return self._order(ctx, picks[0], quantity(text) or 1)

    def _about(self, ctx, text: str, mentioned: list[dict]) -> Reply:
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
        return self._confirm(ctx, result)

    def _confirm(self, ctx, result: dict) -> Reply:
        if result.get("status") == "unchanged":
            return Reply(f"Your order {result['number']} already has {result['quantity']}, "
                         f"total {result['total']}. The payment link above is still good.", agent=self.name)
        items = result["items"]
        if len(items) == 1:
            unit = format_money(items[0]["unit_price_minor"], ctx.currency)
            what = f"{items[0]['quantity']} × {items[0]['name']} at {unit} each"
        else:
            what = ", ".join(f"{i['quantity']} × {i['name']}" for i in items)
        head = (f"Done! I've changed your order: {what} — total {result['total']}. Your new order is "
                f"{result['number']} (it replaces {result['replaces']}, so please use the new link)"
                if result.get("replaces") else
                f"Great choice! {what} — total {result['total']}. Your order is {result['number']}")
        if result.get("status") == "already_pending":
            head = (f"You already have this order: {what} — total {result['total']}, order "
                    f"{result['number']}, awaiting payment. Here's its payment link again")
        return Reply(head + "; the payment link follows right here." if result.get("status") != "already_pending"
                     else head + ", right below.", agent=self.name)

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
