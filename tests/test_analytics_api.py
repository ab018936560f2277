"""GET /api/v1/analytics/*: figures of the caller's tenant only, parameters checked, the
agency overview for agency admins of their own agencies and Admins only."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import analytics_shop

RANGE = "start=2026-11-10&end=2026-11-12"


@pytest.fixture
def shop(app, world):
    with app.app_context():
        return world, analytics_shop.build(world)


def test_summary_of_the_owners_tenant(shop, api):
    resp = api("owner_a").get(f"/api/v1/analytics/summary?{RANGE}")
    assert resp.status_code == 200, resp.json
    s = resp.json["result"]
    assert (s["revenue_minor"], s["orders_paid"], s["conversations"], s["messages_received"]) == (90000, 2, 3, 4)
    for key in ("messages_sent", "response_rate", "conversion_rate", "average_order_minor",
                "median_first_response_seconds"):
        assert key in s
    assert resp.json["start"] == "2026-11-10" and resp.json["end"] == "2026-11-12"


def test_other_owner_sees_only_their_own_numbers(shop, api):
    world, _ = shop
    s = api("owner_b").get(f"/api/v1/analytics/summary?{RANGE}").json["result"]
    assert s["revenue_minor"] == 990000 and s["conversations"] == 1
    # Naming tenant A is refused, by query string or header.
    assert api("owner_b").get(f"/api/v1/analytics/summary?{RANGE}&tenant_id={world.a.tenant_id}").status_code == 403
    assert api("owner_b").get(f"/api/v1/analytics/summary?{RANGE}", tenant_id=world.a.tenant_id).status_code == 403


def test_agency_admin_reads_its_tenants_but_not_another_agencys(shop, api):
    world, _ = shop
    client = api("agency")
    s = client.get(f"/api/v1/analytics/summary?{RANGE}", tenant_id=world.b.tenant_id).json["result"]
    assert s["revenue_minor"] == 990000
    s = client.get(f"/api/v1/analytics/summary?{RANGE}&tenant_id={world.a.tenant_id}").json
    assert s["tenant_id"] == world.a.tenant_id and s["result"]["revenue_minor"] == 90000
    assert api("agency_y").get(f"/api/v1/analytics/summary?{RANGE}", tenant_id=world.a.tenant_id).status_code == 403


def test_a_campaign_of_another_tenant_is_not_found(shop, api):
    world, ids = shop
    assert api("owner_a").get(f"/api/v1/analytics/summary?{RANGE}&campaign_id={ids['k1']}").status_code == 200
    assert api("owner_b").get(f"/api/v1/analytics/summary?{RANGE}&campaign_id={ids['k1']}").status_code == 404
    s = api("owner_a").get(f"/api/v1/analytics/summary?{RANGE}&campaign_id={ids['k1']}&platform=messenger").json
    assert s["result"]["revenue_minor"] == 90000


@pytest.mark.parametrize("campaign_id", ["2147483648", "9223372036854775808", "9" * 30, "-1", "0"])
def test_a_campaign_id_no_row_can_have_is_not_found(shop, api, campaign_id):
    """Past the id column's range the database itself would refuse the lookup (a 500 on
    PostgreSQL's 32-bit ids); such a campaign is simply not this business's."""
    for path in ("summary", "timeseries", "funnel", "distributions", "breakdown?by=ad", "heatmap?kind=paid"):
        sep = "&" if "?" in path else "?"
        resp = api("owner_a").get(f"/api/v1/analytics/{path}{sep}{RANGE}&campaign_id={campaign_id}")
        assert resp.status_code == 404, (path, resp.get_data(as_text=True)[:300])


@pytest.mark.parametrize("query, needle", [
    ("start=2026-13-01&end=2026-11-12", "start must be a date"),
    ("start=yesterday", "start must be a date"),
    ("start=2026-11-10&end=11/12/2026", "end must be a date"),
    ("start=2026-11-12&end=2026-11-10", "end must not be before start"),
    ("start=20261110&end=2026-11-12", "start must be a date as YYYY-MM-DD"),  # Python reads it; we don't
    ("start=2026-W45-1&end=2026-11-12", "start must be a date as YYYY-MM-DD"),
    (f"{RANGE}&platform=whatsapp&platform=instagram", "platform given more than once"),
    (f"{RANGE}&start=2026-11-01", "start given more than once"),
    ("start=2020-01-01&end=2026-11-10", "at most"),
    (f"{RANGE}&platform=tiktok", "platform must be one of"),
    (f"{RANGE}&campaign_id=abc", "campaign_id must be a whole number"),
    # the calendar's ends: the period before, or the midnight after, would not exist
    ("end=0001-01-01", "end must be between 2000-01-01 and 2999-12-31"),
    ("start=0001-01-01&end=0001-01-03", "start must be between"),
    ("start=9999-12-31&end=9999-12-31", "start must be between"),
])
def test_bad_parameters_are_400_with_a_clear_message(shop, api, query, needle):
    resp = api("owner_a").get(f"/api/v1/analytics/summary?{query}")
    assert resp.status_code == 400
    assert needle in resp.json["message"]


def test_agency_overview_refuses_days_off_the_calendar(shop, api):
    for query in ("end=0001-01-01", "start=9999-12-30&end=9999-12-31"):
        resp = api("agency").get(f"/api/v1/analytics/agency?{query}")
        assert resp.status_code == 400 and "must be between" in resp.json["message"], query


def test_platform_is_read_in_any_case_as_on_the_pages(shop, api):
    lower = api("owner_a").get(f"/api/v1/analytics/summary?{RANGE}&platform=messenger").json["result"]
    assert api("owner_a").get(f"/api/v1/analytics/summary?{RANGE}&platform=Messenger").json["result"] == lower


def test_timeseries_breakdown_heatmap_funnel_distributions(shop, api):
    client = api("owner_a")
    rows = client.get(f"/api/v1/analytics/timeseries?{RANGE}").json["result"]
    assert [r["day"] for r in rows] == ["2026-11-10", "2026-11-11", "2026-11-12"]
    assert rows[0]["revenue_minor"] == 90000
    rows = client.get(f"/api/v1/analytics/breakdown?{RANGE}&by=product").json["result"]
    assert rows[0]["label"] == "Silk saree" and rows[0]["quantity"] == 1
    assert client.get(f"/api/v1/analytics/breakdown?{RANGE}&by=customer").status_code == 400
    cells = client.get(f"/api/v1/analytics/heatmap?{RANGE}&kind=inbound").json["result"]
    assert len(cells) == 168 and sum(c["count"] for c in cells) == 4
    assert client.get(f"/api/v1/analytics/heatmap?{RANGE}&kind=weekly").status_code == 400
    assert client.get(f"/api/v1/analytics/funnel?{RANGE}").json["result"]["paid"] == 2
    assert "sentiment" in client.get(f"/api/v1/analytics/distributions?{RANGE}").json["result"]


def test_default_range_is_the_last_30_days(shop, api):
    body = api("owner_a").get("/api/v1/analytics/summary").json
    from datetime import date
    start, end = date.fromisoformat(body["start"]), date.fromisoformat(body["end"])
    assert (end - start).days == 29


def test_a_start_alone_runs_to_today_as_on_the_pages(shop, api, browser):
    """The same filters give the same period on the API, the analytics page and its export."""
    from datetime import date, timedelta
    api_body = api("owner_a").get("/api/v1/analytics/summary").json
    today = date.fromisoformat(api_body["end"])
    start = (today - timedelta(days=59)).isoformat()
    body = api("owner_a").get(f"/api/v1/analytics/summary?start={start}").json
    import csv
    import io

    export = browser("owner_a").get(f"/analytics/export.csv?start={start}").get_data(as_text=True)
    filters = {r["metric"]: r["value"] for r in csv.DictReader(io.StringIO(export))
               if r["section"] == "filters"}
    assert (filters["start"], filters["end"]) == (start, today.isoformat())
    assert (body["start"], body["end"]) == (start, today.isoformat())


def test_without_a_token_there_is_nothing(shop, app):
    assert app.test_client().get(f"/api/v1/analytics/summary?{RANGE}").status_code == 401


def test_agency_overview_only_for_agency_admins_and_their_own_agencies(shop, api):
    world, _ = shop
    rows = api("agency").get(f"/api/v1/analytics/agency?{RANGE}").json["result"]
    assert [r["name"] for r in rows] == ["Tenant A", "Tenant B"]
    assert rows[0]["revenue_minor"] == 90000 and rows[1]["revenue_minor"] == 990000
    assert {"tenant_id", "conversations", "conversion_rate", "median_first_response_seconds",
            "channel_health"} <= set(rows[0])
    rows = api("agency_y").get(f"/api/v1/analytics/agency?{RANGE}").json["result"]
    assert [r["name"] for r in rows] == ["Tenant C"]
    for user in ("owner_a", "staff_a"):
        assert api(user).get(f"/api/v1/analytics/agency?{RANGE}").status_code == 403
    admin = api("admin").get(f"/api/v1/analytics/agency?{RANGE}").json["result"]
    assert {r["name"] for r in admin} == {"Tenant A", "Tenant B", "Tenant C"}


def test_agency_overview_by_default_ends_on_the_latest_today_of_its_businesses(shop, app, api, browser):
    """A's day and B's are a day or two apart (UTC-11 and UTC+14): the default range ends on
    B's today, so neither business's today is left out, as their dashboards include it."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from app.extensions import db
    from app.models import Tenant

    world, _ = shop
    with app.app_context():
        db.session.get(Tenant, world.a.tenant_id).timezone = "Pacific/Pago_Pago"
        db.session.get(Tenant, world.b.tenant_id).timezone = "Pacific/Kiritimati"
        db.session.commit()
    ahead = datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    assert ahead > datetime.now(ZoneInfo("Pacific/Pago_Pago")).date().isoformat()
    assert api("agency").get("/api/v1/analytics/agency").json["end"] == ahead
    assert f'name="end" class="form-control" value="{ahead}"' in browser("agency").get("/agency/").get_data(as_text=True)


