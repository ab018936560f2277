"""Follow-ups: scheduled through RQ's scheduler, re-checked when due (a reply, a payment, an
opt-out or a person taking over cancels them), sent by the legal path per channel and window,
dropped with the reason otherwise."""
from __future__ import annotations

from datetime import timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Channel,
    Conversation,
    ConversationMode,
    Customer,
    FollowUp,
    FollowUpStatus,
    Order,
    OrderStatus,
    Platform,
    RuleAction,
    RuleTrigger,
    Template,
    TemplateStatus,
    Tenant,
    utcnow,
)
from app.services import followups
from tests import meta_payloads as mp
from tests.test_workflows import PAGE, add_channel, add_rule, say, texts

HOUR = 3600


def follow_ups(app, conv_id=None):
    with app.app_context():
        stmt = select(FollowUp).order_by(FollowUp.id)
        if conv_id is not None:
            stmt = stmt.where(FollowUp.conversation_id == conv_id)
        rows = [(f.status, f.reason, f.order_id) for f in db.session.scalars(stmt)
                if not (f.text or "").startswith("Follow-")]  # the world's own rows
        db.session.remove()
        return rows


def conv_id_of(app, external_id):
    with app.app_context():
        cid = db.session.scalar(select(Conversation.id).join(Customer).where(Customer.external_id == external_id))
        db.session.remove()
        return cid


@pytest.fixture
def checking_in(app, world):
    """A rule: "later" gets a reply now and a follow-up an hour on."""
    add_rule(app, world.a.tenant_id, "Later", RuleTrigger.KEYWORD, RuleAction.REPLY, match="later",
             response="Sure, take your time!",
             steps=[(RuleAction.FOLLOW_UP, {"delay_hours": 1, "response": "Hi {{1}}, just checking in!"})])


def test_follow_up_is_scheduled_in_rq_and_sent_inside_the_window(app, world, post_meta, run_jobs, graph,
                                                               checking_in):
    say(post_meta, run_jobs, "psid-f", "m_f1", "I'll decide later")
    assert texts(graph) == ["Sure, take your time!"]
    queue = app.extensions["job_queues"]["default"]
    scheduled = ScheduledJobRegistry(queue=queue).get_job_ids()
    assert [j for j in scheduled if j.startswith("follow-up-")]  # waiting in Redis, not in a process
    run_jobs()  # not due yet: nothing
    assert len(graph.sends()) == 1
    run_jobs(ahead=HOUR + 5)
    assert texts(graph)[-1] == "Hi there, just checking in!"
    assert follow_ups(app) == [(FollowUpStatus.SENT, None, None)]
    run_jobs(ahead=HOUR + 5)  # once
    assert len(graph.sends()) == 2


def test_a_reply_from_the_customer_cancels_it(app, world, post_meta, run_jobs, graph, checking_in):
    say(post_meta, run_jobs, "psid-f2", "m_f21", "later")
    say(post_meta, run_jobs, "psid-f2", "m_f22", "actually what sizes do you have?")
    run_jobs(ahead=HOUR + 5)
    assert "just checking in" not in " ".join(t or "" for t in texts(graph))
    assert follow_ups(app) == [(FollowUpStatus.DROPPED, "The customer replied", None)]


def test_a_payment_cancels_the_follow_up_about_its_order(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Order and remind", RuleTrigger.ORDER_INTENT, RuleAction.CREATE_ORDER,
             steps=[(RuleAction.FOLLOW_UP, {"delay_hours": 2, "response": "Your order {{2}} is waiting: {{4}}"})])
    say(post_meta, run_jobs, "psid-f3", "m_f31", "I want Prod-A")
    cid = conv_id_of(app, "psid-f3")
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.conversation_id == cid))
        order_id = order.id
        from app.services import checkout

        assert checkout.transition(checkout.locked(order.id, order.tenant_id), OrderStatus.PAID, source="admin")
        db.session.commit()
    before = len(graph.sends())
    run_jobs(ahead=2 * HOUR + 5)
    assert len(graph.sends()) == before  # nothing more said
    [(status, reason, bound)] = follow_ups(app, cid)
    assert status == FollowUpStatus.DROPPED and bound == order_id and reason.endswith("is paid")


