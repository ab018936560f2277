"""Revenue attribution as one chain: the ad or link a conversation came from (Messenger,
Instagram and WhatsApp referrals, first touch kept, later ones recorded), the campaign it
credits, the turn that closed the sale, and what the conversation page shows. Referral fields
of any type never fail a delivery."""
from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.channels.referrals import meta_referral, whatsapp_referral
from app.extensions import db
from app.models import Campaign, Channel, Conversation, Message, Platform, Referral
from tests import meta_payloads as mp

PAGE, IG, WA = "page-ref", "17841400000000001", "wa-ref-1"

MESSENGER_AD = {"ref": "diwali", "ad_id": "6123", "source": "ADS", "type": "OPEN_THREAD",
                "ads_context_data": {"ad_title": "Kurta sale", "photo_url": "https://scontent.example/ad.jpg"}}
CTWA = {"source_url": "https://fb.me/3cr4Wqqkf", "source_id": "120212345678", "source_type": "ad",
        "headline": "Silk sarees, 20% off", "body": "Tap to chat", "media_type": "image",
        "image_url": "https://scontent.example/i.jpg", "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ"}


@pytest.fixture
def channels(app, world):
    with app.app_context():
        t = world.a.tenant_id
        db.session.add_all([
            Channel(tenant_id=t, platform=Platform.MESSENGER, external_id=PAGE, name="Ref page", access_token="t1"),
            Channel(tenant_id=t, platform=Platform.INSTAGRAM, external_id=IG, name="Ref IG", access_token="t2"),
            Channel(tenant_id=t, platform=Platform.WHATSAPP, external_id=WA, name="Ref WA", access_token="t3"),
        ])
        diwali = Campaign(tenant_id=t, name="Diwali ads", ad_ids="6000, 6123", ref="other")
        link = Campaign(tenant_id=t, name="Link campaign", ref="Diwali-Link")
        sarees = Campaign(tenant_id=t, name="Sarees CTWA", ad_ids="120212345678")
        db.session.add_all([diwali, link, sarees])
        db.session.commit()
        return {"diwali": diwali.id, "link": link.id, "sarees": sarees.id, "tenant": t}


def conv_of(customer_external_id):
    from app.models import Customer

    return db.session.scalar(select(Conversation).join(Customer).where(
        Customer.external_id == customer_external_id))


def test_messenger_ad_message_is_first_touch_and_credits_the_campaign(app, channels, post_meta):
    post_meta(mp.messenger(PAGE, mp.text("psid-1", PAGE, "m_ref1", "Price?", referral=MESSENGER_AD)))
    with app.app_context():
        conv = conv_of("psid-1")
        assert (conv.referral_source, conv.ad_id, conv.referral_ref) == ("ADS", "6123", "diwali")
        assert conv.campaign_id == channels["diwali"]
        (ref,) = conv.referrals
        assert ref.first_touch and ref.headline == "Kurta sale" and ref.platform == "messenger"
        assert ref.message_id == db.session.scalar(select(Message.id).where(Message.external_id == "m_ref1"))
        assert ref.source_url == "https://scontent.example/ad.jpg"


def test_bare_referral_event_opens_the_thread_once_and_a_later_one_keeps_the_first_touch(app, channels, post_meta):
    event = {"sender": {"id": "psid-2"}, "recipient": {"id": PAGE}, "timestamp": mp.now_ms(),
             "referral": {"ref": "diwali-link", "source": "SHORTLINK", "type": "OPEN_THREAD"}}
    post_meta(mp.messenger(PAGE, event))
    post_meta(mp.messenger(PAGE, event))  # Meta delivers it again
    with app.app_context():
        conv = conv_of("psid-2")
        assert conv.campaign_id == channels["link"]  # ref matched regardless of case
        assert len(conv.referrals) == 1
    later = {**MESSENGER_AD, "ad_id": "6000"}
    post_meta(mp.messenger(PAGE, mp.text("psid-2", PAGE, "m_ref2", "Me again", referral=later)))
    with app.app_context():
        conv = conv_of("psid-2")
        assert [r.first_touch for r in conv.referrals] == [True, False]
        assert conv.referrals[1].ad_id == "6000"
        assert (conv.referral_ref, conv.ad_id, conv.campaign_id) == ("diwali-link", None, channels["link"])


