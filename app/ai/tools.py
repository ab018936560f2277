"""The salesperson's tools: the only way prices, stock and orders reach a reply.

Every tool reads and acts inside the conversation's tenant only; an id from another tenant is
"not found". Results are plain dicts (the Groq agent sends them back to the model as JSON).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from app.ai.catalog import best_match, match_products
from app.extensions import db, end_read
from app.models import (
    Category,
    Conversation,
    Order,
    OrderStatus,
    Product,
)
from app.money import format_money
from app.services import takeover

MAX_COMPARED = 5


@dataclass
class ToolContext:
    tenant_id: int
    conversation_id: int
    customer_id: int
    currency: str = "INR"
    calls: list[dict] = field(default_factory=list)   # what was called, for the message record
    prices_quoted: set[int] = field(default_factory=set)  # minor units a reply may state
    order_intent: dict | None = None   # the order placed in this turn (for the message record)
    orders_created: set[str] = field(default_factory=set)  # numbers a reply may now mention
    claim: Callable[[], None] | None = None  # marks the incoming messages handled (see create_order)
    # told of each order create_order placed, once it is committed (the reply job: an order
    # the agent places is buying intent recognized, which fires the order_intent rules)
    placed: Callable[[Order], None] | None = None


def _products(ctx: ToolContext) -> list[Product]:
    return list(db.session.scalars(select(Product).where(
        Product.tenant_id == ctx.tenant_id, Product.active.is_(True)).order_by(Product.name)))


def card(ctx: ToolContext, p: Product) -> dict:
    """A product as every tool shows it; its price becomes one a reply may state."""
    ctx.prices_quoted.add(p.price_minor)
    return {"product_id": p.id, "sku": p.sku, "name": p.name, "price": format_money(p.price_minor, p.currency),
            "price_minor": p.price_minor, "in_stock": p.available > 0, "available": max(p.available, 0),
            "category": p.category.name if p.category else None}


def _product(ctx: ToolContext, product_id=None, name=None) -> Product | None:
    if product_id is not None:
        try:
            pid = int(product_id)
        except (TypeError, ValueError):
            return None
        return db.session.scalar(select(Product).where(
            Product.id == pid, Product.tenant_id == ctx.tenant_id, Product.active.is_(True)))
    if name:
        found = match_products(str(name), _products(ctx))
        return found[0].product if found else None
    return None


def search_products(ctx: ToolContext, query: str = "", max_price_minor: int | None = None) -> dict:
    products = _products(ctx)
    matched = [m.product for m in match_products(query, products)] if query else products
    if max_price_minor is not None:
        matched = [p for p in matched if p.price_minor <= int(max_price_minor)]
    return {"products": [card(ctx, p) for p in matched[:10]]}


def product_details(ctx: ToolContext, product_id=None, name: str | None = None) -> dict:
    p = _product(ctx, product_id, name)
    if p is None:
        return {"error": "not found"}
    return {**card(ctx, p), "description": p.description, "features": p.features}


def list_categories(ctx: ToolContext) -> dict:
    rows = db.session.scalars(select(Category).where(Category.tenant_id == ctx.tenant_id)
                              .order_by(Category.name))
    return {"categories": [c.name for c in rows]}


def recommend(ctx: ToolContext, needs: str = "", budget_minor: int | None = None) -> dict:
    products = [p for p in _products(ctx) if p.available > 0]
    if budget_minor is not None:
        products = [p for p in products if p.price_minor <= int(budget_minor)]
    matched = [m.product for m in match_products(needs, products)] if needs else []
    ranked = matched + [p for p in sorted(products, key=lambda p: -p.price_minor) if p not in matched]
    return {"products": [card(ctx, p) for p in ranked[:3]]}


def create_order(ctx: ToolContext, items: list[dict] | None = None) -> dict:
    """Place the order: items checked against this tenant's catalog, stock reserved, priced
    from the catalog (never from the text); the payment link follows in the chat. The same
    order already awaiting payment here is not placed twice: status "already_pending"."""
    from app.services.payments import links
    from app.services.orders import OrderError

    lines = []
    for item in items or []:
        if not isinstance(item, dict):
            return {"error": "each item needs a product_id (or name) and a quantity"}
        p = _product(ctx, item.get("product_id"), item.get("name"))
        if p is None:
            return {"error": f"product {item.get('product_id') or item.get('name')} not found"}
        lines.append((p.id, item.get("quantity", 1)))
    if not lines:
        return {"error": "no items"}
    if ctx.claim is not None:  # the order and "these messages are answered" commit together
        ctx.claim()
    try:
        order, new = links.place_in_chat(ctx.tenant_id, ctx.customer_id, ctx.conversation_id, lines)
    except OrderError as exc:
        return {"error": str(exc)}
    if not new:  # the same order already awaits payment here: no second one (checkout.payable_twin)
        before = ctx.order_intent
        result = _placed(ctx, order)
        ctx.order_intent = before  # nothing was placed by this call
        result.update(status="already_pending",
                      payment=f"order {order.number} with these items already awaits payment; its "
                              "payment link is being sent in this chat again right after your reply")
        return result
    if ctx.placed is not None:
        ctx.placed(order)
    return _placed(ctx, order)


def _placed(ctx: ToolContext, order: Order, **extra) -> dict:
    """What the model (and the message record) learns about an order just placed: its
    figures become prices a reply may state."""
    placed = [{"product_id": i.product_id, "sku": i.sku, "name": i.name, "quantity": i.quantity,
               "unit_price_minor": i.unit_price_minor} for i in order.items]
    for line in placed:
        ctx.prices_quoted.add(line["unit_price_minor"])
        ctx.prices_quoted.add(line["unit_price_minor"] * line["quantity"])
    ctx.prices_quoted.add(order.total_minor)
    ctx.orders_created.add(order.number)
    ctx.order_intent = {"order_id": order.id, "number": order.number, "items": placed,
                        "total_minor": order.total_minor, **extra}
    return {"status": "created", "number": order.number, "items": placed,
            "total": format_money(order.total_minor, order.currency), "total_minor": order.total_minor,
            **extra, "payment": "a payment link is being sent in this chat right after your reply"}


def change_order(ctx: ToolContext, quantity=None, product_id=None, number: str | None = None) -> dict:
    """A new quantity for a product of the customer's order awaiting payment ("make that 3").

    The order's payment link fixed its amount when it was made, so the order is replaced by
    one with the new quantity (stock held by the checkout rules, priced from the catalog)
    and the new link follows in the chat. Without `number`: this conversation's latest
    pending order; without `product_id`: the order's only product."""
    from app.services.payments import links
    from app.services.orders import OrderError

    query = select(Order).where(Order.tenant_id == ctx.tenant_id, Order.customer_id == ctx.customer_id,
                                Order.status == OrderStatus.PENDING_PAYMENT)
    if number:
        query = query.where(Order.number == str(number).strip().upper())
    else:
        query = query.where(Order.conversation_id == ctx.conversation_id)
    order = db.session.scalar(query.order_by(Order.id.desc()))
    if order is None:
        return {"error": "no order awaiting payment in this chat"}
    lines: dict[int, int] = {}
    for item in order.items:
        if item.product_id is not None:
            lines[item.product_id] = lines.get(item.product_id, 0) + item.quantity
    try:
        pid = int(product_id) if product_id is not None else None
        qty = int(quantity)
    except (TypeError, ValueError):
        return {"error": "quantity (and product_id, if given) must be whole numbers"}
    if pid is None and len(lines) != 1:
        return {"error": f"order {order.number} has several products: say which (product_id)"}
    pid = next(iter(lines)) if pid is None else pid
    if pid not in lines:
        return {"error": f"product {pid} is not in order {order.number}"}
    if lines[pid] == qty:
        ctx.prices_quoted.add(order.total_minor)
        return {"status": "unchanged", "number": order.number, "quantity": qty,
                "total": format_money(order.total_minor, order.currency)}
    lines[pid] = qty
    if ctx.claim is not None:  # the change and "these messages are answered" commit together
        ctx.claim()
    try:
        new = links.replace_in_chat(order.id, ctx.tenant_id, list(lines.items()))
    except OrderError as exc:
        return {"error": str(exc)}
    result = _placed(ctx, new, replaces=order.number)
    result["payment"] = (f"order {order.number} and its payment link are cancelled; the new order's "
                         "link is being sent in this chat right after your reply")
    return result


