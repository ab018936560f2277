"""Buying the same thing twice in a chat makes one order: a Buy tapped twice (Messenger,
Instagram), a WhatsApp list reply chosen twice, a postback Meta re-delivers under a new mid, or
the agent ordering what already awaits payment. The repeat is answered with the order that
awaits payment and its payment link, sent again; stock is held once. A different product, a
link about to expire, another tenant: a new order as before. The Graph API is faked at HTTP."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AutomationRule,
    Customer,
    Order,
    OrderStatus,
    Platform,
    Product,
    RuleAction,
    RuleRun,
    RuleTrigger,
    utcnow,
)
from tests import meta_payloads as mp
from tests.conftest import IS_POSTGRES
from tests.test_workflows import add_channel, add_rule

PAGE = "page-A"


def orders_of(app, external_id) -> list[Order]:
    with app.app_context():
        rows = db.session.scalars(select(Order).join(Customer, Order.customer_id == Customer.id)
                                  .where(Customer.external_id == external_id).order_by(Order.id)).all()
        out = [(o.number, [(i.sku, i.quantity) for i in o.items], o.payment_link_url, o.conversation_id)
               for o in rows]
        db.session.remove()
        return out


def reserved(app, product_id) -> int:
    with app.app_context():
        n = db.session.get(Product, product_id).reserved
        db.session.remove()
        return n


def texts(graph) -> list[str]:
    out = []
    for body in graph.sends():
        if "message" in body:
            out.append(body["message"].get("text") or "")
        elif body.get("type") == "text":
            out.append(body["text"]["body"])
    return out


def messenger_buy(post_meta, psid, mid, sku="SKU-A", obj="page", page=PAGE):
    post_meta(mp.messenger(page, mp.postback(psid, page, mid, "Buy", f"BUY {sku}"), obj=obj))


def wa_buy(post_meta, wa_id, wamid, sku="SKU-A"):
    post_meta(mp.whatsapp("wa-A", messages=[mp.wa_message(wa_id, wamid, "interactive", {
        "type": "list_reply", "list_reply": {"id": f"BUY {sku}", "title": "Prod-A"}})],
        contacts=[mp.wa_contact(wa_id, "Meera")]))


def assert_one_order_link_sent_twice(app, graph, external_id, product_id):
    [(number, items, link, _)] = orders_of(app, external_id)
    assert items == [("SKU-A", 1)]
    assert reserved(app, product_id) == 1 + 1  # the world's own pending order + this one, once
    sent = texts(graph)
    assert sum(link in t for t in sent) == 2, sent  # the link again after the repeat
    assert any(t.startswith("You already have this order") and number in t for t in sent)
    return number


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_a_buy_tapped_twice_is_one_order_and_its_link_again(app, world, post_meta, run_jobs, graph, platform):
    page, obj = PAGE, "page"
    if platform == "instagram":
        add_channel(app, world.a.tenant_id, Platform.INSTAGRAM, "ig-A")
        page, obj = "ig-A", "instagram"
    messenger_buy(post_meta, "psid-2x", "m_b1", obj=obj, page=page)
    run_jobs()
    messenger_buy(post_meta, "psid-2x", "m_b2", obj=obj, page=page)  # tapped again, or re-delivered
    run_jobs()
    number = assert_one_order_link_sent_twice(app, graph, "psid-2x", world.a["product"])
    with app.app_context():
        runs = db.session.scalars(select(RuleRun).join(Order, RuleRun.order_id == Order.id)
                                  .where(Order.number == number, Order.tenant_id == world.a.tenant_id)
                                  .order_by(RuleRun.id)).all()
        assert [r.actions for r in runs] == [[f"create_order: {number}"],
                                            [f"create_order: {number} already awaits payment (link sent again)"]]


def test_a_whatsapp_list_reply_chosen_twice_is_one_order(app, world, post_meta, run_jobs, graph):
    add_channel(app, world.a.tenant_id, Platform.WHATSAPP, "wa-A")
    wa_buy(post_meta, "919811111111", "wamid.L1")
    run_jobs()
    wa_buy(post_meta, "919811111111", "wamid.L2")
    run_jobs()
    assert_one_order_link_sent_twice(app, graph, "919811111111", world.a["product"])


def test_an_order_intent_rule_said_twice_is_one_order(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Buy now", RuleTrigger.ORDER_INTENT, RuleAction.CREATE_ORDER)
    for mid in ("m_t1", "m_t2"):
        post_meta(mp.messenger(PAGE, mp.text("psid-tx", PAGE, mid, "I want 2 Prod-A please")))
        run_jobs()
    [(_, items, _, _)] = orders_of(app, "psid-tx")
    assert items == [("SKU-A", 2)]
    assert reserved(app, world.a["product"]) == 1 + 2


def test_a_different_product_or_quantity_is_a_new_order(app, world, post_meta, run_jobs, graph):
    with app.app_context():
        db.session.add(Product(tenant_id=world.a.tenant_id, sku="SKU-A2", name="Other piece",
                               price_minor=50000, stock=5, currency="INR"))
        db.session.commit()
    add_rule(app, world.a.tenant_id, "Buy now", RuleTrigger.ORDER_INTENT, RuleAction.CREATE_ORDER)
    messenger_buy(post_meta, "psid-dp", "m_d1")
    run_jobs()
    messenger_buy(post_meta, "psid-dp", "m_d2", sku="SKU-A2")
    run_jobs()
    post_meta(mp.messenger(PAGE, mp.text("psid-dp", PAGE, "m_d3", "I want 3 Prod-A")))
    run_jobs()
    assert [items for _, items, _, _ in orders_of(app, "psid-dp")] == [
        [("SKU-A", 1)], [("SKU-A2", 1)], [("SKU-A", 3)]]
    assert not any(t.startswith("You already have") for t in texts(graph))


def test_a_link_about_to_expire_or_a_closed_order_is_not_pointed_to(app, world, post_meta, run_jobs, graph):
    messenger_buy(post_meta, "psid-ex", "m_e1")
    run_jobs()
    with app.app_context():
        order = db.session.scalar(select(Order).join(Customer, Order.customer_id == Customer.id)
                                  .where(Customer.external_id == "psid-ex"))
        order.payment_link_expires_at = utcnow() + timedelta(seconds=30)
        db.session.commit()
    messenger_buy(post_meta, "psid-ex", "m_e2")
    run_jobs()
    assert len(orders_of(app, "psid-ex")) == 2
    with app.app_context():  # the newest is paid: a third Buy is a new order
        from app.services import checkout

        newest = db.session.scalar(select(Order).join(Customer, Order.customer_id == Customer.id)
                                   .where(Customer.external_id == "psid-ex").order_by(Order.id.desc()))
        assert checkout.transition(checkout.locked(newest.id, newest.tenant_id), OrderStatus.PAID, source="admin")
        db.session.commit()
    messenger_buy(post_meta, "psid-ex", "m_e3")
    run_jobs()
    assert len(orders_of(app, "psid-ex")) == 3


def test_another_tenants_order_is_never_the_twin(app, world):
    from app.services import checkout

    with app.app_context():  # A's conversation has A's pending order of 1 x SKU-A
        lines = [(world.a["product"], 1)]
        assert checkout.payable_twin(world.a.tenant_id, world.a["conversation"], lines).id == world.a["order"]
        assert checkout.payable_twin(world.b.tenant_id, world.a["conversation"], lines) is None
        assert checkout.payable_twin(world.b.tenant_id, world.b["conversation"], lines) is None


def test_the_offline_agent_ordering_the_same_again_makes_no_second_order(app, world, post_meta, run_jobs, graph):
    with app.app_context():
        db.session.query(AutomationRule).delete()
        db.session.commit()
    for mid in ("m_ag1", "m_ag2"):
        post_meta(mp.messenger(PAGE, mp.text("psid-ag", PAGE, mid, "I want 1 Prod-A")))
        run_jobs()
    orders = orders_of(app, "psid-ag")
    assert len(orders) == 1 and orders[0][1] == [("SKU-A", 1)]
    sent = texts(graph)
    assert sum(orders[0][2] in t for t in sent) == 2
    assert any(t.startswith("You already have this order") for t in sent)


@pytest.mark.skipif(not IS_POSTGRES, reason="row locks: PostgreSQL only")
def test_two_buys_placed_at_once_make_one_order(app, world):
    """Two jobs placing the same order at the same moment (their Redis lock lost, say): the
    conversation's row lock makes the second see the first's order."""
    from app.services.payments import links

    tid, conv, cust, pid = (world.a.tenant_id, world.a["conversation"], world.a["customer"],
                            world.a["product"])
    with app.app_context():  # no pending order in the way
        from app.services import checkout

        assert checkout.transition(checkout.locked(world.a["order"], tid), OrderStatus.CANCELLED, source="admin")
        db.session.commit()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def buy():
        try:
            with app.app_context():
                barrier.wait()
                order, new = links.place_in_chat(tid, cust, conv, [(pid, 1)])
                results.append((order.id, new))
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=buy) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(new for _, new in results) == [False, True]
    assert len({oid for oid, _ in results}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Order.id)).where(
            Order.conversation_id == conv, Order.status == OrderStatus.PENDING_PAYMENT)) == 1
        assert db.session.get(Product, pid).reserved == 1


# ---------------------------------------------------------------- after the payment


def test_the_payment_confirmation_goes_before_an_order_paid_rules_message(app, world, run_jobs, graph):
    """The test-mode page's Pay queues the confirmation's send after the payment committed,
    which is when the order_paid rules are queued too: the rule's job, first in line, sends
    the order's confirmation before its own thanks (each once)."""
    from app.models import Conversation
    from app.services.payments import links, test_mode

    tid = world.a.tenant_id
    add_rule(app, tid, "Thanks", RuleTrigger.ORDER_PAID, RuleAction.REPLY, response="Thank you, Asha!")
    with app.app_context():
        db.session.get(Conversation, world.a["conversation"]).last_inbound_at = utcnow()
        db.session.commit()
        order = links.ensure_link(world.a["order"], tid)
        test_mode.pay_in_test_mode(order, "paid")
        db.session.remove()
    run_jobs()
    sent = texts(graph)
    assert len(sent) == 2 and sent[0].startswith("Payment received for order") and sent[1] == "Thank you, Asha!"