def test_agency_id_of_another_agency_is_not_found(shop, app, api):
    from app.extensions import db
    from app.models import Tenant

    world, _ = shop
    with app.app_context():
        x = db.session.get(Tenant, world.a.tenant_id).agency_id
        y = db.session.get(Tenant, world.c.tenant_id).agency_id
    rows = api("agency").get(f"/api/v1/analytics/agency?{RANGE}&agency_id={x}").json["result"]
    assert {r["name"] for r in rows} == {"Tenant A", "Tenant B"}
    assert api("agency").get(f"/api/v1/analytics/agency?{RANGE}&agency_id={y}").status_code == 404
    assert api("agency").get(f"/api/v1/analytics/agency?{RANGE}&agency_id=x").status_code == 400
    rows = api("admin").get(f"/api/v1/analytics/agency?{RANGE}&agency_id={y}").json["result"]
    assert [r["name"] for r in rows] == ["Tenant C"]


def test_the_api_and_the_pages_answer_the_same_longest_range(api, world):
    from app.analytics.filters import MAX_RANGE_DAYS

    client = api("owner_a")
    ok = client.get("/api/v1/analytics/summary?start=2026-01-01&end=2026-12-31")
    assert ok.status_code == 200
    too_long = client.get("/api/v1/analytics/summary?start=2025-01-01&end=2026-01-02")
    assert too_long.status_code == 400 and f"at most {MAX_RANGE_DAYS} days" in too_long.get_data(as_text=True)


