"""Leo: the offline answerer on the common questions against a hand-built shop, the Groq path
with the model faked at HTTP (tool calls reach the analytics, results reach the model), the
API and the panel endpoint, and tenant isolation."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.models import (
    AiPromise,
    Campaign,
    CampaignStatus,
    Channel,
    Conversation,
    Customer,
    Direction,
    Message,
    Order,
    OrderItem,
    OrderStatus,
    Platform,
    Product,
    PromiseKind,
    Sender,
    TargetPlatform,
)
from tests.groq_fake import URL, completion

IST = ZoneInfo("Asia/Kolkata")


def _now():
    return datetime.now(timezone.utc)


def _today_times():
    """Two moments of the tenant's today (IST): a little ago, but never before local midnight."""
    now = _now()
    midnight = datetime.combine(now.astimezone(IST).date(), datetime.min.time(), tzinfo=IST).astimezone(timezone.utc)
    return max(now - timedelta(minutes=30), midnight + timedelta(seconds=2)), max(now - timedelta(minutes=1), midnight + timedelta(seconds=3))


def _conversation(t, channel, campaign, name, at):
    customer = Customer(tenant_id=t, platform=channel.platform, external_id=f"ext-{name}", name=name)
    db.session.add(customer)
    db.session.flush()
    conv = Conversation(tenant_id=t, channel_id=channel.id, customer_id=customer.id,
                        campaign_id=campaign.id if campaign else None, created_at=at, last_message_at=at)
    db.session.add(conv)
    db.session.flush()
    db.session.add_all([
        Message(tenant_id=t, conversation_id=conv.id, channel_id=channel.id, direction=Direction.IN,
                sender=Sender.CUSTOMER, text="hi", external_id=f"in-{name}", created_at=at, handled_at=at),
        Message(tenant_id=t, conversation_id=conv.id, channel_id=channel.id, direction=Direction.OUT,
                sender=Sender.AI, text="hello", external_id=f"out-{name}", created_at=at + timedelta(seconds=20),
                handled_at=at),
    ])
    return conv


def _paid(t, conv, number, product, qty, at):
    order = Order(tenant_id=t, number=number, customer_id=conv.customer_id, conversation_id=conv.id,
                  campaign_id=conv.campaign_id, status=OrderStatus.PAID, total_minor=product.price_minor * qty,
                  created_at=at, paid_at=at)
    db.session.add(order)
    db.session.flush()
    db.session.add(OrderItem(tenant_id=t, order_id=order.id, product_id=product.id, sku=product.sku,
                             name=product.name, unit_price_minor=product.price_minor, quantity=qty))
    return order


@pytest.fixture
def shop(app, world):
    """Tenant A today: Camp-A on Messenger sold 2 x Prod-A (₹1,598), Diwali Drive on Instagram sold
    1 Silk Scarf (₹1,200) and had a second conversation that bought nothing; plus the world's own
    conversation (an unpaid order). 40 days ago: a ₹500 sale (outside this month and this week).
    Tenant B today: a ₹9,999 sale of Prod-B in Camp-B that A must never see."""
    early, late = _today_times()
    with app.app_context():
        a = world.a.tenant_id
        prod_a = db.session.get(Product, world.a["product"])
        camp_a = db.session.get(Campaign, world.a["campaign"])
        messenger = db.session.get(Channel, world.a["channel"])
        db.session.get(Conversation, world.a["conversation"]).created_at = early
        scarf = Product(tenant_id=a, sku="SCARF-1", name="Silk Scarf", price_minor=120000, stock=5)
        diwali = Campaign(tenant_id=a, name="Diwali Drive", target_platform=TargetPlatform.INSTAGRAM,
                          status=CampaignStatus.ACTIVE, products=[scarf])
        insta = Channel(tenant_id=a, name="IG-A", platform=Platform.INSTAGRAM, external_id="ig-a")
        db.session.add_all([scarf, diwali, insta])
        db.session.flush()
        c1 = _conversation(a, messenger, camp_a, "m1", early)
        c2 = _conversation(a, insta, diwali, "i1", early)
        _conversation(a, insta, diwali, "i2", early)
        _paid(a, c1, "ORD-2001", prod_a, 2, late).closed_by_sender = "ai"
        _paid(a, c2, "ORD-2002", scarf, 1, late).closed_by_sender = "agent"
        old = _now() - timedelta(days=40)
        c_old = _conversation(a, messenger, camp_a, "old", old)
        cheap = Product(tenant_id=a, sku="OLD-1", name="Old Candle", price_minor=50000, stock=1)
        db.session.add(cheap)
        db.session.flush()
        _paid(a, c_old, "ORD-1990", cheap, 1, old)
        b = world.b.tenant_id
        prod_b = db.session.get(Product, world.b["product"])
        prod_b.price_minor = 999900
        conv_b = _conversation(b, db.session.get(Channel, world.b["channel"]),
                               db.session.get(Campaign, world.b["campaign"]), "b1", early)
        _paid(b, conv_b, "ORD-9001", prod_b, 1, late)
        db.session.commit()
        db.session.remove()
    world.early = early
    return world


