"""The AI steps back when a person speaks: inbox replies and foreign echoes pause it per
platform, the takeover race never yields an AI reply over a person, and the disclosure."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import responses
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AutomationRule,
    BusinessProfile,
    Channel,
    Conversation,
    ConversationMode,
    Customer,
    Message,
    MessageStatus,
    Platform,
    RuleAction,
    RuleTrigger,
    Tenant,
    utcnow,
)
from app.models import as_utc as aware
from tests import meta_payloads as mp
from tests.groq_fake import completion, fake_groq

PAGE = "page-A"
OUR_APP = "1234567890"


@pytest.fixture
def our_app_id(app, monkeypatch):
    monkeypatch.setitem(app.config, "META_APP_ID", OUR_APP)


def add_channel(app, tenant_id, platform, external_id):
    with app.app_context():
        ch = Channel(tenant_id=tenant_id, platform=platform, external_id=external_id,
                     name=f"{platform}-{external_id}", access_token=f"tok-{external_id}")
        db.session.add(ch)
        db.session.commit()
        db.session.remove()


def conv_of(app, external_id):
    with app.app_context():
        conv = db.session.scalar(select(Conversation).join(Customer).where(Customer.external_id == external_id))
        db.session.expunge(conv)
        db.session.remove()
        return conv


def outbound_rows(app, conv_id):
    with app.app_context():
        rows = [(m.sender, m.text, m.status, m.author_id, m.error) for m in db.session.scalars(
            select(Message).where(Message.conversation_id == conv_id, Message.direction == "out")
            .order_by(Message.id))]
        db.session.remove()
        return rows


def set_tenant(app, tenant_id, **values):
    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        for key, value in values.items():
            setattr(tenant, key, value)
        db.session.commit()
        db.session.remove()


def say(post_meta, psid, mid, text):
    post_meta(mp.messenger(PAGE, mp.text(psid, PAGE, mid, text)))


# ------------------------------------------------------------------ inbox replies pause the AI


def test_an_inbox_reply_pauses_the_ai_for_the_tenants_time_then_resume(world, app, browser, graph,
                                                                      post_meta, run_jobs):
    set_tenant(app, world.a.tenant_id, human_pause_minutes=45)
    say(post_meta, "psid-p", "m_p1", "hello")
    run_jobs()
    conv = conv_of(app, "psid-p")
    assert [s["message"]["text"] for s in graph.sends()] == ["Hello from A"]

    staff = browser("staff_a")
    resp = staff.post(f"/inbox/c/{conv.id}/reply", data={"text": "Priya here, checking stock"},
                      token_from=f"/inbox/c/{conv.id}")
    assert resp.status_code == 302
    run_jobs()
    assert graph.sends()[-1]["message"]["text"] == "Priya here, checking stock"
    paused = conv_of(app, "psid-p")
    assert paused.mode == ConversationMode.AI  # a reply pauses; it doesn't take the chat for good
    left = aware(paused.paused_until) - utcnow()
    assert timedelta(minutes=44) < left <= timedelta(minutes=45)
    # the person's reply is theirs: sender agent with its author, never the AI's
    sender, text, status, author, _ = outbound_rows(app, conv.id)[-1]
    assert (sender, status) == ("agent", MessageStatus.SENT) and author is not None

    page = staff.get(f"/inbox/c/{conv.id}").get_data(as_text=True)
    assert "AI paused" in page and 'class="countdown" data-until="' in page and "Resume AI now" in page

    say(post_meta, "psid-p", "m_p2", "ok, and the price?")
    run_jobs()
    assert len(graph.sends()) == 2  # the customer waits for the person
    listed = staff.get("/inbox/conversations.json?needs_human=1").json["conversations"]
    assert [c["id"] for c in listed] == [conv.id] and listed[0]["needs_human"] is True

    assert staff.post(f"/inbox/c/{conv.id}/resume", token_from=f"/inbox/c/{conv.id}").status_code == 302
    assert conv_of(app, "psid-p").paused_until is None
    run_jobs()  # resumed: the AI answers what waited for the person
    assert len(graph.sends()) == 3 and "799" in graph.sends()[-1]["message"]["text"]
    say(post_meta, "psid-p", "m_p3", "how much is Prod-A?")
    run_jobs()
    assert len(graph.sends()) == 4 and "799" in graph.sends()[-1]["message"]["text"]


def pause_runs_out(app, conv_id):
    """As if the pause's minutes had passed."""
    with app.app_context():
        db.session.get(Conversation, conv_id).paused_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        db.session.remove()


