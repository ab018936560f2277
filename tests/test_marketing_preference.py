"""WhatsApp's user_preferences webhook: a customer who stops marketing messages in WhatsApp's
own settings is skipped by broadcasts of marketing templates (with the reason shown per
recipient), still gets utility templates and the AI's answers, and 'resume' opts them back in;
the newest choice wins whatever order Meta delivers them in; malformed deliveries are
acknowledged and change nothing; another tenant's customer of the same number is untouched."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Broadcast, Channel, Customer, Platform, Template
from app.services.broadcasts import NO_MARKETING
from tests.test_broadcasts import WA_NUMBER, _recipients, _start, audience  # noqa: F401 (fixture)

RAVI = "919800000002"
STOP_DETAIL = "User requested to stop marketing messages"
RESUME_DETAIL = "User requested to resume marketing messages"


def preferences(*prefs, phone_number_id=WA_NUMBER, contacts=None) -> dict:
    """A user_preferences delivery as Meta documents it (field user_preferences)."""
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "919820012345", "phone_number_id": phone_number_id},
             "contacts": contacts if contacts is not None else [
                 {"profile": {"name": "Ravi"}, "wa_id": p.get("wa_id")} for p in prefs if isinstance(p, dict)],
             "user_preferences": list(prefs)}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "user_preferences", "value": value}]}]}


def pref(choice: str, wa_id: str = RAVI, offset_s: float = 0) -> dict:
    return {"wa_id": wa_id, "detail": STOP_DETAIL if choice == "stop" else RESUME_DETAIL,
            "category": "marketing_messages", "value": choice, "timestamp": int(time.time() + offset_s)}


def system_message(choice: str, wa_id: str = RAVI) -> dict:
    """The same change as a `messages` system message (type user_preference_changed)."""
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "919820012345", "phone_number_id": WA_NUMBER},
            "contacts": [{"profile": {"name": "Ravi"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": f"wamid.pref-{choice}", "timestamp": str(int(time.time())),
                          "type": "system", "system": {
                              "body": STOP_DETAIL if choice == "stop" else RESUME_DETAIL,
                              "type": "user_preference_changed", "marketing": choice}}]}}]}]}


def flags(app, tenant_id, wa_id=RAVI):
    with app.app_context():
        row = db.session.execute(select(Customer.marketing_opted_out, Customer.opted_out).where(
            Customer.tenant_id == tenant_id, Customer.external_id == wa_id)).one_or_none()
        db.session.remove()
        return tuple(row) if row is not None else None


def category(app, template_id, value):
    with app.app_context():
        db.session.get(Template, template_id).category = value
        db.session.commit()
        db.session.remove()


def test_a_stop_skips_marketing_broadcasts_with_the_reason_and_resume_opts_back_in(
        app, browser, graph, run_jobs, post_meta, audience):
    world, ids = audience
    category(app, ids["template"], "MARKETING")  # as Meta's template sync spells it
    assert post_meta(preferences(pref("stop"))).status_code == 200
    assert flags(app, world.a.tenant_id) == (True, False)  # marketing only: not an opt-out of the chat

    b = browser("owner_a")
    assert _start(b, ids).status_code == 302
    run_jobs(ahead=10)
    assert sorted(s["to"] for s in graph.sends()) == ["919800000001"]
    with app.app_context():
        first = db.session.scalar(select(Broadcast.id))
    assert _recipients(app, first)[RAVI] == ("skipped", NO_MARKETING)
    assert NO_MARKETING.replace("'", "&#39;") in b.get(f"/broadcasts/{first}").get_data(as_text=True)

    post_meta(preferences(pref("resume")))
    assert flags(app, world.a.tenant_id) == (False, False)
    assert _start(b, ids, name="Second drop").status_code == 302
    run_jobs(ahead=10)
    assert sorted(s["to"] for s in graph.sends()) == ["919800000001", "919800000001", RAVI]


def test_utility_templates_still_reach_them_and_so_does_the_ai(app, browser, graph, run_jobs, post_meta,
                                                               audience):
    world, ids = audience  # the audience's template is a utility one
    post_meta(preferences(pref("stop")))
    _start(browser("owner_a"), ids)
    run_jobs(ahead=10)
    assert sorted(s["to"] for s in graph.sends()) == ["919800000001", RAVI]
    from tests.meta_payloads import wa_text, whatsapp

    post_meta(whatsapp(WA_NUMBER, messages=[wa_text(RAVI, "wamid.ravi-1", "do you have kurtas?")]))
    run_jobs()
    assert [s["to"] for s in graph.sends()][-1] == RAVI and graph.sends()[-1]["type"] == "text"
    with app.app_context():  # staff see why broadcasts skip them, in the conversation's sidebar
        from app.models import Conversation
        conv_id = db.session.scalar(select(Conversation.id).join(Customer).where(
            Customer.tenant_id == world.a.tenant_id, Customer.external_id == RAVI,
            Conversation.channel_id == ids["channel"]))
        db.session.remove()
    page = browser("owner_a").get(f"/inbox/c/{conv_id}").get_data(as_text=True)
    assert 'id="no-marketing"' in page and "stopped marketing messages" in page
    post_meta(preferences(pref("resume", offset_s=5)))
    assert 'id="no-marketing"' not in browser("owner_a").get(f"/inbox/c/{conv_id}").get_data(as_text=True)


def test_a_stop_while_the_broadcast_goes_out_skips_them(app, browser, graph, run_jobs, post_meta, audience):
    world, ids = audience
    category(app, ids["template"], "marketing")
    _start(browser("owner_a"), ids)  # Ravi is frozen as a recipient, then stops marketing
    post_meta(preferences(pref("stop")))
    run_jobs(ahead=10)
    with app.app_context():
        broadcast_id = db.session.scalar(select(Broadcast.id))
    assert [s["to"] for s in graph.sends()] == ["919800000001"]
    assert _recipients(app, broadcast_id)[RAVI] == ("skipped", NO_MARKETING)


def test_the_system_message_variant_and_the_newest_choice_wins(app, post_meta, audience):
    world, _ = audience
    assert post_meta(system_message("stop")).status_code == 200
    assert flags(app, world.a.tenant_id) == (True, False)
    post_meta(preferences(pref("resume", offset_s=-3600)))  # an older resume, delivered late
    assert flags(app, world.a.tenant_id) == (True, False)
    post_meta(preferences(pref("resume", offset_s=5)))
    post_meta(preferences(pref("resume", offset_s=5)))  # re-delivered: nothing more changes
    assert flags(app, world.a.tenant_id) == (False, False)
    with app.app_context():  # the system message is not a message of the chat
        from app.models import Message
        assert db.session.scalar(select(Message.id).where(Message.external_id == "wamid.pref-stop")) is None


def test_another_tenants_customer_of_the_same_number_is_untouched(app, post_meta, audience):
    world, _ = audience
    with app.app_context():
        t = world.b.tenant_id
        db.session.add_all([
            Channel(tenant_id=t, name="WA-B", platform=Platform.WHATSAPP, external_id="222333444",
                    access_token="b-token"),
            Customer(tenant_id=t, platform=Platform.WHATSAPP, external_id=RAVI, name="Ravi at B")])
        db.session.commit()
        db.session.remove()
    post_meta(preferences(pref("stop")))  # to tenant A's number
    assert flags(app, world.a.tenant_id) == (True, False)
    assert flags(app, world.b.tenant_id) == (False, False)


@pytest.mark.parametrize("case", [
    "value not an object", "preferences not a list", "a preference not an object", "other category",
    "unknown choice", "choice not a string", "no wa_id", "wa_id an object", "timestamp garbage",
    "no metadata", "unknown number", "system message without marketing"])
def test_malformed_deliveries_are_acknowledged_and_change_nothing(app, post_meta, audience, case):
    world, _ = audience
    good = pref("stop")
    payload = preferences(good)
    value = payload["entry"][0]["changes"][0]["value"]
    expect = (False, False)
    if case == "value not an object":
        payload["entry"][0]["changes"][0]["value"] = ["stop"]
    elif case == "preferences not a list":
        value["user_preferences"] = good
    elif case == "a preference not an object":
        value["user_preferences"] = ["stop", None]
    elif case == "other category":
        good["category"] = "offers_and_announcements"
    elif case == "unknown choice":
        good["value"] = "maybe"
    elif case == "choice not a string":
        good["value"] = {"stop": True}
    elif case == "no wa_id":
        del good["wa_id"]
    elif case == "wa_id an object":
        good["wa_id"] = {"id": RAVI}
    elif case == "timestamp garbage":  # readable otherwise: recorded, at its arrival
        good["timestamp"] = "yesterday"
        expect = (True, False)
    elif case == "no metadata":
        del value["metadata"]
    elif case == "unknown number":
        value["metadata"]["phone_number_id"] = "000000"
    else:
        payload = system_message("stop")
        del payload["entry"][0]["changes"][0]["value"]["messages"][0]["system"]["marketing"]
    resp = post_meta(payload)
    assert resp.status_code == 200
    assert flags(app, world.a.tenant_id) == expect


def test_the_inbox_refuses_a_marketing_template_to_them_and_sends_a_utility_one(app, world, browser, graph,
                                                                               run_jobs):
    from datetime import timedelta

    from tests.test_inbox_page import approved_template, make_conv, stored

    conv = make_conv(app, world.a.tenant_id, Platform.WHATSAPP, RAVI, inbound_age=timedelta(hours=30))
    with app.app_context():
        db.session.scalar(select(Customer).where(Customer.external_id == RAVI)).marketing_opted_out = True
        db.session.commit()
        db.session.remove()
    promo = approved_template(app, world.a.tenant_id, name="sale", body="Sale today!")
    category(app, promo, "marketing")
    update = approved_template(app, world.a.tenant_id, name="order_ready", body="Your order is ready")
    staff, path = browser("staff_a"), f"/inbox/c/{conv}"
    staff.post(f"{path}/template", data={"template_id": promo}, token_from=path)
    assert "stopped marketing messages in WhatsApp" in staff.get(path).get_data(as_text=True)
    assert stored(app, conv) == []
    staff.post(f"{path}/template", data={"template_id": update}, token_from=path)
    run_jobs()
    assert [s["template"]["name"] for s in graph.sends()] == ["order_ready"]
