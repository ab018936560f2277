"""Each analytics figure against the hand-worked shop of tests/analytics_shop.py: timezone
boundaries (23:50 and 00:10 IST), a refund, an order paid days after its conversation, an
order paid in range for a conversation started before it, filters, empty ranges, and
another tenant's rows in the same days."""
from __future__ import annotations

from datetime import date

import pytest

from app import analytics
from app.analytics import Filters
from tests import analytics_shop

NOV10, NOV11, NOV12 = date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)


@pytest.fixture
def shop(app, world):
    with app.app_context():
        ids = analytics_shop.build(world)
    with app.app_context():
        yield world, ids


def f(world, **kw):
    return Filters(tenant_id=world.a.tenant_id, start=kw.pop("start", NOV10), end=kw.pop("end", NOV12), **kw)


def test_summary_matches_the_hand_worked_figures(shop):
    world, _ = shop
    s = analytics.summary(f(world))
    assert s["currency"] == "INR"
    # c1 2 in, c2 1 in, c3 1 in; c4's messages are on the 9th. Sent: c1 ai+agent, c2 ai (c3's failed).
    assert (s["messages_received"], s["messages_sent"], s["messages_sent_ai"], s["messages_sent_staff"]) == (4, 3, 2, 1)
    assert s["conversations"] == 3
    # Answered: c1 (30 s, customer wrote again) and c2 (120 s); c3's reply failed.
    assert s["response_rate"] == 0.5
    assert s["median_first_response_seconds"] == 75.0
    # Placed in range: o1, o2, o3 (o4 on the 9th). Paid in range: o1 (70000), o4 (20000);
    # o3 paid then refunded (50000); o2 paid on the 13th.
    assert s["orders_placed"] == 3
    assert s["orders_paid"] == 2
    assert s["revenue_minor"] == 90000
    assert s["refunds_minor"] == 50000
    assert s["average_order_minor"] == 45000
    # Of c1, c2, c3: c1 and c2 led to a paid order (c2's paid after the range), c3's was refunded.
    assert s["conversion_rate"] == round(2 / 3, 4)
    assert (s["ai_closed_sales"], s["human_closed_sales"], s["ai_share"]) == (2, 0, 1.0)


def test_summary_of_a_later_range_counts_the_late_payment_and_its_closer(shop):
    world, _ = shop
    s = analytics.summary(f(world, start=date(2026, 11, 13), end=date(2026, 11, 13)))
    assert (s["orders_paid"], s["revenue_minor"], s["conversations"]) == (1, 40000, 0)
    assert (s["ai_closed_sales"], s["human_closed_sales"], s["ai_share"]) == (0, 1, 0.0)
    assert s["conversion_rate"] == 0.0


def test_a_refund_later_takes_the_order_out_of_its_payment_day(shop):
    from app.extensions import db
    from app.models import Order

    world, ids = shop
    before = analytics.summary(f(world))["revenue_minor"]
    db.session.get(Order, ids["o1"]).status = "refunded"
    db.session.commit()
    after = analytics.summary(f(world))
    assert before - after["revenue_minor"] == 70000
    assert after["refunds_minor"] == 120000


def test_empty_range_is_all_zeros_not_an_error(shop):
    world, _ = shop
    s = analytics.summary(f(world, start=date(2026, 10, 1), end=date(2026, 10, 5)))
    for key in ("messages_received", "messages_sent", "conversations", "orders_placed", "orders_paid",
                "revenue_minor", "refunds_minor", "average_order_minor", "ai_closed_sales"):
        assert s[key] == 0, key
    assert s["response_rate"] == s["conversion_rate"] == s["ai_share"] == 0.0
    assert s["median_first_response_seconds"] is None
    rows = analytics.timeseries(f(world, start=date(2026, 10, 1), end=date(2026, 10, 5)))
    assert [r["day"] for r in rows] == [date(2026, 10, d) for d in range(1, 6)]
    assert all(r[k] == 0 for r in rows for k in r if k != "day")


