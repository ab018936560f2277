"""A customer who writes again while the salesperson's reply is being written gets one reply
to everything they said, unless that reply already acted or the burst has gone on too long."""
from __future__ import annotations

import json

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.extensions import db
from app.models import Direction, Message, Sender
from app.services import replies
from app.services.playground import customer_says
from tests.groq_fake import completion, fake_groq


@pytest.fixture
def groq_on(app, monkeypatch):
    with fake_groq(app, monkeypatch) as route:
        yield route


def says(app, world, text: str) -> tuple[int, int]:
    """The staff member's test customer writes `text` (its own session, as a webhook would)."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "staff_a"))
        (item,) = customer_says(world.a.tenant_id, user, text)
        db.session.remove()
    return item


def writes_while_thinking(app, world, text: str, answers: list):
    """A model that, on its first call, lets the customer send `text` before it answers."""
    later: list[tuple[int, int]] = []

    def model(request):
        if not later:
            later.append(says(app, world, text))
        return answers.pop(0)

    return model, later


def ai_replies(app, tenant_id: int) -> list[Message]:
    with app.app_context():
        rows = db.session.scalars(select(Message).where(
            Message.tenant_id == tenant_id, Message.direction == Direction.OUT,
            Message.sender == Sender.AI).order_by(Message.id)).all()
        db.session.expunge_all()
        db.session.remove()
    return rows


def unanswered(app, tenant_id: int) -> int:
    with app.app_context():
        n = len(db.session.scalars(select(Message.id).where(
            Message.tenant_id == tenant_id, Message.direction == Direction.IN,
            Message.handled_at.is_(None))).all())
        db.session.remove()
    return n


def answer(app, item: tuple[int, int]) -> str:
    with app.app_context():
        return replies.answer(*item)


def test_a_fragment_sent_while_the_model_writes_joins_the_burst(app, world, groq_on):
    groq_on.side_effect, later = writes_while_thinking(app, world, "in blue please", [
        completion("Hi! Which product are you asking about?"),
        completion("Prod-A comes in blue. Shall I reserve one?"),
    ])
    first = says(app, world, "do you have Prod-A")
    assert answer(app, first) == "superseded"  # its reply answered only half of what was said
    assert ai_replies(app, world.a.tenant_id) == [] and unanswered(app, world.a.tenant_id) == 2
    assert answer(app, later[0]) == "answered"
    (reply,) = ai_replies(app, world.a.tenant_id)
    assert reply.text == "Prod-A comes in blue. Shall I reserve one?"
    asked = json.dumps(json.loads(groq_on.calls[-1].request.content)["messages"])
    assert "do you have Prod-A" in asked and "in blue please" in asked
    assert unanswered(app, world.a.tenant_id) == 0


def test_a_reply_that_acted_goes_out_even_if_the_customer_wrote_again(app, world, groq_on):
    """After a handoff (or an order) the reply announcing it must be sent, not rewritten."""
    answers = [completion(tool_calls=[("handoff", {"reason": "wants a person"})]),
               completion("I've asked a colleague to join; they'll reply here shortly.")]
    first = says(app, world, "I want to talk to a person")
    later: list = []

    def model(request):
        if len(answers) == 1:  # the tool ran; the customer writes while the answer is written
            later.append(says(app, world, "hello??"))
        return answers.pop(0)

    groq_on.side_effect = model
    assert answer(app, first) == "answered"
    assert answer(app, later[0]) == "no reply"  # a person has the conversation now
    assert [r.text for r in ai_replies(app, world.a.tenant_id)] == [
        "I've asked a colleague to join; they'll reply here shortly."]


def test_a_burst_that_goes_on_too_long_is_answered_anyway(app, world, groq_on, monkeypatch):
    monkeypatch.setitem(app.config, "REPLY_BURST_MAX_SECONDS", 0)
    groq_on.side_effect, later = writes_while_thinking(app, world, "and another thing", [
        completion("Hello! How can I help?"), completion("Sure, tell me more.")])
    assert answer(app, says(app, world, "hi")) == "answered"
    assert answer(app, later[0]) == "answered"
    assert len(ai_replies(app, world.a.tenant_id)) == 2


def test_no_connection_is_held_while_the_model_thinks(app, world, groq_on):
    """Each database phase of a reply ends before the model is called, so a worker thread
    waiting on the model holds no connection (and no transaction) from the pool."""
    seen = []

    def model(request):
        seen.append(not db.session().in_transaction())  # the answer job's own session
        return completion("Hello! How can I help?")

    groq_on.side_effect = model
    assert answer(app, says(app, world, "what do you sell?")) == "answered"
    assert seen == [True]


def test_a_fragment_stamped_earlier_than_the_one_being_answered_is_answered_with_it(app, world, groq_on):
    """Meta's deliveries can arrive out of order: a fragment whose timestamp sorts before
    the message being answered defers to that message's job, so that job writes the reply
    again, for the whole burst, instead of leaving both unanswered."""
    from datetime import timedelta

    first = says(app, world, "do you have Prod-A")
    later: list[tuple[int, int]] = []
    answers = [completion("Hi! Which product are you asking about?"),
               completion("Prod-A comes in blue. Shall I reserve one?")]

    def model(request):
        if not later:
            later.append(says(app, world, "in blue please"))
            with app.app_context():  # its platform timestamp is older than the first message's
                straggler, newest = db.session.get(Message, later[0][0]), db.session.get(Message, first[0])
                straggler.created_at = newest.created_at - timedelta(seconds=2)
                db.session.commit()
                db.session.remove()
        return answers.pop(0)

    groq_on.side_effect = model
    assert answer(app, first) == "answered"
    (reply,) = ai_replies(app, world.a.tenant_id)
    assert reply.text == "Prod-A comes in blue. Shall I reserve one?"
    assert "in blue please" in groq_on.calls[-1].request.content.decode()
    assert unanswered(app, world.a.tenant_id) == 0
    assert answer(app, later[0]) == "already handled"
    assert len(ai_replies(app, world.a.tenant_id)) == 1
