"""Segments: filters over what customers did, saved segments, bulk tags, CSV export, isolation."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from app.extensions import db
from app.models import Conversation, Customer, Order, OrderStatus, Platform, Segment, utcnow
from app.services import segments


def _customer(tenant_id, ext, *, platform=Platform.WHATSAPP, name=None, tags=None, days_ago=0,
              paid=(), refunded=(), opted_out=False):
    c = Customer(tenant_id=tenant_id, platform=platform, external_id=ext, name=name or ext,
                 tags=tags, opted_out=opted_out, last_seen_at=utcnow() - timedelta(days=days_ago))
    db.session.add(c)
    db.session.flush()
    for n, amount in enumerate(paid):
        db.session.add(Order(tenant_id=tenant_id, number=f"{ext}-P{n}", customer_id=c.id,
                             total_minor=amount, status=OrderStatus.PAID))
    for n, amount in enumerate(refunded):
        db.session.add(Order(tenant_id=tenant_id, number=f"{ext}-R{n}", customer_id=c.id,
                             total_minor=amount, status=OrderStatus.REFUNDED))
    db.session.flush()
    return c


@pytest.fixture
def shop(app, world):
    """Tenant A: four customers with known spend, orders, tags and last-seen days."""
    with app.app_context():
        t = world.a.tenant_id
        people = {
            "big": _customer(t, "9100", name="Asha Big", tags="vip, kurta", paid=(250000, 150000)),
            "small": _customer(t, "9101", name="Ravi Small", paid=(50000,), refunded=(900000,), days_ago=10),
            "none": _customer(t, "9102", name="Meera None", platform=Platform.INSTAGRAM, days_ago=40,
                              tags="vipish"),
            "out": _customer(t, "9103", name="Opted Out", paid=(300000,), opted_out=True, tags="VIP"),
        }
        conv = Conversation(tenant_id=t, channel_id=world.a["channel"], customer_id=people["small"].id,
                            campaign_id=world.a["campaign"])
        db.session.add(conv)
        db.session.commit()
        ids = {k: v.id for k, v in people.items()}
    return world, ids


def _names(tenant_id, **raw):
    f = segments.parse_filters(tenant_id, raw)
    return sorted(c.external_id for c in segments.members(tenant_id, f) if c.external_id.startswith("91"))


def test_filters_match_spend_orders_tags_platform_campaign_and_last_seen(app, shop):
    world, _ = shop
    t = world.a.tenant_id
    with app.app_context():
        # spend counts paid orders only: the 9,000 refunded rupees don't make Ravi big
        assert _names(t, min_spend_minor=300000) == ["9100", "9103"]
        assert _names(t, max_spend_minor=50000, platform="whatsapp") == ["9101"]
        assert _names(t, min_orders=2) == ["9100"]
        assert _names(t, max_orders=0) == ["9102"]
        # a whole tag, any case, not a substring of another tag ("vipish")
        assert _names(t, tag="VIP") == ["9100", "9103"]
        assert _names(t, platform="instagram") == ["9102"]
        assert _names(t, campaign_id=world.a["campaign"]) == ["9101"]
        assert _names(t, seen_within_days=7) == ["9100", "9103"]
        assert _names(t, not_seen_for_days=30) == ["9102"]
        assert _names(t, max_spend_minor="50000", min_orders=1.0) == ["9101"]  # form strings, whole floats


@pytest.mark.parametrize("raw, message", [
    ({"min_spend_minor": -1}, "minimum spend"),
    ({"min_orders": "two"}, "minimum orders"),
    ({"min_orders": True}, "minimum orders"),
    ({"min_orders": 2.5}, "minimum orders"),
    ({"platform": "telegram"}, "platform"),
    ({"platform": ["whatsapp"]}, "platform"),
    ({"tag": "a,b"}, "tag"),
    ({"tag": 7}, "tag"),
    ({"min_orders": 3, "max_orders": 1}, "above the maximum"),
    ({"seen_within_days": 100000}, "seen within"),
])
def test_bad_filters_are_refused_with_a_reason(app, world, raw, message):
    with app.app_context():
        with pytest.raises(segments.SegmentError, match=message):
            segments.parse_filters(world.a.tenant_id, raw)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["platform", "campaign_id", "tag", "min_spend_minor", "max_orders",
                                        "seen_within_days", "filters"]),
                       st.one_of(st.none(), st.booleans(), st.integers(-10, 10**12), st.floats(allow_nan=True),
                                 st.text(max_size=30), st.lists(st.integers(), max_size=2))))
def test_any_filter_input_is_either_refused_or_answered(app, world, raw):
    with app.app_context():
        try:
            f = segments.parse_filters(world.a.tenant_id, raw)
        except segments.SegmentError:
            return
        assert segments.count(world.a.tenant_id, f) >= 0
        db.session.rollback()


def test_another_tenants_campaign_is_no_filter(app, world):
    with app.app_context():
        with pytest.raises(segments.SegmentError, match="no such campaign"):
            segments.parse_filters(world.a.tenant_id, {"campaign_id": world.b["campaign"]})


def test_page_filters_saves_and_shows_a_segment(browser, shop):
    world, ids = shop
    b = browser("owner_a")
    page = b.get("/segments/?min_spend=3000&platform=whatsapp").get_data(as_text=True)
    assert "Asha Big" in page and "Opted Out" in page and "Ravi Small" not in page
    resp = b.post("/segments/save", {"name": "Big spenders", "min_spend": "3000", "platform": "whatsapp"},
                  token_from="/segments/")
    assert resp.status_code == 302
    with b.app.app_context():
        seg = db.session.query(Segment).filter_by(name="Big spenders").one()
        assert seg.filters == {"min_spend_minor": 300000, "platform": "whatsapp"}
        seg_id = seg.id
    shown = b.get(f"/segments/{seg_id}").get_data(as_text=True)
    assert "Segment: Big spenders" in shown and "Asha Big" in shown and "Meera None" not in shown
    # a bad amount is a message on the page, not a 500
    bad = b.get("/segments/?min_spend=12.345")
    assert bad.status_code == 400 and "not an amount" in bad.get_data(as_text=True)
    dup = b.post("/segments/save", {"name": "Big spenders"}, token_from="/segments/", follow_redirects=True)
    assert "exists already" in dup.get_data(as_text=True)


def test_bulk_tag_ticked_and_all_matching_is_idempotent(browser, app, shop):
    world, ids = shop
    b = browser("staff_a")
    token = b.csrf("/segments/")
    resp = b.client.post("/segments/tag", data={"csrf_token": token, "apply_tag": "Diwali",
                                                "customer_id": [str(ids["small"]), str(ids["none"])]})
    assert resp.status_code == 302
    b.get("/segments/")  # shows (and clears) the first flash
    # every customer matching the filters, whose tag filter is not the tag being applied
    again = b.client.post("/segments/tag", data={"csrf_token": token, "apply_tag": "diwali", "scope": "all",
                                                 "min_orders": "1", "tag": "", "back": "/segments/?min_orders=1"},
                          follow_redirects=True)
    assert "Tagged 2 customers" in again.get_data(as_text=True)  # big and out; small had it already
    with app.app_context():
        tags = {k: db.session.get(Customer, v).tags for k, v in ids.items()}
    assert tags["small"].endswith("diwali") and tags["none"] == "vipish, diwali"
    assert tags["big"] == "vip, kurta, diwali" and tags["out"] == "VIP, diwali"
    b.client.post("/segments/tag", data={"csrf_token": token, "apply_tag": "diwali", "remove": "1",
                                         "customer_id": [str(ids["big"])]})
    with app.app_context():
        assert db.session.get(Customer, ids["big"]).tags == "vip, kurta"


def test_export_is_the_filtered_customers_as_csv_and_formula_safe(browser, app, shop):
    world, ids = shop
    with app.app_context():
        db.session.get(Customer, ids["big"]).name = "=HYPERLINK(\"http://x\")"
        db.session.commit()
    resp = browser("owner_a").get("/segments/export.csv?min_orders=2")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [r["external_id"] for r in rows] == ["9100"]
    assert rows[0]["lifetime_spend_minor"] == "400000" and rows[0]["paid_orders"] == "2"
    assert rows[0]["name"].startswith("'=")


def test_tenants_never_see_or_touch_each_others_segments(browser, api, app, shop):
    world, ids = shop
    with app.app_context():
        seg_b = segments.save(world.b.tenant_id, "B only", segments.Filters())
        seg_b_id = seg_b.id
    a = browser("owner_a")
    for path in (f"/segments/{seg_b_id}", f"/segments/{seg_b_id}/export.csv"):
        assert a.get(path).status_code == 404
    token = a.csrf("/segments/")
    assert a.client.post(f"/segments/{seg_b_id}/delete", data={"csrf_token": token}).status_code == 404
    assert a.client.post("/segments/save", data={"csrf_token": token, "name": "x",
                                                 "segment_id": seg_b_id}).status_code == 404
    # tagging B's customer by id from A changes nothing
    a.client.post("/segments/tag", data={"csrf_token": token, "apply_tag": "stolen",
                                         "customer_id": [str(world.b["customer"])]})
    with app.app_context():
        assert "stolen" not in (db.session.get(Customer, world.b["customer"]).tags or "")
        assert db.session.get(Segment, seg_b_id) is not None
    # B's rows never appear in A's list or export
    assert "Cust-B" not in a.get("/segments/").get_data(as_text=True)
    assert "Cust-B" not in a.get("/segments/export.csv").get_data(as_text=True)
    client = api("owner_a")
    assert client.get(f"/api/v1/segments/{seg_b_id}/members").status_code == 404
    assert api("owner_b").get(f"/api/v1/segments/{seg_b_id}/members").status_code == 200


def test_members_api_lists_a_saved_segment(api, app, shop):
    world, ids = shop
    with app.app_context():
        seg_id = segments.save(world.a.tenant_id, "Two orders",
                               segments.parse_filters(world.a.tenant_id, {"min_orders": 2})).id
    body = api("owner_a").get(f"/api/v1/segments/{seg_id}/members").json
    assert body["count"] == 1 and body["result"][0]["id"] == ids["big"]
    assert body["result"][0]["lifetime_spend_minor"] == 400000
