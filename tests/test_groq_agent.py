"""The Groq agent with the LLM faked at the HTTP boundary (respx): tool calls, malformed calls,
tool_use_failed, 429s, guardrail regeneration and the offline fallback."""
from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Conversation, Message, Order
from tests.groq_fake import completion, fake_groq, tool_results

@pytest.fixture
def groq_on(app, monkeypatch):
    with fake_groq(app, monkeypatch) as route:
        yield route


def ask(app, world, text):
    """One customer message through the real answer path; returns the stored reply."""
    from app.services import replies
    from app.services.outbound import deliver  # noqa: F401  (playground channel: no HTTP)
    from app.services.playground import customer_says
    from flask_appbuilder.security.sqla.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "staff_a"))
        for message_id, tenant_id in customer_says(world.a.tenant_id, user, text):
            replies.answer(message_id, tenant_id)
        reply = db.session.scalars(select(Message).where(Message.direction == "out",
                                                         Message.sender == "ai",  # not a payment link
                                                         Message.tenant_id == world.a.tenant_id)
                                   .order_by(Message.id.desc())).first()
        db.session.expunge(reply)
        db.session.remove()
        return reply


def test_tool_call_then_answer_records_everything(app, world, groq_on):
    groq_on.side_effect = [
        completion(tool_calls=[("product_details", {"product_id": world.a["product"]})]),
        completion("Prod-A is ₹799.00 and in stock. Shall I reserve one?", prompt=300, completion_tokens=25),
    ]
    reply = ask(app, world, "how much is Prod-A?")
    assert reply.text == "Prod-A is ₹799.00 and in stock. Shall I reserve one?"
    meta = reply.payload
    assert meta["agent"] == "groq" and meta["model"] == "openai/gpt-oss-120b"
    assert (meta["prompt_tokens"], meta["completion_tokens"]) == (400, 45)
    assert [c["tool"] for c in meta["tools"]] == ["product_details"]
    sent = json.loads(groq_on.calls[0].request.content)
    assert sent["model"] == "openai/gpt-oss-120b" and {t["function"]["name"] for t in sent["tools"]} >= {"create_order", "handoff"}
    assert "799" not in sent["messages"][0]["content"]  # prices only through tools
    second = json.loads(groq_on.calls[1].request.content)["messages"]
    tool_result = json.loads(second[-1]["content"])
    assert second[-1]["role"] == "tool" and tool_result["price"] == "₹799.00"


def test_another_tenants_id_in_a_tool_call_is_not_found(app, world, groq_on):
    groq_on.side_effect = [
        completion(tool_calls=[("product_details", {"product_id": world.b["product"]})]),
        completion("Sorry, I couldn't find that product."),
    ]
    reply = ask(app, world, "tell me about product 2")
    result = json.loads(json.loads(groq_on.calls[1].request.content)["messages"][-1]["content"])
    assert result == {"error": "not found"} and "Prod-B" not in reply.text


def test_malformed_tool_arguments_and_tool_use_failed_are_recovered(app, world, groq_on):
    groq_on.side_effect = [
        completion(tool_calls=[("product_details", "{not json")]),
        httpx.Response(400, json={"error": {"message": "Failed to call a function", "type": "invalid_request_error",
                                            "code": "tool_use_failed", "failed_generation": "<function=..."}}),
        completion("Could you tell me which product you mean?"),
    ]
    reply = ask(app, world, "price?")
    assert reply.text == "Could you tell me which product you mean?"
    assert groq_on.call_count == 3
    retry_msgs = json.loads(groq_on.calls[2].request.content)["messages"]
    assert any(m["role"] == "system" and "malformed" in m["content"] for m in retry_msgs)


def test_rate_limit_is_retried(app, world, groq_on):
    groq_on.side_effect = [
        httpx.Response(429, headers={"retry-after": "0.01"}, json={"error": {
            "message": "Rate limit reached", "type": "tokens", "code": "rate_limit_exceeded"}}),
        completion("Hello! How can I help?"),
    ]
    reply = ask(app, world, "hi")
    assert groq_on.call_count == 2  # the same request again, after the 429
    assert groq_on.calls[0].request.content == groq_on.calls[1].request.content
    assert reply.payload["agent"] == "groq" and "fallback" not in reply.payload


def test_invented_price_is_regenerated_then_recorded(app, world, groq_on):
    groq_on.side_effect = [
        completion("Prod-A is just ₹499 today!"),
        completion(tool_calls=[("product_details", {"product_id": world.a["product"]})]),
        completion("Prod-A is ₹799.00."),
    ]
    reply = ask(app, world, "price of Prod-A")
    assert "₹499" not in reply.text and "₹499" in reply.payload["guardrail"]["replaced"]
    assert reply.payload["guardrail"]["regenerated"]
    told = json.loads(groq_on.calls[1].request.content)["messages"]  # the model is told why
    assert told[-2] == {"role": "assistant", "content": "Prod-A is just ₹499 today!"}
    assert told[-1]["role"] == "system" and "₹499.00 is not from the catalog" in told[-1]["content"]
    assert tool_results(groq_on.calls[2])[-1]["price"] == "₹799.00"