def test_unpaid_order_reminder_fills_the_order_into_the_text(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Order and remind", RuleTrigger.ORDER_INTENT, RuleAction.CREATE_ORDER,
             steps=[(RuleAction.FOLLOW_UP, {"delay_hours": 2, "response": "Order {{2}} ({{3}}) is waiting: {{4}}"})])
    say(post_meta, run_jobs, "psid-f4", "m_f41", "I want Prod-A")
    run_jobs(ahead=2 * HOUR + 5)
    with app.app_context():
        order = db.session.scalar(select(Order).join(Customer, Order.customer_id == Customer.id)
                                  .where(Customer.external_id == "psid-f4"))
        expected = f"Order {order.number} (₹799.00) is waiting: {order.payment_link_url}"
    assert texts(graph)[-1] == expected


def test_an_opt_out_cancels_it_at_once(app, world, post_meta, run_jobs, graph, checking_in):
    say(post_meta, run_jobs, "psid-f5", "m_f51", "later")
    say(post_meta, run_jobs, "psid-f5", "m_f52", "STOP")
    assert follow_ups(app) == [(FollowUpStatus.DROPPED, "The customer opted out", None)]
    run_jobs(ahead=HOUR + 5)
    assert len(graph.sends()) == 2  # the reply and the opt-out confirmation only


def test_a_person_taking_over_cancels_it(app, world, post_meta, run_jobs, graph, checking_in):
    say(post_meta, run_jobs, "psid-f6", "m_f61", "later")
    with app.app_context():
        db.session.get(Conversation, conv_id_of(app, "psid-f6")).mode = ConversationMode.HUMAN
        db.session.commit()
    run_jobs(ahead=HOUR + 5)
    assert follow_ups(app) == [(FollowUpStatus.DROPPED, "A person is handling the conversation", None)]


def test_a_person_writing_in_the_chat_cancels_it_while_the_ai_is_paused(app, world, post_meta, run_jobs,
                                                                         graph, checking_in, browser):
    with app.app_context():
        db.session.get(Tenant, world.a.tenant_id).human_pause_minutes = 120
        db.session.commit()
        db.session.remove()
    say(post_meta, run_jobs, "psid-f7", "m_f71", "later")
    conv_id = conv_id_of(app, "psid-f7")
    browser("staff_a").post(f"/inbox/c/{conv_id}/reply", data={"text": "Priya here, I'll send photos"},
                            token_from=f"/inbox/c/{conv_id}")
    run_jobs(ahead=HOUR + 5)
    assert follow_ups(app) == [(FollowUpStatus.DROPPED,
                                "A person is replying in the conversation (the AI is paused)", None)]
    assert texts(graph) == ["Sure, take your time!", "Priya here, I'll send photos"]


# ---------------------------------------------------------------- the legal path


def _scheduled(app, conv_id, *, hours_since_customer: float, text=None, template_id=None, order_id=None):
    """A follow-up scheduled when the customer last wrote `hours_since_customer` ago."""
    with app.app_context():
        conv = db.session.get(Conversation, conv_id)
        conv.last_inbound_at = utcnow() - timedelta(hours=hours_since_customer)
        row = followups.schedule(conv, rule_id=None, hours=1, text=text, template_id=template_id,
                                 order_id=order_id)
        db.session.commit()
        fid = row.id
        db.session.remove()
        return fid


def _status(app, fid):
    with app.app_context():
        row = db.session.get(FollowUp, fid)
        out = (row.status, row.reason)
        db.session.remove()
        return out


@pytest.fixture
def wa_conv(app, world):
    """A WhatsApp conversation of tenant A with its customer."""
    channel_id = add_channel(app, world.a.tenant_id, Platform.WHATSAPP, "wa-F")
    with app.app_context():
        customer = Customer(tenant_id=world.a.tenant_id, platform=Platform.WHATSAPP,
                            external_id="919811111111", name="Asha Rao")
        db.session.add(customer)
        db.session.flush()
        conv = Conversation(tenant_id=world.a.tenant_id, channel_id=channel_id, customer_id=customer.id)
        db.session.add(conv)
        db.session.commit()
        cid = conv.id
        db.session.remove()
        return cid