def compare_products(ctx: ToolContext, names=None, product_ids=None) -> dict:
    """Several products side by side from the catalog: price, stock, description, features,
    which is cheapest and by how much (a figure a reply may then state). A name that matches
    no single product is listed in `not_found`, never guessed."""
    names = [names] if isinstance(names, str) else list(names or [])
    ids = [product_ids] if isinstance(product_ids, (int, str)) else list(product_ids or [])
    picked: list[Product] = []
    not_found: list[str] = []
    catalog = _products(ctx) if names else []
    asked = [(str(pid), _product(ctx, product_id=pid)) for pid in ids]
    asked += [(str(name), best_match(str(name), catalog)) for name in names]
    for label, p in asked:
        if p is None:
            not_found.append(label)
        else:
            picked.append(p)
    unique = list(dict.fromkeys(picked))[:MAX_COMPARED]
    cards = [{**card(ctx, p), "description": p.description, "features": p.features} for p in unique]
    result: dict = {"products": cards, "not_found": not_found}
    if len(cards) >= 2:
        low = min(cards, key=lambda c: c["price_minor"])
        high = max(cards, key=lambda c: c["price_minor"])
        gap = high["price_minor"] - low["price_minor"]
        ctx.prices_quoted.add(gap)
        result.update(cheapest=low["name"] if gap else None, most_expensive=high["name"] if gap else None,
                      price_difference=format_money(gap, ctx.currency), price_difference_minor=gap)
    return result


