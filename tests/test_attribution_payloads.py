"""Attribution fed Meta's referral payloads as real senders vary them: the documented shapes
(Messenger ad and m.me referrals in a message, a Get Started postback and a bare
`messaging_referrals` event; Instagram ad DMs; click-to-WhatsApp `referral` on a message), with
ids as numbers or strings, keys missing or empty, unknown source types, unicode headlines, a
very long ref, the referral on a later message, an ad two campaigns list, an ad no campaign
knows and an ad another tenant's campaign lists. Each is acknowledged, its message kept, and
its conversation credited by one rule; the sale's close goes to the AI or to the person who
placed the order or took the chat over."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.channels.referrals import meta_referral
from app.extensions import db
from app.models import Campaign, Channel, Conversation, Customer, Message, Platform, Referral
from tests import meta_payloads as mp

PAGE, IG, WA = "page-var", "17841400000000555", "wa-var-1"
PAGE_B = "page-var-b"
AD_A, AD_SHARED, AD_B_ONLY, AD_UNKNOWN = "120208845512340001", "120208845512340002", "120208845512340009", "120208845599999999"
_n = itertools.count(1)


@pytest.fixture
def shop(app, world):
    """Tenant A: a Messenger page, an Instagram account, a WhatsApp number; a campaign owning
    AD_A and the link ref "Diwali-Link", two campaigns both listing AD_SHARED. Tenant B: a page
    and a campaign listing AD_B_ONLY and AD_A."""
    with app.app_context():
        a, b = world.a.tenant_id, world.b.tenant_id
        db.session.add_all([
            Channel(tenant_id=a, platform=Platform.MESSENGER, external_id=PAGE, name="Var page", access_token="t1"),
            Channel(tenant_id=a, platform=Platform.INSTAGRAM, external_id=IG, name="Var IG", access_token="t2"),
            Channel(tenant_id=a, platform=Platform.WHATSAPP, external_id=WA, name="Var WA", access_token="t3"),
            Channel(tenant_id=b, platform=Platform.MESSENGER, external_id=PAGE_B, name="Var B", access_token="t4"),
        ])
        kurtas = Campaign(tenant_id=a, name="Kurtas", ad_ids=f"{AD_A}\n{AD_SHARED}", ref="Diwali-Link")
        shared = Campaign(tenant_id=a, name="Also shared", ad_ids=f"{AD_SHARED},999")
        theirs = Campaign(tenant_id=b, name="B's ads", ad_ids=f"{AD_B_ONLY}, {AD_A}", ref="b-only-ref")
        db.session.add_all([kurtas, shared, theirs])
        db.session.commit()
        return {"a": a, "b": b, "kurtas": kurtas.id, "shared": shared.id, "theirs": theirs.id,
                "default_a": world.a["campaign"], "default_b": world.b["campaign"]}


def conv_of(external_id: str, tenant_id: int) -> Conversation:
    return db.session.scalar(select(Conversation).join(Customer).where(
        Customer.external_id == external_id, Customer.tenant_id == tenant_id)
        .order_by(Conversation.id.desc()).limit(1))


def messenger_ad(ad_id=AD_A, **context):
    return {"ref": None, "ad_id": ad_id, "source": "ADS", "type": "OPEN_THREAD",
            "ads_context_data": {"ad_title": "Kurta sale", "photo_url": "https://scontent.xx.fbcdn.net/v/ad.jpg",
                                 "post_id": "104857392011234_987654321", **context}}


def ctwa(source_id=AD_A, **extra):
    return {"source_url": "https://fb.me/3cr4Wqqkv", "source_id": source_id, "source_type": "ad",
            "body": "Summer succulents are here!", "headline": "Chat with us", "media_type": "image",
            "image_url": "https://scontent.xx.fbcdn.net/v/t45.1", "ctwa_clid":
            "Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4_0NiNhEgpGo0AHemvuSoifXaytfTzcchptiErTKCqTrJ5nW1h7IHYeYymGb5K5J5iTROpBhWAGaIAeUzHL50",
            "welcome_message": {"text": "Hi there! Let us know how we can help!"}, **extra}


def wa_msg(wa_id, referral, body="Is this available?"):
    n = next(_n)
    return mp.whatsapp(WA, messages=[{"from": wa_id, "id": f"wamid.VAR{n}", "timestamp": str(mp.now_ms() // 1000),
                                      "type": "text", "text": {"body": body}, "referral": referral}],
                       contacts=[mp.wa_contact(wa_id, "Asha")])


def bare(psid, page, referral, timestamp=None):
    return {"sender": {"id": psid}, "recipient": {"id": page},
            "timestamp": mp.now_ms() if timestamp is None else timestamp, "referral": referral}


# (name, body, customer id, expected (referral_source, ad_id, referral_ref), campaign key)
CASES = [
    ("messenger ad in a message, ad id a string",
     lambda: mp.messenger(PAGE, mp.text("psid-v1", PAGE, "m_v1", "Price?", referral=messenger_ad())),
     "psid-v1", ("ADS", AD_A, None), "kurtas"),
    ("messenger ad, ad id a number",
     lambda: mp.messenger(PAGE, mp.text("psid-v2", PAGE, "m_v2", "Price?", referral=messenger_ad(int(AD_A)))),
     "psid-v2", ("ADS", AD_A, None), "kurtas"),
    ("messenger ad, video ad with product id and flow id",
     lambda: mp.messenger(PAGE, mp.text("psid-v3", PAGE, "m_v3", "hi", referral=messenger_ad(
         AD_A, photo_url=None, video_url="https://scontent.xx.fbcdn.net/v/thumb.jpg", product_id="SKU-1",
         flow_id="1234"))),
     "psid-v3", ("ADS", AD_A, None), "kurtas"),
    ("get started postback with an m.me ref (documented source SHORT-URL, seconds as a string)",
     lambda: mp.messenger(PAGE, {"sender": {"id": "psid-v4"}, "recipient": {"id": PAGE},
                                 "timestamp": str(mp.now_ms() // 1000),
                                 "postback": {"mid": "m_v4", "title": "Get Started", "payload": "GET_STARTED",
                                              "referral": {"ref": "diwali-link", "source": "SHORT-URL",
                                                           "type": "OPEN_THREAD"}}}),
     "psid-v4", ("SHORT-URL", None, "diwali-link"), "kurtas"),
    ("bare m.me referral event",
     lambda: mp.messenger(PAGE, bare("psid-v5", PAGE, {"ref": "DIWALI-LINK", "source": "SHORTLINK",
                                                        "type": "OPEN_THREAD"})),
     "psid-v5", ("SHORTLINK", None, "DIWALI-LINK"), "kurtas"),
    ("bare ad referral (existing thread), timestamp in seconds",
     lambda: mp.messenger(PAGE, bare("psid-v6", PAGE, messenger_ad(), timestamp=mp.now_ms() // 1000)),
     "psid-v6", ("ADS", AD_A, None), "kurtas"),
    ("chat plugin referral with referer_uri and no ref",
     lambda: mp.messenger(PAGE, bare("psid-v7", PAGE, {"source": "CUSTOMER_CHAT_PLUGIN", "type": "OPEN_THREAD",
                                                        "referer_uri": "https://shop.example/kurtas?utm=x"})),
     "psid-v7", ("CUSTOMER_CHAT_PLUGIN", None, None), "default_a"),
    ("instagram ad DM, ad id a number, no ref key",
     lambda: mp.messenger(IG, {"sender": {"id": "igsid-v8"}, "recipient": {"id": IG}, "timestamp": mp.now_ms(),
                               "message": {"mid": "ig_v8", "text": "price?", "referral": {
                                   "ad_id": int(AD_A), "source": "ADS", "type": "OPEN_THREAD",
                                   "ads_context_data": {"ad_title": "Reel: festive kurtas",
                                                        "photo_url": "https://lookaside.fbsbx.com/x"}}}},
                          obj="instagram"),
     "igsid-v8", ("ADS", AD_A, None), "kurtas"),
    ("instagram ig.me link referral event",
     lambda: mp.messenger(IG, bare("igsid-v9", IG, {"ref": "diwali-link", "source": "IGME-SOURCE-LINK",
                                                     "type": "OPEN_THREAD"}), obj="instagram"),
     "igsid-v9", ("IGME-SOURCE-LINK", None, "diwali-link"), "kurtas"),
    ("click-to-whatsapp ad",
     lambda: wa_msg("919800000101", ctwa()), "919800000101", ("ad", AD_A, None), "kurtas"),
    ("click-to-whatsapp from a post, source id a number",
     lambda: wa_msg("919800000102", ctwa(int(AD_A), source_type="post")),
     "919800000102", ("post", AD_A, None), "kurtas"),
    ("click-to-whatsapp status ad: no ctwa_clid, video",
     lambda: wa_msg("919800000103", {k: v for k, v in ctwa(media_type="video", video_url="https://x/v.mp4",
                                                           thumbnail_url="https://x/t.jpg").items()
                                     if k != "ctwa_clid"}),
     "919800000103", ("ad", AD_A, None), "kurtas"),
    ("click-to-whatsapp with an unknown source type",
     lambda: wa_msg("919800000104", ctwa(source_type="reel_boost_2027")),
     "919800000104", ("reel_boost_2027", AD_A, None), "kurtas"),
    ("an ad id no campaign knows",
     lambda: mp.messenger(PAGE, mp.text("psid-v10", PAGE, "m_v10", "hi", referral=messenger_ad(AD_UNKNOWN))),
     "psid-v10", ("ADS", AD_UNKNOWN, None), "default_a"),
    ("an ad id only tenant B's campaign lists",
     lambda: mp.messenger(PAGE, mp.text("psid-v11", PAGE, "m_v11", "hi", referral=messenger_ad(AD_B_ONLY))),
     "psid-v11", ("ADS", AD_B_ONLY, None), "default_a"),
    ("tenant B's link ref",
     lambda: mp.messenger(PAGE, bare("psid-v12", PAGE, {"ref": "b-only-ref", "source": "SHORTLINK",
                                                         "type": "OPEN_THREAD"})),
     "psid-v12", ("SHORTLINK", None, "b-only-ref"), "default_a"),
    ("empty strings everywhere but the ad id",
     lambda: mp.messenger(PAGE, mp.text("psid-v13", PAGE, "m_v13", "hi", referral={
         "ref": "", "ad_id": AD_A, "source": "", "type": "", "ads_context_data": {"ad_title": ""}})),
     "psid-v13", ("unknown", AD_A, None), "kurtas"),
    ("ads referral with a ref as well: the ad decides",
     lambda: mp.messenger(PAGE, mp.text("psid-v14", PAGE, "m_v14", "hi", referral={
         **messenger_ad(AD_UNKNOWN), "ref": "diwali-link"})),
     "psid-v14", ("ADS", AD_UNKNOWN, "diwali-link"), "kurtas"),
]


@pytest.mark.parametrize("name,body,customer,first_touch,campaign", CASES, ids=[c[0] for c in CASES])
def test_each_real_shape_is_kept_and_credited(app, shop, post_meta, name, body, customer, first_touch, campaign):
    resp = post_meta(body())
    assert resp.status_code == 200
    with app.app_context():
        conv = conv_of(customer, shop["a"])
        assert conv is not None, "the referral opened no conversation"
        assert (conv.referral_source, conv.ad_id, conv.referral_ref) == first_touch
        assert conv.campaign_id == shop[campaign]
        (ref,) = conv.referrals
        assert ref.first_touch and ref.tenant_id == shop["a"]


def test_whatsapp_referral_keeps_the_click_id_and_headline(app, shop, post_meta):
    post_meta(wa_msg("919800000201", ctwa(headline="", body="साड़ी सेल — 20% छूट 🎉")))
    with app.app_context():
        ref = conv_of("919800000201", shop["a"]).referrals[0]
        assert ref.ctwa_clid.startswith("Aff-n8ZTODiE79d22") and len(ref.ctwa_clid) > 100
        assert ref.headline == "साड़ी सेल — 20% छूट 🎉"
        assert ref.source_url == "https://fb.me/3cr4Wqqkv"


def test_the_referral_on_a_second_message_is_the_first_touch(app, shop, post_meta):
    post_meta(mp.messenger(PAGE, mp.text("psid-s1", PAGE, "m_s1", "hello")))
    with app.app_context():
        assert conv_of("psid-s1", shop["a"]).campaign_id == shop["default_a"]
    post_meta(mp.messenger(PAGE, mp.text("psid-s1", PAGE, "m_s2", "this one", referral=messenger_ad())))
    post_meta(mp.messenger(PAGE, mp.text("psid-s1", PAGE, "m_s3", "and", referral=messenger_ad(AD_UNKNOWN))))
    with app.app_context():
        conv = conv_of("psid-s1", shop["a"])
        assert (conv.ad_id, conv.campaign_id) == (AD_A, shop["kurtas"])
        assert [(r.ad_id, r.first_touch) for r in conv.referrals] == [(AD_A, True), (AD_UNKNOWN, False)]


def test_an_ad_two_campaigns_list_credits_one_of_them_every_time(app, shop, post_meta):
    for i in range(3):
        post_meta(mp.messenger(PAGE, mp.text(f"psid-sh{i}", PAGE, f"m_sh{i}", "hi", referral=messenger_ad(AD_SHARED))))
    with app.app_context():
        credited = {conv_of(f"psid-sh{i}", shop["a"]).campaign_id for i in range(3)}
        assert credited == {shop["kurtas"]}  # the oldest campaign listing it


def test_tenant_b_never_gets_tenant_a_conversations(app, shop, post_meta):
    """AD_A is listed by A's and B's campaigns; each tenant's click credits its own."""
    post_meta(mp.messenger(PAGE, mp.text("psid-iso", PAGE, "m_iso_a", "hi", referral=messenger_ad(AD_A))))
    post_meta(mp.messenger(PAGE_B, mp.text("psid-iso", PAGE_B, "m_iso_b", "hi", referral=messenger_ad(AD_A))))
    post_meta(mp.messenger(PAGE_B, mp.text("psid-iso2", PAGE_B, "m_iso_b2", "hi", referral=messenger_ad("6000"))))
    with app.app_context():
        a, b = conv_of("psid-iso", shop["a"]), conv_of("psid-iso", shop["b"])
        assert (a.campaign_id, b.campaign_id) == (shop["kurtas"], shop["theirs"])
        assert conv_of("psid-iso2", shop["b"]).campaign_id == shop["default_b"]  # "6000" is A's... not B's
        b_campaigns = set(db.session.scalars(select(Campaign.id).where(Campaign.tenant_id == shop["b"])))
        a_convs = db.session.scalars(select(Conversation.campaign_id).where(Conversation.tenant_id == shop["a"])).all()
        assert not b_campaigns & set(a_convs)
        assert all(r.tenant_id == r.conversation.tenant_id for r in db.session.scalars(select(Referral)))


