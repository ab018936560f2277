"""The catalog as one message: what to show, decided once, drawn by each channel's adapter.

The rule's category, else the conversation's campaign, else everything for sale; in-stock
pieces first, at most ten (a Messenger/Instagram carousel and a WhatsApp list both stop at
ten). Each item's Buy button carries "BUY <sku>", which the order_intent trigger and the
create_order action recognize when the customer taps it.
"""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Campaign, Category, Conversation, Product
from app.money import format_money

MAX_ITEMS = 10


def _products(conv: Conversation, category_id: int | None) -> tuple[str, list[Product]]:
    base = select(Product).where(Product.tenant_id == conv.tenant_id, Product.active.is_(True))
    if category_id:
        category = db.session.scalar(select(Category).where(
            Category.id == category_id, Category.tenant_id == conv.tenant_id))
        if category is not None:
            return category.name, list(db.session.scalars(base.where(Product.category_id == category.id)))
    if conv.campaign_id:
        campaign = db.session.scalar(select(Campaign).where(
            Campaign.id == conv.campaign_id, Campaign.tenant_id == conv.tenant_id))
        chosen = [p for p in (campaign.products if campaign else []) if p.active]
        if chosen:
            return campaign.name, chosen
    return "Our products", list(db.session.scalars(base))


def build(conv: Conversation, category_id: int | None = None, intro: str | None = None) -> dict | None:
    """The catalog message's content (stored in the message's payload), or None if nothing
    is for sale."""
    title, products = _products(conv, category_id)
    products = sorted(products, key=lambda p: (p.available <= 0, p.name))[:MAX_ITEMS]
    if not products:
        return None
    return {
        "title": title,
        "intro": intro or f"Here's what we have ({title}). Tap Buy on the one you like.",
        "items": [{"product_id": p.id, "sku": p.sku, "name": p.name,
                   "price": format_money(p.price_minor, p.currency), "price_minor": p.price_minor,
                   "image_url": p.image_url or None, "in_stock": p.available > 0,
                   "description": (p.description or "")[:200]} for p in products],
    }


def transcript(catalog: dict) -> str:
    """How the message reads in the admin's transcript."""
    return catalog["intro"] + "\n" + "\n".join(
        f"• {i['name']} — {i['price']}" + ("" if i["in_stock"] else " (sold out)") for i in catalog["items"])