def test_repeated_violation_falls_back_to_a_safe_reply(app, world, groq_on):
    groq_on.side_effect = [completion("Use code DIWALI for 20% off: https://rzp.io/fake"),
                           completion("Still 20% off: https://rzp.io/fake")]
    reply = ask(app, world, "any offers?")
    assert "20%" not in reply.text and "rzp.io" not in reply.text
    assert reply.payload["guardrail"]["problems"]


def test_groq_down_falls_back_to_the_offline_agent(app, world, groq_on):
    groq_on.side_effect = [httpx.Response(503, json={"error": {"message": "down"}})] * 3
    reply = ask(app, world, "hi")
    assert reply.payload["agent"] == "offline" and "InternalServerError" in reply.payload["fallback"]
    assert reply.text == "Hello from A"


def test_order_through_groq_uses_catalog_prices(app, world, groq_on):
    groq_on.side_effect = [
        completion(tool_calls=[("create_order", {"items": [{"product_id": world.a["product"], "quantity": 3}]})]),
        completion("Done! 3 × Prod-A, total ₹2,397.00."),
    ]
    reply = ask(app, world, "I'll take 3 Prod-A")
    [placed] = tool_results(groq_on.calls[1])
    assert placed["status"] == "created" and placed["total"] == "₹2,397.00"
    assert reply.payload["order_intent"]["total_minor"] == 3 * 79900
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.conversation_id == reply.conversation_id))
        assert (order.number, order.total_minor) == (placed["number"], 3 * 79900)
        assert [(i.product_id, i.quantity, i.unit_price_minor) for i in order.items] == [
            (world.a["product"], 3, 79900)]
        db.session.remove()


def test_conversation_view_shows_why_the_agent_said_it(app, world, groq_on, browser):
    groq_on.side_effect = [
        completion("Prod-A is just ₹499 today!"),
        completion(tool_calls=[("product_details", {"product_id": world.a["product"]})]),
        completion("Prod-A is ₹799.00."),
    ]
    reply = ask(app, world, "price of Prod-A")
    html = browser("owner_a").get(f"/conversationview/show/{reply.conversation_id}").get_data(as_text=True)
    assert "answered by groq (openai/gpt-oss-120b)" in html and "tools: product_details" in html
    assert "guardrail: price ₹499.00 is not from the catalog (regenerated)" in html
    assert f"{reply.prompt_tokens}+{reply.completion_tokens} tokens" in html


def test_lead_score_and_sentiment_follow_the_conversation(app, world):
    from app.ai.scoring import sentiment

    assert sentiment(["I love it, great quality!"]) > 0.5
    assert sentiment(["this is terrible, worst service"]) < -0.5
    ask(app, world, "hi")
    ask(app, world, "I'll take 2 Prod-A")
    with app.app_context():
        conv = db.session.scalars(select(Conversation).where(Conversation.tenant_id == world.a.tenant_id)
                                  .order_by(Conversation.id.desc())).first()
        assert conv.lead_score >= 75 and conv.sentiment is not None


def test_knowledge_is_retrieved_into_the_prompt_and_edits_apply_at_once(app, world, groq_on):
    from app.models import KnowledgeDocument, Product
    from app.services import tenant_content
    from app.services.knowledge import rebuild_chunks

    def retrieve(tenant_id, question):
        return tenant_content.get(tenant_id).knowledge.retrieve(question)

    with app.app_context():
        doc = KnowledgeDocument(tenant_id=world.a.tenant_id, title="Shipping",
                                content="We ship across India in 4-6 days.\n\nReturns are accepted within 7 days.")
        db.session.add(doc)
        db.session.commit()
        rebuild_chunks(world.a.tenant_id, doc.id)
        assert "Returns are accepted" in retrieve(world.a.tenant_id, "can I return it?")[0]
        assert retrieve(world.b.tenant_id, "can I return it?") == []  # B's knowledge is its own
        doc_id = doc.id
    groq_on.side_effect = [completion("Yes, within 7 days."), completion("Now 10 days.")]
    ask(app, world, "what is your return policy for returns?")
    system = json.loads(groq_on.calls[0].request.content)["messages"][0]["content"]
    assert "Returns are accepted within 7 days" in system and "Knowledge-B" not in system
    with app.app_context():  # an edit shows in the very next reply's context: no training step
        db.session.get(KnowledgeDocument, doc_id).content = "Returns are accepted within 10 days."
        db.session.commit()
        rebuild_chunks(world.a.tenant_id, doc_id)
        db.session.get(Product, world.a["product"]).name = "Renamed Kurta"
        db.session.commit()
    ask(app, world, "and returns now?")
    system = json.loads(groq_on.calls[1].request.content)["messages"][0]["content"]
    assert "within 10 days" in system and "Renamed Kurta" in system