LONG_REF = "diwali-link" + "-x" * 1500


def test_a_very_long_ref_is_kept_cut_and_matches_no_campaign_by_accident(app, shop, post_meta):
    resp = post_meta(mp.messenger(PAGE, mp.text("psid-long", PAGE, "m_long", "hi", referral={
        "ref": LONG_REF, "source": "SHORTLINK", "type": "OPEN_THREAD"})))
    assert resp.status_code == 200 and resp.stored == 1
    with app.app_context():
        conv = conv_of("psid-long", shop["a"])
        assert conv.referral_ref == LONG_REF[:255]
        assert conv.campaign_id == shop["default_a"]


# ---------------------------------------------------------------------------- property test

AD_IDS = st.sampled_from([AD_A, AD_SHARED, AD_B_ONLY, AD_UNKNOWN, "6000"])
AD_ID_VALUES = st.one_of(st.none(), st.just(""), AD_IDS, AD_IDS.map(int))
REFS = st.one_of(st.none(), st.just(""), st.sampled_from(["diwali-link", "DIWALI-LINK", " diwali-link ", "b-only-ref",
                                                          "other", LONG_REF]),
                 st.text(max_size=40))
HEADLINES = st.one_of(st.none(), st.just(""), st.text(max_size=300),
                      st.sampled_from(["Kurta sale", "साड़ी सेल 🎉", "\u202eevil", "<b>x</b>&amp;"]))
