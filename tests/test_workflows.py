"""Workflow rules end to end: every trigger and action through the real webhook, reply job and
send path (the Graph API faked at HTTP), the catalog's request shape per platform, rule runs,
the rule API's validation, and tenant isolation of rules and of the try-it box."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AutomationRule,
    Channel,
    Conversation,
    ConversationMode,
    Customer,
    Message,
    Order,
    OrderStatus,
    Platform,
    Product,
    RuleAction,
    RuleRun,
    RuleStep,
    RuleTrigger,
    TenantMembership,
    utcnow,
)
from tests import meta_payloads as mp

PAGE = "page-A"


def add_rule(app, tenant_id, name, trigger, action, *, steps=(), **fields) -> int:
    """A rule of tenant `tenant_id` (and its further steps as (action, fields) pairs)."""
    with app.app_context():
        rule = AutomationRule(tenant_id=tenant_id, name=name, trigger=trigger, action=action,
                              priority=fields.pop("priority", 5), **fields)
        db.session.add(rule)
        db.session.flush()
        for position, (step_action, step_fields) in enumerate(steps, start=1):
            db.session.add(RuleStep(tenant_id=tenant_id, rule_id=rule.id, position=position,
                                    action=step_action, **step_fields))
        db.session.commit()
        rid = rule.id
        db.session.remove()
        return rid


def add_channel(app, tenant_id, platform, external_id) -> int:
    with app.app_context():
        ch = Channel(tenant_id=tenant_id, name=f"{platform}-{external_id}", platform=platform,
                     external_id=external_id, access_token="tok-" + external_id)
        db.session.add(ch)
        db.session.commit()
        cid = ch.id
        db.session.remove()
        return cid


def conv_of(app, external_id):
    with app.app_context():
        conv = db.session.scalar(select(Conversation).join(Customer).where(Customer.external_id == external_id))
        facts = dict(id=conv.id, mode=str(conv.mode), assignee_id=conv.assignee_id,
                     tags=conv.customer.tags or "", opted_out=conv.customer.opted_out,
                     runs=[(r.rule_name, r.trigger, r.actions) for r in db.session.scalars(
                         select(RuleRun).where(RuleRun.conversation_id == conv.id).order_by(RuleRun.id))])
        db.session.remove()
        return facts


def say(post_meta, run_jobs, psid, mid, text):
    post_meta(mp.messenger(PAGE, mp.text(psid, PAGE, mid, text)))
    run_jobs()


def texts(graph):
    return [s["message"].get("text") for s in graph.sends() if "message" in s]


# ---------------------------------------------------------------- triggers


def test_keyword_rule_replies_and_the_run_is_recorded(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Prices", RuleTrigger.KEYWORD, RuleAction.REPLY,
             match="price list, rate card", response="Our rate card: kurtas from ₹799.")
    say(post_meta, run_jobs, "psid-k", "m_k1", "Hi, can I see the PRICE LIST?")
    assert texts(graph) == ["Our rate card: kurtas from ₹799."]
    facts = conv_of(app, "psid-k")
    assert facts["runs"] == [("Prices", "keyword", ["reply"])]
    with app.app_context():
        out = db.session.scalar(select(Message).where(Message.conversation_id == facts["id"],
                                                      Message.direction == "out"))
        assert out.sender == "system" and out.payload["rules"] == ["Prices"]


def test_new_conversation_fires_on_the_first_message_only(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Welcome", RuleTrigger.NEW_CONVERSATION, RuleAction.REPLY,
             response="Welcome to our shop!")
    say(post_meta, run_jobs, "psid-n", "m_n1", "hello")
    say(post_meta, run_jobs, "psid-n", "m_n2", "do you have kurtas?")
    sent = texts(graph)
    assert sent[0] == "Welcome to our shop!" and len(sent) == 2 and sent[1] != "Welcome to our shop!"
    assert [r[0] for r in conv_of(app, "psid-n")["runs"]] == ["Welcome"]


def test_order_intent_creates_the_order_through_checkout(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Buy now", RuleTrigger.ORDER_INTENT, RuleAction.CREATE_ORDER)
    say(post_meta, run_jobs, "psid-o", "m_o1", "I want 2 Prod-A please")
    facts = conv_of(app, "psid-o")
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.conversation_id == facts["id"]))
        assert order.status == OrderStatus.PENDING_PAYMENT and order.total_minor == 2 * 79900
        assert [(i.sku, i.quantity) for i in order.items] == [("SKU-A", 2)]
        assert db.session.get(Product, world.a["product"]).reserved == 1 + 2  # stock held
        number, link = order.number, order.payment_link_url
    sent = texts(graph)
    assert number in sent[0] and "payment link" in sent[0]
    assert any(link in (t or "") for t in sent[1:])  # the link job's message followed
    assert facts["runs"][0][:2] == ("Buy now", "order_intent")
    assert facts["runs"][0][2] == [f"create_order: {number}"]


def test_a_buy_button_is_buying_intent(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Buy button", RuleTrigger.ORDER_INTENT, RuleAction.CREATE_ORDER)
    post_meta(mp.messenger(PAGE, mp.postback("psid-bb", PAGE, "m_bb1", "Buy", "BUY SKU-A")))
    run_jobs()
    with app.app_context():
        order = db.session.scalar(select(Order).join(Customer, Order.customer_id == Customer.id)
                                  .where(Customer.external_id == "psid-bb"))
        assert [(i.sku, i.quantity) for i in order.items] == [("SKU-A", 1)]


def test_order_intent_does_not_fire_without_a_product(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Buy now", RuleTrigger.ORDER_INTENT, RuleAction.CREATE_ORDER)
    say(post_meta, run_jobs, "psid-o2", "m_o21", "I want a refund")
    assert conv_of(app, "psid-o2")["runs"] == []
    with app.app_context():
        assert db.session.scalar(select(Order).join(Customer, Order.customer_id == Customer.id)
                                 .where(Customer.external_id == "psid-o2")) is None


def test_outside_hours_trigger(app, world, post_meta, run_jobs, graph):
    now = utcnow().astimezone(__import__("zoneinfo").ZoneInfo("Asia/Kolkata"))
    closed = f"{(now.hour + 2) % 24:02d}:00-{(now.hour + 3) % 24:02d}:00"  # open later: closed now
    add_rule(app, world.a.tenant_id, "Closed", RuleTrigger.OUTSIDE_HOURS, RuleAction.REPLY,
             match=closed, response="We're closed; we'll reply in the morning.")
    say(post_meta, run_jobs, "psid-h", "m_h1", "hello?")
    assert texts(graph) == ["We're closed; we'll reply in the morning."]


# ---------------------------------------------------------------- actions


def test_tag_then_reply_as_a_further_step(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Wholesale", RuleTrigger.KEYWORD, RuleAction.TAG,
             match="wholesale, bulk", response="wholesale",
             steps=[(RuleAction.REPLY, {"response": "Our wholesale desk will call you."})])
    say(post_meta, run_jobs, "psid-t", "m_t1", "Do you do bulk orders?")
    assert texts(graph) == ["Our wholesale desk will call you."]
    facts = conv_of(app, "psid-t")
    assert facts["tags"] == "wholesale"
    assert facts["runs"] == [("Wholesale", "keyword", ["tag: wholesale", "reply"])]


def test_a_tag_only_rule_lets_the_next_rule_and_the_agent_answer(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Tag festive", RuleTrigger.KEYWORD, RuleAction.TAG,
             match="diwali", response="festive", priority=1)
    say(post_meta, run_jobs, "psid-t2", "m_t21", "anything for diwali?")
    assert len(graph.sends()) == 1  # the agent answered
    facts = conv_of(app, "psid-t2")
    assert facts["tags"] == "festive" and facts["runs"][0][0] == "Tag festive"


def test_assign_puts_a_teammate_in_charge_and_the_ai_stays_silent(app, world, post_meta, run_jobs, graph):
    with app.app_context():
        staff = db.session.scalar(select(TenantMembership.user_id).where(
            TenantMembership.tenant_id == world.a.tenant_id, TenantMembership.role == "staff"))
    add_rule(app, world.a.tenant_id, "Complaints", RuleTrigger.KEYWORD, RuleAction.ASSIGN,
             match="complaint", assignee_id=staff)
    say(post_meta, run_jobs, "psid-as", "m_as1", "I have a complaint")
    facts = conv_of(app, "psid-as")
    assert graph.sends() == []
    assert facts["mode"] == ConversationMode.HUMAN and facts["assignee_id"] == staff


def test_handoff_says_so_and_switches_to_human_mode(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Person", RuleTrigger.KEYWORD, RuleAction.HANDOFF,
             match="talk to owner", response="Handing you to Riya.")
    say(post_meta, run_jobs, "psid-ho", "m_ho1", "can I talk to owner")
    say(post_meta, run_jobs, "psid-ho", "m_ho2", "hello??")
    assert texts(graph) == ["Handing you to Riya."]
    assert conv_of(app, "psid-ho")["mode"] == ConversationMode.HUMAN


def test_opt_out_action_of_a_custom_keyword(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Leave me", RuleTrigger.KEYWORD, RuleAction.OPT_OUT,
             match="leave me alone", response="Understood, no more messages.")
    say(post_meta, run_jobs, "psid-oo", "m_oo1", "just leave me alone")
    say(post_meta, run_jobs, "psid-oo", "m_oo2", "hi")
    assert texts(graph) == ["Understood, no more messages."]
    assert conv_of(app, "psid-oo")["opted_out"] is True


def test_ai_reply_lets_the_agent_answer_after_the_rules_other_actions(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Leads", RuleTrigger.KEYWORD, RuleAction.AI_REPLY,
             match="kurta", steps=[(RuleAction.TAG, {"response": "kurta-lead"})])
    say(post_meta, run_jobs, "psid-ai", "m_ai1", "show me a kurta")
    with app.app_context():
        out = db.session.scalar(select(Message).join(Conversation).join(Customer).where(
            Customer.external_id == "psid-ai", Message.direction == "out"))
        assert out.sender == "ai"
    facts = conv_of(app, "psid-ai")
    assert facts["tags"] == "kurta-lead" and facts["runs"][0][2] == ["ai_reply", "tag: kurta-lead"]


def test_a_welcome_then_ai_reply_sends_the_welcome_with_the_agents_answer(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Welcome", RuleTrigger.NEW_CONVERSATION, RuleAction.REPLY,
             response="Welcome to our shop!", steps=[(RuleAction.AI_REPLY, {})])
    say(post_meta, run_jobs, "psid-wel", "m_wel1", "how much is Prod-A?")
    (sent,) = texts(graph)
    assert sent.startswith("Welcome to our shop!\n\n") and "799" in sent
    say(post_meta, run_jobs, "psid-wel", "m_wel2", "and Prod-A in stock?")
    assert not texts(graph)[-1].startswith("Welcome")  # a new conversation's rule, once


# ---------------------------------------------------------------- the catalog, per platform


@pytest.fixture
def picture(app, world):
    with app.app_context():
        p = db.session.get(Product, world.a["product"])
        p.image_url = "https://cdn.example.test/prod-a.jpg"
        db.session.commit()
        db.session.remove()


def test_catalog_on_messenger_is_a_generic_template_carousel(app, world, post_meta, run_jobs, graph, picture):
    add_rule(app, world.a.tenant_id, "Catalog", RuleTrigger.KEYWORD, RuleAction.SEND_CATALOG,
             match="catalog", category_id=world.a["category"], response="Our festive picks:",
             steps=[(RuleAction.REPLY, {"response": "Namaste!"})])
    say(post_meta, run_jobs, "psid-c", "m_c1", "send me your catalog")
    intro, body = graph.sends()  # a carousel has no text: the rule's words go just before it
    assert intro == {"recipient": {"id": "psid-c"}, "messaging_type": "RESPONSE",
                     "message": {"text": "Namaste!\n\nOur festive picks:"}}
    assert body["recipient"] == {"id": "psid-c"} and body["messaging_type"] == "RESPONSE"
    payload = body["message"]["attachment"]["payload"]
    assert body["message"]["attachment"]["type"] == "template" and payload["template_type"] == "generic"
    assert payload["elements"] == [{
        "title": "Prod-A", "subtitle": "₹799.00", "image_url": "https://cdn.example.test/prod-a.jpg",
        "buttons": [{"type": "postback", "title": "Buy", "payload": "BUY SKU-A"}]}]


def test_catalog_on_instagram_goes_through_me_messages(app, world, post_meta, run_jobs, graph, picture):
    add_channel(app, world.a.tenant_id, Platform.INSTAGRAM, "ig-A")
    add_rule(app, world.a.tenant_id, "Catalog", RuleTrigger.KEYWORD, RuleAction.SEND_CATALOG, match="catalog")
    post_meta(mp.messenger("ig-A", mp.text("igsid-c", "ig-A", "m_igc1", "catalog pls"), obj="instagram"))
    run_jobs()
    calls = [c for c in graph.calls if c.request.url.split("?")[0].endswith("/messages")]
    assert {c.request.url.split("?")[0] for c in calls} == {"http://graph.test/v25.0/me/messages"}
    intro, body = graph.sends()
    assert intro["message"] == {"text": "Here's what we have (Camp-A). Tap Buy on the one you like."}
    assert body["message"]["attachment"]["payload"]["elements"][0]["buttons"][0]["payload"] == "BUY SKU-A"


def test_catalog_on_whatsapp_is_an_interactive_list(app, world, post_meta, run_jobs, graph, picture):
    add_channel(app, world.a.tenant_id, Platform.WHATSAPP, "wa-A")
    add_rule(app, world.a.tenant_id, "Catalog", RuleTrigger.KEYWORD, RuleAction.SEND_CATALOG,
             match="catalog", response="Our festive picks:", steps=[(RuleAction.REPLY, {"response": "Namaste!"})])
    post_meta(mp.whatsapp("wa-A", messages=[mp.wa_text("919800000001", "wamid.C1", "catalog")],
                          contacts=[mp.wa_contact("919800000001", "Asha")]))
    run_jobs()
    [body] = graph.sends()
    assert body["type"] == "interactive" and body["to"] == "919800000001"
    interactive = body["interactive"]
    assert interactive["type"] == "list" and interactive["body"] == {"text": "Namaste!\n\nOur festive picks:"}
    assert interactive["action"]["button"] == "View products"
    [section] = interactive["action"]["sections"]
    assert section["rows"] == [{"id": "BUY SKU-A", "title": "Prod-A", "description": "₹799.00"}]


# ---------------------------------------------------------------- conditions


def test_conditions_platform_tag_campaign_and_time_of_day(app, world, post_meta, run_jobs, graph):
    tid = world.a.tenant_id
    with app.app_context():
        from app.models import Campaign

        other = Campaign(tenant_id=tid, name="Other campaign")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
        db.session.remove()
    add_rule(app, tid, "WA only", RuleTrigger.KEYWORD, RuleAction.REPLY, match="hello",
             response="wa", platform="whatsapp", priority=1)
    add_rule(app, tid, "VIP only", RuleTrigger.KEYWORD, RuleAction.REPLY, match="hello",
             response="vip", customer_tag="vip", priority=2)
    add_rule(app, tid, "Other campaign", RuleTrigger.KEYWORD, RuleAction.REPLY, match="hello",
             response="campaign", campaign_id=other_id, priority=3)
    add_rule(app, tid, "Never now", RuleTrigger.KEYWORD, RuleAction.REPLY, match="hello",
             response="hours", hours="00:00-00:01", priority=4)
    add_rule(app, tid, "Fallback", RuleTrigger.KEYWORD, RuleAction.REPLY, match="hello",
             response="fallback", priority=9)
    say(post_meta, run_jobs, "psid-cd", "m_cd1", "hello")
    expected = ["fallback"]
    now = utcnow().astimezone(__import__("zoneinfo").ZoneInfo("Asia/Kolkata"))
    if now.hour == 0 and now.minute < 1:
        expected = ["hours"]
    assert texts(graph) == expected
    with app.app_context():
        c = db.session.scalar(select(Customer).where(Customer.external_id == "psid-cd"))
        c.tags = "VIP, returning"
        db.session.commit()
    say(post_meta, run_jobs, "psid-cd", "m_cd2", "hello again")
    assert texts(graph)[-1] == "vip"


# ---------------------------------------------------------------- event triggers


def _pay(app, order_id, target=OrderStatus.PAID):
    from app.services import checkout

    with app.app_context():
        order = checkout.locked(order_id, db.session.get(Order, order_id).tenant_id)
        if target == OrderStatus.SHIPPED:
            order.tracking_number = "TRK1"
        assert checkout.transition(order, target, source="admin")
        db.session.commit()
        db.session.remove()


def test_order_paid_and_shipped_fire_their_rules_once(app, world, run_jobs, graph):
    tid = world.a.tenant_id
    add_rule(app, tid, "Thanks", RuleTrigger.ORDER_PAID, RuleAction.REPLY,
             response="Thank you for your payment!",
             steps=[(RuleAction.TAG, {"response": "buyer"})])
    add_rule(app, tid, "Shipped", RuleTrigger.ORDER_SHIPPED, RuleAction.REPLY, response="On its way!")
    with app.app_context():  # the customer wrote recently: the window is open
        db.session.get(Conversation, world.a["conversation"]).last_inbound_at = utcnow()
        db.session.commit()
    _pay(app, world.a["order"])
    run_jobs()
    _pay(app, world.a["order"], OrderStatus.SHIPPED)
    run_jobs()
    from app.jobs.queueing import queue_rule_event

    with app.app_context():  # the same event queued again does nothing twice
        queue_rule_event(world.a["conversation"], tid, "order_paid", f"order-{world.a['order']}-order_paid",
                         order_id=world.a["order"])
    run_jobs()
    assert texts(graph) == ["Thank you for your payment!", "On its way!"]
    with app.app_context():
        runs = db.session.scalars(select(RuleRun).where(RuleRun.conversation_id == world.a["conversation"],
                                                        RuleRun.rule_id.isnot(None))
                                  .order_by(RuleRun.id)).all()
        assert [(r.rule_name, r.order_id) for r in runs if r.rule_name != "Rule-A"] == [
            ("Thanks", world.a["order"]), ("Shipped", world.a["order"])]
        assert "buyer" in db.session.get(Customer, world.a["customer"]).tags


def test_a_rolled_back_payment_fires_nothing(app, world, run_jobs, graph):
    from app.services import checkout

    add_rule(app, world.a.tenant_id, "Thanks", RuleTrigger.ORDER_PAID, RuleAction.REPLY, response="Thanks!")
    with app.app_context():
        order = checkout.locked(world.a["order"], world.a.tenant_id)
        assert checkout.transition(order, OrderStatus.PAID, source="admin")
        db.session.rollback()
    run_jobs()
    assert graph.sends() == []


def test_no_reply_fires_after_the_quiet_hours_unless_the_customer_wrote(app, world, post_meta, run_jobs, graph):
    add_rule(app, world.a.tenant_id, "Nudge", RuleTrigger.NO_REPLY, RuleAction.REPLY, match="2",
             response="Still thinking about it? I'm here to help.")
    say(post_meta, run_jobs, "psid-q", "m_q1", "hmm let me think")
    say(post_meta, run_jobs, "psid-q", "m_q2", "what colours do you have?")
    before = len(graph.sends())
    run_jobs(ahead=2 * 3600 + 5)  # both checks come due; only the second finds them quiet
    nudges = [t for t in texts(graph)[before:] if t.startswith("Still thinking")]
    assert nudges == ["Still thinking about it? I'm here to help."]
    assert [r[0] for r in conv_of(app, "psid-q")["runs"]] == ["Nudge"]


def test_no_reply_sends_nothing_over_a_person(app, world, post_meta, run_jobs, graph, browser):
    add_rule(app, world.a.tenant_id, "Nudge", RuleTrigger.NO_REPLY, RuleAction.REPLY, match="2",
             response="Still thinking about it? I'm here to help.")
    say(post_meta, run_jobs, "psid-qh", "m_qh1", "hmm let me think")
    cid = conv_of(app, "psid-qh")["id"]
    browser("staff_a").post(f"/inbox/c/{cid}/takeover", token_from=f"/inbox/c/{cid}")
    before = len(graph.sends())
    run_jobs(ahead=2 * 3600 + 5)
    assert len(graph.sends()) == before and conv_of(app, "psid-qh")["runs"] == []


# ---------------------------------------------------------------- the rule API


@pytest.mark.parametrize("body, field", [
    ({"name": "r", "trigger": "keyword", "action": "reply", "response": "x"}, "match"),
    ({"name": "r", "trigger": "no_reply", "match": "soon", "action": "reply", "response": "x"}, "match"),
    ({"name": "r", "trigger": "outside_hours", "match": "9 to 5", "action": "reply", "response": "x"}, "match"),
    ({"name": "r", "trigger": "keyword", "match": "hi", "action": "reply"}, "response"),
    ({"name": "r", "trigger": "keyword", "match": "hi", "action": "follow_up", "response": "x"}, "delay_hours"),
    ({"name": "r", "trigger": "keyword", "match": "hi", "action": "assign"}, "assignee"),
    ({"name": "r", "trigger": "order_paid", "action": "create_order"}, "action"),
    ({"name": "r", "trigger": "keyword", "match": "hi", "action": "reply", "response": "x",
      "hours": "morning"}, "hours"),
    ({"name": "r", "trigger": "sometimes", "match": "hi", "action": "reply", "response": "x"}, "trigger"),
    ({"name": "r", "trigger": "keyword", "match": "hi", "action": "dance", "response": "x"}, "action"),
])
def test_rule_api_refuses_what_cannot_work(app, world, api, body, field):
    resp = api("owner_a").post("/api/v1/automation_rules/", json=body, tenant_id=world.a.tenant_id)
    assert resp.status_code in (400, 422), resp.get_data(as_text=True)
    assert field in resp.json["message"], resp.json
    with app.app_context():
        assert db.session.scalar(select(AutomationRule).where(AutomationRule.name == "r")) is None


def test_rule_api_accepts_every_trigger_and_action(app, world, api):
    client = api("owner_a")
    with app.app_context():
        staff = db.session.scalar(select(TenantMembership.user_id).where(
            TenantMembership.tenant_id == world.a.tenant_id, TenantMembership.role == "staff"))
    bodies = [
        {"trigger": "keyword", "match": "price, rate", "action": "reply", "response": "x"},
        {"trigger": "new_conversation", "action": "ai_reply"},
        {"trigger": "order_intent", "action": "create_order"},
        {"trigger": "no_reply", "match": "24", "action": "follow_up", "delay_hours": 1, "response": "x"},
        {"trigger": "order_paid", "action": "tag", "response": "buyer"},
        {"trigger": "order_shipped", "action": "send_catalog", "category": world.a["category"]},
        {"trigger": "outside_hours", "match": "09:00-21:00", "action": "handoff"},
        {"trigger": "keyword", "match": "stop it", "action": "opt_out"},
        {"trigger": "keyword", "match": "help", "action": "assign", "assignee": staff,
         "platform": "whatsapp", "campaign": world.a["campaign"], "customer_tag": "vip", "hours": "09:00-18:00"},
    ]
    for n, body in enumerate(bodies):
        resp = client.post("/api/v1/automation_rules/", json={"name": f"rule {n}", **body},
                           tenant_id=world.a.tenant_id)
        assert resp.status_code == 201, (body, resp.get_data(as_text=True))
    got = client.get(f"/api/v1/automation_rules/{resp.json['id']}", tenant_id=world.a.tenant_id).json["result"]
    assert got["trigger"] == "keyword" and got["platform"] == "whatsapp" and got["hours"] == "09:00-18:00"


def test_rule_api_refuses_another_tenants_related_rows(app, world, api):
    with app.app_context():
        owner_b = db.session.scalar(select(TenantMembership.user_id).where(
            TenantMembership.tenant_id == world.b.tenant_id))
    client = api("owner_a")
    for body in ({"assignee": owner_b, "action": "assign"},
                 {"category": world.b["category"], "action": "send_catalog"},
                 {"campaign": world.b["campaign"], "action": "reply", "response": "x"}):
        resp = client.post("/api/v1/automation_rules/", json={"name": "x", "trigger": "keyword",
                                                               "match": "hi", **body},
                           tenant_id=world.a.tenant_id)
        assert resp.status_code == 422, resp.get_data(as_text=True)
    resp = client.post("/api/v1/rule_steps/", json={"rule": world.b["rule"], "action": "tag"},
                       tenant_id=world.a.tenant_id)
    assert resp.status_code == 422
    assert client.get(f"/api/v1/rule_runs/{world.b['rule_run']}", tenant_id=world.a.tenant_id).status_code == 404
    assert client.get(f"/api/v1/follow_ups/{world.b['follow_up']}", tenant_id=world.a.tenant_id).status_code == 404


# ---------------------------------------------------------------- try it


def test_try_it_shows_what_a_sample_would_fire_and_changes_nothing(app, world, api, browser):
    add_rule(app, world.a.tenant_id, "Prices", RuleTrigger.KEYWORD, RuleAction.TAG,
             match="price", response="asked-price",
             steps=[(RuleAction.FOLLOW_UP, {"delay_hours": 2, "response": "Any questions?"})])
    add_rule(app, world.a.tenant_id, "Prices reply", RuleTrigger.KEYWORD, RuleAction.REPLY,
             match="price", response="From ₹799", priority=6)
    add_rule(app, world.b.tenant_id, "Zebra-B", RuleTrigger.KEYWORD, RuleAction.REPLY,
             match="price", response="B's secret prices", priority=1)
    resp = api("owner_a").post("/api/v1/automation_rules/try", json={"text": "what's the price?"},
                               tenant_id=world.a.tenant_id)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert [r["rule"] for r in resp.json["result"]] == ["Prices", "Prices reply"]
    assert resp.json["result"][0]["actions"] == ["tag: asked-price", "follow_up: in 2 h: 'Any questions?'"]
    assert "secret" not in resp.get_data(as_text=True)
    stop = api("owner_a").post("/api/v1/automation_rules/try", json={"text": "STOP!!"},
                               tenant_id=world.a.tenant_id).json["result"]
    assert stop[0]["trigger"] == "stop"
    assert api("owner_a").post("/api/v1/automation_rules/try", json={"text": ""},
                               tenant_id=world.a.tenant_id).status_code == 400
    page = browser("owner_a").get("/automation/try/?text=price+please&platform=instagram")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Prices reply" in html and "Zebra-B" not in html
    with app.app_context():  # nothing happened to anyone
        assert db.session.scalar(select(RuleRun).where(RuleRun.rule_name.like("Prices%"))) is None


def test_try_it_is_scoped_to_the_active_tenant(app, world, api, browser):
    add_rule(app, world.c.tenant_id, "Zebra-C", RuleTrigger.KEYWORD, RuleAction.REPLY,
             match="zebra", response="C only")
    # agency X's admin asking about agency Y's tenant gets nothing
    resp = api("agency").post("/api/v1/automation_rules/try", json={"text": "zebra"},
                              tenant_id=world.c.tenant_id)
    assert resp.status_code in (403, 404)
    assert api("owner_a").post("/api/v1/automation_rules/try", json={"text": "zebra"},
                               tenant_id=world.a.tenant_id).json["result"] == []
    assert api("owner_c").post("/api/v1/automation_rules/try", json={"text": "zebra"},
                               tenant_id=world.c.tenant_id).json["result"][0]["rule"] == "Zebra-C"
    staff = browser("staff_a").get("/automation/try/?text=zebra")
    assert staff.status_code in (302, 403)


# ---------------------------------------------------------------- the editor


def test_rule_editor_saves_a_valid_rule_and_explains_an_invalid_one(app, world, browser):
    owner = browser("owner_a")
    page = owner.get("/automationruleview/add")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "order_intent" in html and "send_catalog" in html
    assert "Cat-B" not in html and "Camp-B" not in html  # dropdowns hold only this tenant's rows
    bad = owner.post("/automationruleview/add", {"name": "Nudge", "trigger": "no_reply", "match": "soon",
                                                  "action": "reply", "response": "Hi?", "priority": "5"},
                     token_from="/automationruleview/add", follow_redirects=True)
    assert "hours of quiet" in bad.get_data(as_text=True)
    mars = owner.post("/automationruleview/add", {"name": "Nudge", "trigger": "no_reply", "match": "24",
                                                   "action": "reply", "response": "Hi?", "priority": "5",
                                                   "platform": "mars"}, token_from="/automationruleview/add")
    assert mars.status_code == 200 and "Choose a platform" in mars.get_data(as_text=True)
    good = owner.post("/automationruleview/add", {"name": "Nudge", "trigger": "no_reply", "match": "24",
                                                   "action": "reply", "response": "Hi?", "priority": "5",
                                                   "active": "y"},
                      token_from="/automationruleview/add")
    assert good.status_code == 302
    with app.app_context():
        rule = db.session.scalar(select(AutomationRule).where(AutomationRule.name == "Nudge"))
        assert rule.tenant_id == world.a.tenant_id and rule.trigger == "no_reply" and rule.match == "24"
        assert rule.platform is None  # any platform
        assert db.session.query(AutomationRule).filter_by(name="Nudge").count() == 1


def test_a_buy_button_buys_without_a_rule_of_its_own(app, world, post_meta, run_jobs, graph):
    """The catalog's Buy buttons work even when the tenant wrote no order_intent rule."""
    with app.app_context():
        db.session.query(AutomationRule).delete()
        db.session.commit()
    add_channel(app, world.a.tenant_id, Platform.WHATSAPP, "wa-B")
    post_meta(mp.whatsapp("wa-B", messages=[mp.wa_message("919833333333", "wamid.B1", "interactive", {
        "type": "list_reply", "list_reply": {"id": "BUY SKU-A", "title": "Prod-A", "description": "₹799.00"}})],
        contacts=[mp.wa_contact("919833333333", "Meera")]))
    run_jobs()
    with app.app_context():
        order = db.session.scalar(select(Order).join(Customer, Order.customer_id == Customer.id)
                                  .where(Customer.external_id == "919833333333"))
        assert [(i.sku, i.quantity) for i in order.items] == [("SKU-A", 1)]
        run = db.session.scalar(select(RuleRun).where(RuleRun.conversation_id == order.conversation_id))
        assert run.rule_name == "Buy button" and run.rule_id is None and run.order_id == order.id
    assert order.number in graph.sends()[0]["text"]["body"]