def ask(app, world, question, tenant=None):
    from app.services import leo

    with app.app_context():
        result = leo.ask(tenant or world.a.tenant_id, question)
        db.session.remove()
    json.dumps(result)  # the API can send it as it is
    return result


def values(result) -> dict:
    return {v["label"]: v["value"] for v in result["figures"]["values"]}


def test_revenue_today(app, shop):
    r = ask(app, shop, "What was my revenue today?")
    assert r["answer"].startswith("Revenue today: ₹2,798.00 from 2 paid orders (average ₹1,399.00)")
    assert values(r)["Revenue"] == "₹2,798.00" and values(r)["Paid orders"] == "2"
    assert r["figures"]["period"]["label"] == "today" and r["figures"]["source"] == "offline"
    assert r["figures"]["calls"][0]["result"]["revenue_minor"] == 279800


def test_conversion_rate_this_month(app, shop):
    r = ask(app, shop, "what's my conversion rate this month?")
    # 4 conversations today (world's, m1, i1, i2), two paid: the old one is outside the month
    assert "50.0%" in r["answer"] and "2 of 4 conversations" in r["answer"]
    assert values(r)["Conversion rate"] == "50.0%" and values(r)["Conversations"] == "4"


def test_paraphrases_and_periods(app, shop):
    assert "₹2,798.00" in ask(app, shop, "how much did we make so far today")["answer"]
    r = ask(app, shop, "sales in the last 7 days?")
    assert r["figures"]["period"]["label"] == "the last 7 days" and values(r)["Revenue"] == "₹2,798.00"
    r = ask(app, shop, "revenue over the last 60 days")
    assert values(r)["Revenue"] == "₹3,298.00"  # the sale 40 days ago too
    assert values(ask(app, shop, "revenue yesterday"))["Revenue"] == "₹0.00"
    assert ask(app, shop, "What did I earn this week?")["figures"]["period"]["label"] == "this week"
    # typed in a hurry: the same answer as spelled out
    assert ask(app, shop, "conversoin rate ths month")["answer"] == ask(
        app, shop, "what's my conversion rate this month?")["answer"]
    assert ask(app, shop, "how r my campains doin")["answer"].startswith("Best campaign in the last 30 days: Camp-A.")
    r = ask(app, shop, "revenue last 100000 days")
    assert r["answer"].startswith("Revenue in the last 366 days (the longest I look back): ₹3,298.00")


