"""The demo seed: created once, consistent with the catalog, and never left half-written."""
from __future__ import annotations

import re

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Agency, KnowledgeChunk, KnowledgeDocument, Message, Order, OrderItem, OrderStatus, Product,
    Tenant,
)
from app.money import format_money
from app.services import demo

ENV = ["DEMO_PASSWORD", "PORT", *(f"DEMO_PASSWORD_{u.upper()}" for u in demo.LOGINS)]
COUNTED = [Tenant, Agency, User, Product, Order, OrderItem, Message, KnowledgeChunk]


@pytest.fixture(autouse=True)
def _no_demo_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def test_seed_creates_once_then_changes_nothing(ctx):
    report = demo.seed()
    assert report.created
    assert report.lines[0] == "Admin: http://127.0.0.1:5000/"
    logins = [line for line in report.lines if " / " in line]
    assert [line.split()[0] for line in logins] == list(demo.LOGINS)
    assert all(len(line.split()[2]) >= 10 for line in logins)  # generated passwords shown
    assert {t.slug for t in db.session.scalars(select(Tenant))} == {"demo-store", "second-store"}
    before = counts()

    again = demo.seed()
    assert not again.created
    assert counts() == before
    assert not any(" / " in line for line in again.lines)  # no passwords the second time


def test_seed_is_consistent_with_the_catalog(ctx):
    demo.seed()
    for p in db.session.scalars(select(Product)):
        pending = db.session.scalar(
            select(func.coalesce(func.sum(OrderItem.quantity), 0)).join(Order).where(
                OrderItem.product_id == p.id, Order.status == OrderStatus.PENDING_PAYMENT))
        assert p.reserved == pending <= p.stock, p.sku
    assert db.session.scalar(select(func.count()).where(Product.stock == 0)) >= 1
    statuses = set()
    for order in db.session.scalars(select(Order)):
        statuses.add(order.status)
        assert order.total_minor == sum(i.unit_price_minor * i.quantity for i in order.items)
        assert all(i.unit_price_minor == i.product.price_minor for i in order.items)
        assert (order.paid_at is not None) == (
            order.status in {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED})
        assert order.customer_id and order.conversation_id
    assert {OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.SHIPPED,
            OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.EXPIRED} <= statuses
    for msg in db.session.scalars(select(Message)):
        allowed = {format_money(p.price_minor) for p in db.session.scalars(
            select(Product).where(Product.tenant_id == msg.tenant_id))}
        allowed |= {o.total() for o in msg.conversation.orders}
        for amount in re.findall(r"₹[\d,]+\.\d\d", msg.text or ""):
            assert amount in allowed, (msg.text, amount)
        assert msg.channel_id == msg.conversation.channel_id
    docs = db.session.scalars(select(KnowledgeDocument)).all()
    assert len(docs) == 3 and all(d.chunks and d.chunked_at for d in docs)


def test_env_passwords_are_used_and_not_printed(app, browser, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "Lotus-Ember-Granite-58")
    monkeypatch.setenv("DEMO_PASSWORD_OWNER", "Velvet-Cobalt-Thistle-36")
    with app.app_context():
        lines = demo.seed().lines
        db.session.remove()
    assert "  owner / (password from DEMO_PASSWORD_OWNER) (Owner, Demo Store)" in lines
    assert not any("Lotus" in line or "Velvet" in line for line in lines)
    owner = browser(None)
    owner.login("owner", "Velvet-Cobalt-Thistle-36")
    html = owner.get("/productview/list/").get_data(as_text=True)
    assert "Indigo Block-Print Cotton Kurta" in html and "Sandalwood" not in html
    browser(None).login("owner2", "Lotus-Ember-Granite-58")


def test_short_env_password_is_refused_before_writing(ctx, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "short")
    with pytest.raises(demo.DemoSeedError):
        demo.seed()
    assert counts()["Tenant"] == 0


def test_failure_part_way_leaves_nothing_behind(ctx, monkeypatch):
    def broken(**_kw):
        raise RuntimeError("chunking failed")

    original = demo.knowledge.rebuild_chunks
    monkeypatch.setattr(demo.knowledge, "rebuild_chunks", broken)
    with pytest.raises(RuntimeError):
        demo.seed()
    assert all(n == 0 for n in counts().values())
    monkeypatch.setattr(demo.knowledge, "rebuild_chunks", original)
    assert demo.seed().created


def test_the_demo_shows_where_customers_came_from(ctx):
    """Its chats came from Meta ads on each platform and a bio link, as the referrals Meta
    sends would have recorded them, so the analytics' ads and the inbox's "Came from" show."""
    from datetime import timedelta

    from app import analytics
    from app.models import Conversation, Customer, Referral
    from app.services.reporting import tenant_today

    demo.seed()
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "demo-store"))
    today = tenant_today(tenant)
    f = analytics.Filters(tenant_id=tenant.id, start=today - timedelta(days=89), end=today)
    ads = {r["key"]: r for r in analytics.breakdown(f, "ad")}
    for ad_id in ("120208845512340001", "120208845512340002", "120208845512340003"):
        assert ads[ad_id]["revenue_minor"] > 0 and ads[ad_id]["label"].endswith(f"({ad_id})"), ad_id
    assert ads["120208845512340003"]["label"].startswith("Kurta sets on WhatsApp")
    platforms = {r.platform for r in db.session.scalars(select(Referral).where(Referral.tenant_id == tenant.id))}
    assert platforms == {"messenger", "instagram", "whatsapp"}
    meera = db.session.scalar(select(Conversation).join(Customer).where(Customer.name == "Meera Nair"))
    assert (meera.referral_ref, meera.campaign_id) == ("bio-link", None)  # a link no campaign claims


def test_the_demo_logs_what_its_ai_promised(ctx):
    """Every automated reply has its promise log, the demo's too: its AI quoted prices, order
    numbers and delivery times, so Inbox → AI Promises and Leo have them right after `make run`,
    each at its reply's time and checked against the store's records."""
    from app.models import AiPromise
    from app.services import leo

    demo.seed()
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "demo-store"))
    rows = db.session.execute(
        select(AiPromise, Message).join(Message, Message.id == AiPromise.message_id)
        .where(AiPromise.tenant_id == tenant.id)).all()
    assert {p.kind.value for p, _ in rows} >= {"price", "order_number", "delivery"}
    assert all(m.sender.value == "ai" and p.created_at == m.created_at for p, m in rows)
    assert all(p.matches for p, _ in rows if p.kind.value == "order_number")
    assert any(p.matches is True for p, _ in rows if p.kind.value == "price")
    assert leo.ask(tenant.id, "what did the AI promise in the last 30 days?")["answer"] != \
        "The AI made no price, discount, delivery or order-number claims in the last 30 days."