def test_a_bare_referral_opens_the_conversation_at_the_click(app, channels, post_meta):
    """Processed late (a queue outage), an ad click still opens its conversation when it
    happened: 23:50 IST yesterday is yesterday's conversation in the analytics."""
    from datetime import datetime, timedelta, timezone

    ist = timezone(timedelta(hours=5, minutes=30))
    clicked = (datetime.now(ist) - timedelta(days=1)).replace(hour=23, minute=50, second=0, microsecond=0)
    event = {"sender": {"id": "psid-late"}, "recipient": {"id": PAGE},
             "timestamp": int(clicked.timestamp() * 1000),
             "referral": {"ref": "diwali-link", "source": "SHORTLINK", "type": "OPEN_THREAD"}}
    post_meta(mp.messenger(PAGE, event))
    with app.app_context():
        conv = conv_of("psid-late")
        opened = conv.created_at if conv.created_at.tzinfo else conv.created_at.replace(tzinfo=timezone.utc)
        assert opened == clicked and conv.last_inbound_at is None  # a click is no message
        db.session.remove()


def test_postback_referral_and_instagram_referral(app, channels, post_meta):
    pb = mp.postback("psid-3", PAGE, "m_pb3", "Get started", "START")
    pb["postback"]["referral"] = {"ref": "other", "source": "SHORTLINK", "type": "OPEN_THREAD"}
    post_meta(mp.messenger(PAGE, pb))
    ig = mp.text("igsid-4", IG, "ig_m4", "hi", referral={"ref": None, "ad_id": 6123, "source": "ADS",
                                                          "type": "OPEN_THREAD"})
    post_meta(mp.messenger(IG, ig, obj="instagram"))
    with app.app_context():
        assert conv_of("psid-3").campaign_id == channels["diwali"]  # "other" is Diwali's ref
        conv = conv_of("igsid-4")
        assert conv.ad_id == "6123" and conv.campaign_id == channels["diwali"]
        assert conv.referrals[0].platform == "instagram"


def test_whatsapp_click_to_whatsapp_referral(app, channels, post_meta):
    msg = {"from": "919876500001", "id": "wamid.REF1", "timestamp": str(mp.now_ms() // 1000),
           "type": "text", "text": {"body": "Is this available?"}, "referral": CTWA}
    post_meta(mp.whatsapp(WA, messages=[msg], contacts=[mp.wa_contact("919876500001", "Asha")]))
    with app.app_context():
        conv = conv_of("919876500001")
        assert (conv.referral_source, conv.ad_id) == ("ad", "120212345678")
        assert conv.campaign_id == channels["sarees"]
        ref = conv.referrals[0]
        assert (ref.headline, ref.ctwa_clid, ref.source_url) == (
            "Silk sarees, 20% off", "ARAkLkA8rmlFeiCktEJQ", "https://fb.me/3cr4Wqqkf")


def test_referral_fields_are_read_by_type_and_never_trusted():
    assert meta_referral(None) is None and meta_referral("ad") is None and meta_referral([]) is None
    assert meta_referral({"ads_context_data": {"ad_title": "x"}}) is None  # names nothing
    r = meta_referral({"ad_id": ["6123"], "ref": {"a": 1}, "source": "ADS",
                       "referer_uri": "javascript:alert(1)", "ads_context_data": "x"})
    assert r == {"source": "ADS", "type": None, "ad_id": None, "ref": None, "headline": None,
                 "source_url": None, "ctwa_clid": None}
    r = whatsapp_referral({"source_id": 120212345678, "source_url": "https://fb.me/x", "headline": "a\u0000b " * 200})
    assert r["ad_id"] == "120212345678" and r["source_url"] == "https://fb.me/x"
    assert "\x00" not in r["headline"] and len(r["headline"]) <= 255


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=3),
                    max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(list(MESSENGER_AD) + list(CTWA) + ["referer_uri"]), JSON, max_size=8),
       JSON)
def test_any_referral_shape_reads_as_strings_or_nothing(fields, anything):
    for reader in (meta_referral, whatsapp_referral):
        for value in (fields, anything):
            got = reader(value)
            assert got is None or all(v is None or (isinstance(v, str) and len(v) <= 500) for v in got.values())


@pytest.mark.parametrize("constant", ["Infinity", "-Infinity", "NaN"])
def test_a_referral_holding_a_non_json_number_keeps_its_message(app, channels, post_meta, constant):
    """Python reads Infinity and NaN, PostgreSQL's json refuses them: the message is stored,
    the field read as absent (this found by the property test below, on PostgreSQL only)."""
    item = mp.text("psid-inf", PAGE, f"m_inf_{constant}", "hi", referral={**MESSENGER_AD, "ref": 0.5})
    raw = mp.encode(mp.messenger(PAGE, item)).replace(b'"ref": 0.5', b'"ref": ' + constant.encode())
    assert constant.encode() in raw
    resp = post_meta(None, raw=raw)
    assert resp.status_code == 200 and resp.stored == 1
    with app.app_context():
        conv = conv_of("psid-inf")
        assert (conv.ad_id, conv.referral_ref, conv.campaign_id) == ("6123", None, channels["diwali"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["message", "postback", "bare", "whatsapp"]),
       st.sampled_from(list(MESSENGER_AD) + list(CTWA)), JSON)