SOURCES = st.one_of(st.none(), st.just(""), st.sampled_from(["ADS", "SHORTLINK", "SHORT-URL", "CUSTOMER_CHAT_PLUGIN",
                                                             "IGME-SOURCE-LINK", "ad", "post", "weird"]))


def expected_campaign(shop, ad_id, ref) -> int:
    """What A's campaigns credit: the ad id a campaign lists, else the link ref (any case), else
    the conversation's default campaign."""
    ad = str(ad_id).strip() if ad_id not in (None, "") else None
    if ad in (AD_A, AD_SHARED):
        return shop["kurtas"]
    if isinstance(ref, str) and ref.strip().lower() == "diwali-link":
        return shop["kurtas"]
    return shop["default_a"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(["message", "postback", "bare", "instagram", "whatsapp"]),
       ad_id=AD_ID_VALUES, ref=REFS, headline=HEADLINES, source=SOURCES, drop_context=st.booleans())
def test_varied_referrals_are_acknowledged_kept_and_credited_by_one_rule(
        app, shop, post_meta, where, ad_id, ref, headline, source, drop_context):
    n = next(_n)
    customer = f"psid-h{n}" if where != "whatsapp" else f"9198{n:08d}"
    if where == "whatsapp":
        referral = ctwa(ad_id, headline=headline, source_type=source)
        body = wa_msg(customer, referral)
        ref = None
    else:
        referral = {"ref": ref, "ad_id": ad_id, "source": source, "type": "OPEN_THREAD"}
        if not drop_context:
            referral["ads_context_data"] = {"ad_title": headline, "photo_url": "https://x/p.jpg"}
        page, obj = (IG, "instagram") if where == "instagram" else (PAGE, "page")
        if where == "postback":
            item = mp.postback(customer, page, f"m_hp{n}", "Get Started", "GET_STARTED")
            item["postback"]["referral"] = referral
        elif where == "bare":
            item = bare(customer, page, referral)
        else:
            item = mp.text(customer, page, f"m_hm{n}", "hi", referral=referral)
        body = mp.messenger(page, item, obj=obj)
    resp = post_meta(body)
    assert resp.status_code == 200
    names_something = where == "whatsapp" or meta_referral(referral) is not None
    with app.app_context():
        conv = conv_of(customer, shop["a"])
        if where == "bare" and not names_something:
            assert conv is None  # a referral naming nothing is dropped, not half-stored
            return
        assert conv is not None
        if where != "bare":
            assert db.session.scalar(select(Message.id).where(Message.conversation_id == conv.id)) is not None
        if where == "whatsapp" or names_something:
            assert conv.campaign_id == expected_campaign(shop, ad_id, ref)
            if ad_id not in (None, ""):
                assert conv.ad_id == str(ad_id)
        for r in conv.referrals:
            assert r.headline is None or (len(r.headline) <= 255 and "\x00" not in r.headline)