def test_campaigns(app, shop):
    r = ask(app, shop, "How are my campaigns doing?")
    assert r["answer"].startswith("Best campaign in the last 30 days: Camp-A.")
    assert "Diwali Drive: ₹1,200.00 from 1 paid of 2 conversations, 50.0% converted" in r["answer"]
    assert list(values(r))[:2] == ["Camp-A", "Diwali Drive"]
    one = ask(app, shop, "how is the diwali drive campaign doing this month?")
    assert one["answer"].startswith("Diwali Drive this month: 2 conversations, 1 paid order, ₹1,200.00")
    # a word that names one campaign alone is enough
    assert ask(app, shop, "How's the Diwali campaign performing this month?")["answer"].startswith(
        "Diwali Drive this month: 2 conversations")
    assert ask(app, shop, "how is the drive campaign doing?")["answer"].startswith("Diwali Drive in the last")
    assert ask(app, shop, "how is the holi campaign doing?")["answer"].startswith("Best campaign")
    assert ask(app, shop, "how is the Camp-B campaign doing?")["answer"].startswith("Best campaign")  # not Camp-A


def test_best_products_on_instagram(app, shop):
    r = ask(app, shop, "Which products sell best on Instagram?")
    assert r["figures"]["platform"] == "instagram"
    assert r["answer"].startswith("Best products in the last 30 days on Instagram: Silk Scarf.")
    assert "Prod-A" not in r["answer"]  # sold on Messenger only
    assert "Prod-A" in ask(app, shop, "best selling products on messenger")["answer"]


def test_improve_sales(app, shop):
    r = ask(app, shop, "How can I improve sales?")
    # the world's conversation placed an order it never paid
    assert "1 of 3 conversations that ordered never paid" in r["answer"]
    assert "Ordered but not paid" in values(r)


def test_ai_and_team_closed_sales(app, shop):
    r = ask(app, shop, "How many sales did the AI close today?")
    assert r["answer"] == ("Today the AI closed 1 sale and your team 1 (AI share 50.0%). Revenue: ₹1,598.00 "
                           "by the AI, ₹1,200.00 by your team.")
    assert values(r)["AI share of closed sales"] == "50.0%"


def test_compared_with_the_period_before(app, shop):
    r = ask(app, shop, "How does the last 45 days compare with before?")
    # the ₹500 sale 40 days ago is inside the 45 days; nothing in the 45 days before them
    assert r["answer"].startswith("In the last 45 days compared with the same number of days before (")
    assert "revenue ₹3,298.00 against ₹0.00; paid orders 3 against 0" in r["answer"]
    r = ask(app, shop, "revenue this week vs last week")
    assert values(r)["Revenue"] == "₹2,798.00" and "Revenue (period before)" in values(r)


def test_busiest_hours(app, shop):
    import calendar

    r = ask(app, shop, "When do customers message us most this week?")
    local = shop.early.astimezone(IST)
    busiest = f"{calendar.day_name[local.weekday()]} {local.hour:02d}:00-{(local.hour + 1) % 24:02d}:00"
    assert r["answer"].startswith(f"This week customers write most on {busiest} (")
    top = r["figures"]["calls"][0]["result"]["busiest"][0]
    assert (top["weekday"], top["hour"]) == (local.weekday(), local.hour) and top["count"] >= 3


def test_ai_promises_this_week(app, shop):
    with app.app_context():
        conv = db.session.get(Conversation, shop.a["conversation"])
        msg = Message(tenant_id=conv.tenant_id, conversation_id=conv.id, channel_id=conv.channel_id,
                      direction=Direction.OUT, sender=Sender.AI, text="x")
        db.session.add(msg)
        db.session.flush()
        db.session.add_all([
            AiPromise(tenant_id=conv.tenant_id, conversation_id=conv.id, message_id=msg.id, kind=PromiseKind.PRICE,
                      text="Prod-A is ₹699", value="₹699", value_minor=69900, catalog_value_minor=79900, matches=False),
            AiPromise(tenant_id=conv.tenant_id, conversation_id=conv.id, message_id=msg.id,
                      kind=PromiseKind.DELIVERY, text="in 3 days", value="in 3 days", matches=True),
            AiPromise(tenant_id=conv.tenant_id, conversation_id=conv.id, message_id=msg.id, kind=PromiseKind.PRICE,
                      text="old", value="₹1", value_minor=100, matches=False, created_at=_now() - timedelta(days=20)),
        ])
        db.session.commit()
    r = ask(app, shop, "What did the AI promise this week?")
    # with the world's own price promise (matching, made just now)
    assert r["answer"].startswith("This week the AI stated 2 prices, 1 delivery.")
    assert "1 did not match your records: price ₹699.00 (on record: ₹799.00)" in r["answer"]
    assert r["figures"]["calls"][0]["result"]["mismatches"] == 1


