"""The comparison and order-change tools: catalog figures only, this tenant only, and a changed
quantity replaces the pending order under the checkout's stock rules."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.ai import tools
from app.extensions import db
from app.models import Conversation, Order, OrderEvent, OrderStatus, Product
from tests.conftest import IS_POSTGRES

S = OrderStatus


@pytest.fixture
def ctx_a(app, world, run_jobs):
    with app.app_context():
        conv = db.session.get(Conversation, world.a["conversation"])
        yield tools.ToolContext(tenant_id=world.a.tenant_id, conversation_id=conv.id,
                                customer_id=conv.customer_id)
    run_jobs()  # the payment-link jobs the changes queued


def add_product(world, name: str, price_minor: int, stock: int = 5, tenant: str = "a") -> int:
    rows = getattr(world, tenant)
    p = Product(tenant_id=rows.tenant_id, sku=name.upper().replace(" ", "-"), name=name,
                price_minor=price_minor, stock=stock, currency="INR",
                description=f"{name}, described.", features="Cotton")
    db.session.add(p)
    db.session.flush()
    return p.id


def reserved(product_id: int) -> int:
    return db.session.scalar(select(Product.reserved).where(Product.id == product_id)
                             .execution_options(populate_existing=True))


def test_compare_products_sides_by_side_from_this_catalog_only(ctx_a, world):
    add_product(world, "Linen Shirt", 149900)
    result = tools.call(ctx_a, "compare_products", {"names": ["prod a", "linen shirt", "silk lehenga"]})
    assert [c["name"] for c in result["products"]] == ["Prod-A", "Linen Shirt"]
    assert [c["price"] for c in result["products"]] == ["₹799.00", "₹1,499.00"]
    assert result["cheapest"] == "Prod-A" and result["price_difference"] == "₹700.00"
    assert result["not_found"] == ["silk lehenga"] and 70000 in ctx_a.prices_quoted
    # tenant B's product, by id or by name, is not found from tenant A
    other = tools.compare_products(ctx_a, product_ids=[world.b["product"], world.a["product"]], names="Prod-B")
    assert [c["name"] for c in other["products"]] == ["Prod-A"]  # "Prod-B" reads as A's own "Prod"
    assert other["not_found"] == [str(world.b["product"])] and "cheapest" not in other


def test_changing_the_quantity_replaces_the_pending_order(ctx_a, world):
    product = world.a["product"]
    assert reserved(product) == 1  # the world's pending order holds one
    result = tools.call(ctx_a, "change_order", {"quantity": 3})
    assert result["status"] == "created" and result["replaces"] == db.session.get(Order, world.a["order"]).number
    old = db.session.get(Order, world.a["order"])
    new = db.session.scalar(select(Order).where(Order.number == result["number"]))
    assert old.status == S.CANCELLED and new.status == S.PENDING_PAYMENT
    assert [(i.product_id, i.quantity, i.unit_price_minor) for i in new.items] == [(product, 3, 79900)]
    assert new.total_minor == 3 * 79900 == result["total_minor"] and new.conversation_id == old.conversation_id
    assert reserved(product) == 3  # the old hold went back, the new one holds three
    placed = db.session.scalar(select(OrderEvent.note).where(OrderEvent.order_id == new.id))
    assert f"replaces {old.number}" in placed
    assert ctx_a.order_intent["total_minor"] == 239700 and 239700 in ctx_a.prices_quoted
    # the same quantity again changes nothing
    again = tools.call(ctx_a, "change_order", {"quantity": 3})
    assert again["status"] == "unchanged" and again["number"] == new.number
    assert db.session.scalar(select(Order.id).order_by(Order.id.desc())) == new.id


def test_a_change_the_shelf_cannot_cover_leaves_the_order_as_it_was(ctx_a, world):
    product = world.a["product"]
    result = tools.call(ctx_a, "change_order", {"quantity": 11})  # 10 on the shelf
    assert result == {"error": "Only 10 of Prod-A available"}
    order = db.session.get(Order, world.a["order"])
    db.session.refresh(order)
    assert order.status == S.PENDING_PAYMENT and [i.quantity for i in order.items] == [1]
    assert reserved(product) == 1
    assert "between" in tools.call(ctx_a, "change_order", {"quantity": 0})["error"]
    assert "whole numbers" in tools.call(ctx_a, "change_order", {"quantity": "lots"})["error"]


def test_an_order_with_several_products_needs_the_product(ctx_a, world):
    from app.services import checkout

    second = add_product(world, "Linen Shirt", 149900)
    db.session.commit()
    order = checkout.place_order(world.a.tenant_id, ctx_a.customer_id, ctx_a.conversation_id,
                                 [(world.a["product"], 1), (second, 1)], source="agent")
    assert "several products" in tools.change_order(ctx_a, quantity=2)["error"]
    assert "not in order" in tools.change_order(ctx_a, quantity=2, product_id=world.b["product"])["error"]
    result = tools.change_order(ctx_a, quantity=2, product_id=second)
    new = db.session.scalar(select(Order).where(Order.number == result["number"]))
    assert sorted((i.name, i.quantity) for i in new.items) == [("Linen Shirt", 2), ("Prod-A", 1)]
    assert new.total_minor == 79900 + 2 * 149900 and result["replaces"] == order.number
    assert reserved(second) == 2 and reserved(world.a["product"]) == 2  # the world's order + this one


def test_another_tenants_order_cannot_be_changed(ctx_a, world):
    other = db.session.get(Order, world.b["order"])
    other.number = "ORD-5555"  # numbers are per tenant: make B's one A doesn't have
    db.session.commit()
    assert "no order" in tools.change_order(ctx_a, quantity=2, number="ord-5555")["error"]
    db.session.refresh(other)
    assert other.status == S.PENDING_PAYMENT and [i.quantity for i in other.items] == [1]
    assert reserved(world.b["product"]) == 1
    assert "no order" in tools.change_order(ctx_a, quantity=2, number="ORD-9999")["error"]


def test_a_live_link_is_cancelled_first_and_a_refusal_keeps_the_order(app, ctx_a, world, graph):
    from tests import razorpay_fake as rz

    app.config.update(RAZORPAY_KEY_ID="rzp_test_key", RAZORPAY_KEY_SECRET="rzp_test_secret")
    try:
        fake = rz.FakeRazorpay(graph)
        from app.services.payments import links

        order = links.ensure_link(world.a["order"], world.a.tenant_id)
        link = order.payment_link_id
        result = tools.change_order(ctx_a, quantity=2)
        assert fake.cancels == [link] and result["replaces"] == order.number
        # a link Razorpay won't cancel (paid meanwhile): nothing changes
        new = db.session.scalar(select(Order).where(Order.number == result["number"]))
        new.payment_link_id = "plink_Gone"
        db.session.commit()
        refused = tools.change_order(ctx_a, quantity=4)
        assert "would not cancel" in refused["error"]
        db.session.refresh(new)
        assert new.status == S.PENDING_PAYMENT and reserved(world.a["product"]) == 2
    finally:
        app.config.update(RAZORPAY_KEY_ID=None, RAZORPAY_KEY_SECRET=None)


@pytest.mark.skipif(not IS_POSTGRES, reason="concurrency is a PostgreSQL property (CI runs it)")
def test_concurrent_changes_and_orders_never_promise_more_than_the_shelf(app, world):
    """Five workers change the same pending order while ten buyers race for the same stock:
    one change wins, and what is held always equals what pending orders hold, within the shelf."""
    from app.services import checkout
    from app.services.orders import OrderError

    with app.app_context():
        db.session.get(Product, world.a["product"]).stock = 6
        db.session.commit()
        db.session.remove()
    results: list[str] = []
    barrier = threading.Barrier(15)

    def worker(n: int):
        with app.app_context():
            barrier.wait()
            try:
                if n < 5:
                    checkout.replace_order(world.a["order"], world.a.tenant_id, [(world.a["product"], 3)],
                                           source="agent")
                    results.append("changed")
                else:
                    checkout.place_order(world.a.tenant_id, world.a["customer"], None,
                                         [(world.a["product"], 1)], source="agent")
                    results.append("bought")
            except OrderError:
                results.append("refused")
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("changed") <= 1 and len(results) == 15
    with app.app_context():
        pending = db.session.scalars(select(Order).where(
            Order.tenant_id == world.a.tenant_id, Order.status == S.PENDING_PAYMENT)).all()
        held_by_orders = sum(i.quantity for o in pending for i in o.items)
        product = db.session.get(Product, world.a["product"])
        assert product.reserved == held_by_orders <= product.stock == 6
        assert results.count("bought") == 6 - (3 if results.count("changed") else 1)
        db.session.remove()
