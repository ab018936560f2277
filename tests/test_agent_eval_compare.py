"""Evaluation set, part two: comparisons and conversations that remember, against the demo
catalog through the real path (Playground ingest -> answer job -> agent -> guardrails -> send).

Every expectation is read from the database, not written into the test: the prices the reply
must show, which product is cheaper, the order rows and the stock held. Each case runs with the
offline agent, and the LLM cases with Groq faked at HTTP, where what is checked is what our
tools handed the model and what our guardrails let through.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.ai.agent import SAFE_REPLY
from app.ai.guardrails import amounts_minor
from app.extensions import db
from app.models import Campaign, Message, Order, OrderStatus, Product, Tenant
from app.money import format_money
from app.services import playground
from tests.conftest import seeded_demo
from tests.groq_fake import completion, fake_groq
from tests.test_agent_eval import Chat

S = OrderStatus
RESULTS: dict[str, bool] = {}
OUR_PRICES_ANSWER = "Our prices are already the best we can offer"


@pytest.fixture(scope="module")
def demo_app(app):
    with seeded_demo(app):
        yield app
    print(f"\ncomparison and memory evaluation: {sum(RESULTS.values())}/{len(RESULTS)} cases passed")


@pytest.fixture(autouse=True)
def _clean(app):  # the demo stays for the whole module (overrides the per-test truncation)
    yield


def record(case: str, ok: bool):
    RESULTS[case] = ok
    assert ok, case


class Catalog:
    """The demo store's products as the database has them now."""

    def __init__(self, app):
        with app.app_context():
            self.tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == "demo-store"))
            rows = db.session.scalars(select(Product).where(Product.tenant_id == self.tenant_id)).all()
            self.by_sku = {p.sku: (p.id, p.name, p.price_minor) for p in rows}
            objections = db.session.scalars(select(Campaign.objection_handling).where(
                Campaign.tenant_id == self.tenant_id)).all()
            self.objections = [o.split(".")[0] for o in objections if o]
            db.session.remove()

    def id(self, sku: str) -> int:
        return self.by_sku[sku][0]

    def name(self, sku: str) -> str:
        return self.by_sku[sku][1]

    def minor(self, sku: str) -> int:
        return self.by_sku[sku][2]

    def price(self, sku: str) -> str:
        return format_money(self.minor(sku), "INR")

    def cheaper(self, *skus) -> str:
        return self.name(min(skus, key=self.minor))

    def no_objection_script(self, text: str) -> bool:
        return OUR_PRICES_ANSWER not in text and not any(o in text for o in self.objections)

    def only_catalog_figures(self, reply: Message, *skus) -> bool:
        """Every amount is a price of the compared products or a difference between them."""
        prices = {self.minor(s) for s in skus}
        allowed = prices | {abs(a - b) for a in prices for b in prices}
        return all(a in allowed for a in amounts_minor(reply.text)) and "guardrail" not in (reply.payload or {})


@pytest.fixture(scope="module")
def cat(demo_app):
    return Catalog(demo_app)


def tools_used(reply: Message) -> list[str]:
    return [c["tool"] for c in (reply.payload or {}).get("tools", [])]


def compares(cat: Catalog, reply: Message, *skus) -> bool:
    """Names and prices of every product, in the money format the agent uses."""
    return all(cat.name(s) in reply.text and cat.price(s) in reply.text for s in skus)


# ------------------------------------------------------------------------------ comparisons


@pytest.mark.parametrize("question", [
    "Which is cheaper, the indigo kurta or the mustard kurti?",
    "indigo kurta ya mustard kurti, kaunsa sasta hai?",
    "which is cheapr, the indgo kurta or the mustrd kurti?",
    "mustard chikankari kurti vs indigo block print kurta",
    "compare the indigo kurta and the mustard kurti",
    "difference between the mustard kurti and the indigo kurta?",
    "Mustard kurti aur indigo kurta mein kya fark hai?",
])
def test_which_is_cheaper(demo_app, cat, question):
    r = Chat(demo_app, "cheaper").say(question)
    skus = ("RZ-KUR-001", "RZ-KUR-002")
    record(f"compare: {question}", compares(cat, r, *skus)
           and f"{cat.cheaper(*skus)} is the cheaper one" in r.text
           and cat.no_objection_script(r.text) and cat.only_catalog_figures(r, *skus)
           and tools_used(r) == ["compare_products"] and not (r.payload or {}).get("order_intent"))


def test_which_is_more_expensive(demo_app, cat):
    r = Chat(demo_app, "dearer").say("which is more expensive, the teal palazzo set or the rust anarkali?")
    skus = ("RZ-SET-001", "RZ-SET-002")
    dearer = cat.name(max(skus, key=cat.minor))
    record("compare: more expensive", compares(cat, r, *skus) and f"{dearer} is the more expensive one" in r.text
           and cat.only_catalog_figures(r, *skus))