def order_status(ctx: ToolContext, number: str = "") -> dict:
    order = db.session.scalar(select(Order).where(
        Order.tenant_id == ctx.tenant_id, Order.customer_id == ctx.customer_id,
        Order.number == str(number).strip().upper()))
    if order is None:
        return {"error": "no such order for this customer"}
    ctx.prices_quoted.add(order.total_minor)
    return {"number": order.number, "status": str(order.status), "total": format_money(order.total_minor, order.currency),
            "tracking_number": order.tracking_number}


def handoff(ctx: ToolContext, reason: str = "") -> dict:
    conv = db.session.scalar(select(Conversation).where(
        Conversation.id == ctx.conversation_id, Conversation.tenant_id == ctx.tenant_id))
    takeover.hand_over(conv)
    return {"status": "handed_off", "reason": reason}


def opt_out(ctx: ToolContext) -> dict:
    conv = db.session.scalar(select(Conversation).where(
        Conversation.id == ctx.conversation_id, Conversation.tenant_id == ctx.tenant_id))
    conv.customer.opted_out = True
    return {"status": "opted_out"}


SIDE_EFFECTS = frozenset({"create_order", "change_order", "handoff", "opt_out"})  # a reply after these must go out

TOOLS = {
    "search_products": search_products,
    "product_details": product_details,
    "list_categories": list_categories,
    "recommend": recommend,
    "compare_products": compare_products,
    "create_order": create_order,
    "change_order": change_order,
    "order_status": order_status,
    "handoff": handoff,
    "opt_out": opt_out,
}


def call(ctx: ToolContext, name: str, args: dict) -> dict:
    """Run a tool by name; a bad name or bad arguments is an error result, never a crash.

    A tool that only read ends its transaction here, so the connection goes back to the pool
    while the model thinks about the result (a tool that changed something keeps its changes
    for the reply's commit)."""
    tool = TOOLS.get(name)
    if tool is None:
        result = {"error": f"unknown tool {name}"}
    else:
        try:
            result = tool(ctx, **(args or {}))
        except TypeError as exc:
            result = {"error": f"bad arguments: {exc}"}
    ctx.calls.append({"tool": name, "args": args, "ok": "error" not in result})
    end_read()
    return result
