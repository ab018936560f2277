"""The promise log: every automated reply's prices, discounts, delivery promises and order numbers
are recorded with the value on record, mismatches flagged; the log is tenant scoped."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.ai.promises import claims, policy_hours
from app.extensions import db
from app.models import (
    AiPromise,
    AutomationRule,
    BusinessProfile,
    Campaign,
    Conversation,
    Customer,
    Direction,
    Message,
    Order,
    Product,
    RuleAction,
    Sender,
)
from tests.groq_fake import completion, fake_groq

PROMO = ("Prod-A is ₹699.00 today with 10% off, and we deliver within 2 days! "
         "Prod-A is ₹799.00 as listed. Your order ORD-1001 is confirmed.")


# ---------------------------------------------------------------------------- reading claims


def test_claims_of_every_kind():
    found = [(c.kind, c.value, c.value_minor) for c in claims(
        "The Silk Scarf is Rs. 1,200 and with 15% off the total comes to ₹1,020.00. Flat ₹100 off kurtas. "
        "It ships in 3-5 business days with free shipping. Same-day delivery in Pune. "
        "Order ORD-1042 is paid.")]
    assert found == [
        ("price", "Rs. 1,200", 120000), ("price", "₹1,020.00", 102000), ("discount", "15%", None),
        ("discount", "₹100.00 off", 10000), ("delivery", "in 3-5 days", None), ("delivery", "free delivery", None),
        ("delivery", "same-day delivery", None), ("order_number", "ORD-1042", None),
    ]


@pytest.mark.parametrize("text", [
    "Hi! How can I help you today?", "We don't offer discounts, sorry.", "Refunds reach your bank within 5-7 days.",
    "Our studio is open 10 to 6.", "Your parcel was delivered today.",
    "The saree has been dispatched today, tracking to follow.", "It was delivered in 3 days, as promised.",
    # what the business does not do is no promise to check
    "We do not offer same-day delivery.", "Sorry, we can't deliver by tomorrow.",
    "It won't arrive in 2 days, I'm afraid.",
])
def test_plain_replies_promise_nothing(text):
    assert claims(text) == []


@pytest.mark.parametrize("text, found", [
    ("Get 20 percent off today!", [("discount", "20%")]),
    ("Save 15% on the saree.", [("discount", "15%")]),
    ("You save up to 10 per cent this week.", [("discount", "10%")]),
    ("We do not offer 20% off, sorry.", []),
    ("It is 100 percent cotton.", []),
    ("Delivery takes 5-7 days.", [("delivery", "5-7 days delivery")]),
    ("Shipping usually takes about 3 working days.", [("delivery", "3 days delivery")]),
])
def test_discounts_and_delivery_times_as_people_word_them(text, found):
    assert [(c.kind, c.value) for c in claims(text)] == found


def test_a_delivery_still_to_come_is_a_promise():
    assert [(c.kind, c.value) for c in claims("It will be delivered tomorrow.")] == [("delivery", "delivery tomorrow")]
    assert [(c.kind, c.value) for c in claims("We ship today!")] == [("delivery", "delivery today")]


@pytest.mark.parametrize("text", ["Shipping is free above ₹999.", "Free delivery on orders over Rs. 499!",
                                  "Free shipping for orders of at least ₹1,000."])
def test_a_free_delivery_threshold_is_not_a_price(text):
    """The amount is the policy's threshold: read as a price, no product has it and the log
    would call a true statement a contradiction."""
    assert [(c.kind, c.value) for c in claims(text)] == [("delivery", "free delivery")]


def test_a_refusal_and_a_promise_in_one_reply():
    found = [(c.kind, c.value) for c in claims("We can't do same-day delivery, but it ships in 2 days.")]
    assert found == [("delivery", "in 2 days")]


def test_policy_delivery_times():
    assert policy_hours("Orders are packed within 24 hours of payment and usually arrive in 4-6 working days "
                        "(2-3 days in metro cities). Returns within 7 days of delivery.") == {144, 72}


@pytest.mark.parametrize("text, stated, minor", [
    ("Prod-A is ₹1,299.", "₹1,299", 129900),
    ("Prod-A is Rs. 1299/- only.", "Rs. 1299/-", 129900),
    ("Prod-A is Rs1299", "Rs1299", 129900),
    ("Prod-A is INR 1,299.00", "INR 1,299.00", 129900),
    ("Prod-A is just 1299 rupees", "1299 rupees", 129900),
    ("Prod-A costs 799 INR", "799 INR", 79900),
    ("Prod-A is ₹1,29,999.", "₹1,29,999", 12999900),  # Indian grouping
    ("Prod-A is ₹999 only", "₹999", 99900),
    ("Prod-A is ₹1.5 lakh", "₹1.5 lakh", 15000000),
    ("MRP ₹999, for you ₹799", "₹999", 99900),  # the clause's comma is not part of the amount
])
def test_prices_as_replies_write_them(text, stated, minor):
    found = [(c.kind, c.value, c.value_minor) for c in claims(text)]
    assert found[0] == ("price", stated, minor)


def test_an_amount_no_rupees_and_paise_can_be_is_not_read_as_one():
    """In INR "." is the decimal point: "₹ 1.299" is neither ₹1.29 nor ₹1,299."""
    [claim] = claims("Prod-A is ₹ 1.299")
    assert (claim.kind, claim.value, claim.value_minor, claim.malformed) == ("price", "₹ 1.299", None, True)


@given(rupees=st.integers(0, 10**8), paise=st.integers(0, 99), indian=st.booleans(),
       prefix=st.sampled_from(["₹", "₹ ", "Rs.", "Rs. ", "Rs ", "rs", "INR ", "inr"]))
def test_any_amount_reads_back_as_written(rupees, paise, indian, prefix):
    digits = str(rupees)
    if indian and len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        grouped = ",".join([head[max(0, i - 2):i] for i in range(len(head), 0, -2)][::-1]) + "," + tail
    else:
        grouped = f"{rupees:,}"
    [claim] = claims(f"Prod-A is {prefix}{grouped}.{paise:02d} today")
    assert claim.value_minor == rupees * 100 + paise


@pytest.mark.parametrize("text", [
    "Call us at +91 98765 43210.", "Call 9876543210 for help.", "Weaving since 2019.", "Available in size 42.",
    "A pack of 2 pcs.", "It is 100% cotton.", "A 50% cotton blend.", "Only 3 left!",
    "We have 3 colours 2 sizes in stock.", "Ready in 24 hrs 2 colours.", "Our offers 2 weeks a year are the best.",
    "You can order 100 pcs at once.", "Visit us at #12 MG Road.", "The #1 bestseller.", "Use code at checkout.",
])
def test_numbers_that_are_no_claim(text):
    assert claims(text) == []


@pytest.mark.parametrize("text, found", [
    ("Get flat 10% off!", [("discount", "10%")]),
    ("Enjoy a 10 percent discount.", [("discount", "10%")]),
    ("Rs 200 off on kurtas.", [("discount", "₹200.00 off")]),
    ("Save ₹200 on your order.", [("discount", "₹200.00 off")]),
    ("A ₹200 discount for you.", [("discount", "₹200.00 off")]),  # one claim, not the amount and the word
    ("You get 20% cashback.", [("discount", "20%")]),
    ("Buy 1 get 1 free!", [("discount", "buy 1 get 1")]),
    ("Buy two, get one free.", [("discount", "buy 2 get 1")]),
    ("Use code DIWALI20 at checkout.", [("discount", "code DIWALI20")]),
    ("We can't offer code DIWALI20, sorry.", []),
    ("Free shipping on this one.", [("delivery", "free delivery")]),
    ("It will arrive by tomorrow.", [("delivery", "delivery tomorrow")]),
    ("We deliver within 48 hours.", [("delivery", "within 48 hours")]),
    ("It ships in 2 business days.", [("delivery", "in 2 days")]),
    ("Delivery in 3-5 working days.", [("delivery", "in 3-5 days")]),
    ("Same-day delivery is available.", [("delivery", "same-day delivery")]),
    ("Your order #1234 is on its way.", [("order_number", "#1234")]),
    ("Order 1234 is confirmed.", [("order_number", "#1234")]),
    ("Order ID: ORD-1234 is paid.", [("order_number", "ORD-1234")]),
    ("Order #1234 (ORD-1234) is paid.", [("order_number", "#1234")]),  # one order, said twice
])
def test_discounts_delivery_and_orders_as_replies_word_them(text, found):
    assert [(c.kind, c.value) for c in claims(text)] == found


# ---------------------------------------------------------------------------- through the reply path


@pytest.fixture
def promo_rule(app, world):
    with app.app_context():
        t = world.a.tenant_id
        db.session.add(AutomationRule(tenant_id=t, name="promo", match="promo", action=RuleAction.REPLY,
                                      response=PROMO, priority=1))
        profile = db.session.scalar(select(BusinessProfile).where(BusinessProfile.tenant_id == t))
        profile.policies = "Delivery in 3-5 working days across India. Shipping is free above ₹999."
        db.session.commit()
        db.session.remove()
    return world


def customer_writes(app, world, text, tenant="a"):
    from app.services import replies
    from app.services.playground import customer_says

    rows = getattr(world, tenant)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == f"owner_{tenant}"))
        for message_id, tenant_id in customer_says(rows.tenant_id, user, text):
            replies.answer(message_id, tenant_id)
            replies.answer(message_id, tenant_id)  # a re-run finds the work done, and writes nothing twice
        db.session.remove()


def promise_rows(app, tenant_id):
    with app.app_context():
        rows = db.session.scalars(select(AiPromise).where(  # not the world's own row of every table
            AiPromise.tenant_id == tenant_id, AiPromise.text.not_like("Promise-%")).order_by(AiPromise.id)).all()
        out = [(str(p.kind), p.value, p.value_minor, p.catalog_value_minor, p.matches, p.checked_against,
                p.product.name if p.product else None) for p in rows]
        db.session.remove()
        return out


def test_rule_reply_promises_are_recorded_and_mismatches_flagged(app, promo_rule, graph):
    customer_writes(app, promo_rule, "any promo?")
    rows = promise_rows(app, promo_rule.a.tenant_id)
    assert rows == [
        ("price", "₹699.00", 69900, 79900, False, "catalog price of Prod-A", "Prod-A"),
        ("discount", "10%", None, None, False, "the campaign offers no discount", None),
        ("delivery", "within 2 days", None, None, False, "the policy: delivery in up to 5 days", None),
        ("price", "₹799.00", 79900, 79900, True, "catalog price of Prod-A", "Prod-A"),
        ("order_number", "ORD-1001", None, None, False, "not an order of this customer", None),
    ]
    with app.app_context():
        reply = db.session.scalar(select(Message).where(Message.tenant_id == promo_rule.a.tenant_id,
                                                        Message.text == PROMO))
        assert {p.message_id for p in db.session.scalars(select(AiPromise).where(
            AiPromise.tenant_id == promo_rule.a.tenant_id, AiPromise.text.not_like("Promise-%")))} == {reply.id}
        db.session.remove()
    assert promise_rows(app, promo_rule.b.tenant_id) == []


def test_offers_policies_and_orders_on_record_match(app, world):
    """The customer's own order, the campaign's own discount and the policy's own delivery time."""
    from app.services import promises, tenant_content

    with app.app_context():
        t = world.a.tenant_id
        db.session.get(Campaign, world.a["campaign"]).closing = "Offer 10% off to close hesitant buyers."
        profile = db.session.scalar(select(BusinessProfile).where(BusinessProfile.tenant_id == t))
        profile.policies = "We ship in 2-4 days."
        db.session.commit()
        conv = db.session.get(Conversation, world.a["conversation"])
        msg = Message(tenant_id=t, conversation_id=conv.id, channel_id=conv.channel_id, direction=Direction.OUT,
                      sender=Sender.AI, text="Good news: 10% off for you, delivered in 3-4 days. Order ORD-1001 "
                      "totals ₹799.00 and 5% off is not on.")
        db.session.add(msg)
        rows = promises.record(conv, msg, tenant_content.get(t))
        db.session.commit()
        got = [(str(r.kind), r.value, r.matches) for r in rows]
        db.session.remove()
    assert got == [("discount", "10%", True), ("delivery", "in 3-4 days", True),
                   ("price", "₹799.00", True), ("discount", "5%", False), ("order_number", "ORD-1001", True)]


