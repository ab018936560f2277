"""A small hand-built shop in tenant A (Asia/Kolkata) whose every figure is worked out by hand
in tests/test_analytics.py, plus rows of tenant B in the same days that must never show.

Times are UTC; IST = UTC+05:30. The range under test is 10-12 Nov 2026 (IST), i.e.
[2026-11-09 18:30 UTC, 2026-11-12 18:30 UTC).
"""
from __future__ import annotations

from datetime import datetime, timezone

from app.extensions import db
from app.models import (
    Campaign,
    Channel,
    Conversation,
    Customer,
    Message,
    Order,
    OrderItem,
    Platform,
    Product,
    Referral,
)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=timezone.utc)


class Shop:
    def __init__(self, tenant_id: int):
        self.t = tenant_id
        self._n = 0

    def add(self, *rows):
        db.session.add_all(rows)
        db.session.flush()
        return rows[0] if len(rows) == 1 else rows

    def conversation(self, channel, created, *, campaign=None, lead=0, sentiment=None, ad_id=None):
        self._n += 1
        customer = self.add(Customer(tenant_id=self.t, platform=channel.platform,
                                     external_id=f"cust-{self.t}-{self._n}", name=f"Customer {self._n}"))
        return self.add(Conversation(tenant_id=self.t, channel_id=channel.id, customer_id=customer.id,
                                     campaign_id=campaign.id if campaign else None, lead_score=lead,
                                     sentiment=sentiment, ad_id=ad_id, created_at=created))

    def message(self, conv, when, direction, sender, status="sent"):
        self._n += 1
        return self.add(Message(tenant_id=self.t, conversation_id=conv.id, channel_id=conv.channel_id,
                                direction=direction, sender=sender,
                                status="received" if direction == "in" else status,
                                text=f"text {self._n}", external_id=f"mid-{self.t}-{self._n}",
                                created_at=when))

    def order(self, conv, placed, lines, *, paid=None, status="pending_payment", closed_by=None):
        self._n += 1
        order = self.add(Order(tenant_id=self.t, number=f"T{self.t}-{self._n}", conversation_id=conv.id,
                               customer_id=conv.customer_id, campaign_id=conv.campaign_id, status=status,
                               total_minor=sum(p.price_minor * q for p, q in lines), created_at=placed,
                               paid_at=paid, closed_by_sender=closed_by))
        for product, qty in lines:
            self.add(OrderItem(tenant_id=self.t, order_id=order.id, product_id=product.id, sku=product.sku,
                               name=product.name, unit_price_minor=product.price_minor, quantity=qty))
        return order


def build(world) -> dict:
    """The shop in tenant A and noise in tenant B; returns the ids the tests need."""
    s = Shop(world.a.tenant_id)
    msgr = s.add(Channel(tenant_id=s.t, name="Shop Page", platform=Platform.MESSENGER, external_id="page-shop"))
    wa = s.add(Channel(tenant_id=s.t, name="Shop WA", platform=Platform.WHATSAPP, external_id="wa-shop"))
    k1 = s.add(Campaign(tenant_id=s.t, name="Diwali", ad_ids="ad-1"))
    k2 = s.add(Campaign(tenant_id=s.t, name="Winter"))
    p1 = s.add(Product(tenant_id=s.t, sku="P1", name="Silk saree", price_minor=50000, stock=50))
    p2 = s.add(Product(tenant_id=s.t, sku="P2", name="Cotton kurta", price_minor=20000, stock=50))

    # c1: 09:30 IST on the 10th, Diwali ad; answered in 30 s, the customer writes again.
    c1 = s.conversation(msgr, at(10, 4), campaign=k1, lead=85, sentiment=0.8, ad_id="ad-1")
    s.add(Referral(tenant_id=s.t, conversation_id=c1.id, platform="messenger", source="ADS",
                   ad_id="ad-1", headline="Diwali silk", first_touch=True, created_at=at(10, 4)))
    s.message(c1, at(10, 4), "in", "customer")
    s.message(c1, at(10, 4, 0, 30), "out", "ai")
    s.message(c1, at(10, 4, 5), "in", "customer")
    s.message(c1, at(10, 4, 10), "out", "agent")
    o1 = s.order(c1, at(10, 4, 6), [(p1, 1), (p2, 1)], paid=at(10, 5), status="paid", closed_by="ai")

    # c2: 23:50 IST on the 10th (18:20 UTC) on WhatsApp; answered in 2 min; paid three days later.
    c2 = s.conversation(wa, at(10, 18, 20), campaign=k2, lead=30, sentiment=-0.3)
    s.message(c2, at(10, 18, 20), "in", "customer")
    s.message(c2, at(10, 18, 22), "out", "ai")
    o2 = s.order(c2, at(10, 18, 25), [(p2, 2)], paid=at(13, 10), status="paid", closed_by="agent")

    # c3: 00:10 IST on the 11th; our reply failed; its order was paid, then refunded.
    c3 = s.conversation(msgr, at(10, 18, 40), lead=50)
    s.message(c3, at(10, 18, 40), "in", "customer")
    s.message(c3, at(10, 18, 41), "out", "ai", status="failed")
    o3 = s.order(c3, at(11, 5), [(p1, 1)], paid=at(11, 6), status="refunded", closed_by="ai")

    # c4: started on the 9th (before the range), its order paid on the 10th (in it).
    c4 = s.conversation(msgr, at(9, 10), campaign=k1, lead=90, sentiment=0.2, ad_id="ad-1")
    s.message(c4, at(9, 10), "in", "customer")
    s.message(c4, at(9, 10, 1), "out", "ai")
    o4 = s.order(c4, at(9, 10, 30), [(p2, 1)], paid=at(10, 8), status="paid", closed_by="ai")

    # Tenant B, same days: a conversation, messages and a big paid order that A never sees.
    b = Shop(world.b.tenant_id)
    bch = b.add(Channel(tenant_id=b.t, name="B Page", platform=Platform.MESSENGER, external_id="page-b-shop"))
    bp = b.add(Product(tenant_id=b.t, sku="BP", name="B thing", price_minor=990000, stock=5))
    bc = b.conversation(bch, at(10, 6), lead=70, ad_id="ad-1")
    b.message(bc, at(10, 6), "in", "customer")
    b.message(bc, at(10, 6, 1), "out", "ai")
    b.order(bc, at(10, 6, 5), [(bp, 1)], paid=at(10, 7), status="paid", closed_by="ai")
    db.session.commit()
    return {"msgr": msgr.id, "wa": wa.id, "k1": k1.id, "k2": k2.id, "p1": p1.id, "p2": p2.id,
            "c1": c1.id, "c2": c2.id, "c3": c3.id, "c4": c4.id,
            "o1": o1.id, "o2": o2.id, "o3": o3.id, "o4": o4.id}
