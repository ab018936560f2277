"""An order the agent places counts as buying intent: the order_intent rules run for it once
(after the agent's reply, recorded as a rule run), with the actions that still make sense once
the order exists; create_order never places a second order. Both agents: the offline one, and
Groq faked at its HTTP boundary."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Conversation,
    ConversationMode,
    Customer,
    FollowUp,
    Message,
    Order,
    OrderStatus,
    RuleAction,
    RuleRun,
    RuleTrigger,
    TenantMembership,
)
from tests.groq_fake import completion, fake_groq
from tests.test_workflows import add_rule, say, texts


def state(app, psid):
    """The customer's conversation as the tests look at it."""
    with app.app_context():
        conv = db.session.scalar(select(Conversation).join(Customer).where(Customer.external_id == psid))
        orders = db.session.scalars(select(Order).where(Order.conversation_id == conv.id)
                                    .order_by(Order.id)).all()
        runs = db.session.scalars(select(RuleRun).where(RuleRun.conversation_id == conv.id)
                                  .order_by(RuleRun.id)).all()
        follow_ups = db.session.scalars(select(FollowUp).where(FollowUp.conversation_id == conv.id)).all()
        facts = dict(
            id=conv.id, mode=conv.mode, assignee_id=conv.assignee_id, tags=conv.customer.tags or "",
            orders=[(o.id, o.number, o.status, [(i.sku, i.quantity) for i in o.items]) for o in orders],
            runs=[dict(rule=r.rule_name, trigger=r.trigger, event=r.event, message_id=r.message_id,
                       order_id=r.order_id, actions=r.actions) for r in runs],
            follow_ups=[(f.order_id, f.text) for f in follow_ups],
            last_in=db.session.scalar(select(func.max(Message.id)).where(
                Message.conversation_id == conv.id, Message.direction == "in")),
            senders=[m.sender for m in db.session.scalars(select(Message).where(
                Message.conversation_id == conv.id, Message.direction == "out").order_by(Message.id))])
        db.session.remove()
        return facts


def staff_of(app, tenant_id):
    with app.app_context():
        return db.session.scalar(select(TenantMembership.user_id).where(
            TenantMembership.tenant_id == tenant_id, TenantMembership.role == "staff"))


@pytest.fixture
def buyers_rule(app, world):
    """The rule a shop writes for buying intent: place the order, tag, remind in a day."""
    return add_rule(app, world.a.tenant_id, "Buyers", RuleTrigger.ORDER_INTENT, RuleAction.CREATE_ORDER,
                    steps=[(RuleAction.TAG, {"response": "buyer"}),
                           (RuleAction.FOLLOW_UP, {"delay_hours": 24, "response": "Your order {{2}} is waiting"})])


def test_an_order_the_offline_agent_places_fires_the_order_intent_rules_once(
        app, world, post_meta, run_jobs, graph, buyers_rule):
    say(post_meta, run_jobs, "psid-ag", "m_ag1", "what is the price of Prod-A?")
    # no product named: the classifier sees no buying intent; the agent remembers Prod-A and orders
    say(post_meta, run_jobs, "psid-ag", "m_ag2", "ok I'll take 2 of those")
    facts = state(app, "psid-ag")
    [(order_id, number, status, items)] = facts["orders"]  # one order: the rule placed none
    assert status == OrderStatus.PENDING_PAYMENT and items == [("SKU-A", 2)]
    [run] = facts["runs"]
    assert run == dict(rule="Buyers", trigger="order_intent", event=f"message-{facts['last_in']}",
                       message_id=facts["last_in"], order_id=order_id,
                       actions=[f"create_order: order {number} was placed by the agent", "tag: buyer",
                                run["actions"][2]])
    assert run["actions"][2].startswith("follow_up #")
    assert facts["tags"] == "buyer"
    assert facts["follow_ups"] == [(order_id, "Your order {{2}} is waiting")]
    # the price, the agent's order, its payment link; no rule text (create_order's "Done!")
    sent = texts(graph)
    assert len(sent) == 3 and sent[1].startswith("Great choice! 2 × Prod-A") and number in sent[1]
    assert sent[2].startswith(f"Order {number}")

    # the same event again (a retried job, a re-delivered webhook): nothing twice
    from app.jobs.queueing import queue_rule_event

    with app.app_context():
        queue_rule_event(facts["id"], world.a.tenant_id, "order_intent", f"message-{facts['last_in']}",
                         order_id=order_id)
        from app.services import workflow_events

        assert workflow_events.run_event(facts["id"], world.a.tenant_id, "order_intent",
                                         f"message-{facts['last_in']}", order_id=order_id).startswith("skipped")
        db.session.remove()
    from tests import meta_payloads as mp
    from tests.test_workflows import PAGE

    post_meta(mp.messenger(PAGE, mp.text("psid-ag", PAGE, "m_ag2", "ok I'll take 2 of those")))
    run_jobs()
    again = state(app, "psid-ag")
    assert len(again["orders"]) == 1 and len(again["runs"]) == 1 and len(again["follow_ups"]) == 1
    assert len(texts(graph)) == len(sent)


def test_a_change_of_quantity_is_not_a_new_buying_intent(app, world, post_meta, run_jobs, graph, buyers_rule):
    say(post_meta, run_jobs, "psid-ch", "m_ch1", "price of Prod-A?")
    say(post_meta, run_jobs, "psid-ch", "m_ch2", "I'll take it")
    say(post_meta, run_jobs, "psid-ch", "m_ch3", "actually make that 3")
    facts = state(app, "psid-ch")
    assert [(o[2], o[3]) for o in facts["orders"]] == [
        (OrderStatus.CANCELLED, [("SKU-A", 1)]), (OrderStatus.PENDING_PAYMENT, [("SKU-A", 3)])]
    assert [r["order_id"] for r in facts["runs"]] == [facts["orders"][0][0]]