def _record(app, world, text, offers=None):
    from app.services import promises, tenant_content

    with app.app_context():
        t = world.a.tenant_id
        if offers:
            db.session.get(Campaign, world.a["campaign"]).closing = offers
        db.session.add(Product(tenant_id=t, sku="SCARF", name="Silk Scarf", price_minor=120000, stock=5))
        other = db.session.scalar(select(Customer).where(Customer.tenant_id == world.b.tenant_id))
        db.session.add(Order(tenant_id=world.b.tenant_id, number="ORD-1234", customer_id=other.id, total_minor=5000))
        db.session.commit()
        conv = db.session.get(Conversation, world.a["conversation"])
        msg = Message(tenant_id=t, conversation_id=conv.id, channel_id=conv.channel_id, direction=Direction.OUT,
                      sender=Sender.AI, text=text)
        db.session.add(msg)
        rows = promises.record(conv, msg, tenant_content.get(t))
        got = [(str(r.kind), r.value, r.catalog_value_minor, r.matches, r.checked_against) for r in rows]
        db.session.rollback()
        db.session.remove()
    return got


@pytest.mark.parametrize("text, found", [
    # a price for a product the catalog lacks is no match because another product costs the same
    ("Wool Shawl is ₹799.", [("price", "₹799", None, False, "no product named Wool Shawl in the catalog")]),
    ("Silk Scraf is ₹1,200.", [("price", "₹1,200", 120000, True, "catalog price of Silk Scarf")]),  # misspelt
    ("Prod A is ₹799.", [("price", "₹799", 79900, True, "catalog price of Prod-A")]),
    ("Sure, it is ₹799.", [("price", "₹799", 79900, True, "catalog price of Prod-A")]),  # named earlier
    ("Prod-A is ₹799 and Silk Scarf is ₹1,200.", [("price", "₹799", 79900, True, "catalog price of Prod-A"),
                                                   ("price", "₹1,200", 120000, True, "catalog price of Silk Scarf")]),
    ("Silk Scarf is ₹799 and Prod-A is ₹1,200.", [("price", "₹799", 120000, False, "catalog price of Silk Scarf"),
                                                   ("price", "₹1,200", 79900, False, "catalog price of Prod-A")]),
    ("The red variant of Prod-A is ₹899.", [("price", "₹899", 79900, False, "catalog price of Prod-A")]),
    ("Prod-A was ₹999, now ₹799.", [("price", "₹999", 79900, False, "catalog price of Prod-A"),
                                    ("price", "₹799", 79900, True, "catalog price of Prod-A")]),
    ("Prod-A is ₹ 1.299", [("price", "₹ 1.299", None, False, "not an amount in INR: ₹ 1.299")]),
    ("Your order #1001 is on its way.",
     [("order_number", "#1001", 79900, True, "order ORD-1001 of this customer (pending_payment)")]),
    # another tenant's order is not this customer's, whatever its number
    ("Order 1234 is confirmed.", [("order_number", "#1234", None, False, "not an order of this customer")]),
    ("Order ID: ORD-1234 is paid.", [("order_number", "ORD-1234", None, False, "not an order of this customer")]),
    ("Use code DIWALI20 at checkout.", [("discount", "code DIWALI20", None, False, "the campaign offers no code DIWALI20")]),
    ("Buy 1 get 1 free!", [("discount", "buy 1 get 1", None, False, "the campaign offers no buy-and-get deal")]),
])
def test_each_claim_is_checked_against_the_catalog_and_orders(app, world, text, found):
    assert _record(app, world, text) == found


