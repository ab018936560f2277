"""Every tool stays inside the conversation's tenant: another tenant's ids are 'not found'."""
from __future__ import annotations

import pytest

from app.ai import guardrails, tools
from app.extensions import db
from app.models import Conversation, Order


@pytest.fixture
def ctx_a(app, world):
    with app.app_context():
        conv = db.session.get(Conversation, world.a["conversation"])
        yield tools.ToolContext(tenant_id=world.a.tenant_id, conversation_id=conv.id,
                                customer_id=conv.customer_id)


def test_search_and_details_only_see_own_catalog(ctx_a, world):
    assert [p["name"] for p in tools.search_products(ctx_a)["products"]] == ["Prod-A"]
    assert {p["name"] for p in tools.search_products(ctx_a, query="Prod-B SKU-B")["products"]} <= {"Prod-A"}
    assert tools.product_details(ctx_a, product_id=world.b["product"]) == {"error": "not found"}
    assert tools.product_details(ctx_a, product_id="not-a-number") == {"error": "not found"}
    assert tools.product_details(ctx_a, product_id=world.a["product"])["price"] == "₹799.00"
    assert tools.list_categories(ctx_a) == {"categories": ["Cat-A"]}


def test_recommend_and_order_use_only_own_products(ctx_a, world):
    assert {p["name"] for p in tools.recommend(ctx_a, needs="Prod-B")["products"]} == {"Prod-A"}
    refused = tools.create_order(ctx_a, items=[{"product_id": world.b["product"], "quantity": 1}])
    assert "not found" in refused["error"] and ctx_a.order_intent is None
    ok = tools.create_order(ctx_a, items=[{"product_id": world.a["product"], "quantity": 2}])
    assert ok["total_minor"] == 2 * 79900 and ctx_a.order_intent["total_minor"] == 159800
    assert "available" in tools.create_order(ctx_a, items=[{"product_id": world.a["product"], "quantity": 11}])["error"]
    assert "between" in tools.create_order(ctx_a, items=[{"product_id": world.a["product"], "quantity": 0}])["error"]


def test_order_status_only_for_this_customer(ctx_a, world, app):
    own = db.session.get(Order, world.a["order"]).number
    db.session.get(Order, world.b["order"]).number = "ORD-5555"
    db.session.flush()
    assert tools.order_status(ctx_a, number=own)["status"] == "pending_payment"
    assert tools.order_status(ctx_a, number="ord-5555")["error"]  # another tenant's order


def test_handoff_and_opt_out_touch_only_this_conversation(ctx_a, world):
    tools.call(ctx_a, "handoff", {"reason": "test"})
    tools.call(ctx_a, "opt_out", {})
    db.session.flush()
    a = db.session.get(Conversation, world.a["conversation"])
    b = db.session.get(Conversation, world.b["conversation"])
    assert a.mode == "human" and a.customer.opted_out
    assert b.mode == "ai" and not b.customer.opted_out
    assert [c["tool"] for c in ctx_a.calls] == ["handoff", "opt_out"]


def test_unknown_tool_and_bad_arguments_are_errors_not_crashes(ctx_a):
    assert "unknown tool" in tools.call(ctx_a, "drop_tables", {})["error"]
    assert "bad arguments" in tools.call(ctx_a, "search_products", {"nonsense": 1})["error"]


def test_guardrails_catch_invented_prices_discounts_links_and_orders(ctx_a, world):
    tools.product_details(ctx_a, product_id=world.a["product"])
    assert guardrails.check("Prod-A is ₹799.00", ctx_a).ok
    assert guardrails.check("Prod-A is Rs. 799", ctx_a).ok
    assert guardrails.check("Prod-A comes in 3 colours 2 sizes, ready in 24 hrs 2 ways", ctx_a).ok
    assert not guardrails.check("Prod-A is Rs699 or INR 699", ctx_a).ok
    assert not guardrails.check("Prod-A is ₹699", ctx_a).ok
    assert not guardrails.check("Today only 20% off!", ctx_a).ok
    assert not guardrails.check("Pay here: https://rzp.io/fake", ctx_a).ok
    assert guardrails.check("See https://shop.example.com/x", ctx_a, allowed_links={"https://shop.example.com"}).ok
    assert not guardrails.check("Your order ORD-9999 is on its way", ctx_a).ok
    assert guardrails.check("Your order ORD-1001 is on its way", ctx_a, known_orders={"ORD-1001"}).ok