# What a client, a script or an attacker might put in each parameter: near-misses of the right
# shape, ids and numbers past every column, other scripts' digits, control characters.
HOSTILE = st.one_of(
    st.sampled_from(["", " ", "2026-11-10", "2026-11-12", "2026-02-29", "2000-01-01", "2999-12-31", "0001-01-01",
                     "9999-12-31", "20261110", "2026-W45-1", "2026-11-10T23:50", "-1", "0", "1", "1.5", "1e3",
                     "2147483648", "9" * 30, "\u0661", "\uff11", "\x00", "null", "true", "[]", "instagram",
                     "INSTAGRAM", "ad", "paid", "x" * 3000]),
    st.text(max_size=40))
PARAMS = ("start", "end", "platform", "campaign_id", "by", "kind", "tenant_id", "agency_id")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["summary", "timeseries", "breakdown", "heatmap", "funnel", "distributions", "agency"]),
       user=st.sampled_from(["owner_a", "staff_a", "agency", "agency_y"]),
       params=st.lists(st.tuples(st.sampled_from(PARAMS), HOSTILE), max_size=5))
def test_hostile_parameters_are_a_clear_answer_never_a_500(shop, api, path, user, params):
    """Repeated, missing, ill-typed or out-of-range parameters: 200, or a 4xx with a message;
    another tenant's figures never come back."""
    world, _ = shop
    resp = api(user).get(f"/api/v1/analytics/{path}?{urlencode(params)}")
    assert resp.status_code in (200, 400, 403, 404), (path, params, resp.status_code)
    if resp.status_code != 200:
        assert resp.json["message"]
    elif path != "agency":
        allowed = {"owner_a": {world.a.tenant_id}, "staff_a": {world.a.tenant_id},
                   "agency": {world.a.tenant_id, world.b.tenant_id}, "agency_y": {world.c.tenant_id}}[user]
        assert resp.json["tenant_id"] in allowed