def test_codes_and_deals_the_campaign_offers_match(app, world):
    offers = "Close with code DIWALI20 or buy one get one free."
    assert [r[3] for r in _record(app, world, "Use code diwali20, or buy 1 get 1! Or code FEST10, or buy 2 get 1.",
                                  offers)] == [True, True, False, False]


def test_ai_replies_are_recorded_too(app, world, monkeypatch, graph):
    with fake_groq(app, monkeypatch) as route:
        route.side_effect = [
            completion(tool_calls=[("product_details", {"product_id": world.a["product"]})]),
            completion("Prod-A is ₹799.00 and in stock. Shall I reserve one?"),
        ]
        customer_writes(app, world, "how much is Prod-A?")
    assert promise_rows(app, world.a.tenant_id) == [
        ("price", "₹799.00", 79900, 79900, True, "catalog price of Prod-A", "Prod-A")]


# ---------------------------------------------------------------------------- the log, per tenant


def _ids(app, tenant_id):
    with app.app_context():
        ids = db.session.scalars(select(AiPromise.id).where(
            AiPromise.tenant_id == tenant_id, AiPromise.text.not_like("Promise-%")).order_by(AiPromise.id)).all()
        db.session.remove()
        return ids


def test_staff_filter_the_log_and_other_tenants_get_404(app, promo_rule, graph, browser, api):
    customer_writes(app, promo_rule, "promo please")
    customer_writes(app, promo_rule, "promo", tenant="b")  # B has no such rule: its agent answers
    a_ids = _ids(app, promo_rule.a.tenant_id)
    staff = browser("staff_a")
    page = staff.get("/aipromiseview/list/").get_data(as_text=True)
    assert page.count("ORD-1001") >= 1 and "₹699.00" in page and "delivery in up to 5 days" in page
    assert "<td>None</td>" not in page  # an order number or a delivery promise names no product
    only_delivery = staff.get("/aipromiseview/list/?_flt_0_kind=delivery").get_data(as_text=True)
    assert "within 2 days" in only_delivery and "ORD-1001" not in only_delivery
    assert staff.get(f"/aipromiseview/show/{a_ids[0]}").status_code == 200

    client = api("staff_a")
    listed = client.get("/api/v1/ai_promises/?q=(filters:!((col:matches,opr:eq,value:!f)))").json
    assert listed["count"] == 4 and {r["kind"] for r in listed["result"]} == {"price", "discount", "delivery",
                                                                               "order_number"}
    kinds = client.get("/api/v1/ai_promises/?q=(filters:!((col:kind,opr:eq,value:delivery)))").json
    assert [r["value"] for r in kinds["result"]] == ["within 2 days"]

    owner_b = api("owner_b")
    assert owner_b.get(f"/api/v1/ai_promises/{a_ids[0]}").status_code == 404
    assert all(r["id"] not in a_ids for r in owner_b.get("/api/v1/ai_promises/").json["result"])
    b_browser = browser("owner_b")
    assert b_browser.get(f"/aipromiseview/show/{a_ids[0]}").status_code == 404
    assert "₹699.00" not in b_browser.get("/aipromiseview/list/").get_data(as_text=True)
    assert api("agency").get("/api/v1/ai_promises/", tenant_id=promo_rule.c.tenant_id).status_code == 403