def test_timeseries_buckets_days_in_the_tenants_timezone(shop):
    world, _ = shop
    rows = {r["day"]: r for r in analytics.timeseries(f(world))}
    assert list(rows) == [NOV10, NOV11, NOV12]
    # 23:50 IST (c2) is still the 10th; 00:10 IST (c3) is the 11th.
    assert rows[NOV10] == {"day": NOV10, "messages_received": 3, "messages_sent": 3, "conversations": 2,
                           "orders_paid": 2, "revenue_minor": 90000}
    assert rows[NOV11] == {"day": NOV11, "messages_received": 1, "messages_sent": 0, "conversations": 1,
                           "orders_paid": 0, "revenue_minor": 0}
    assert all(v == 0 for k, v in rows[NOV12].items() if k != "day")


def test_timezone_of_the_tenant_moves_the_boundary(shop):
    from app.extensions import db
    from app.models import Tenant

    world, _ = shop
    db.session.get(Tenant, world.a.tenant_id).timezone = "UTC"
    db.session.commit()
    rows = {r["day"]: r for r in analytics.timeseries(f(world))}
    # In UTC c2 (18:20) and c3 (18:40) both start on the 10th.
    assert rows[NOV10]["conversations"] == 3
    assert analytics.summary(f(world, start=NOV11, end=NOV11))["conversations"] == 0


def test_heatmaps_use_local_weekday_and_hour(shop):
    world, _ = shop
    cells = {(c["weekday"], c["hour"]): c["count"] for c in analytics.heatmap(f(world), "inbound")}
    assert len(cells) == 7 * 24
    tue, wed = NOV10.weekday(), NOV11.weekday()
    assert cells[(tue, 9)] == 2       # c1 at 09:30 and 09:35 IST
    assert cells[(tue, 23)] == 1      # c2 at 23:50 IST
    assert cells[(wed, 0)] == 1       # c3 at 00:10 IST
    assert sum(cells.values()) == 4
    paid = {(c["weekday"], c["hour"]): c["count"] for c in analytics.heatmap(f(world), "paid")}
    assert paid[(tue, 10)] == 1 and paid[(tue, 13)] == 1 and sum(paid.values()) == 2
    with pytest.raises(ValueError):
        analytics.heatmap(f(world), "outbound")


def test_funnel(shop):
    world, _ = shop
    assert analytics.funnel(f(world)) == {"conversations": 3, "engaged": 1, "ordered": 3, "paid": 2}


def test_breakdowns(shop):
    world, ids = shop
    by = {r["key"]: r for r in analytics.breakdown(f(world), "campaign")}
    assert by[ids["k1"]] == {"key": ids["k1"], "label": "Diwali", "conversations": 1, "orders_paid": 2,
                             "revenue_minor": 90000, "conversion_rate": 1.0}
    assert by[ids["k2"]]["conversations"] == 1 and by[ids["k2"]]["orders_paid"] == 0
    assert by[ids["k2"]]["conversion_rate"] == 1.0
    assert by[None]["label"] == "No campaign" and by[None]["conversion_rate"] == 0.0
    assert sum(r["conversations"] for r in by.values()) == 3

    by = {r["key"]: r for r in analytics.breakdown(f(world), "platform")}
    assert (by["messenger"]["conversations"], by["messenger"]["orders_paid"], by["messenger"]["revenue_minor"]) == (2, 2, 90000)
    assert by["messenger"]["conversion_rate"] == 0.5
    assert (by["whatsapp"]["conversations"], by["whatsapp"]["orders_paid"]) == (1, 0)

    rows = analytics.breakdown(f(world), "product")
    assert [r["label"] for r in rows] == ["Silk saree", "Cotton kurta"]
    saree, kurta = rows
    assert (saree["quantity"], saree["orders_paid"], saree["revenue_minor"]) == (1, 1, 50000)
    assert (saree["conversations"], saree["conversion_rate"]) == (2, 0.5)
    assert (kurta["quantity"], kurta["orders_paid"], kurta["revenue_minor"]) == (2, 2, 40000)
    assert (kurta["conversations"], kurta["conversion_rate"]) == (2, 1.0)

    by = {r["key"]: r for r in analytics.breakdown(f(world), "ad")}
    assert by["ad-1"]["label"] == "Diwali silk (ad-1)"
    assert (by["ad-1"]["conversations"], by["ad-1"]["orders_paid"], by["ad-1"]["revenue_minor"]) == (1, 2, 90000)
    assert by[None]["conversations"] == 2 and by[None]["label"] == "No ad (organic)"
    with pytest.raises(ValueError):
        analytics.breakdown(f(world), "customer")