# ---------------------------------------------------------------------------- who closed the sale

def _staff(tenant_id: int, username: str) -> int:
    from app.models import User

    return db.session.scalar(select(User.id).where(User.username == username))


def _ai_said_last(app, shop, customer: str) -> int:
    """A conversation from an ad where the AI wrote last (as its reply job stores it)."""
    from app.models import Direction, MessageStatus, Sender

    with app.app_context():
        conv = conv_of(customer, shop["a"])
        db.session.add(Message(tenant_id=conv.tenant_id, conversation_id=conv.id, channel_id=conv.channel_id,
                               direction=Direction.OUT, sender=Sender.AI, status=MessageStatus.SENT,
                               text="It is ₹1,000; shall I make the order?"))
        db.session.commit()
        return conv.id


def test_a_person_who_takes_over_and_places_the_order_closed_it(app, shop, post_meta, browser, api):
    """The AI talked; staff_a took the chat over from the inbox and, without writing, made the
    order from the admin (its payment link is theirs): staff_a closed the sale, not the AI."""
    from app.models import Order

    post_meta(mp.messenger(PAGE, mp.text("psid-close1", PAGE, "m_c1", "price?", referral=messenger_ad())))
    conv_id = _ai_said_last(app, shop, "psid-close1")
    staff = browser("staff_a")
    resp = staff.post(f"/inbox/c/{conv_id}/takeover", token_from=f"/inbox/c/{conv_id}")
    assert resp.status_code in (200, 302)
    with app.app_context():
        conv = db.session.get(Conversation, conv_id)
        staff_id = _staff(shop["a"], "staff_a")
        assert conv.taken_over_by_id == staff_id
        customer_id = conv.customer_id
    created = api("staff_a").post("/api/v1/orders/", json={"customer": customer_id, "conversation": conv_id})
    assert created.status_code == 201, created.get_data(as_text=True)
    with app.app_context():
        order = db.session.get(Order, created.json["id"])
        assert (order.closed_by_sender, order.closed_by_user_id) == ("agent", staff_id)
        assert order.campaign_id == shop["kurtas"]