def test_staff_filter_the_page_by_conversation_and_never_by_another_tenants(app, world, browser):
    staff = browser("staff_a")
    own = staff.get(f"/aipromiseview/list/?_flt_0_conversation={world.a['conversation']}").get_data(as_text=True)
    assert "Promise-A" in own
    other = staff.get(f"/aipromiseview/list/?_flt_0_conversation={world.b['conversation']}")
    assert other.status_code in (200, 400) and "Promise-" not in other.get_data(as_text=True)
    assert f'value="{world.b["conversation"]}"' not in staff.get("/aipromiseview/list/").get_data(as_text=True)


def test_the_log_is_read_only(app, promo_rule, graph, api, browser):
    customer_writes(app, promo_rule, "promo")
    pk = _ids(app, promo_rule.a.tenant_id)[0]
    client = api("owner_a")
    assert client.delete(f"/api/v1/ai_promises/{pk}").status_code in (404, 405)
    assert client.put(f"/api/v1/ai_promises/{pk}", json={"matches": True}).status_code in (404, 405)
    assert client.post("/api/v1/ai_promises/", json={"kind": "price"}).status_code in (404, 405)
    assert browser("owner_a").get(f"/aipromiseview/edit/{pk}").status_code == 404


@pytest.mark.parametrize("pk", ["2147483648", "99999999999999999999999"])
def test_an_id_no_row_can_have_is_not_found(world, api, browser, pk):
    """Past the integer column's range the database errs instead of finding nothing (PostgreSQL
    refuses the comparison, SQLite overflows past 64 bits): still just "not found"."""
    assert api("owner_a").get(f"/api/v1/ai_promises/{pk}").status_code == 404
    resp = api("owner_a").get(f"/api/v1/campaigns/{pk}")
    assert (resp.status_code, resp.json) == (404, {"message": "Not found"})  # as for any unknown id
    assert browser("owner_a").get(f"/aipromiseview/show/{pk}").status_code == 404
    assert browser("owner_a").get(f"/campaignview/edit/{pk}").status_code == 404