def test_the_conversation_pages_show_its_rule_runs_and_follow_ups(app, world, post_meta, run_jobs, graph, browser):
    add_rule(app, world.a.tenant_id, "Later", RuleTrigger.KEYWORD, RuleAction.REPLY, match="later",
             response="Sure!", steps=[(RuleAction.FOLLOW_UP, {"delay_hours": 1, "response": "Checking in"})])
    say(post_meta, run_jobs, "psid-page", "m_pg1", "later")
    cid = conv_of(app, "psid-page")["id"]
    for page in (f"/conversationview/show/{cid}", f"/inbox/c/{cid}"):
        html = browser("owner_a").get(page).get_data(as_text=True)
        assert "Later" in html and "reply; follow_up #" in html and "Follow-up due" in html
        assert "Rule-B" not in html


def test_rule_api_never_fails_on_malformed_bodies(app, world, api):
    """Whatever a client sends for a rule, the answer is a clear 4xx or a created rule, never a 5xx."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    client = api("owner_a")
    values = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                       st.text(max_size=40), st.lists(st.integers(), max_size=3),
                       st.sampled_from(["keyword", "no_reply", "order_paid", "reply", "follow_up", "assign",
                                        "09:00-18:00", "24", "whatsapp", "all"]))
    fields = st.sampled_from(["name", "trigger", "match", "action", "response", "template", "assignee",
                              "category", "delay_hours", "platform", "campaign", "customer_tag", "hours",
                              "priority", "active", "tenant_id", "bogus"])

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(fields, values, max_size=8))
    def check(body):
        resp = client.post("/api/v1/automation_rules/", json=body, tenant_id=world.a.tenant_id)
        assert resp.status_code < 500, (body, resp.get_data(as_text=True)[:300])
        if resp.status_code == 201:
            client.delete(f"/api/v1/automation_rules/{resp.json['id']}", tenant_id=world.a.tenant_id)

    check()