def test_groq_ordering_the_same_again_is_told_the_order_awaits_payment(app, world, post_meta, run_jobs, graph,
                                                                     monkeypatch):
    """The model calls create_order for what already awaits payment: no second order, no
    order_intent rules again; the tool result says so, and the link follows once more."""
    import json

    from tests.groq_fake import completion, fake_groq, tool_results

    add_rule(app, world.a.tenant_id, "Tag buyers", RuleTrigger.ORDER_INTENT, RuleAction.TAG, response="buyer")
    with app.app_context():
        db.session.query(AutomationRule).filter(AutomationRule.name != "Tag buyers").delete()
        db.session.commit()
    buy = completion(tool_calls=[("create_order", {"items": [{"product_id": world.a["product"], "quantity": 1}]})])
    with fake_groq(app, monkeypatch) as chat:
        chat.side_effect = [buy, completion("Done! Your order is placed; the link follows."),
                            buy, completion("That order is already waiting for you; here's the link again.")]
        post_meta(mp.messenger(PAGE, mp.text("psid-gq2", PAGE, "m_g1", "go ahead with that one")))
        run_jobs()
        post_meta(mp.messenger(PAGE, mp.text("psid-gq2", PAGE, "m_g2", "ok yes order it")))
        run_jobs()
        calls = [c for c in chat.calls if json.loads(c.request.content).get("tools")]
        result = tool_results(calls[3])[-1]
    [(number, items, link, conv_id)] = orders_of(app, "psid-gq2")
    assert result["status"] == "already_pending" and result["number"] == number
    assert sum(link in t for t in texts(graph)) == 2
    with app.app_context():
        runs = db.session.scalars(select(RuleRun).where(RuleRun.conversation_id == conv_id)).all()
        assert [r.rule_name for r in runs] == ["Tag buyers"]  # once, for the order placed
