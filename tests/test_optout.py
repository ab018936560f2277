"""Opt-out on every channel: STOP and its equivalents (English, Hinglish, Hindi) in any case or
punctuation, confirmed once; START opts back in; nothing automated reaches an opted-out
customer, whichever path sends it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Conversation,
    Customer,
    Message,
    MessageStatus,
    Platform,
    RuleAction,
    RuleTrigger,
    Sender,
    utcnow,
)
from app.services import optout, outbound
from tests import meta_payloads as mp
from tests.test_workflows import PAGE, add_channel, add_rule, say, texts

STOPS = ["stop", "STOP", "Stop all", "stopall", "unsubscribe", "UNSUBSCRIBE me", "unsub", "opt out",
         "opt-out", "optout", "quit", "stop sending me messages", "please stop messaging me",
         "don't message me", "do not text me", "band karo", "Band kar do", "bandh karo", "mat bhejo",
         "message mat bhejo", "messages band karo", "बंद करो", "बंद कर दो", "मत भेजो", "मैसेज मत भेजो",
         "भेजना बंद करो", "Stop promotions"]
STARTS = ["start", "START", "Start again", "unstop", "subscribe", "resume", "opt in", "shuru karo",
          "chalu karo", "शुरू करो"]
NOT_COMMANDS = ["non-stop delivery?", "I want to stop by the store", "cancel my order", "is it the last stop",
                "start date of the sale?", "band baaja baraat lehenga", "mat finish or glossy?",
                "what's the bus stop near you", "can you send the catalog", "when does the sale start?",
                "hello", "", "🙂"]
FILLERS = ["", "please", "pls", "plz", "now", "ji", "bhai", "thanks", "kindly", "ok"]
PUNCTUATION = ["", "!", "!!!", ".", "?", " 🙏", " 😡", "...", " !! ", "🛑 "]


def _case(text: str, how: int) -> str:
    return [text, text.upper(), text.lower(), text.title(), text.swapcase()][how]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(STOPS), st.integers(0, 4), st.sampled_from(FILLERS), st.sampled_from(FILLERS),
       st.sampled_from(PUNCTUATION), st.sampled_from(PUNCTUATION), st.sampled_from([" ", "  ", "\n", "\t"]))
def test_stop_in_any_phrasing(word, how, before, after, lead, trail, gap):
    said = f"{lead}{before}{gap}{_case(word, how)}{gap}{after}{trail}"
    assert optout.command(said) == optout.STOP, said


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(STARTS), st.integers(0, 4), st.sampled_from(FILLERS), st.sampled_from(PUNCTUATION))
def test_start_in_any_phrasing(word, how, filler, trail):
    said = f"{_case(word, how)} {filler}{trail}"
    assert optout.command(said) == optout.START, said


@pytest.mark.parametrize("said", NOT_COMMANDS)
def test_ordinary_messages_are_not_commands(said):
    assert optout.command(said) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_read_without_error(said):
    assert optout.command(said) in (None, optout.STOP, optout.START)


# ---------------------------------------------------------------- end to end


def _customer(app, external_id):
    with app.app_context():
        c = db.session.scalar(select(Customer).where(Customer.external_id == external_id))
        out = c.opted_out
        db.session.remove()
        return out


def test_stop_confirms_once_silences_the_agent_and_start_brings_it_back(app, world, post_meta, run_jobs, graph):
    say(post_meta, run_jobs, "psid-s", "m_s1", "hi")
    assert len(graph.sends()) == 1
    say(post_meta, run_jobs, "psid-s", "m_s2", "Stop!!")
    assert texts(graph)[-1] == "Body-A"  # the tenant's own opt-out wording (its STOP rule's template)
    assert _customer(app, "psid-s") is True
    say(post_meta, run_jobs, "psid-s", "m_s3", "STOP")  # already out: not confirmed again
    say(post_meta, run_jobs, "psid-s", "m_s4", "do you have sarees?")  # no automated answer
    assert len(graph.sends()) == 2
    say(post_meta, run_jobs, "psid-s", "m_s5", "START")
    assert texts(graph)[-1] == optout.OPT_IN_TEXT and _customer(app, "psid-s") is False
    say(post_meta, run_jobs, "psid-s", "m_s6", "do you have sarees?")
    assert len(graph.sends()) == 4  # the agent answers again


def test_stop_without_a_rule_uses_the_default_confirmation(app, world, post_meta, run_jobs, graph):
    with app.app_context():
        from app.models import AutomationRule

        db.session.query(AutomationRule).delete()
        db.session.commit()
    say(post_meta, run_jobs, "psid-s2", "m_s21", "unsubscribe")
    assert texts(graph) == [optout.OPT_OUT_TEXT]


def test_stop_is_heard_even_when_a_person_has_the_conversation(app, world, post_meta, run_jobs, graph):
    say(post_meta, run_jobs, "psid-s3", "m_s31", "hi")
    with app.app_context():
        conv = db.session.scalar(select(Conversation).join(Customer).where(Customer.external_id == "psid-s3"))
        conv.mode = "human"
        db.session.commit()
    say(post_meta, run_jobs, "psid-s3", "m_s32", "stop messaging me")
    assert _customer(app, "psid-s3") is True


def test_stop_on_whatsapp_in_hindi_and_on_instagram(app, world, post_meta, run_jobs, graph):
    add_channel(app, world.a.tenant_id, Platform.WHATSAPP, "wa-S")
    add_channel(app, world.a.tenant_id, Platform.INSTAGRAM, "ig-S")
    post_meta(mp.whatsapp("wa-S", messages=[mp.wa_text("919822222222", "wamid.S1", "बंद करो 🙏")],
                          contacts=[mp.wa_contact("919822222222", "Ravi")]))
    post_meta(mp.messenger("ig-S", mp.text("igsid-s", "ig-S", "m_igs1", "Band karo bhai"), obj="instagram"))
    run_jobs()
    assert _customer(app, "919822222222") is True and _customer(app, "igsid-s") is True
    bodies = graph.sends()
    assert {b.get("type") or "messenger" for b in bodies} == {"text", "messenger"}  # one confirmation each
    assert len(bodies) == 2


def test_whatsapps_stop_promotions_button_on_a_broadcast_opts_out(app, world, post_meta, run_jobs, graph):
    """The quick reply WhatsApp puts on marketing templates arrives as a button message."""
    with app.app_context():
        from app.models import AutomationRule

        db.session.query(AutomationRule).delete()  # the world's keyword rule "stop" would hear it too
        db.session.commit()
    add_channel(app, world.a.tenant_id, Platform.WHATSAPP, "wa-P")
    post_meta(mp.whatsapp("wa-P", messages=[mp.wa_message("919833333333", "wamid.P1", "button",
                                                          {"payload": "Stop promotions", "text": "Stop promotions"})],
                          contacts=[mp.wa_contact("919833333333", "Asha")]))
    run_jobs()
    assert _customer(app, "919833333333") is True
    assert [b["text"]["body"] for b in graph.sends()] == [optout.OPT_OUT_TEXT]  # the confirmation


def test_the_send_path_refuses_automated_messages_to_an_opted_out_customer(app, world, graph):
    """Whatever queues it (a rule, a follow-up, a broadcast, the agent), delivery refuses."""
    with app.app_context():
        conv = db.session.get(Conversation, world.a["conversation"])
        conv.last_inbound_at = utcnow() - timedelta(minutes=5)
        conv.customer.opted_out = True
        refused = [outbound.queue_message(conv, "Sale today!", sender=Sender.SYSTEM,
                                          payload={"broadcast": True}),
                   outbound.queue_message(conv, "Hi again", sender=Sender.AI),
                   outbound.queue_message(conv, "Checking in", sender=Sender.SYSTEM,
                                          payload={"follow_up_id": 1})]
        allowed = [outbound.queue_message(conv, "Payment received", sender=Sender.SYSTEM,
                                          payload={"order_id": world.a["order"]}),
                   outbound.queue_message(conv, "I'm Riya from the shop", sender=Sender.AGENT)]
        db.session.commit()
        for msg in refused + allowed:
            outbound.deliver(msg.id, conv.tenant_id)
        for msg in refused:
            db.session.refresh(msg)
            assert msg.status == MessageStatus.FAILED and "opted out" in msg.error
        for msg in allowed:
            db.session.refresh(msg)
            assert msg.status == MessageStatus.SENT
    assert [s["message"]["text"] for s in graph.sends()] == ["Payment received", "I'm Riya from the shop"]


def test_event_rules_send_nothing_to_an_opted_out_customer(app, world, run_jobs, graph):
    from app.models import OrderStatus
    from app.services import checkout

    add_rule(app, world.a.tenant_id, "Thanks", RuleTrigger.ORDER_PAID, RuleAction.REPLY, response="Thanks!")
    with app.app_context():
        conv = db.session.get(Conversation, world.a["conversation"])
        conv.last_inbound_at = utcnow()
        conv.customer.opted_out = True
        order = checkout.locked(world.a["order"], world.a.tenant_id)
        assert checkout.transition(order, OrderStatus.PAID, source="admin")
        db.session.commit()
    run_jobs()
    assert graph.sends() == []
    with app.app_context():
        out = db.session.scalar(select(Message).where(Message.conversation_id == world.a["conversation"],
                                                      Message.text == "Thanks!"))
        assert out.status == MessageStatus.FAILED and "opted out" in out.error