def test_better_for_summer_is_answered_from_the_descriptions(demo_app, cat):
    r = Chat(demo_app, "summer").say("Sage mulmul saree or maroon banarasi, which is better for summer?")
    with demo_app.app_context():
        sage = db.session.get(Product, cat.id("RZ-SAR-002")).description
        db.session.remove()
    record("compare: better for summer", compares(cat, r, "RZ-SAR-001", "RZ-SAR-002")
           and r.text.startswith(f"{cat.name('RZ-SAR-002')} ({cat.price('RZ-SAR-002')}) looks better for summer")
           and sage.rstrip(".") in r.text and cat.only_catalog_figures(r, "RZ-SAR-001", "RZ-SAR-002"))


def test_lighter_is_answered_from_the_descriptions(demo_app, cat):
    r = Chat(demo_app, "lighter").say("which is lighter, the ivory kurti or the maroon saree")
    record("compare: lighter", compares(cat, r, "RZ-KUR-003", "RZ-SAR-001")
           # the ivory kurti is sold out, and the reply says so
           and f"{cat.name('RZ-KUR-003')} ({cat.price('RZ-KUR-003')}, out of stock right now) looks lighter" in r.text)


def test_an_attribute_the_catalog_is_silent_on_is_said_honestly(demo_app, cat):
    r = Chat(demo_app, "office").say("indigo kurta or mustard kurti, which is better for the office?")
    skus = ("RZ-KUR-001", "RZ-KUR-002")
    record("compare: catalog silent", compares(cat, r, *skus) and "doesn't say which is better for the office" in r.text
           and "help you choose" in r.text and f"{cat.cheaper(*skus)} is the cheaper one" in r.text)


def test_three_products(demo_app, cat):
    r = Chat(demo_app, "three").say("indigo kurta vs mustard kurti vs teal palazzo set, which is cheapest?")
    skus = ("RZ-KUR-001", "RZ-KUR-002", "RZ-SET-002")
    record("compare: three", compares(cat, r, *skus) and f"{cat.cheaper(*skus)} is the cheapest" in r.text
           and cat.only_catalog_figures(r, *skus))


def test_only_one_product_found_says_so(demo_app, cat):
    r = Chat(demo_app, "one found").say("which is cheaper, the indigo kurta or the silk lehenga?")
    record("compare: one found", cat.name("RZ-KUR-001") in r.text and cat.price("RZ-KUR-001") in r.text
           and "couldn't match \"silk lehenga\"" in r.text and "Maroon" not in r.text
           and cat.no_objection_script(r.text))


def test_which_one_is_cheaper_compares_what_was_just_shown(demo_app, cat):
    chat = Chat(demo_app, "shown")
    chat.say("show me the sarees")
    r = chat.say("which one is cheaper?")
    skus = ("RZ-SAR-001", "RZ-SAR-002")
    record("compare: what was shown", compares(cat, r, *skus) and f"{cat.cheaper(*skus)} is the cheaper one" in r.text
           and cat.no_objection_script(r.text))


def test_a_price_objection_is_still_an_objection(demo_app, cat):
    r = Chat(demo_app, "objection").say("too expensive, can you make the indigo kurta cheaper?")
    record("objection stays", not cat.no_objection_script(r.text) and "compare_products" not in tools_used(r))


# ------------------------------------------------------------------------------ memory


def conversation_orders(demo_app, chat: Chat) -> list[tuple[str, str, list[tuple[int, int]], int]]:
    """(number, status, [(product id, quantity)], total_minor) of the chat's orders, oldest first."""
    with demo_app.app_context():
        conv = playground.current_conversation(chat.tenant_id, chat.user_id)
        out = [(o.number, str(o.status), [(i.product_id, i.quantity) for i in o.items], o.total_minor)
               for o in db.session.scalars(select(Order).where(Order.conversation_id == conv.id).order_by(Order.id))]
        db.session.remove()
        return out


def held(demo_app, product_id: int) -> int:
    with demo_app.app_context():
        value = db.session.get(Product, product_id).reserved
        db.session.remove()
        return value


def sent_to_customer(demo_app, chat: Chat) -> list[str]:
    with demo_app.app_context():
        conv = playground.current_conversation(chat.tenant_id, chat.user_id)
        texts = db.session.scalars(select(Message.text).where(
            Message.conversation_id == conv.id, Message.direction == "out").order_by(Message.id)).all()
        db.session.remove()
        return list(texts)