def test_mutated_referrals_through_the_webhook_never_5xx(app, channels, post_meta, where, key, value):
    n = mp.now_ms()
    if where == "whatsapp":
        ref = copy.deepcopy(CTWA)
        ref[key] = value
        body = mp.whatsapp(WA, messages=[{"from": "919800000009", "id": f"wamid.H{n}", "type": "text",
                                          "timestamp": str(n // 1000), "text": {"body": "hi"}, "referral": ref}])
    else:
        ref = copy.deepcopy(MESSENGER_AD)
        ref[key] = value
        if where == "message":
            item = mp.text("psid-h", PAGE, f"m_h{n}", "hi", referral=ref)
        elif where == "postback":
            item = mp.postback("psid-h", PAGE, f"m_hp{n}", "Go", "GO")
            item["postback"]["referral"] = ref
        else:
            item = {"sender": {"id": "psid-h"}, "recipient": {"id": PAGE}, "timestamp": n, "referral": ref}
        body = mp.messenger(PAGE, item)
    resp = post_meta(body)
    assert resp.status_code == 200
    if where != "bare":
        assert resp.stored == 1  # the customer's message is never lost for its referral


def test_closing_turn_is_stored_on_the_order(app, world, channels):
    from app.models import Customer, Direction, Order, Product, Sender
    from app.services import checkout

    with app.app_context():
        t = channels["tenant"]
        ch = db.session.scalar(select(Channel).where(Channel.external_id == PAGE))
        product = Product(tenant_id=t, sku="CL-1", name="Closer kurta", price_minor=1000, stock=10)
        cust = Customer(tenant_id=t, platform=Platform.MESSENGER, external_id="psid-close")
        db.session.add_all([product, cust])
        db.session.flush()
        conv = Conversation(tenant_id=t, channel_id=ch.id, customer_id=cust.id)
        db.session.add(conv)
        db.session.flush()

        def say(sender, author=None, status="sent"):
            db.session.add(Message(tenant_id=t, conversation_id=conv.id, channel_id=ch.id,
                                   direction=Direction.OUT, sender=sender, author_id=author, status=status,
                                   text="..."))
            db.session.commit()

        from app.models import TenantMembership
        staff_id = db.session.scalar(select(TenantMembership.user_id).where(TenantMembership.tenant_id == t))
        first = checkout.place_order(t, cust.id, conv.id, [(product.id, 1)], source="agent")
        assert (first.closed_by_sender, first.closed_by_user_id) == ("ai", None)  # nothing said yet
        say(Sender.AGENT, author=staff_id)
        second = checkout.place_order(t, cust.id, conv.id, [(product.id, 1)], source="agent")
        assert (second.closed_by_sender, second.closed_by_user_id) == ("agent", staff_id)
        say(Sender.AI)
        say(Sender.AGENT, author=staff_id, status="failed")  # never reached the customer
        third = checkout.place_order(t, cust.id, conv.id, [(product.id, 1)], source="agent")
        assert third.closed_by_sender == "ai"
        assert db.session.get(Order, third.id).closed_by_sender == "ai"
        by_hand = checkout.place_order(t, cust.id, conv.id, [(product.id, 1)], source="admin", actor_id=staff_id)
        assert (by_hand.closed_by_sender, by_hand.closed_by_user_id) == ("agent", staff_id)  # placed it


def test_conversation_page_shows_where_the_customer_came_from(app, channels, post_meta, browser):
    post_meta(mp.messenger(PAGE, mp.text("psid-5", PAGE, "m_ref5", "Price?", referral=MESSENGER_AD)))
    with app.app_context():
        conv_id = conv_of("psid-5").id
    html = browser("owner_a").get(f"/conversationview/show/{conv_id}").get_data(as_text=True)
    assert "Came from" in html and "Kurta sale" in html and "6123" in html and "Diwali ads" in html
    assert browser("owner_b").get(f"/conversationview/show/{conv_id}").status_code in (302, 403, 404)
    other = browser("owner_b").get(f"/conversationview/show/{conv_id}").get_data(as_text=True)
    assert "Kurta sale" not in other


def test_order_page_and_api_say_who_closed_the_sale(app, world, browser, api):
    from app.models import Order

    with app.app_context():
        order = db.session.get(Order, world.a["order"])
        order.closed_by_sender = "ai"
        db.session.commit()
    html = browser("owner_a").get(f"/orderview/show/{world.a['order']}").get_data(as_text=True)
    assert "Sale closed by" in html
    body = api("owner_a").get(f"/api/v1/orders/{world.a['order']}").json
    assert body["result"]["closed_by_sender"] == "ai"