def test_when_the_pause_runs_out_unanswered_the_ai_answers_what_waited(world, app, browser, graph,
                                                                      post_meta, run_jobs):
    say(post_meta, "psid-l", "m_l1", "hello")
    run_jobs()
    conv = conv_of(app, "psid-l")
    staff = browser("staff_a")
    staff.post(f"/inbox/c/{conv.id}/reply", data={"text": "Priya here"}, token_from=f"/inbox/c/{conv.id}")
    say(post_meta, "psid-l", "m_l2", "how much is Prod-A?")
    run_jobs()
    assert len(graph.sends()) == 2  # waits for Priya, who went to lunch
    run_jobs(ahead=30 * 60 + 5)  # the job at the pause's end finds it still running: nothing yet
    assert len(graph.sends()) == 2
    pause_runs_out(app, conv.id)
    run_jobs(ahead=30 * 60 + 5)
    assert len(graph.sends()) == 3 and "799" in graph.sends()[-1]["message"]["text"]
    assert outbound_rows(app, conv.id)[-1][0] == "ai"


def test_when_the_pause_runs_out_after_a_person_answered_nothing_more_is_sent(world, app, browser, graph,
                                                                             post_meta, run_jobs):
    say(post_meta, "psid-m", "m_m1", "hello")
    run_jobs()
    conv = conv_of(app, "psid-m")
    staff = browser("staff_a")
    staff.post(f"/inbox/c/{conv.id}/reply", data={"text": "Priya here"}, token_from=f"/inbox/c/{conv.id}")
    say(post_meta, "psid-m", "m_m2", "how much is Prod-A?")
    run_jobs()
    staff.post(f"/inbox/c/{conv.id}/reply", data={"text": "Rs 799"}, token_from=f"/inbox/c/{conv.id}")
    run_jobs()
    pause_runs_out(app, conv.id)
    run_jobs(ahead=2 * 30 * 60 + 5)
    assert [s["message"]["text"] for s in graph.sends()][1:] == ["Priya here", "Rs 799"]


def test_a_chat_taken_over_stays_with_people_when_a_pause_would_have_ended(world, app, browser, graph,
                                                                          post_meta, run_jobs):
    say(post_meta, "psid-o", "m_o1", "hello")
    run_jobs()
    conv = conv_of(app, "psid-o")
    staff = browser("staff_a")
    staff.post(f"/inbox/c/{conv.id}/reply", data={"text": "Priya here"}, token_from=f"/inbox/c/{conv.id}")
    say(post_meta, "psid-o", "m_o2", "how much is Prod-A?")
    run_jobs()
    staff.post(f"/inbox/c/{conv.id}/takeover", token_from=f"/inbox/c/{conv.id}")
    pause_runs_out(app, conv.id)
    run_jobs(ahead=30 * 60 + 5)
    assert len(graph.sends()) == 2


def test_a_chat_closed_during_the_pause_gets_nothing_when_it_ends(world, app, browser, graph, post_meta,
                                                                  run_jobs):
    say(post_meta, "psid-cl", "m_cl1", "hello")
    run_jobs()
    conv = conv_of(app, "psid-cl")
    staff = browser("staff_a")
    staff.post(f"/inbox/c/{conv.id}/reply", data={"text": "Priya here, all sorted?"},
               token_from=f"/inbox/c/{conv.id}")
    say(post_meta, "psid-cl", "m_cl2", "yes thanks")
    run_jobs()
    staff.post(f"/inbox/c/{conv.id}/status", data={"action": "close"}, token_from=f"/inbox/c/{conv.id}")
    pause_runs_out(app, conv.id)
    run_jobs(ahead=30 * 60 + 5)
    assert len(graph.sends()) == 2