def test_the_blue_one_then_make_that_3(demo_app, cat, run_jobs):
    chat = Chat(demo_app, "blue")
    indigo, price = cat.id("RZ-KUR-001"), cat.minor("RZ-KUR-001")
    before = held(demo_app, indigo)
    chat.say("Which is cheaper, the indigo kurta or the mustard kurti?")
    r = chat.say("I'll take the blue one")
    run_jobs()  # its payment link goes out, as it would before the customer answers
    first = conversation_orders(demo_app, chat)
    ok = first == [(first[0][0], "pending_payment", [(indigo, 1)], price)] and held(demo_app, indigo) == before + 1
    r = chat.say("make that 3")
    run_jobs()
    orders = conversation_orders(demo_app, chat)
    new = orders[-1]
    record("memory: the blue one, make that 3", ok and len(orders) == 2
           and orders[0][:2] == (first[0][0], "cancelled")
           and new[1:] == ("pending_payment", [(indigo, 3)], 3 * price)
           and held(demo_app, indigo) == before + 3
           and new[0] in r.text and format_money(3 * price, "INR") in r.text
           and any(new[0] in t and "Pay here" in t for t in sent_to_customer(demo_app, chat)))


def test_i_want_it_then_2_of_those(demo_app, cat, run_jobs):
    chat = Chat(demo_app, "want it")
    mustard, price = cat.id("RZ-KUR-002"), cat.minor("RZ-KUR-002")
    before = held(demo_app, mustard)
    chat.say("How much is the mustard kurti?")
    chat.say("I want it")
    run_jobs()
    chat.say("2 of those")
    run_jobs()
    orders = conversation_orders(demo_app, chat)
    record("memory: I want it, 2 of those", [o[1:] for o in orders] == [
        ("cancelled", [(mustard, 1)], price), ("pending_payment", [(mustard, 2)], 2 * price)]
        and held(demo_app, mustard) == before + 2)


@pytest.mark.parametrize("words", ["I'll take it", "book it", "I want that one", "ok le lunga 2"])
def test_it_is_the_product_just_discussed(demo_app, cat, run_jobs, words):
    chat = Chat(demo_app, "it")
    chat.say("tell me about the rust anarkali set")
    r = chat.say(words)
    run_jobs()
    anarkali, price = cat.id("RZ-SET-001"), cat.minor("RZ-SET-001")
    qty = 2 if "2" in words else 1
    record(f"memory: {words}", [o[1:] for o in conversation_orders(demo_app, chat)]
           == [("pending_payment", [(anarkali, qty)], qty * price)] and format_money(qty * price) in r.text)


def test_yes_please_orders_what_was_offered(demo_app, cat, run_jobs):
    chat = Chat(demo_app, "yes")
    chat.say("Is the phulkari dupatta available?")
    r = chat.say("yes please")
    run_jobs()
    dupatta = cat.id("RZ-DUP-001")
    record("memory: yes please", [o[1:3] for o in conversation_orders(demo_app, chat)]
           == [("pending_payment", [(dupatta, 1)])] and cat.price("RZ-DUP-001") in r.text)


def test_book_it_after_a_comparison_asks_which(demo_app, cat):
    chat = Chat(demo_app, "which")
    chat.say("sage saree vs maroon saree")
    r = chat.say("book it")
    record("memory: ambiguous it", "Which one would you like?" in r.text
           and compares(cat, r, "RZ-SAR-001", "RZ-SAR-002") and not conversation_orders(demo_app, chat))


def test_colour_variants_by_name_and_by_features(demo_app, run_jobs):
    """Products named "Kurta - Blue"/"Kurta - Red", and others whose colour is only in their
    features: "the red one" / "the blue one" picks the right one."""
    cat = Catalog(demo_app)
    rows = [("EV-1", "Summer Kurta - Blue", 99900, ""), ("EV-2", "Summer Kurta - Red", 104900, ""),
            ("EV-3", "Chanderi Festive Kurta", 149900, "Colour: maroon\nChanderi silk"),
            ("EV-4", "Chanderi Everyday Kurta", 139900, "Colour: indigo\nChanderi cotton")]
    with demo_app.app_context():
        added = {sku: Product(tenant_id=cat.tenant_id, sku=sku, name=name, price_minor=price, stock=5,
                              currency="INR", features=features) for sku, name, price, features in rows}
        db.session.add_all(added.values())
        db.session.commit()
        ids = {sku: p.id for sku, p in added.items()}
        db.session.remove()
    try:
        chat = Chat(demo_app, "variants")
        chat.say("do you have the summer kurta?")
        chat.say("I'll take the red one")
        run_jobs()
        by_name = [o[1:3] for o in conversation_orders(demo_app, chat)]
        chat = Chat(demo_app, "features")
        chat.say("show me the chanderi kurtas")
        r = chat.say("I want the blue one")
        run_jobs()
        by_features = [o[1:3] for o in conversation_orders(demo_app, chat)]
        record("memory: colour variants", by_name == [("pending_payment", [(ids["EV-2"], 1)])]
               and by_features == [("pending_payment", [(ids["EV-4"], 1)])]
               and "Chanderi Everyday Kurta" in r.text and "₹1,399.00" in r.text)
    finally:
        with demo_app.app_context():
            for product in db.session.scalars(select(Product).where(Product.id.in_(ids.values()))):
                product.active = False
            db.session.commit()
            db.session.remove()


