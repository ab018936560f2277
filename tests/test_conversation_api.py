"""The conversation REST API carries what staff see in the inbox (human mode, who took over,
the pause, the assignee, needs-a-human, the window) and does what the inbox's buttons do,
through the same services: take over, hand back, pause, resume, assign, reply as a person.
Graph and Groq are faked at HTTP; queues are drained, never waited for."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Conversation,
    ConversationMode,
    Customer,
    Message,
    MessageStatus,
    Platform,
    Template,
    TemplateStatus,
    TargetPlatform,
    utcnow,
)
from app.models import as_utc as aware
from tests import meta_payloads as mp
from tests.groq_fake import completion, fake_groq
from tests.test_inbox_page import make_conv

PAGE = "page-A"
API = "/api/v1/conversations"


def say(post_meta, psid, mid, text):
    post_meta(mp.messenger(PAGE, mp.text(psid, PAGE, mid, text)))


def started(post_meta, run_jobs, app, psid) -> int:
    """A Messenger chat in tenant A the AI has greeted; returns its id."""
    say(post_meta, psid, f"m_{psid}_0", "hi")
    run_jobs()
    return conv(app, psid=psid).id


def conv(app, conv_id=None, psid=None) -> Conversation:
    with app.app_context():
        if conv_id is None:
            conv_id = db.session.scalar(select(Conversation.id).join(Customer).where(
                Customer.external_id == psid))
        row = db.session.get(Conversation, conv_id)
        db.session.expunge(row)
        db.session.remove()
        return row


def user_id(app, username) -> int:
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == username))
        db.session.remove()
        return uid


def texts(graph) -> list[str]:
    return [s["message"]["text"] for s in graph.sends()]


# ------------------------------------------------------------------ the inbox's state in the output


def test_show_and_list_carry_the_state_staff_see_in_the_inbox(world, app, api, graph, post_meta, run_jobs):
    conv_id = started(post_meta, run_jobs, app, "psid-s1")
    client = api("staff_a")
    state = client.get(f"{API}/{conv_id}").json["result"]["state"]
    assert state["mode"] == "ai" and state["human_mode"] is False
    assert state["paused_until"] is None and state["ai_steps_back"] is None
    assert state["taken_over_by"] is None and state["assignee"] is None and state["needs_human"] is False
    last_in = aware(conv(app, conv_id).last_inbound_at)
    assert state["window_closes_at"] == (last_in + timedelta(hours=24)).isoformat()
    assert state["window"]["mode"] == "open"

    # a person replies through the API: the AI is paused for the tenant's 30 minutes, by them
    assert client.post(f"{API}/{conv_id}/reply", json={"text": "Priya here"}).status_code == 202
    say(post_meta, "psid-s1", "m_s1_1", "ok, and the price?")
    run_jobs()
    assert texts(graph) == ["Hello from A", "Priya here"]  # the customer waits for the person
    staff_id = user_id(app, "staff_a")
    client.post(f"{API}/{conv_id}/assign", json={"assignee_id": staff_id})

    shown = client.get(f"{API}/{conv_id}").json["result"]
    listed = client.get(f"{API}/").json
    row = listed["result"][listed["ids"].index(conv_id)]
    for state in (shown["state"], row["state"]):
        assert state["human_mode"] is False and state["ai_steps_back"] == "paused: a person wrote here"
        paused = aware(conv(app, conv_id).paused_until)
        assert state["paused_until"] == paused.isoformat() and state["paused_until"].endswith("+00:00")
        assert timedelta(minutes=29) < paused - utcnow() <= timedelta(minutes=30)
        assert state["taken_over_by"] == {"id": staff_id, "username": "staff_a"}
        assert state["taken_over_at"] is not None
        assert state["assignee"] == {"id": staff_id, "username": "staff_a"}
        assert state["needs_human"] is True  # the customer wrote after the person
    # every row of the list has its state, the world's own conversation included
    assert all(r["state"]["mode"] in ("ai", "human") for r in listed["result"])


def test_a_pause_from_the_platforms_own_app_is_by_nobody_we_know(world, app, api, graph, post_meta,
                                                                   run_jobs, monkeypatch):
    monkeypatch.setitem(app.config, "META_APP_ID", "1234567890")
    conv_id = started(post_meta, run_jobs, app, "psid-e1")
    post_meta(mp.messenger(PAGE, mp.echo("psid-e1", PAGE, "m_echo_e1", "Typed in Business Suite",
                                         app_id="263902037430900")))
    state = api("owner_a").get(f"{API}/{conv_id}").json["result"]["state"]
    assert state["paused_until"] is not None and state["taken_over_by"] is None


def test_a_handover_by_the_agent_is_by_nobody_not_the_last_person(world, app, api, graph, post_meta,
                                                                   run_jobs):
    conv_id = started(post_meta, run_jobs, app, "psid-h1")
    client = api("staff_a")
    client.post(f"{API}/{conv_id}/takeover")
    client.post(f"{API}/{conv_id}/handback")
    say(post_meta, "psid-h1", "m_h1_1", "can I talk to a person please")
    run_jobs()
    assert "connecting you with someone" in texts(graph)[-1]  # the handoff's own answer went out
    state = client.get(f"{API}/{conv_id}").json["result"]["state"]
    assert state["human_mode"] is True and state["taken_over_by"] is None
    assert state["taken_over_at"] is not None


# ------------------------------------------------------------------ take over / hand back


def test_take_over_through_the_api_then_the_customer_gets_no_ai_reply(world, app, api, graph, post_meta,
                                                                      run_jobs):
    conv_id = started(post_meta, run_jobs, app, "psid-t1")
    before = conv(app, conv_id).takeover_seq
    client = api("staff_a")
    resp = client.post(f"{API}/{conv_id}/takeover")
    assert resp.status_code == 200, resp.json
    assert resp.json["state"]["human_mode"] is True
    assert resp.json["state"]["taken_over_by"]["username"] == "staff_a"
    assert resp.json["state"]["ai_steps_back"] == "a person is handling this chat"
    taken = conv(app, conv_id)
    assert taken.mode == ConversationMode.HUMAN and taken.takeover_seq == before + 1

    say(post_meta, "psid-t1", "m_t1_1", "how much is Prod-A?")
    run_jobs()
    assert texts(graph) == ["Hello from A"]
    assert client.get(f"{API}/{conv_id}").json["result"]["state"]["needs_human"] is True

    # handed back: the AI answers what waited for the person, then the next message too
    resp = client.post(f"{API}/{conv_id}/handback")
    assert resp.status_code == 200 and resp.json["state"]["human_mode"] is False
    assert resp.json["state"]["taken_over_by"] is None
    run_jobs()
    assert len(graph.sends()) == 2 and "799" in texts(graph)[-1]
    say(post_meta, "psid-t1", "m_t1_2", "and Prod-A again?")
    run_jobs()
    assert len(graph.sends()) == 3


def test_a_person_taking_over_through_the_api_while_the_model_writes_wins(world, app, api, graph,
                                                                         post_meta, run_jobs, monkeypatch):
    conv_id = started(post_meta, run_jobs, app, "psid-r1")
    client = api("staff_a")
    answers = []

    def person_takes_over_while_thinking(request):
        t = threading.Thread(target=lambda: answers.append(
            client.post(f"{API}/{conv_id}/takeover").status_code))
        t.start()
        t.join()
        return completion("Let me check that for you.")

    with fake_groq(app, monkeypatch) as route:
        route.side_effect = person_takes_over_while_thinking
        say(post_meta, "psid-r1", "m_r1_1", "how much is Prod-A?")
        run_jobs()
        assert route.called
    assert answers == [200]
    assert texts(graph) == ["Hello from A"]
    with app.app_context():
        ai = db.session.scalars(select(Message.text).where(Message.conversation_id == conv_id,
                                                           Message.sender == "ai")).all()
        assert ai == ["Hello from A"]
        db.session.remove()
    assert conv(app, conv_id).mode == ConversationMode.HUMAN


# ------------------------------------------------------------------ pause / resume


def test_pause_for_n_minutes_then_resume(world, app, api, graph, post_meta, run_jobs):
    conv_id = started(post_meta, run_jobs, app, "psid-p1")
    before = conv(app, conv_id).takeover_seq
    client = api("owner_a")
    resp = client.post(f"{API}/{conv_id}/pause", json={"minutes": 90})
    assert resp.status_code == 200, resp.json
    paused = conv(app, conv_id)
    left = aware(paused.paused_until) - utcnow()
    assert timedelta(minutes=89) < left <= timedelta(minutes=90)
    assert paused.takeover_seq == before + 1 and paused.mode == ConversationMode.AI
    assert resp.json["state"]["paused_until"] == aware(paused.paused_until).isoformat()
    assert resp.json["state"]["taken_over_by"]["username"] == "owner_a"

    say(post_meta, "psid-p1", "m_p1_1", "how much is Prod-A?")
    run_jobs()
    assert texts(graph) == ["Hello from A"]

    # a shorter pause replaces the longer one: it is what the person asked for
    client.post(f"{API}/{conv_id}/pause", json={"minutes": 5})
    left = aware(conv(app, conv_id).paused_until) - utcnow()
    assert timedelta(minutes=4) < left <= timedelta(minutes=5)

    resp = client.post(f"{API}/{conv_id}/resume")
    assert resp.status_code == 200 and resp.json["state"]["paused_until"] is None
    run_jobs()  # the AI answers what waited
    assert len(graph.sends()) == 2 and "799" in texts(graph)[-1]


def test_resume_keeps_a_chat_a_person_has_taken_over(world, app, api, graph, post_meta, run_jobs):
    conv_id = started(post_meta, run_jobs, app, "psid-p2")
    client = api("staff_a")
    client.post(f"{API}/{conv_id}/takeover")
    client.post(f"{API}/{conv_id}/pause", json={"minutes": 10})
    say(post_meta, "psid-p2", "m_p2_1", "hello?")
    resp = client.post(f"{API}/{conv_id}/resume")
    assert resp.json["state"]["human_mode"] is True and resp.json["state"]["paused_until"] is None
    run_jobs()
    assert texts(graph) == ["Hello from A"]


# ------------------------------------------------------------------ assign


def test_assign_and_unassign(world, app, api):
    conv_id = world.a["conversation"]
    client = api("owner_a")
    staff_id = user_id(app, "staff_a")
    resp = client.post(f"{API}/{conv_id}/assign", json={"assignee_id": staff_id})
    assert resp.status_code == 200
    assert resp.json["state"]["assignee"] == {"id": staff_id, "username": "staff_a"}
    assert conv(app, conv_id).assignee_id == staff_id
    # not on this business's team (owner of tenant B): refused, nothing changed
    resp = client.post(f"{API}/{conv_id}/assign", json={"assignee_id": user_id(app, "owner_b")})
    assert resp.status_code == 422
    assert resp.json["message"] == {"assignee_id": ["That person is not on this business's team"]}
    assert conv(app, conv_id).assignee_id == staff_id
    resp = client.post(f"{API}/{conv_id}/assign", json={"assignee_id": None})
    assert resp.status_code == 200 and resp.json["state"]["assignee"] is None
    assert conv(app, conv_id).assignee_id is None


# ------------------------------------------------------------------ reply as a person


def test_reply_goes_out_through_the_staff_send_path_as_its_author(world, app, api, graph, post_meta, run_jobs):
    conv_id = started(post_meta, run_jobs, app, "psid-y1")
    client = api("staff_a")
    resp = client.post(f"{API}/{conv_id}/reply", json={"text": "  Priya here, checking stock  ",
                                                       "take_over": True})
    assert resp.status_code == 202, resp.json
    message = resp.json["message"]
    assert (message["sender"], message["by"], message["status"]) == ("agent", "staff_a", "queued")
    assert message["text"] == "Priya here, checking stock"
    assert resp.json["state"]["human_mode"] is True
    run_jobs()
    assert texts(graph)[-1] == "Priya here, checking stock"
    with app.app_context():
        row = db.session.get(Message, message["id"])
        assert row.status == MessageStatus.SENT and row.author.username == "staff_a"
        assert row.conversation_id == conv_id
        db.session.remove()
    say(post_meta, "psid-y1", "m_y1_1", "how much is Prod-A?")
    run_jobs()
    assert len(graph.sends()) == 2  # taken over: the AI stays quiet


def test_reply_refusals_name_the_problem_and_send_nothing(world, app, api, graph, run_jobs):
    client = api("staff_a")
    recent = make_conv(app, world.a.tenant_id, Platform.MESSENGER, "psid-y2")
    resp = client.post(f"{API}/{recent}/reply", json={"text": "   "})
    assert resp.status_code == 422 and resp.json["message"] == {"text": ["Type a message first"]}
    resp = client.post(f"{API}/{recent}/reply", json={"text": "x" * 2001})
    assert resp.status_code == 422 and "2000" in resp.json["message"]["text"][0]
    # more than 7 days since the customer wrote on Messenger: nobody may write
    old = make_conv(app, world.a.tenant_id, Platform.MESSENGER, "psid-y3", inbound_age=timedelta(days=8))
    resp = client.post(f"{API}/{old}/reply", json={"text": "Still there?"})
    assert resp.status_code == 422 and "7 days" in resp.json["message"]["_schema"][0]
    # WhatsApp after 24 hours: only a template, and the error says so
    wa = make_conv(app, world.a.tenant_id, Platform.WHATSAPP, "919800000001", inbound_age=timedelta(hours=30))
    resp = client.post(f"{API}/{wa}/reply", json={"text": "Hello"})
    assert resp.status_code == 422 and "template" in resp.json["message"]["_schema"][0]
    run_jobs()
    assert graph.sends() == []
    with app.app_context():
        assert db.session.scalar(select(Message.id).where(Message.direction == "out")) is None
        db.session.remove()
    assert conv(app, recent).paused_until is None  # a refused reply pauses nothing


def test_template_outside_the_whatsapp_window(world, app, api, graph, run_jobs):
    wa = make_conv(app, world.a.tenant_id, Platform.WHATSAPP, "919800000002", inbound_age=timedelta(hours=30))
    with app.app_context():
        tmpl = Template(tenant_id=world.a.tenant_id, name="order_update", body="Hi {{1}}, your order {{2}}",
                        platform=TargetPlatform.WHATSAPP, status=TemplateStatus.APPROVED, language="en")
        db.session.add(tmpl)
        db.session.commit()
        tmpl_id = tmpl.id
        db.session.remove()
    client = api("staff_a")
    resp = client.post(f"{API}/{wa}/template", json={"template_id": tmpl_id, "variables": ["Asha"]})
    assert resp.status_code == 422 and "needs 2 value(s)" in resp.json["message"]["variables"][0]
    # tenant B's template id is none of ours
    resp = client.post(f"{API}/{wa}/template", json={"template_id": world.b["template"], "variables": []})
    assert resp.status_code == 404
    resp = client.post(f"{API}/{wa}/template", json={"template_id": tmpl_id, "variables": ["Asha", "#1042"]})
    assert resp.status_code == 202, resp.json
    assert resp.json["message"]["text"] == "Hi Asha, your order #1042"
    run_jobs()
    sent = graph.sends()[-1]
    assert sent["type"] == "template" and sent["template"]["name"] == "order_update"


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("path, body, field, says", [
    ("pause", {"minutes": "ten"}, "minutes", "Must be a whole number of minutes"),
    ("pause", {"minutes": 12.5}, "minutes", "Must be a whole number of minutes"),
    ("pause", {"minutes": True}, "minutes", "Must be a whole number of minutes"),
    ("pause", {"minutes": 0}, "minutes", "minutes must be between 1 and 10080 (a week)"),
    ("pause", {"minutes": 10081}, "minutes", "minutes must be between 1 and 10080 (a week)"),
    ("pause", {}, "minutes", "Missing data for required field."),
    ("pause", {"minutes": 5, "until": "tomorrow"}, "until", "Unknown field"),
    ("assign", {"assignee_id": "7"}, "assignee_id", "Must be a user id or null"),
    ("assign", {"assignee_id": True}, "assignee_id", "Must be a user id or null"),
    ("assign", {}, "assignee_id", "Missing data for required field."),
    ("reply", {"text": ["hi"]}, "text", "Must be text"),
    ("reply", {"text": "hi", "take_over": "yes"}, "take_over", "Must be true or false"),
    ("template", {"template_id": 1, "variables": [1, 2]}, "variables", "Must be a list of texts"),
    ("takeover", {"force": True}, "force", "Unknown field"),
])
def test_bad_input_is_422_naming_the_field_and_changes_nothing(world, app, api, graph, path, body, field, says):
    conv_id = make_conv(app, world.a.tenant_id, Platform.MESSENGER, "psid-bad")
    before = conv(app, conv_id)
    resp = api("owner_a").post(f"{API}/{conv_id}/{path}", json=body)
    assert resp.status_code == 422, resp.json
    assert resp.json["message"][field] == [says]
    after = conv(app, conv_id)
    assert (after.mode, after.paused_until, after.assignee_id, after.takeover_seq) == (
        before.mode, before.paused_until, before.assignee_id, before.takeover_seq)
    assert graph.sends() == []


def test_a_body_that_is_not_a_json_object_is_400(world, app, api):
    client = api("owner_a")
    conv_id = world.a["conversation"]
    resp = client.client.post(f"{API}/{conv_id}/pause", data="minutes=5", headers=client.headers)
    assert resp.status_code == 400 and resp.json["message"] == "The body must be a JSON object"
    assert client.post(f"{API}/{conv_id}/pause", json=[5]).status_code == 400
    assert client.post(f"{API}/{conv_id}/takeover", json="now").status_code == 400
    assert conv(app, conv_id).paused_until is None and conv(app, conv_id).mode == ConversationMode.AI
    # no body at all is fine where nothing is needed
    resp = client.client.post(f"{API}/{conv_id}/takeover", headers=client.headers)
    assert resp.status_code == 200


# ------------------------------------------------------------------ roles and isolation

ACTIONS = [("takeover", None), ("handback", None), ("pause", {"minutes": 5}), ("resume", None),
           ("assign", {"assignee_id": None}), ("reply", {"text": "hi"}),
           ("template", {"template_id": 1, "variables": []})]


def test_another_tenants_conversation_is_404_for_every_endpoint(world, app, api, graph):
    client = api("owner_a")
    theirs = world.b["conversation"]
    before = conv(app, theirs)
    assert client.get(f"{API}/{theirs}").status_code == 404
    assert theirs not in client.get(f"{API}/").json["ids"]
    for path, body in ACTIONS:
        resp = client.post(f"{API}/{theirs}/{path}", json=body)
        assert resp.status_code == 404, (path, resp.json)
        assert "Cust-B" not in resp.get_data(as_text=True)
    assert client.post(f"{API}/999999/takeover").status_code == 404
    after = conv(app, theirs)
    assert (after.mode, after.paused_until, after.takeover_seq) == (before.mode, before.paused_until,
                                                                    before.takeover_seq)
    # naming tenant B is refused outright
    assert client.post(f"{API}/{theirs}/takeover", tenant_id=world.b.tenant_id).status_code == 403
    assert client.post(f"{API}/{theirs}/takeover", json={"tenant_id": world.b.tenant_id}).status_code == 403
    assert conv(app, theirs).mode == ConversationMode.AI
    assert graph.sends() == []


def test_agency_admins_name_the_tenant(world, app, api):
    theirs = world.b["conversation"]
    agency = api("agency")
    resp = agency.post(f"{API}/{theirs}/takeover", tenant_id=world.b.tenant_id)
    assert resp.status_code == 200 and resp.json["state"]["taken_over_by"]["username"] == "agency"
    assert conv(app, theirs).mode == ConversationMode.HUMAN
    resp = agency.post(f"{API}/{theirs}/pause", json={"minutes": 15, "tenant_id": world.b.tenant_id})
    assert resp.status_code == 200, resp.json
    shown = agency.get(f"{API}/{theirs}", tenant_id=world.b.tenant_id).json["result"]["state"]
    assert shown["human_mode"] is True and shown["paused_until"] is not None
    # the agency's other tenant by default, and another agency's tenant refused
    assert agency.post(f"{API}/{world.c['conversation']}/takeover",
                       tenant_id=world.c.tenant_id).status_code == 403
    assert api("agency_y").post(f"{API}/{theirs}/handback", tenant_id=world.b.tenant_id).status_code == 403
    assert conv(app, theirs).mode == ConversationMode.HUMAN


def test_roles_staff_and_owners_act_as_in_the_inbox_and_anonymous_callers_do_not(world, app, api):
    conv_id = world.a["conversation"]
    anonymous = app.test_client()
    for path, body in ACTIONS:
        assert anonymous.post(f"{API}/{conv_id}/{path}", json=body).status_code == 401
    assert anonymous.get(f"{API}/{conv_id}").status_code == 401
    assert conv(app, conv_id).mode == ConversationMode.AI
    assert api("staff_a").post(f"{API}/{conv_id}/takeover").status_code == 200
    assert api("owner_a").post(f"{API}/{conv_id}/handback").status_code == 200
    assert api("admin").post(f"{API}/{conv_id}/takeover", tenant_id=world.a.tenant_id).status_code == 200
    # a malformed token is refused too (flask-jwt-extended answers 422), and changes nothing
    resp = anonymous.post(f"{API}/{conv_id}/handback", headers={"Authorization": "Bearer nonsense"})
    assert resp.status_code in (401, 422)
    assert conv(app, conv_id).mode == ConversationMode.HUMAN


# ------------------------------------------------------------------ editing the mode goes through the same services


def test_put_mode_takes_over_and_hands_back_like_the_buttons(world, app, api, graph, post_meta, run_jobs):
    conv_id = started(post_meta, run_jobs, app, "psid-u1")
    before = conv(app, conv_id).takeover_seq
    client = api("staff_a")
    resp = client.put(f"{API}/{conv_id}", json={"mode": "human"})
    assert resp.status_code == 200, resp.json
    taken = conv(app, conv_id)
    assert taken.mode == ConversationMode.HUMAN and taken.takeover_seq == before + 1
    assert taken.taken_over_by_id == user_id(app, "staff_a")
    say(post_meta, "psid-u1", "m_u1_1", "how much is Prod-A?")
    run_jobs()
    assert texts(graph) == ["Hello from A"]
    # an edit that leaves the mode alone takes nothing over again
    client.put(f"{API}/{conv_id}", json={"status": "open"})
    assert conv(app, conv_id).takeover_seq == before + 1
    assert client.put(f"{API}/{conv_id}", json={"mode": "ai"}).status_code == 200
    run_jobs()  # handed back: what waited is answered
    assert len(graph.sends()) == 2 and "799" in texts(graph)[-1]


def test_the_old_conversation_lists_mass_actions_take_over_through_the_service(world, app, browser, graph,
                                                                            post_meta, run_jobs):
    conv_id = started(post_meta, run_jobs, app, "psid-v1")
    before = conv(app, conv_id).takeover_seq
    staff = browser("staff_a")
    resp = staff.post("/conversationview/action_post", data={"action": "to_human", "rowid": [str(conv_id)]},
                      token_from="/conversationview/list/")
    assert resp.status_code == 302
    taken = conv(app, conv_id)
    assert taken.mode == ConversationMode.HUMAN and taken.takeover_seq == before + 1
    say(post_meta, "psid-v1", "m_v1_1", "how much is Prod-A?")
    run_jobs()
    assert texts(graph) == ["Hello from A"]
    staff.post("/conversationview/action_post", data={"action": "to_ai", "rowid": [str(conv_id)]},
               token_from="/conversationview/list/")
    run_jobs()
    assert conv(app, conv_id).mode == ConversationMode.AI
    assert len(graph.sends()) == 2 and "799" in texts(graph)[-1]


def test_the_old_conversation_edit_form_takes_over_through_the_service(world, app, browser, graph,
                                                                      post_meta, run_jobs):
    conv_id = started(post_meta, run_jobs, app, "psid-w1")
    before = conv(app, conv_id)
    staff = browser("staff_a")
    path = f"/conversationview/edit/{conv_id}"
    form = {"campaign": str(before.campaign_id or ""), "status": "open", "mode": "human", "assignee": ""}
    assert staff.post(path, data=form, token_from=path).status_code == 302
    taken = conv(app, conv_id)
    assert taken.mode == ConversationMode.HUMAN and taken.takeover_seq == before.takeover_seq + 1
    say(post_meta, "psid-w1", "m_w1_1", "how much is Prod-A?")
    run_jobs()
    assert texts(graph) == ["Hello from A"]