def test_take_over_and_hand_back(world, app, browser, graph, post_meta, run_jobs):
    say(post_meta, "psid-t", "m_t1", "hi")
    run_jobs()
    conv = conv_of(app, "psid-t")
    owner = browser("owner_a")
    owner.post(f"/inbox/c/{conv.id}/takeover", token_from=f"/inbox/c/{conv.id}")
    taken = conv_of(app, "psid-t")
    assert taken.mode == ConversationMode.HUMAN and taken.takeover_seq == conv.takeover_seq + 1
    banner = owner.get(f"/inbox/c/{conv.id}").get_data(as_text=True)
    assert 'A person is handling this chat</strong> (<span id="taken-over-by">owner_a</span>)' in banner
    say(post_meta, "psid-t", "m_t2", "anyone?")
    run_jobs()
    assert len(graph.sends()) == 1
    owner.post(f"/inbox/c/{conv.id}/reply", data={"text": "Here, what do you need?"},
               token_from=f"/inbox/c/{conv.id}")
    run_jobs()
    assert len(graph.sends()) == 2
    owner.post(f"/inbox/c/{conv.id}/handback", token_from=f"/inbox/c/{conv.id}")
    handed = conv_of(app, "psid-t")
    assert handed.mode == ConversationMode.AI and handed.paused_until is None
    run_jobs()
    assert len(graph.sends()) == 2  # the person answered "anyone?": nothing waits for the AI
    say(post_meta, "psid-t", "m_t3", "how much is Prod-A?")
    run_jobs()
    assert len(graph.sends()) == 3


def test_a_converted_chat_the_customer_writes_in_again_is_open_and_needs_a_person(world, app, browser,
                                                                                 graph, post_meta, run_jobs):
    say(post_meta, "psid-cv", "m_cv1", "hello")
    run_jobs()
    conv = conv_of(app, "psid-cv")
    staff = browser("staff_a")
    staff.post(f"/inbox/c/{conv.id}/takeover", token_from=f"/inbox/c/{conv.id}")
    staff.post(f"/inbox/c/{conv.id}/status", data={"action": "converted"}, token_from=f"/inbox/c/{conv.id}")
    assert conv.id not in [c["id"] for c in staff.get("/inbox/conversations.json?status=open").json["conversations"]]
    say(post_meta, "psid-cv", "m_cv2", "where is my order?")
    run_jobs()
    assert conv_of(app, "psid-cv").id == conv.id and conv_of(app, "psid-cv").status == "open"
    listed = staff.get("/inbox/conversations.json?status=open&needs_human=1").json["conversations"]
    assert [c["id"] for c in listed] == [conv.id]


# ------------------------------------------------------------------ echoes per platform


@pytest.mark.parametrize("app_id, pauses", [(OUR_APP, False), ("263902037430900", True)])
def test_messenger_echo_pauses_only_when_another_app_sent_it(world, app, browser, graph, post_meta, run_jobs,
                                                           our_app_id, app_id, pauses):
    say(post_meta, "psid-e", "m_e1", "hi")
    run_jobs()
    post_meta(mp.messenger(PAGE, mp.echo("psid-e", PAGE, "m_echo_1", "Typed in Business Suite", app_id=app_id)))
    conv = conv_of(app, "psid-e")
    assert (conv.paused_until is not None) is pauses
    say(post_meta, "psid-e", "m_e2", "how much is Prod-A?")
    run_jobs()
    assert len(graph.sends()) == (1 if pauses else 2)
    if pauses:
        rows = outbound_rows(app, conv.id)
        assert ("agent", "Typed in Business Suite") in [(r[0], r[1]) for r in rows]
        banner = browser("owner_a").get(f"/inbox/c/{conv.id}").get_data(as_text=True)
        assert "AI paused</strong> because a person replied from the platform's own app" in banner