@pytest.mark.parametrize("query", [
    "(filters:!((col:kind,opr:eq,value:x)))",        # not a kind
    "(filters:!((col:kind,opr:neq,value:PRICE)))",
    "(filters:!((col:matches,opr:eq,value:1000000000000000000000000000000)))",
    "(filters:!((col:conversation,opr:rel_o_m,value:1000000000000000000000000000000)))",  # past the id column
    "(filters:!((col:product,opr:rel_o_m,value:1000000000000000000000000000000)))",
    "(page:1000000000000000000000000000000,page_size:5)",
    "(((",                                            # rison the parser recurses on
    "(a:",
])
def test_a_filter_the_log_cannot_use_is_a_400(app, world, api, query):
    """The API's own query language, hostile: a clear 400, never the 500 of a database that
    refused the value."""
    resp = api("staff_a").get(f"/api/v1/ai_promises/?q={query}")
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert "Promise-" not in resp.get_data(as_text=True)
    assert app.test_client().get(f"/api/v1/ai_promises/?q={query}").status_code == 401


@pytest.mark.parametrize("pk", ["2147483648", "99999999999999999999"])
def test_an_id_no_row_can_have_is_a_404(world, api, pk):
    assert api("staff_a").get(f"/api/v1/ai_promises/{pk}").status_code == 404
    assert api("owner_a").get(f"/api/v1/products/{pk}").status_code == 404