def test_a_person_placing_the_order_closed_it_even_after_the_ai_spoke(app, shop, post_meta):
    from app.models import Product
    from app.services import checkout

    post_meta(mp.messenger(PAGE, mp.text("psid-close2", PAGE, "m_c2", "price?", referral=messenger_ad())))
    conv_id = _ai_said_last(app, shop, "psid-close2")
    with app.app_context():
        owner = _staff(shop["a"], "owner_a")
        conv = db.session.get(Conversation, conv_id)
        product = db.session.scalar(select(Product.id).where(Product.tenant_id == shop["a"]))
        order = checkout.place_order(shop["a"], conv.customer_id, conv_id, [(product, 1)], source="admin",
                                     actor_id=owner)
        assert (order.closed_by_sender, order.closed_by_user_id) == ("agent", owner)
        by_ai = checkout.place_order(shop["a"], conv.customer_id, conv_id, [(product, 1)], source="agent")
        assert (by_ai.closed_by_sender, by_ai.closed_by_user_id) == ("ai", None)


def test_a_chat_taken_over_credits_the_person_who_took_it(app, shop, post_meta):
    """The AI's tool places an order just as staff_a takes the chat over (the reply job was
    already running): the chat is theirs, and so is the close."""
    from app.models import Product
    from app.services import checkout, takeover

    post_meta(mp.messenger(PAGE, mp.text("psid-close3", PAGE, "m_c3", "price?", referral=messenger_ad())))
    conv_id = _ai_said_last(app, shop, "psid-close3")
    with app.app_context():
        staff_id = _staff(shop["a"], "staff_a")
        conv = db.session.get(Conversation, conv_id)
        takeover.take_over(conv, staff_id)
        db.session.commit()
        product = db.session.scalar(select(Product.id).where(Product.tenant_id == shop["a"]))
        order = checkout.place_order(shop["a"], conv.customer_id, conv_id, [(product, 1)], source="agent")
        assert (order.closed_by_sender, order.closed_by_user_id, order.campaign_id) == (
            "agent", staff_id, shop["kurtas"])
        takeover.hand_back(conv)
        db.session.commit()
        after = checkout.place_order(shop["a"], conv.customer_id, conv_id, [(product, 1)], source="agent")
        assert (after.closed_by_sender, after.closed_by_user_id) == ("ai", None)