@pytest.mark.parametrize("app_id, pauses", [(OUR_APP, False), ("124024574287414", True)])
def test_instagram_echo_pauses_only_when_another_app_sent_it(world, app, graph, post_meta, run_jobs,
                                                           our_app_id, app_id, pauses):
    add_channel(app, world.a.tenant_id, Platform.INSTAGRAM, "17841400000000001")
    ig = "17841400000000001"
    post_meta(mp.messenger(ig, mp.text("igsid-1", ig, "ig_m1", "hi"), obj="instagram"))
    run_jobs()
    post_meta(mp.messenger(ig, mp.echo("igsid-1", ig, "ig_echo_1", "from the Instagram app", app_id=app_id),
                           obj="instagram"))
    assert (conv_of(app, "igsid-1").paused_until is not None) is pauses
    post_meta(mp.messenger(ig, mp.text("igsid-1", ig, "ig_m2", "price of Prod-A?"), obj="instagram"))
    run_jobs()
    assert len(graph.sends()) == (1 if pauses else 2)


def smb_echo(phone_number_id, to, wamid, body):
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "smb_message_echoes", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "919820012345", "phone_number_id": phone_number_id},
            "message_echoes": [{"from": "919820012345", "to": to, "id": wamid,
                                "timestamp": str(int(utcnow().timestamp())), "type": "text",
                                "text": {"body": body}}]}}]}]}


def test_whatsapp_business_app_echo_pauses_and_our_own_status_does_not(world, app, graph, post_meta, run_jobs):
    pnid = "106540352242922"
    add_channel(app, world.a.tenant_id, Platform.WHATSAPP, pnid)
    post_meta(mp.whatsapp(pnid, messages=[mp.wa_text("919876543210", "wamid.IN1", "hi")]))
    run_jobs()
    assert len(graph.sends()) == 1
    # our own reply's statuses come back on `messages`: no pause
    sent_id = "wamid.OUT1"
    post_meta(mp.whatsapp(pnid, statuses=[mp.wa_status(sent_id, "delivered", "919876543210")]))
    assert conv_of(app, "919876543210").paused_until is None
    post_meta(smb_echo(pnid, "919876543210", "wamid.ECHO1", "Typed on the shop's phone"))
    conv = conv_of(app, "919876543210")
    assert conv.paused_until is not None and conv.last_staff_at is not None
    # the echo is the person's message, and it doesn't reopen the customer's window
    assert ("agent", "Typed on the shop's phone") in [(r[0], r[1]) for r in outbound_rows(app, conv.id)]
    post_meta(mp.whatsapp(pnid, messages=[mp.wa_text("919876543210", "wamid.IN2", "price of Prod-A?")]))
    run_jobs()
    assert len(graph.sends()) == 1


def test_malformed_business_app_echoes_are_skipped_not_fatal(world, app, post_meta):
    pnid = "106540352242923"
    add_channel(app, world.a.tenant_id, Platform.WHATSAPP, pnid)
    body = smb_echo(pnid, "919876500000", "wamid.E2", "fine")
    value = body["entry"][0]["changes"][0]["value"]
    value["message_echoes"] = ["nonsense", {"to": ["list"], "id": 5}, *value["message_echoes"]]
    resp = post_meta(body)
    assert resp.status_code == 200 and resp.stored == 1


# ------------------------------------------------------------------ the takeover race


def test_a_person_taking_over_while_the_model_writes_wins(world, app, browser, graph, post_meta,
                                                        run_jobs, monkeypatch):
    say(post_meta, "psid-r", "m_r1", "hi")
    run_jobs()  # the greeting (offline: Groq not on yet)
    conv = conv_of(app, "psid-r")
    staff = browser("staff_a")
    token = staff.csrf(f"/inbox/c/{conv.id}")

    def person_takes_over_while_thinking(request):
        # the model is "thinking": a person clicks Take over meanwhile (another request)
        t = threading.Thread(target=lambda: staff.client.post(
            f"/inbox/c/{conv.id}/takeover", data={"csrf_token": token}))
        t.start()
        t.join()
        return completion("Let me check that for you.")

    with fake_groq(app, monkeypatch) as route:
        route.side_effect = person_takes_over_while_thinking
        say(post_meta, "psid-r", "m_r2", "how much is Prod-A?")
        run_jobs()
        assert route.called
    assert [s["message"]["text"] for s in graph.sends()] == ["Hello from A"]
    with app.app_context():
        ai = db.session.scalars(select(Message).where(Message.conversation_id == conv.id,
                                                      Message.sender == "ai")).all()
        assert [m.text for m in ai] == ["Hello from A"]
        question = db.session.scalar(select(Message).filter_by(external_id="m_r2"))
        assert question.handled_at is not None  # claimed: it waits for the person, never re-run
        assert db.session.get(Conversation, conv.id).mode == ConversationMode.HUMAN
        db.session.remove()