def test_unverifiable_promises_are_not_called_matching(app, shop):
    """A promise with nothing on record to check (no delivery time in the policies) is neither
    a match nor a mismatch: Leo says so instead of "every one matched"."""
    with app.app_context():
        conv = db.session.get(Conversation, shop.a["conversation"])
        msg = Message(tenant_id=conv.tenant_id, conversation_id=conv.id, channel_id=conv.channel_id,
                      direction=Direction.OUT, sender=Sender.AI, text="x")
        db.session.add(msg)
        db.session.flush()
        db.session.add_all([AiPromise(tenant_id=conv.tenant_id, conversation_id=conv.id, message_id=msg.id,
                                      kind=PromiseKind.DELIVERY, text=f"in {n} days", value=f"in {n} days",
                                      matches=None, checked_against="no delivery time on record")
                            for n in (2, 3)])
        db.session.commit()
    r = ask(app, shop, "What did the AI promise this week?")
    # with the world's own price promise (matching, made just now)
    assert r["answer"].startswith("This week the AI stated 1 price, 2 deliveries.")
    assert "Every one matched" not in r["answer"]
    assert "1 matched your records; 2 could not be checked (nothing on record to compare with)" in r["answer"]


def test_a_question_naming_an_own_product_or_campaign_is_about_it(app, shop):
    r = ask(app, shop, "How is the Silk Scarf selling?")
    assert r["figures"]["intent"] == "products"
    assert r["answer"] == "Silk Scarf in the last 30 days: 1 sold in 1 paid orders, ₹1,200.00."
    r = ask(app, shop, "what did the diwali drive make today")
    assert r["figures"]["intent"] == "campaigns"
    assert r["answer"].startswith("Diwali Drive today: 2 conversations, 1 paid order, ₹1,200.00 revenue")


def test_answers_read_as_sentences(app, shop):
    assert ask(app, shop, "How can I improve sales?")["answer"].startswith("Based on the last 30 days: ")
    assert ask(app, shop, "any tips for this week?")["answer"].startswith("Based on this week: ")
    with app.app_context():  # an order notice: sent, but by neither the AI nor a person
        conv = db.session.get(Conversation, shop.a["conversation"])
        db.session.add(Message(tenant_id=conv.tenant_id, conversation_id=conv.id, channel_id=conv.channel_id,
                               direction=Direction.OUT, sender=Sender.SYSTEM, status="sent", text="Payment received"))
        db.session.commit()
    r = ask(app, shop, "how many messages today?")
    sent = r["figures"]["calls"][0]["result"]
    automatic = sent["messages_sent"] - sent["messages_sent_ai"] - sent["messages_sent_staff"]
    assert automatic >= 1 and f", {automatic} automatic: rules, follow-ups and order notices)." in r["answer"]


def test_nothing_to_rank_reads_as_a_sentence(app, shop):
    assert ask(app, shop, "best selling products on whatsapp")["answer"] == (
        "No product activity in the last 30 days on WhatsApp yet.")
    assert ask(app, shop, "how are my ads doing yesterday?")["answer"] == "No ad activity yesterday yet."
    # organic conversations are never "the best ad": there is none yet
    r = ask(app, shop, "how are my ads performing today?")
    assert r["answer"].startswith("No ad activity today yet. No ad (organic): ₹2,798.00 from 2 paid of 4 ")