@pytest.mark.parametrize("query", [
    "_flt_0_kind=x", "_flt_0_matches=x", "_flt_0_product=99999999999999999999", "_flt_0_text=%00",
    "page_AiPromiseView=-1", "page_AiPromiseView=99999999999999999999", "psize_AiPromiseView=-5",
    "_flt_9_kind=price",  # no 10th filter on the page
    "psize_AiPromiseView=abc", "page_AiPromiseView=abc", "page_AiPromiseView=1.5",  # FAB's bare int() raised
])
def test_the_page_refuses_a_filter_it_cannot_use_with_a_400(world, browser, query):
    """400, or the list when the database can use the value after all (SQLite compares a
    negative page or a 64-bit id where PostgreSQL refuses): never the error page."""
    resp = browser("staff_a").get(f"/aipromiseview/list/?{query}")
    assert resp.status_code in (200, 400), resp.status_code
    assert browser("staff_a").get("/aipromiseview/list/?_flt_0_kind=price").status_code == 200


@pytest.mark.parametrize("value", ["notadate", "2024-13-45", "yesterday-ish", "2026-02-30"])
def test_a_date_filter_that_is_no_date_is_a_400_not_every_row(world, api, browser, value):
    """FAB drops a date filter it can't read, so "created after notadate" listed every row:
    the caller is told instead, on the API and on the page; a real date still filters."""
    resp = api("staff_a").get(f"/api/v1/ai_promises/?q=(filters:!((col:created_at,opr:gt,value:'{value}')))")
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    page = browser("staff_a").get(f"/aipromiseview/list/?_flt_1_created_at={value}")
    assert page.status_code == 400
    assert "Promise-" not in page.get_data(as_text=True)
    future = api("staff_a").get("/api/v1/ai_promises/?q=(filters:!((col:created_at,opr:gt,value:'2999-01-01')))")
    assert future.status_code == 200 and future.json["count"] == 0
    past = api("staff_a").get("/api/v1/ai_promises/?q=(filters:!((col:created_at,opr:gt,value:'2000-01-01')))")
    assert past.status_code == 200 and past.json["count"] >= 1
    assert browser("staff_a").get("/aipromiseview/list/?_flt_1_created_at=").status_code == 200  # no filter