def test_an_ai_reply_that_could_not_go_out_before_a_takeover_never_does(world, app, browser, graph,
                                                                      post_meta, run_jobs):
    """The reply is written, its send fails transiently and waits for a retry; a person takes
    over meanwhile: the retry does not send it."""
    import re as _re
    say(post_meta, "psid-q", "m_q1", "hi")
    graph.replace(responses.POST, _re.compile(r"http://graph\.test/v25\.0/.+/messages"),
                  json={"error": {"message": "busy", "code": 2}}, status=503)
    run_jobs()  # the answer job: written, send failed transiently, retry scheduled
    conv = conv_of(app, "psid-q")
    assert outbound_rows(app, conv.id)[-1][2] == MessageStatus.QUEUED
    staff = browser("staff_a")
    staff.post(f"/inbox/c/{conv.id}/takeover", token_from=f"/inbox/c/{conv.id}")
    graph.replace(responses.POST, _re.compile(r"http://graph\.test/v25\.0/.+/messages"),
                  json={"recipient_id": "psid-q", "message_id": "m_late"}, status=200)
    sent_before = len(graph.sends())
    run_jobs(ahead=600)
    sender, _, status, _, error = outbound_rows(app, conv.id)[-1]
    assert sender == "ai" and status == MessageStatus.FAILED and "took over" in error
    assert len(graph.sends()) == sent_before


def test_a_customer_message_stored_as_a_person_takes_over_gets_no_ai_reply(world, app, browser, graph,
                                                                          post_meta, run_jobs):
    say(post_meta, "psid-s", "m_s1", "hi")
    run_jobs()
    conv = conv_of(app, "psid-s")
    say(post_meta, "psid-s", "m_s2", "price of Prod-A?")  # stored, its job not run yet
    staff = browser("staff_a")
    staff.post(f"/inbox/c/{conv.id}/takeover", token_from=f"/inbox/c/{conv.id}")
    run_jobs()
    assert len(graph.sends()) == 1


# ------------------------------------------------------------------ disclosure


def test_disclosure_opens_the_ai_conversation_and_never_a_persons_reply(world, app, browser, graph,
                                                                       post_meta, run_jobs):
    set_tenant(app, world.a.tenant_id, ai_disclosure=True)
    say(post_meta, "psid-d", "m_d1", "hi")
    run_jobs()
    first = graph.sends()[0]["message"]["text"]
    assert first.startswith("You're chatting with Tenant A's automated assistant.")
    assert "talk to a person" in first and first.endswith("Hello from A")
    say(post_meta, "psid-d", "m_d2", "how much is Prod-A?")
    run_jobs()
    assert "automated assistant" not in graph.sends()[1]["message"]["text"]
    conv = conv_of(app, "psid-d")
    browser("staff_a").post(f"/inbox/c/{conv.id}/reply", data={"text": "Hi, Priya here"},
                            token_from=f"/inbox/c/{conv.id}")
    run_jobs()
    assert graph.sends()[-1]["message"]["text"] == "Hi, Priya here"


def test_custom_disclosure_text_and_switched_off(world, app, graph, post_meta, run_jobs):
    set_tenant(app, world.a.tenant_id, ai_disclosure=True, ai_disclosure_text="Bot here. Type AGENT for a human.")
    say(post_meta, "psid-c1", "m_c1", "hi")
    run_jobs()
    assert graph.sends()[0]["message"]["text"] == "Bot here. Type AGENT for a human.\n\nHello from A"
    set_tenant(app, world.a.tenant_id, ai_disclosure=False)
    say(post_meta, "psid-c2", "m_c2", "hi")
    run_jobs()
    assert graph.sends()[1]["message"]["text"] == "Hello from A"