def test_platforms_by_their_names_and_only_products_that_sold(app, shop):
    r = ask(app, shop, "which channel brings the most sales today")
    assert r["answer"].startswith("Best platform today: Messenger. Messenger: ₹1,598.00")
    assert "Instagram: ₹1,200.00" in r["answer"] and "messenger" not in r["answer"]
    with app.app_context():  # ordered today, never paid: not among the best sellers
        from app.services import checkout

        conv = db.session.get(Conversation, shop.a["conversation"])
        unsold = Product(tenant_id=conv.tenant_id, sku="NOPE-1", name="Unpaid Shawl", price_minor=1000, stock=3)
        db.session.add(unsold)
        db.session.commit()
        checkout.place_order(conv.tenant_id, conv.customer_id, conv.id, [(unsold.id, 1)], source="agent")
        db.session.remove()
    r = ask(app, shop, "top products today")
    assert "Prod-A" in r["answer"] and "Unpaid Shawl" not in r["answer"]


def test_compared_with_last_month_is_this_month_against_it(app, shop):
    r = ask(app, shop, "how are we doing vs last week")
    assert r["figures"]["intent"] == "compare" and r["figures"]["period"]["label"] == "this week"
    assert values(r)["Revenue"] == "₹2,798.00"
    assert ask(app, shop, "how did last week compare with before?")["figures"]["period"]["label"] == "last week"


def test_questions_about_another_tenant_get_nothing_of_it(app, shop):
    for question in ("How is Camp-B doing?", "how many Prod-B did I sell today?",
                     "what was Tenant B's revenue today?"):
        r = ask(app, shop, question)
        blob = json.dumps(r)
        assert "Camp-B" not in blob and "Prod-B" not in blob and "Tenant B" not in blob
        assert "9,999" not in blob and "999900" not in blob
    # B asking sees B's sale and nothing of A's
    r = ask(app, shop, "What was my revenue today?", tenant=shop.b.tenant_id)
    assert values(r)["Revenue"] == "₹9,999.00" and "2,798" not in json.dumps(r)


# ---------------------------------------------------------------------------- the Groq path


@pytest.fixture
def leo_groq(app, monkeypatch):
    import respx

    monkeypatch.setitem(app.config, "GROQ_API_KEY", "test-key")
    with respx.mock(assert_all_called=False) as mock:
        yield mock.post(URL)


def _tool_messages(call) -> list[dict]:
    return [json.loads(m["content"]) for m in json.loads(call.request.content)["messages"] if m["role"] == "tool"]


def test_groq_calls_the_analytics_and_sees_the_results(app, shop, leo_groq):
    leo_groq.side_effect = [
        completion(tool_calls=[("summary", {"period": "today"}),
                               ("breakdown", {"by": "product", "period": "today", "platform": "instagram"})]),
        completion("Today you made ₹2,798.00 from 2 paid orders; Silk Scarf leads on Instagram."),
    ]
    r = ask(app, shop, "How did today go?")
    assert r["answer"] == "Today you made ₹2,798.00 from 2 paid orders; Silk Scarf leads on Instagram."
    assert r["figures"]["source"] == "groq" and r["figures"]["period"]["label"] == "today"
    first = json.loads(leo_groq.calls[0].request.content)
    assert {t["function"]["name"] for t in first["tools"]} >= {"summary", "breakdown", "ai_promises"}
    summary, by_product = _tool_messages(leo_groq.calls[1])
    assert summary["revenue_minor"] == 279800 and summary["orders_paid"] == 2
    assert [row["label"] for row in by_product["rows"]] == ["Silk Scarf"]
    assert values(r)["Revenue (today)"] == "₹2,798.00"


