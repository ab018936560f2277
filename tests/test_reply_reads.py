"""What a reply reads before the model is asked, and how few transactions it takes.

The reply job reads the conversation, the customer's orders and the chat so far in one
transaction; only the reply's own writes and the send's outcome follow. These tests pin the
behaviour that this reading must keep: orders placed before or by the reply count in the
lead score, and a conversation id never crosses tenants."""
from __future__ import annotations

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import event, select

from app.extensions import db
from app.models import Conversation, Direction, Message
from app.services import checkout, replies
from app.services.playground import customer_says
from tests.groq_fake import completion, fake_groq


@pytest.fixture
def groq_on(app, monkeypatch):
    with fake_groq(app, monkeypatch) as route:
        yield route


def says(app, world, text: str, tenant: str = "a", user: str = "staff_a") -> tuple[int, int, int]:
    """(message id, tenant id, conversation id) of what the tenant's test customer wrote."""
    rows = getattr(world, tenant)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == user))
        (item,) = customer_says(rows.tenant_id, user, text)
        conv_id = db.session.get(Message, item[0]).conversation_id
        db.session.remove()
    return (*item, conv_id)


def conversation(app, conv_id: int) -> Conversation:
    with app.app_context():
        conv = db.session.get(Conversation, conv_id)
        db.session.expunge(conv)
        db.session.remove()
        return conv


def replies_in(app, conv_id: int) -> list[str]:
    with app.app_context():
        texts = db.session.scalars(select(Message.text).where(
            Message.conversation_id == conv_id, Message.direction == Direction.OUT)).all()
        db.session.remove()
        return texts


def test_an_order_placed_by_the_reply_counts_in_the_lead_score(app, world, groq_on):
    groq_on.side_effect = [
        completion(tool_calls=[("create_order", {"items": [{"product_id": world.a["product"], "quantity": 1}]})]),
        completion("Done! 1 × Prod-A, total ₹799.00."),
    ]
    message_id, tenant_id, conv_id = says(app, world, "I'll take one Prod-A")
    with app.app_context():
        assert replies.answer(message_id, tenant_id, conv_id) == "answered"
    # read before the model, the conversation had no order; the reply's own order must count
    assert conversation(app, conv_id).lead_score >= 85


def test_an_earlier_order_of_the_conversation_counts_in_the_lead_score(app, world, groq_on):
    groq_on.side_effect = [completion("Your order is on its way to payment.")]
    message_id, tenant_id, conv_id = says(app, world, "hello again")
    with app.app_context():
        conv = db.session.get(Conversation, conv_id)
        checkout.place_order(tenant_id, conv.customer_id, conv.id, [(world.a["product"], 1)], source="agent")
        db.session.remove()
        assert replies.answer(message_id, tenant_id, conv_id) == "answered"
    assert conversation(app, conv_id).lead_score >= 85


def test_a_reply_with_its_conversation_known_takes_three_transactions(app, world, groq_on):
    """Read everything, write the reply, record the send: no transaction of its own for the
    customer's name, the orders or the chat history."""
    groq_on.side_effect = [completion("Hi! How can I help?")]
    message_id, tenant_id, conv_id = says(app, world, "hi")
    commits = []
    with app.app_context():
        listener = lambda conn: commits.append(1)  # noqa: E731
        event.listen(db.engine, "commit", listener)
        try:
            assert replies.answer(message_id, tenant_id, conv_id) == "answered"
        finally:
            event.remove(db.engine, "commit", listener)
    assert replies_in(app, conv_id) == ["Hi! How can I help?"]
    assert len(commits) == 3


def test_a_conversation_id_never_crosses_tenants(app, world, groq_on):
    groq_on.side_effect = [completion("should not be sent")]
    a_msg, a_tenant, a_conv = says(app, world, "hi from A")
    b_msg, b_tenant, b_conv = says(app, world, "hi from B", tenant="b", user="owner_b")
    with app.app_context():
        # B's tenant with A's conversation, and A's message with B's conversation
        assert replies.answer(a_msg, b_tenant, a_conv) == "already handled"
        assert replies.answer(a_msg, a_tenant, b_conv) == "already handled"
        assert replies.answer(b_msg, a_tenant, b_conv) == "already handled"
    assert replies_in(app, a_conv) == [] and replies_in(app, b_conv) == []
    assert not groq_on.called
    with app.app_context():
        unanswered = db.session.scalars(select(Message.id).where(
            Message.id.in_([a_msg, b_msg]), Message.handled_at.is_(None))).all()
    assert sorted(unanswered) == sorted([a_msg, b_msg])


def test_the_model_sees_the_chat_so_far_in_order(app, world, groq_on):
    import json

    groq_on.side_effect = [completion("Hi! How can I help?"), completion("Prod-A is in stock.")]
    first = says(app, world, "hi")
    with app.app_context():
        assert replies.answer(*first) == "answered"
    second = says(app, world, "is Prod-A in stock?")
    with app.app_context():
        assert replies.answer(*second) == "answered"
    sent = json.loads(groq_on.calls[1].request.content)["messages"]
    turns = [(m["role"], m["content"]) for m in sent[1:]]
    assert turns[-3:] == [("user", "hi"), ("assistant", "Hi! How can I help?"),
                          ("user", "is Prod-A in stock?")]
    assert conversation(app, first[2]).id == second[2]


def test_a_delivery_is_stored_and_marked_processed_in_one_flush(app, world):
    """Customer, conversation, message and the delivery's processed mark go out together
    (after a first delivery: the channel's webhook time, recorded once a minute, is its own)."""
    from app.models import WebhookEvent, utcnow
    from app.services.webhook_events import process_meta
    from tests import meta_payloads as mp

    def store(customer: str, mid: str) -> int:
        """As the webhook stores a delivery, without handing it to a job."""
        body = mp.encode(mp.messenger("page-A", mp.text(customer, "page-A", mid, "hello")))
        row = WebhookEvent(source="meta", body=body.decode(), received_at=utcnow())
        db.session.add(row)
        db.session.commit()
        return row.id

    flushes = []
    listener = lambda session, *a: flushes.append(1)  # noqa: E731
    with app.app_context():
        process_meta(store("psid-first", "m_first"), answer_later=False)
        event_id = store("psid-one-flush", "m_one_flush")
        session = db.session()
        event.listen(session, "after_flush", listener)
        try:
            outcome = process_meta(event_id, answer_later=False)
        finally:
            event.remove(session, "after_flush", listener)
        assert outcome.stored == 1 and len(flushes) == 1
        msg = db.session.scalar(select(Message).where(Message.external_id == "m_one_flush"))
        assert msg.conversation.customer.external_id == "psid-one-flush"
        assert db.session.get(WebhookEvent, event_id).processed_at is not None
