"""Canned replies: placeholders filled from the conversation when staff insert one.

Placeholders are a fixed vocabulary in braces, never a template language: `{customer_name}`,
`{first_name}`, `{business_name}`, `{agent_name}`, `{order_number}`, `{order_total}`,
`{payment_link}` (the conversation's latest order), and `{price:SKU}` / `{product:SKU}` for a
product of this tenant. The text is inserted into the reply box for the person to read and
edit before sending, so a value that can't be known (no order yet) becomes an empty string.
"""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Conversation, Order, Product
from app.money import format_money
from app.services import tenants

PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([^{}\s]{1,64}))?\}")
SIMPLE = {"customer_name", "first_name", "business_name", "agent_name", "order_number",
          "order_total", "payment_link"}
PER_PRODUCT = {"price", "product"}


class CannedError(ValueError):
    """A canned reply's text names a placeholder we don't know."""


def check(body: str) -> None:
    """Refuse unknown placeholders when a canned reply is saved (with the offending name)."""
    for match in PLACEHOLDER.finditer(body or ""):
        name, arg = match.group(1), match.group(2)
        if name in SIMPLE and arg is None:
            continue
        if name in PER_PRODUCT and arg:
            continue
        known = ", ".join(sorted({f"{{{n}}}" for n in SIMPLE} | {"{price:SKU}", "{product:SKU}"}))
        raise CannedError(f"Unknown placeholder {match.group(0)}; use one of {known}")


def render(body: str, conv: Conversation, agent_name: str = "") -> str:
    """The canned reply with this conversation's values in place of its placeholders."""
    values: dict[str, str] = {}

    def simple(name: str) -> str:
        if name not in values:
            values[name] = _simple(name, conv, agent_name)
        return values[name]

    def fill(match: re.Match) -> str:
        name, arg = match.group(1), match.group(2)
        if name in SIMPLE and arg is None:
            return simple(name)
        if name in PER_PRODUCT and arg:
            product = db.session.scalar(select(Product).where(
                Product.tenant_id == conv.tenant_id, Product.sku == arg))
            if product is None:
                return ""
            return product.name if name == "product" else format_money(product.price_minor, product.currency)
        return match.group(0)

    return PLACEHOLDER.sub(fill, body or "")


def _simple(name: str, conv: Conversation, agent_name: str) -> str:
    customer = conv.customer
    if name == "customer_name":
        return (customer.name or "") if customer else ""
    if name == "first_name":
        return ((customer.name or "").split() or [""])[0] if customer else ""
    if name == "agent_name":
        return agent_name or ""
    if name == "business_name":
        return tenants.business_name(conv.tenant_id)
    order = db.session.scalar(select(Order).where(
        Order.tenant_id == conv.tenant_id, Order.conversation_id == conv.id,
    ).order_by(Order.created_at.desc(), Order.id.desc()).limit(1))
    if order is None:
        return ""
    if name == "order_number":
        return order.number
    if name == "order_total":
        return format_money(order.total_minor, order.currency)
    return order.payment_link_url or ""