# ------------------------------------------------------------------------------ the LLM path


@pytest.fixture
def groq_script(demo_app, monkeypatch):
    with fake_groq(demo_app, monkeypatch) as route:
        yield route


def sent_body(route, n: int) -> dict:
    return json.loads(route.calls[n].request.content)


def test_groq_comparison_gets_both_catalog_prices_and_a_false_price_is_stopped(demo_app, cat, groq_script):
    skus = ("RZ-KUR-001", "RZ-KUR-002")
    groq_script.side_effect = [
        completion(tool_calls=[("compare_products", {"names": ["indigo kurta", "mustard kurti"]})]),
        completion(f"{cat.name('RZ-KUR-001')} is just ₹699.00, {cat.name('RZ-KUR-002')} is {cat.price('RZ-KUR-002')}."),
        completion(f"{cat.name('RZ-KUR-001')} is ₹649.00 today!"),
    ]
    r = Chat(demo_app, "g-compare").say("Which is cheaper, the indigo kurta or the mustard kurti?")
    tool_msg = sent_body(groq_script, 1)["messages"][-1]
    result = json.loads(tool_msg["content"])
    record("groq: comparison", tool_msg["role"] == "tool"
           and {(c["name"], c["price"]) for c in result["products"]} == {(cat.name(s), cat.price(s)) for s in skus}
           and result["cheapest"] == cat.cheaper(*skus)
           and result["price_difference"] == format_money(cat.minor("RZ-KUR-002") - cat.minor("RZ-KUR-001"))
           and r.text == SAFE_REPLY and "₹699.00" in " ".join(r.payload["guardrail"]["problems"]))


def test_groq_comparison_may_state_the_difference_our_tool_computed(demo_app, cat, groq_script):
    gap = format_money(cat.minor("RZ-SAR-001") - cat.minor("RZ-SAR-002"))
    groq_script.side_effect = [
        completion(tool_calls=[("compare_products", {"names": ["maroon saree", "sage saree"]})]),
        completion(f"The {cat.name('RZ-SAR-002')} ({cat.price('RZ-SAR-002')}) is {gap} cheaper than the "
                   f"{cat.name('RZ-SAR-001')} ({cat.price('RZ-SAR-001')})."),
    ]
    r = Chat(demo_app, "g-gap").say("maroon saree vs sage saree, which is cheaper?")
    record("groq: difference allowed", "guardrail" not in r.payload and gap in r.text
           and r.payload["tools"] == [{"tool": "compare_products", "args": {"names": ["maroon saree", "sage saree"]},
                                       "ok": True}])


def test_groq_make_that_3_changes_the_pending_order(demo_app, cat, groq_script, run_jobs):
    indigo, price = cat.id("RZ-KUR-001"), cat.minor("RZ-KUR-001")
    before = held(demo_app, indigo)
    groq_script.side_effect = [
        completion(tool_calls=[("create_order", {"items": [{"product_id": indigo, "quantity": 1}]})]),
        completion(f"Done! 1 × {cat.name('RZ-KUR-001')}, total {cat.price('RZ-KUR-001')}."),
        completion(tool_calls=[("change_order", {"quantity": 3})]),
        completion(f"Updated: 3 × {cat.name('RZ-KUR-001')}, total {format_money(3 * price)}."),
    ]
    chat = Chat(demo_app, "g-change")
    chat.say("I'll take the indigo kurta")
    run_jobs()
    first = conversation_orders(demo_app, chat)[0][0]
    r = chat.say("make that 3")
    run_jobs()
    seen = [m["content"] for m in sent_body(groq_script, 2)["messages"] if m["role"] != "system"]
    result = json.loads(sent_body(groq_script, 3)["messages"][-1]["content"])
    orders = conversation_orders(demo_app, chat)
    record("groq: make that 3", seen[0] == "I'll take the indigo kurta" and any(first in t for t in seen)
           and result["replaces"] == first and result["total_minor"] == 3 * price
           and result["total"] == format_money(3 * price) and result["number"] == orders[-1][0]
           and [o[1:] for o in orders] == [("cancelled", [(indigo, 1)], price),
                                           ("pending_payment", [(indigo, 3)], 3 * price)]
           and held(demo_app, indigo) == before + 3 and r.payload["order_intent"]["total_minor"] == 3 * price)