def add_rule(app, tenant_id, **fields):
    with app.app_context():
        db.session.add(AutomationRule(tenant_id=tenant_id, priority=1, **fields))
        db.session.commit()
        db.session.remove()


def test_a_welcome_rule_that_answers_first_carries_the_disclosure_once(world, app, graph, post_meta,
                                                                      run_jobs):
    set_tenant(app, world.a.tenant_id, ai_disclosure=True)
    add_rule(app, world.a.tenant_id, name="Welcome", trigger=RuleTrigger.NEW_CONVERSATION,
             action=RuleAction.REPLY, response="Welcome to our shop!")
    say(post_meta, "psid-w", "m_w1", "hi")
    run_jobs()
    assert graph.sends()[0]["message"]["text"] == (
        "You're chatting with Tenant A's automated assistant. To reach a person, reply "
        "\"talk to a person\" at any time.\n\nWelcome to our shop!")
    say(post_meta, "psid-w", "m_w2", "how much is Prod-A?")
    run_jobs()
    second = graph.sends()[1]["message"]["text"]
    assert "799" in second and "automated assistant" not in second


def test_the_disclosure_names_the_business_as_its_profile_does(world, app, graph, post_meta, run_jobs):
    set_tenant(app, world.a.tenant_id, ai_disclosure=True)
    with app.app_context():
        profile = db.session.scalar(select(BusinessProfile).where(BusinessProfile.tenant_id == world.a.tenant_id))
        profile.business_name = "Lotus Lamps"  # the onboarding wizard's name, not the sign-up's
        db.session.commit()
        db.session.remove()
    say(post_meta, "psid-n", "m_n1", "hi")
    run_jobs()
    assert graph.sends()[0]["message"]["text"].startswith("You're chatting with Lotus Lamps's automated assistant.")


def test_an_opening_stop_gets_its_confirmation_alone_and_start_the_disclosure(world, app, graph, post_meta,
                                                                              run_jobs):
    set_tenant(app, world.a.tenant_id, ai_disclosure=True)
    say(post_meta, "psid-x", "m_x1", "STOP")
    run_jobs()
    assert "automated assistant" not in graph.sends()[0]["message"]["text"]
    say(post_meta, "psid-x", "m_x2", "START")
    run_jobs()
    assert "automated assistant" not in graph.sends()[1]["message"]["text"]
    say(post_meta, "psid-x", "m_x3", "how much is Prod-A?")
    run_jobs()
    answer = graph.sends()[2]["message"]["text"]
    assert answer.startswith("You're chatting with Tenant A's automated assistant.") and "799" in answer


def test_store_settings_edit_the_pause_and_disclosure(world, app, browser):
    owner = browser("owner_a")
    path = f"/tenantsettingsview/edit/{world.a.tenant_id}"
    page = owner.get(path).get_data(as_text=True)
    assert "AI pause after a person replies" in page
    form = {"name": "Tenant A", "currency": "INR", "timezone": "Asia/Kolkata",
            "human_pause_minutes": "99999", "ai_disclosure": "y", "ai_disclosure_text": ""}
    bad = owner.post(path, data=form, token_from=path)
    assert bad.status_code == 200 and "Between 0 and 10080" in bad.get_data(as_text=True)
    ok = owner.post(path, data={**form, "human_pause_minutes": "10"}, token_from=path)
    assert ok.status_code == 302
    with app.app_context():
        tenant = db.session.get(Tenant, world.a.tenant_id)
        assert (tenant.human_pause_minutes, tenant.ai_disclosure) == (10, True)
        db.session.remove()
    # the checkbox left off switches it off; a form without the pause keeps the stored one
    form.pop("ai_disclosure")
    form.pop("human_pause_minutes")
    assert owner.post(path, data=form, token_from=path).status_code == 302
    with app.app_context():
        tenant = db.session.get(Tenant, world.a.tenant_id)
        assert (tenant.human_pause_minutes, tenant.ai_disclosure) == (10, False)
        db.session.remove()