# ---------------------------------------------------------------------------- campaigns' ad ids

def test_a_campaign_claims_an_ad_or_a_ref_once_and_ad_ids_are_ids(app, shop, api, browser):
    """A click credits one campaign, so a second campaign listing the same ad (or the same
    link ref) would silently get nothing: refused with a reason. Another tenant may list it."""
    owner = api("owner_a")
    dup = owner.post("/api/v1/campaigns/", json={"name": "Copy", "ad_ids": f"777, {AD_A}"})
    assert dup.status_code == 422 and "Kurtas" in dup.get_data(as_text=True)
    same_ref = owner.post("/api/v1/campaigns/", json={"name": "Copy", "ref": " diwali-LINK "})
    assert same_ref.status_code == 422 and "Kurtas" in same_ref.get_data(as_text=True)
    junk = owner.post("/api/v1/campaigns/", json={"name": "Copy", "ad_ids": "6123 https://fb.me/x"})
    assert junk.status_code == 422 and "https://fb.me/x" in junk.get_data(as_text=True)
    ok = owner.post("/api/v1/campaigns/", json={"name": "New", "ad_ids": " 777;778\n777 ", "ref": " new-ref "})
    assert ok.status_code == 201, ok.get_data(as_text=True)
    with app.app_context():
        new = db.session.get(Campaign, ok.json["id"])
        assert (new.ad_ids, new.ref) == ("777, 778", "new-ref")
    assert owner.put(f"/api/v1/campaigns/{ok.json['id']}", json={"ad_ids": "777, 779"}).status_code == 200
    theirs = api("owner_b").post("/api/v1/campaigns/", json={"name": "B copy", "ad_ids": "777", "ref": "new-ref"})
    assert theirs.status_code == 201, theirs.get_data(as_text=True)  # tenant B's own business
    page = browser("owner_a").post("/campaignview/add", data={"name": "Form copy", "ad_ids": AD_A,
                                                                 "target_platform": "all", "status": "active"},
                                   token_from="/campaignview/add")
    assert "already credited" in page.get_data(as_text=True) or page.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Campaign.id).where(Campaign.name == "Form copy")) is None