def test_platform_and_campaign_filters(shop):
    world, ids = shop
    s = analytics.summary(f(world, platform="whatsapp"))
    assert (s["messages_received"], s["messages_sent"], s["conversations"], s["orders_paid"]) == (1, 1, 1, 0)
    assert s["median_first_response_seconds"] == 120.0
    s = analytics.summary(f(world, campaign_id=ids["k1"]))
    assert (s["messages_received"], s["messages_sent"], s["conversations"]) == (2, 2, 1)
    assert (s["orders_paid"], s["revenue_minor"]) == (2, 90000)
    s = analytics.summary(f(world, platform="instagram"))
    assert s["conversations"] == s["messages_received"] == s["revenue_minor"] == 0


def test_distributions(shop):
    world, _ = shop
    d = analytics.distributions(f(world))
    lead = {r["bucket"]: r["count"] for r in d["lead_score"]}
    assert lead == {"0-19": 0, "20-39": 1, "40-59": 1, "60-79": 0, "80-100": 1}
    mood = {r["bucket"]: r["count"] for r in d["sentiment"]}
    assert mood == {"very negative": 0, "negative": 1, "neutral": 0, "positive": 0,
                    "very positive": 1, "unknown": 1}
    first = {r["bucket"]: r["count"] for r in d["first_response"]}
    assert first["under 1 min"] == 1 and first["1-5 min"] == 1 and sum(first.values()) == 2


def test_previous_period_is_the_same_length_just_before():
    p = analytics.previous_period(Filters(tenant_id=1, start=NOV10, end=NOV12, platform="whatsapp"))
    assert (p.start, p.end, p.platform) == (date(2026, 11, 7), date(2026, 11, 9), "whatsapp")


def test_other_tenants_rows_never_count(shop):
    world, _ = shop
    s = analytics.summary(f(world))
    assert s["revenue_minor"] == 90000  # B's 990000 paid on the 10th is not here
    b = analytics.summary(Filters(tenant_id=world.b.tenant_id, start=NOV10, end=NOV12))
    assert (b["conversations"], b["orders_paid"], b["revenue_minor"], b["messages_received"]) == (1, 1, 990000, 1)
    ads = {r["key"]: r for r in analytics.breakdown(f(world), "ad")}
    assert ads["ad-1"]["conversations"] == 1


def test_agency_overview_and_channel_health(shop):
    world, _ = shop
    from app.extensions import db
    from app.models import Channel, Tenant, utcnow

    agency_x = db.session.get(Tenant, world.a.tenant_id).agency_id
    rows = analytics.agency_overview([agency_x], NOV10, NOV12)
    assert [r["name"] for r in rows] == ["Tenant A", "Tenant B"]
    a, b = rows
    assert (a["revenue_minor"], a["conversations"], a["median_first_response_seconds"]) == (90000, 3, 75.0)
    assert a["conversion_rate"] == round(2 / 3, 4)
    assert b["revenue_minor"] == 990000
    # the same judgement as the integrations page: a working channel is ok until its alarm says
    assert a["channel_health"] == "ok"
    assert analytics.agency_overview([], NOV10, NOV12) == []
    channel = db.session.get(Channel, world.a["channel"])
    for change, health in (({"quiet_since": utcnow()}, "quiet"), ({"subscribed": False}, "error"),
                           ({"quiet_since": None, "subscribed": None, "token_valid": False}, "error"),
                           ({"token_valid": True, "status": "error"}, "error"),
                           ({"status": "disabled"}, "ok")):  # a disconnected channel no longer counts
        for key, value in change.items():
            setattr(channel, key, value)
        db.session.commit()
        assert analytics.agency_overview([agency_x], NOV10, NOV12)[0]["channel_health"] == health, change


def test_one_request_sharing_its_scans_gives_the_same_figures(shop, app):
    world, _ = shop
    flt = f(world)

    def everything():
        return [analytics.summary(flt), analytics.funnel(flt), analytics.distributions(flt),
                analytics.timeseries(flt), analytics.heatmap(flt, "inbound"), analytics.heatmap(flt, "paid"),
                *(analytics.breakdown(flt, by) for by in analytics.BREAKDOWNS)]

    alone = everything()
    with app.test_request_context("/analytics/"):
        shared = everything()
        assert everything() == shared  # asked twice in a request: the same answers
    assert shared == alone