def test_a_number_or_date_filter_of_another_list_that_is_none_is_a_400(world, api, browser):
    resp = api("owner_a").get("/api/v1/orders/?q=(filters:!((col:created_at,opr:gt,value:'2024-13-45')))")
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert api("owner_a").get("/api/v1/orders/?q=(filters:!((col:created_at,opr:gt,value:'2024-12-31')))").status_code == 200
    assert browser("owner_a").get("/orderview/list/?_flt_1_total_minor=abc").status_code == 400
    assert browser("owner_a").get("/orderview/list/?_flt_1_total_minor=100").status_code == 200


@pytest.mark.parametrize("policy, text, order_total, found", [
    # the customer's open order (ORD-1001) is below the policy's threshold: promised outright, flagged
    ("Shipping is free above ₹999.", "Free shipping on this one.", 79900,
     (False, "the policy: free delivery from ₹999.00; order ORD-1001 is ₹799.00")),
    ("Shipping is free above ₹999.", "Free shipping on this one.", 129900,
     (True, "the policy: free delivery from ₹999.00; order ORD-1001 is ₹1,299.00")),
    # the reply states the condition itself: as the policy's, or a lower one the policy doesn't give
    ("Shipping is free above ₹999.", "Free shipping on orders above ₹999!", 79900,
     (True, "the policy: free delivery from ₹999.00")),
    ("Free delivery on orders over Rs. 999.", "Free shipping on orders over ₹499.", 79900,
     (False, "the policy: free delivery from ₹999.00")),
    ("We offer free delivery across India.", "Free shipping on this one.", 79900,
     (True, "the policy offers free delivery")),
    ("Delivery charges of ₹50 apply.", "Free shipping on this one.", 79900,
     (False, "the policy charges for delivery")),
])
def test_free_delivery_is_checked_against_the_policys_threshold(app, world, policy, text, order_total, found):
    with app.app_context():
        profile = db.session.scalar(select(BusinessProfile).where(BusinessProfile.tenant_id == world.a.tenant_id))
        profile.policies = policy
        order = db.session.scalar(select(Order).where(Order.tenant_id == world.a.tenant_id,
                                                      Order.number == "ORD-1001"))
        order.total_minor = order_total
        db.session.commit()
        db.session.remove()
    rows = _record(app, world, text)
    assert [(r[3], r[4]) for r in rows if r[0] == "delivery"] == [found]