def test_groq_tools_stay_in_the_tenant(app, shop, leo_groq):
    with app.app_context():
        camp_b = shop.b["campaign"]
    leo_groq.side_effect = [
        completion(tool_calls=[("summary", {"period": "today", "campaign_id": camp_b, "tenant_id": shop.b.tenant_id}),
                               ("breakdown", {"by": "campaign", "period": "today", "tenant_id": shop.b.tenant_id}),
                               ("summary", {"start": "2026-13-01"})]),
        completion("I can only see your own business."),
    ]
    r = ask(app, shop, "How is Camp-B doing today?")
    not_found, campaigns, bad_date = _tool_messages(leo_groq.calls[1])
    assert not_found == {"error": "campaign not found"}
    assert "error" in bad_date
    assert {row["label"] for row in campaigns["rows"]} == {"Camp-A", "Diwali Drive"}
    blob = json.dumps(r) + json.dumps(_tool_messages(leo_groq.calls[1]))
    assert "Camp-B" not in blob.replace("How is Camp-B", "") and "999900" not in blob


def test_groq_tool_arguments_off_the_calendar_are_errors_to_the_model(app, shop, leo_groq):
    """Whatever the model writes: days the analytics can't bound (year 1, year 9999), a
    number for a date, a float or a boolean campaign id are {"error": ...} for it to read,
    never a failed answer."""
    leo_groq.side_effect = [
        completion(tool_calls=[("compare_periods", {"start": "0001-01-01", "end": "0001-01-05"}),
                               ("summary", {"start": "9999-12-31", "end": "9999-12-31"}),
                               ("timeseries", {"start": 12345}),
                               ("summary", {"period": "today", "campaign_id": 1.5}),
                               ("summary", {"period": "today", "campaign_id": True}),
                               ("summary", {"period": "today", "campaign_id": 10**30})]),
        completion("I can't read those days."),
    ]
    r = ask(app, shop, "How did year one go?")
    assert r["answer"] == "I can't read those days."
    results = _tool_messages(leo_groq.calls[1])
    assert all("error" in result for result in results), results


def test_groq_failure_falls_back_to_the_offline_answer(app, shop, leo_groq):
    import httpx

    leo_groq.side_effect = [httpx.Response(500, json={"error": {"message": "down"}})] * 3
    r = ask(app, shop, "What was my revenue today?")
    assert r["figures"]["source"] == "offline" and r["figures"]["fallback"] == "InternalServerError"
    assert values(r)["Revenue"] == "₹2,798.00"


def test_outside_context_is_labelled(app, shop, leo_groq):
    leo_groq.side_effect = [
        completion(tool_calls=[("summary", {"period": "this month"})]),
        completion("Your conversion rate this month is 50.0%."),
        completion("Chat commerce stores in India typically convert 10-20% of conversations (industry surveys)."),
    ]
    r = ask(app, shop, "Is my conversion rate good compared to the industry benchmark?")
    outside = json.loads(leo_groq.calls[2].request.content)
    assert outside["model"] == "groq/compound-mini" and "tools" not in outside
    assert "279800" not in json.dumps(outside) and "50.0%" not in json.dumps(outside)  # no tenant figures go out
    assert "Outside information (general, not from your data): Chat commerce" in r["answer"]
    assert r["figures"]["outside"]["model"] == "groq/compound-mini"


# ---------------------------------------------------------------------------- endpoints