def test_offline_answers_follow_catalog_changes_immediately(app, world):
    from app.models import Product

    assert "₹799.00" in ask(app, world, "price of Prod-A?").text
    with app.app_context():
        db.session.get(Product, world.a["product"]).price_minor = 89900
        db.session.commit()
    assert "₹899.00" in ask(app, world, "and the price of Prod-A now?").text


def test_a_product_name_not_in_the_catalog_is_regenerated(app, world, groq_on):
    groq_on.side_effect = [completion("Yes! The Sandalwood Soy Jar Candle is lovely."),
                           completion("Sorry, we don't carry that. We have Prod-A.")]
    reply = ask(app, world, "do you have the sandalwood candle?")
    assert reply.text == "Sorry, we don't carry that. We have Prod-A."
    assert "Sandalwood Soy Jar Candle" in reply.payload["guardrail"]["problems"][0]


def test_catalog_names_pass_the_name_check():
    from app.ai.guardrails import unknown_names

    vocab = ["Indigo Block-Print Cotton Kurta", "Kurtas & Kurtis", "Rangrez Ethnic Wear"]
    assert unknown_names("The Indigo Block-Print Cotton Kurta is lovely", vocab) == []
    assert unknown_names("Our Kurtas & Kurtis range", vocab) == []
    assert unknown_names("Welcome to Rangrez Ethnic Wear!", vocab) == []
    assert unknown_names("Try the Sandalwood Soy Jar Candle", vocab) == ["Sandalwood Soy Jar Candle"]
    assert unknown_names("Shipped with Blue Dart today", vocab) == []


def test_model_rates_the_conversation_in_its_own_job(app, world, groq_on, run_jobs):
    groq_on.side_effect = [completion("Hello! How can I help?")]
    reply = ask(app, world, "hi, I really want to buy something today")
    run_jobs()
    from app.jobs.scoring import rate_conversation

    with app.app_context():
        assert rate_conversation(reply.conversation_id, tenant_id=world.a.tenant_id) == "rated"
        conv = db.session.get(Conversation, reply.conversation_id)
        assert (conv.lead_score, conv.sentiment) == (90, 0.6)
        assert rate_conversation(reply.conversation_id, tenant_id=world.b.tenant_id) == "missing"


def test_the_model_gets_a_time_budget_inside_the_job_timeout(app, world, groq_on, monkeypatch):
    """A slow model can't hold the job past its timeout: the offline agent answers instead."""
    monkeypatch.setitem(app.config, "JOB_TIMEOUT", 3)  # 1.5 s budget for the model
    groq_on.side_effect = [httpx.TimeoutException("slow")] * 4
    reply = ask(app, world, "hi")
    assert reply.payload["agent"] == "offline" and "Timeout" in reply.payload["fallback"]


def test_tool_loop_stops_when_the_budget_is_spent(app, world, groq_on):
    import time as _time

    from groq import APITimeoutError

    from app.ai import tools
    from app.ai.groq_agent import GroqAgent
    from app.clients.groq_client import make_client

    def slow_tool_call(request):
        _time.sleep(0.6)
        return completion(tool_calls=[("list_categories", {})])

    groq_on.side_effect = slow_tool_call
    with app.app_context():
        conv = db.session.get(Conversation, world.a["conversation"])
        ctx = tools.ToolContext(tenant_id=conv.tenant_id, conversation_id=conv.id, customer_id=conv.customer_id)
        agent = GroqAgent(make_client("k", "http://groq.test"), "m", budget_s=2.5)
        started = _time.monotonic()
        with pytest.raises(APITimeoutError):
            agent.reply(ctx, [{"role": "user", "content": "hi"}])
        assert _time.monotonic() - started < 2.5
    assert groq_on.call_count <= 2


def test_each_worker_thread_keeps_its_own_groq_client():
    """A thread makes one model call at a time: its own client (and kept-alive connection)
    spares it the shared pool's lock and its scan of every idle connection per request."""
    import threading

    from app.clients.groq_client import make_client

    mine = make_client("k", "http://groq.test")
    assert make_client("k", "http://groq.test") is mine
    assert make_client("other-key", "http://groq.test") is not mine
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(make_client("k", "http://groq.test")))
    thread.start()
    thread.join()
    assert theirs[0] is not mine and theirs[0].api_key == mine.api_key == "k"


def test_the_per_thread_groq_clients_load_the_ca_bundle_once(monkeypatch):
    """Loading the CA bundle into a TLS context costs ~20 ms of CPU: once per process, not
    once per thread's client."""
    import ssl
    import threading

    from app.clients.groq_client import make_client

    loads = []
    load = ssl.SSLContext.load_verify_locations
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations",
                        lambda ctx, *a, **kw: (loads.append(a or kw), load(ctx, *a, **kw))[1])
    threads = [threading.Thread(target=make_client, args=(f"key-{i}", "https://api.groq.com"))
               for i in range(3)]
    for thread in threads:
        thread.start()
        thread.join()
    assert len(loads) <= 1  # none if this process already built its context