def _template(app, tenant_id, status=TemplateStatus.APPROVED, body="Hi {{1}}, your order {{2}} for {{3}} "
              "is waiting: {{4}}", category="utility"):
    with app.app_context():
        t = Template(tenant_id=tenant_id, name=f"payment_reminder_{status}_{category}", platform="whatsapp",
                     language="en_US", category=category, body=body, status=status)
        db.session.add(t)
        db.session.commit()
        tid = t.id
        db.session.remove()
        return tid


def test_whatsapp_outside_the_window_sends_the_approved_template_with_its_variables(
        app, world, run_jobs, graph, wa_conv):
    template = _template(app, world.a.tenant_id)
    with app.app_context():  # an order of this conversation, awaiting payment, with its link
        order = db.session.get(Order, world.a["order"])
        order.conversation_id, order.customer_id = wa_conv, db.session.get(Conversation, wa_conv).customer_id
        order.payment_link_url = "https://rzp.io/l/abc"
        db.session.commit()
        number = order.number
    fid = _scheduled(app, wa_conv, hours_since_customer=30, text="free text is not allowed now",
                     template_id=template, order_id=world.a["order"])
    run_jobs(ahead=HOUR + 5)
    [body] = graph.sends()
    assert body["type"] == "template" and body["to"] == "919811111111"
    assert body["template"] == {
        "name": "payment_reminder_approved_utility", "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "Asha"}, {"type": "text", "text": number},
            {"type": "text", "text": "₹799.00"}, {"type": "text", "text": "https://rzp.io/l/abc"}]}]}
    assert _status(app, fid) == (FollowUpStatus.SENT, None)


def test_whatsapp_inside_the_window_sends_free_text(app, world, run_jobs, graph, wa_conv):
    fid = _scheduled(app, wa_conv, hours_since_customer=2, text="Any questions, {{1}}?")
    run_jobs(ahead=HOUR + 5)
    [body] = graph.sends()
    assert body["type"] == "text" and body["text"]["body"] == "Any questions, Asha?"
    assert _status(app, fid)[0] == FollowUpStatus.SENT


@pytest.mark.parametrize("status", [TemplateStatus.PENDING, TemplateStatus.REJECTED, None])
def test_whatsapp_outside_the_window_without_an_approved_template_is_dropped(
        app, world, run_jobs, graph, wa_conv, status):
    template = _template(app, world.a.tenant_id, status) if status else None
    fid = _scheduled(app, wa_conv, hours_since_customer=30, text="hello?", template_id=template)
    run_jobs(ahead=HOUR + 5)
    assert graph.sends() == []
    assert _status(app, fid) == (FollowUpStatus.DROPPED,
                                 "Outside WhatsApp's 24-hour window and no approved WhatsApp template is set")


@pytest.mark.parametrize("category, sent", [("marketing", False), ("utility", True)])
def test_a_customer_who_stopped_marketing_in_whatsapp_gets_no_marketing_template(
        app, world, run_jobs, graph, wa_conv, category, sent):
    """WhatsApp's own "stop marketing messages" setting: a marketing follow-up is dropped with
    the reason, a utility one (a payment reminder) still goes."""
    template = _template(app, world.a.tenant_id, body="Hi {{1}}, new arrivals this week!", category=category)
    with app.app_context():
        db.session.get(Conversation, wa_conv).customer.marketing_opted_out = True
        db.session.commit()
    fid = _scheduled(app, wa_conv, hours_since_customer=30, template_id=template)
    run_jobs(ahead=HOUR + 5)
    assert len(graph.sends()) == (1 if sent else 0)
    status, reason = _status(app, fid)
    if sent:
        assert status == FollowUpStatus.SENT
    else:
        assert status == FollowUpStatus.DROPPED and "stopped marketing messages" in reason


def test_a_template_needing_a_value_the_conversation_lacks_is_dropped(app, world, run_jobs, graph, wa_conv):
    template = _template(app, world.a.tenant_id)  # needs an order; this conversation has none
    fid = _scheduled(app, wa_conv, hours_since_customer=30, template_id=template)
    run_jobs(ahead=HOUR + 5)
    assert graph.sends() == []
    status, reason = _status(app, fid)
    assert status == FollowUpStatus.DROPPED and "needs 4 variables" in reason