def test_api_answers_for_the_active_tenant(app, shop, api):
    client = api("owner_a")
    resp = client.post("/api/v1/leo/ask", json={"question": "What was my revenue today?"})
    assert resp.status_code == 200, resp.json
    assert resp.json["answer"].startswith("Revenue today: ₹2,798.00")
    assert resp.json["figures"]["values"][0] == {"label": "Revenue", "value": "₹2,798.00", "raw": 279800}
    agency = api("agency")
    resp = agency.post("/api/v1/leo/ask", json={"question": "revenue today", "tenant_id": shop.b.tenant_id})
    assert resp.status_code == 200 and "₹9,999.00" in resp.json["answer"]
    # another agency's tenant: refused before anything runs, as by every API (403, "not your tenant")
    resp = agency.post("/api/v1/leo/ask", json={"question": "revenue today", "tenant_id": shop.c.tenant_id})
    assert resp.status_code == 403 and "answer" not in resp.json
    resp = client.post("/api/v1/leo/ask", json={"question": "revenue today"}, tenant_id=shop.b.tenant_id)
    assert resp.status_code == 403 and "answer" not in resp.json and "9,999" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("body, message", [
    ({"question": ""}, "question is empty"),
    ({"question": "   "}, "question is empty"),
    ({"question": "x" * 501}, "longer than 500"),
    ({"question": 42}, "must be text"),
    ({}, "question"),
    ([], "question"),
])
def test_api_refuses_bad_questions(app, shop, api, body, message):
    resp = api("owner_a").post("/api/v1/leo/ask", json=body)
    assert resp.status_code == 400 and message in resp.json["message"]


def test_api_needs_a_login(app, shop):
    assert app.test_client().post("/api/v1/leo/ask", json={"question": "revenue"}).status_code == 401


def test_panel_endpoint_is_session_and_csrf_protected(app, shop, browser):
    b = browser("staff_a")
    page = b.get("/leo/").get_data(as_text=True)
    assert 'id="leo-panel"' in page and "closer/leo.js" in page and "<script>" not in page
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    resp = b.client.post("/leo/ask", json={"question": "revenue today"}, headers={"X-CSRFToken": token})
    assert resp.status_code == 200 and resp.json["answer"].startswith("Revenue today: ₹2,798.00")
    missing = b.client.post("/leo/ask", json={"question": "revenue today"})
    assert missing.status_code == 400 and b"answer" not in missing.data
    assert b.client.post("/leo/ask", json={"question": ""}, headers={"X-CSRFToken": token}).status_code == 400
    anonymous = app.test_client().post("/leo/ask", json={"question": "revenue today"})
    assert anonymous.status_code in (302, 401, 403, 400) and b"2,798" not in anonymous.data


# ---------------------------------------------------------------------------- reading questions


@pytest.mark.parametrize("question, intent", [
    ("how are my campaigns doing?", "campaigns"), ("which campaign converts best", "campaigns"),
    ("what's my conversion rate this month?", "conversion"), ("how many chats convert?", "conversion"),
    ("what was my revenue today?", "revenue"), ("how much money did I make last 7 days", "revenue"),
    ("what is my AOV this year", "revenue"), ("what did we sell this week", "revenue"),
    ("which products sell best on Instagram?", "products"), ("whats my best seller", "products"),
    ("top selling items on whatsapp last month", "products"),
    ("how can I improve sales?", "improve"), ("any tips to sell more?", "improve"),
    ("how do I get more orders", "improve"),
    ("what did the AI promise this week?", "promises"), ("what discounts did the bot offer?", "promises"),
    ("how fast do we reply", "response"), ("which platform works best", "platforms"),
    ("how are my ads performing", "ads"), ("how many customers wrote to us today", "messages"),
    ("when are we busiest?", "busiest"), ("hello leo", "overview"),
    ("how does this month compare to last month?", "compare"), ("sales this week vs last week", "compare"),
    ("does the AI close more sales than my team?", "closers"), ("who closed the most sales", "closers"),
    # other phrasings an owner uses
    ("What percentage of chats turn into sales?", "conversion"), ("how many chats became orders", "conversion"),
    ("what's selling on insta", "products"), ("how do I get more customers", "improve"),
    ("what has the assistant told customers about delivery?", "promises"),
    ("did sales go up or down this week", "compare"), ("have sales dropped?", "compare"),
    ("how much was refunded this month", "revenue"), ("how are the drop earrings selling", "products"),
])
def test_common_questions_and_paraphrases(question, intent):
    from app.ai.leo.offline import intent_of
    from app.ai.leo.spelling import corrected

    assert intent_of(question) == intent
    assert intent_of(corrected(question)) == intent  # spelled right, nothing is "corrected" away