def test_rules_the_classifier_already_ran_on_the_message_do_not_run_again(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Tag buyers", RuleTrigger.ORDER_INTENT, RuleAction.TAG, response="hot",
             priority=1)
    add_rule(app, world.a.tenant_id, "Let the agent sell", RuleTrigger.ORDER_INTENT, RuleAction.AI_REPLY,
             priority=2)
    add_rule(app, world.a.tenant_id, "Never reached", RuleTrigger.ORDER_INTENT, RuleAction.TAG,
             response="late", priority=3)
    # buying words naming a product: the classifier runs the rules (the first two; ai_reply ends
    # the evaluation) and the agent, answering, places the order
    say(post_meta, run_jobs, "psid-cl", "m_cl1", "I want 2 Prod-A")
    facts = state(app, "psid-cl")
    assert len(facts["orders"]) == 1
    assert [(r["rule"], r["order_id"]) for r in facts["runs"]] == [("Tag buyers", None), ("Let the agent sell", None)]
    assert facts["tags"] == "hot" and facts["senders"][0] == "ai"


def test_an_order_placed_through_groq_assigns_and_the_rule_speaks_after_the_agent(app, world, post_meta, run_jobs,
                                                                                 graph, monkeypatch):
    staff = staff_of(app, world.a.tenant_id)
    add_rule(app, world.a.tenant_id, "Big buyers", RuleTrigger.ORDER_INTENT, RuleAction.ASSIGN, assignee_id=staff,
             steps=[(RuleAction.REPLY, {"response": "Riya from our team will confirm your size."}),
                    (RuleAction.AI_REPLY, {}), (RuleAction.CREATE_ORDER, {})])
    with fake_groq(app, monkeypatch) as chat:
        chat.side_effect = [
            completion(tool_calls=[("create_order", {"items": [{"product_id": world.a["product"], "quantity": 1}]})]),
            completion("Done! 1 × Prod-A, total ₹799.00. The payment link follows."),
        ]
        say(post_meta, run_jobs, "psid-gq", "m_gq1", "go ahead with that one")
        facts = state(app, "psid-gq")
        [(order_id, number, _, items)] = facts["orders"]
        assert items == [("SKU-A", 1)]
        [run] = facts["runs"]
        assert run["actions"] == [f"assign: user {staff}", "reply", "ai_reply: the agent answered",
                                  f"create_order: order {number} was placed by the agent"]
        assert run["order_id"] == order_id
        assert facts["mode"] == ConversationMode.HUMAN and facts["assignee_id"] == staff
        sent = texts(graph)
        assert sent[0].startswith("Done! 1 × Prod-A")
        assert "Riya from our team will confirm your size." in sent[1:]
        assert facts["senders"][0] == "ai" and "system" in facts["senders"][1:]
        # the conversation is a person's now: the customer's next message gets no AI reply
        before = len(graph.sends())
        say(post_meta, run_jobs, "psid-gq", "m_gq2", "thanks! when will it ship?")
        assert len(graph.sends()) == before and chat.call_count == 2


def test_a_person_who_took_over_meanwhile_is_not_talked_over(app, world, post_meta, run_jobs, graph, browser):
    add_rule(app, world.a.tenant_id, "Thank", RuleTrigger.ORDER_INTENT, RuleAction.TAG, response="buyer",
             steps=[(RuleAction.REPLY, {"response": "Thanks for your order!"})])
    say(post_meta, run_jobs, "psid-to", "m_to1", "price of Prod-A?")
    from tests import meta_payloads as mp
    from tests.test_workflows import PAGE

    post_meta(mp.messenger(PAGE, mp.text("psid-to", PAGE, "m_to2", "I'll take it")))
    # the reply job runs (and places the order); a person takes over before the rules' job runs
    from rq import SimpleWorker

    from app.services import takeover

    with app.app_context():
        high = app.extensions["job_queues"]["high"]
        SimpleWorker([high], connection=app.extensions["redis"], serializer=high.serializer).work(
            burst=True, with_scheduler=False, logging_level="WARNING")
        conv = db.session.scalar(select(Conversation).join(Customer).where(Customer.external_id == "psid-to"))
        assert db.session.scalar(select(Order.id).where(Order.conversation_id == conv.id)) is not None
        takeover.take_over(conv)
        db.session.commit()
        db.session.remove()
    run_jobs()
    facts = state(app, "psid-to")
    [run] = facts["runs"]
    assert run["actions"] == ["tag: buyer", "reply", "not sent: a person is handling this chat"]
    assert "Thanks for your order!" not in texts(graph)
    assert facts["tags"] == "buyer"


def test_the_rules_job_of_another_tenant_does_nothing(app, world, run_jobs, graph):
    from app.services import workflow_events

    add_rule(app, world.b.tenant_id, "B buyers", RuleTrigger.ORDER_INTENT, RuleAction.TAG, response="b")
    with app.app_context():
        # tenant B's job naming tenant A's conversation and order
        assert workflow_events.run_event(world.a["conversation"], world.b.tenant_id, "order_intent",
                                         "message-1", order_id=world.a["order"]) == "missing"
        # tenant A's conversation with tenant B's order
        assert workflow_events.run_event(world.a["conversation"], world.a.tenant_id, "order_intent",
                                         "message-1", order_id=world.b["order"]) == \
            "skipped: the order no longer exists"
        assert db.session.scalar(select(func.count()).select_from(RuleRun).where(
            RuleRun.trigger == "order_intent")) == 0
        db.session.remove()