@pytest.mark.parametrize("platform", [Platform.MESSENGER, Platform.INSTAGRAM])
def test_messenger_and_instagram_outside_the_window_send_nothing(app, world, run_jobs, graph, platform):
    with app.app_context():
        conv = db.session.get(Conversation, world.a["conversation"])
        db.session.get(Channel, conv.channel_id).platform = platform
        db.session.commit()
    template = _template(app, world.a.tenant_id)
    fid = _scheduled(app, world.a["conversation"], hours_since_customer=30, text="Still there?",
                     template_id=template)
    run_jobs(ahead=HOUR + 5)
    assert graph.sends() == []
    status, reason = _status(app, fid)
    assert status == FollowUpStatus.DROPPED and "HUMAN_AGENT" in reason


def test_messenger_inside_the_window_sends_it_without_a_tag(app, world, run_jobs, graph):
    fid = _scheduled(app, world.a["conversation"], hours_since_customer=3, text="Still there?")
    run_jobs(ahead=HOUR + 5)
    [body] = graph.sends()
    assert body["messaging_type"] == "RESPONSE" and "tag" not in body
    assert body["message"]["text"] == "Still there?" and _status(app, fid)[0] == FollowUpStatus.SENT


def test_a_follow_up_job_of_another_tenant_does_nothing(app, world, run_jobs, graph):
    fid = _scheduled(app, world.b["conversation"], hours_since_customer=1, text="B's nudge")
    with app.app_context():
        assert followups.run(fid, world.a.tenant_id) == "missing"
        db.session.remove()
    assert _status(app, fid) == (FollowUpStatus.SCHEDULED, None)


def test_the_sweep_requeues_a_follow_up_whose_job_was_lost(app, world, run_jobs, graph):
    """The embedded default keeps its queue in memory: a restart loses scheduled jobs, the row
    stays, and the sweep queues it again once it is overdue."""
    from app.services.sweep import sweep

    fid = _scheduled(app, world.a["conversation"], hours_since_customer=3, text="Still there?")
    app.extensions["redis"].flushdb()  # the restart
    with app.app_context():
        row = db.session.get(FollowUp, fid)
        row.due_at = utcnow() - timedelta(minutes=10)
        db.session.commit()
        assert sweep().follow_ups == 1
        assert sweep().follow_ups == 0  # its job is pending: not queued twice
        db.session.remove()
    run_jobs()
    assert [s["message"]["text"] for s in graph.sends()] == ["Still there?"]
    assert _status(app, fid)[0] == FollowUpStatus.SENT


def test_a_follow_up_scheduled_before_the_order_names_the_order_placed_since(app, world, run_jobs, graph):
    fid = _scheduled(app, world.a["conversation"], hours_since_customer=3, text="Your order {{2}} is waiting")
    run_jobs(ahead=HOUR + 5)
    with app.app_context():
        number = db.session.get(Order, world.a["order"]).number
    assert [s["message"]["text"] for s in graph.sends()] == [f"Your order {number} is waiting"]
    assert _status(app, fid)[0] == FollowUpStatus.SENT


def test_a_channel_that_needs_reconnecting_drops_it_with_the_reason(app, world, run_jobs, graph):
    fid = _scheduled(app, world.a["conversation"], hours_since_customer=3, text="Still there?")
    with app.app_context():
        db.session.get(Channel, world.a["channel"]).status = "error"
        db.session.commit()
    run_jobs(ahead=HOUR + 5)
    assert graph.sends() == []
    assert _status(app, fid) == (FollowUpStatus.DROPPED, "The channel Chan-A is error")


def test_named_template_variables_are_filled_by_name(app, world, run_jobs, graph, wa_conv):
    template = _template(app, world.a.tenant_id, body="Hi {{first_name}}, order {{order_number}} awaits")
    with app.app_context():
        order = db.session.get(Order, world.a["order"])
        order.conversation_id, order.customer_id = wa_conv, db.session.get(Conversation, wa_conv).customer_id
        db.session.commit()
        number = order.number
    _scheduled(app, wa_conv, hours_since_customer=30, template_id=template, order_id=world.a["order"])
    run_jobs(ahead=HOUR + 5)
    [body] = graph.sends()
    assert body["template"]["components"][0]["parameters"] == [
        {"type": "text", "text": "Asha", "parameter_name": "first_name"},
        {"type": "text", "text": number, "parameter_name": "order_number"}]