@pytest.mark.parametrize("question, intent, period, platform", [
    ("how r my campains doin", "campaigns", None, None),
    ("conversoin rate ths month", "conversion", "this month", None),
    ("revnue tdy", "revenue", "today", None),
    ("which prodcuts sell best on instagarm", "products", None, "instagram"),
    ("wat did the bot promis this wk", "promises", "this week", None),
    ("reveune last 3 mnths on whatsap", "revenue", "the last 3 months", "whatsapp"),
    ("how fast do we repsond", "response", None, None),
    ("monthly report", "overview", None, None),  # real words near a keyword stay as typed
])
def test_typos_and_chat_shorthand_read_as_meant(question, intent, period, platform):
    from datetime import date

    from app.ai.leo.offline import intent_of
    from app.ai.leo.periods import parse_period, parse_platform
    from app.ai.leo.spelling import corrected

    read = corrected(question)
    found = parse_period(read, date(2026, 12, 2))
    assert (intent_of(read), found.label if found else None, parse_platform(read)) == (intent, period, platform)


@pytest.mark.parametrize("text, today, start, end, label", [
    ("revenue today", "2026-12-02", "2026-12-02", "2026-12-02", "today"),
    ("yesterday?", "2026-12-01", "2026-11-30", "2026-11-30", "yesterday"),
    ("this week", "2026-12-02", "2026-11-30", "2026-12-02", "this week"),  # a Wednesday
    ("last week", "2026-12-02", "2026-11-23", "2026-11-29", "last week"),
    ("this month", "2026-12-02", "2026-12-01", "2026-12-02", "this month"),
    ("last month", "2026-01-05", "2025-12-01", "2025-12-31", "last month"),
    ("past 7 days", "2026-12-02", "2026-11-26", "2026-12-02", "the last 7 days"),
    ("last two weeks", "2026-12-02", "2026-11-19", "2026-12-02", "the last 2 weeks"),
    ("sales in March", "2026-12-02", "2026-03-01", "2026-03-31", "March 2026"),
    ("sales in December", "2026-06-10", "2025-12-01", "2025-12-31", "December 2025"),
    ("this year", "2026-12-02", "2026-01-01", "2026-12-02", "this year"),
    ("last 12 months", "2026-12-02", "2025-12-08", "2026-12-02", "the last 12 months"),
    ("revenue last 100000 days", "2026-12-02", "2025-12-02", "2026-12-02",
     "the last 366 days (the longest I look back)"),
    ("past 2 years", "2026-12-02", "2025-12-02", "2026-12-02", "the last 366 days (the longest I look back)"),
    # longer than Leo reads: the label says what was read, not what was asked
    ("revenue in the last 999 days", "2026-12-02", "2025-12-02", "2026-12-02", "the last 366 days (the longest I look back)"),
    ("last 100 years", "2026-12-02", "2025-12-02", "2026-12-02", "the last 366 days (the longest I look back)"),
    ("last 0 days", "2026-12-02", "2026-12-02", "2026-12-02", "the last 1 day"),
])
def test_periods(text, today, start, end, label):
    from datetime import date

    from app.ai.leo.periods import parse_period

    p = parse_period(text, date.fromisoformat(today))
    assert (p.start.isoformat(), p.end.isoformat(), p.label) == (start, end, label)


def test_platforms_and_no_period():
    from datetime import date

    from app.ai.leo.periods import parse_period, parse_platform

    assert [parse_platform(q) for q in ("on insta", "WhatsApp sales", "facebook messenger", "in total")] == [
        "instagram", "whatsapp", "messenger", None]
    assert parse_period("how are my campaigns doing?", date(2026, 12, 2)) is None
