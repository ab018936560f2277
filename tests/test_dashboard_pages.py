"""The dashboard (/), the analytics page (/analytics/) with its CSV export, the agency overview
(/agency/) and the locally served plotly.js: who may see them, and that each shows only the
active tenant's (or the user's agencies') figures."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.views.assets import PLOTLY_VERSION

PERSONAS = ["owner_a", "staff_a", "agency", "admin"]


def paid_now(app, tenant_rows, total_minor=79900):
    """The tenant's order paid a minute ago (hand-built: the figures expected are this order)."""
    from app.extensions import db
    from app.models import Order, OrderStatus, utcnow

    with app.app_context():
        order = db.session.get(Order, tenant_rows["order"])
        order.status = OrderStatus.PAID
        order.total_minor = total_minor
        order.paid_at = utcnow() - timedelta(minutes=1)
        db.session.commit()


def figures(html: str) -> dict:
    """{dom id: figure} of every chart the page carries."""
    found = {}
    for target, body in re.findall(
            r'<script type="application/json" class="closer-figure" data-target="([^"]+)">(.*?)</script>',
            html, re.S):
        found[target] = json.loads(body)
    return found


@pytest.mark.parametrize("persona", PERSONAS)
def test_dashboard_and_analytics_render_for_every_role(world, browser, persona):
    client = browser(persona)
    home = client.get("/")
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    assert 'id="dashboard"' in html
    assert 'id="headline-revenue_minor"' in html and 'id="recent-conversations"' in html
    page = client.get("/analytics/")
    assert page.status_code == 200, persona
    assert 'id="analytics-filters"' in page.get_data(as_text=True)
    csv_resp = client.get("/analytics/export.csv")
    assert csv_resp.status_code == 200 and csv_resp.mimetype == "text/csv"


def test_anonymous_gets_nothing(world, browser):
    client = browser(None)
    for path in ("/analytics/", "/analytics/export.csv", "/agency/"):
        resp = client.get(path)
        assert resp.status_code in (302, 401, 403), path
        if resp.status_code == 302:
            assert "/login" in resp.headers["Location"]
        assert "Tenant A" not in resp.get_data(as_text=True)
    assert 'id="dashboard"' not in client.get("/").get_data(as_text=True)


def test_dashboard_shows_the_tenants_own_figures(app, world, browser):
    paid_now(app, world.a, 125050)
    paid_now(app, world.b, 99999900)  # tenant B's much bigger sale must appear nowhere in A
    html = browser("owner_a").get("/").get_data(as_text=True)
    revenue = re.search(r'id="headline-revenue_minor".*?headline-value[^>]*>([^<]+)<', html, re.S).group(1)
    assert revenue.strip() == "₹1,250.50"
    assert "Camp-A" in html and "Cust-A" in html  # active campaigns, recent conversations
    assert "Camp-B" not in html and "Cust-B" not in html and "9,99,999" not in html
    figs = figures(html)
    revenue_trace = figs["chart-revenue"]["data"][0]
    assert sum(revenue_trace["y"]) == pytest.approx(1250.50)
    assert 'id="dashboard-empty"' not in html


def test_dashboard_period_and_quick_actions_follow_the_role(world, browser):
    staff = browser("staff_a").get("/?days=7").get_data(as_text=True)
    assert "last 7 days" in staff
    assert "Add a product" in staff and "Connect a channel" not in staff  # staff: no channels
    owner = browser("owner_a").get("/?days=12345").get_data(as_text=True)  # unknown: default
    assert "last 30 days" in owner and "Connect a channel" in owner


def test_an_empty_tenant_gets_helpful_empty_states(app, browser):
    from app.extensions import appbuilder, db
    from app.services.tenants import create_tenant
    from tests.conftest import PASSWORD

    with app.app_context():
        appbuilder.sm.sync_roles()
        create_tenant("Fresh Shop", owner_username="fresh", owner_email="fresh@example.test",
                      owner_password=PASSWORD)
        db.session.remove()
    client = browser("fresh")
    home = client.get("/").get_data(as_text=True)
    assert 'id="dashboard-empty"' in home and "No conversations yet." in home
    assert "No active campaign" in home and "No paid orders in this period yet." in home
    page = client.get("/analytics/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="analytics-empty"' in html and figures(html) == {}
    assert "No customer messages in this period." in html
    assert client.get("/analytics/export.csv").status_code == 200


def test_analytics_page_charts_come_from_the_active_tenant(app, world, browser):
    paid_now(app, world.a)
    paid_now(app, world.b, 99999900)
    html = browser("owner_a").get("/analytics/").get_data(as_text=True)
    figs = figures(html)
    assert {"chart-revenue", "chart-conversations", "chart-messages", "chart-funnel",
            "chart-campaigns", "chart-products", "chart-platforms", "chart-heat-inbound",
            "chart-heat-paid"} <= set(figs)
    assert sum(figs["chart-revenue"]["data"][0]["y"]) == pytest.approx(799.0)
    assert list(figs["chart-campaigns"]["data"][0]["x"]) == ["Camp-A"]
    assert list(figs["chart-products"]["data"][0]["y"]) == ["Prod-A"]
    heat = figs["chart-heat-paid"]["data"][0]["z"]
    assert sum(map(sum, heat)) == 1
    assert "Camp-B" not in html and "Prod-B" not in html


def test_filters_are_checked(world, browser):
    client = browser("owner_a")
    for query, message in (("start=2026-13-01", "start must be a date"),
                           ("end=yesterday", "end must be a date"),
                           ("start=2026-05-10&end=2026-05-01", "end must not be before start"),
                           ("start=2020-01-01&end=2026-01-01", "at most 366 days"),
                           ("platform=myspace", "platform must be one of"),
                           ("campaign_id=abc", "campaign_id must be a whole number"),
                           # days whose period before, or midnight after, the calendar lacks
                           ("end=0001-01-01", "end must be between 2000-01-01 and 2999-12-31"),
                           ("start=0001-01-01&end=0001-01-02", "must be between 2000-01-01"),
                           ("start=9999-12-31&end=9999-12-31", "must be between 2000-01-01")):
        page = client.get(f"/analytics/?{query}")
        assert page.status_code == 400 and message in page.get_data(as_text=True), query
        export = client.get(f"/analytics/export.csv?{query}")
        assert export.status_code == 400 and message in export.get_data(as_text=True), query


def test_another_tenants_campaign_in_the_filters_is_not_found(world, browser):
    client = browser("owner_a")
    for path in ("/analytics/", "/analytics/export.csv"):
        assert client.get(f"{path}?campaign_id={world.b['campaign']}").status_code == 404
        assert client.get(f"{path}?campaign_id={world.c['campaign']}").status_code == 404
        assert client.get(f"{path}?campaign_id={world.a['campaign']}").status_code == 200


def test_a_campaign_id_no_row_can_have_in_the_filters_is_not_found(world, browser):
    client = browser("owner_a")
    for path in ("/analytics/", "/analytics/export.csv"):
        for campaign_id in ("2147483648", "9" * 30):
            assert client.get(f"{path}?campaign_id={campaign_id}").status_code == 404, (path, campaign_id)


def read_csv(resp) -> list[dict]:
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


def test_export_csv_is_what_the_page_shows_for_the_active_tenant(app, world, browser):
    paid_now(app, world.a)
    paid_now(app, world.b, 99999900)
    resp = browser("owner_a").get("/analytics/export.csv")
    assert resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="analytics-tenant-a-')
    rows = read_csv(resp)
    summary = {r["metric"]: r["value"] for r in rows if r["section"] == "summary"}
    assert summary["revenue_minor"] == "79900" and summary["orders_paid"] == "1"
    daily_revenue = sum(int(r["value"]) for r in rows
                        if r["section"] == "daily" and r["metric"] == "revenue_minor")
    assert daily_revenue == 79900
    assert len({r["key"] for r in rows if r["section"] == "daily"}) == 30
    campaigns = {r["label"] for r in rows if r["section"] == "campaign"}
    assert campaigns == {"Camp-A"}
    # the cards' comparison: the period before, empty where the page says "no earlier data"
    previous = {r["metric"]: r["value"] for r in rows if r["section"] == "previous"}
    assert previous["revenue_minor"] == previous["conversion_rate"] == ""
    assert date.fromisoformat(previous["end"]) == date.fromisoformat(filters_of(rows)["start"]) - timedelta(days=1)
    assert (date.fromisoformat(previous["end"]) - date.fromisoformat(previous["start"])).days == 29
    assert {r["metric"] for r in rows if r["section"] == "previous"} >= {
        "revenue_minor", "orders_paid", "conversations", "conversion_rate", "messages_received",
        "average_order_minor", "median_first_response_seconds", "ai_share"}
    text = resp.get_data(as_text=True)
    assert "Camp-B" not in text and "Prod-B" not in text and "99999900" not in text
    # agency admin: the active tenant decides; switching to B exports B
    agency = browser("agency")
    agency.post("/tenant/switch", data={"tenant_id": world.b.tenant_id})
    b_rows = read_csv(agency.get("/analytics/export.csv"))
    assert {r["metric"]: r["value"] for r in b_rows if r["section"] == "summary"}["revenue_minor"] == "99999900"


def filters_of(rows) -> dict:
    return {r["metric"]: r["value"] for r in rows if r["section"] == "filters"}


def test_the_export_compares_with_the_period_before_as_the_cards_do(app, world, browser):
    from app.extensions import db
    from app.models import Order

    paid_now(app, world.a)
    with app.app_context():  # the same order, paid a week earlier: it falls in the period before
        order = db.session.get(Order, world.a["order"])
        order.paid_at = order.paid_at - timedelta(days=7)
        paid = order.paid_at if order.paid_at.tzinfo else order.paid_at.replace(tzinfo=timezone.utc)
        day = paid.astimezone(ZoneInfo("Asia/Kolkata")).date()  # the tenant's day
        db.session.commit()
    start, end = day + timedelta(days=7), day + timedelta(days=13)
    rows = read_csv(browser("owner_a").get(f"/analytics/export.csv?start={start}&end={end}"))
    previous = {r["metric"]: r["value"] for r in rows if r["section"] == "previous"}
    assert (previous["start"], previous["end"]) == (str(day), str(day + timedelta(days=6)))
    assert (previous["revenue_minor"], previous["orders_paid"]) == ("79900", "1")


def test_export_honours_the_filters(app, world, browser):
    paid_now(app, world.a)
    client = browser("owner_a")
    rows = read_csv(client.get("/analytics/export.csv?start=2026-01-01&end=2026-01-07&platform=whatsapp"))
    filters = {r["metric"]: r["value"] for r in rows if r["section"] == "filters"}
    assert filters == {"start": "2026-01-01", "end": "2026-01-07", "platform": "whatsapp",
                       "campaign_id": "all"}
    assert len({r["key"] for r in rows if r["section"] == "daily"}) == 7


def test_export_cells_never_run_as_formulas(app, world, browser):
    from app.extensions import db
    from app.models import Campaign

    paid_now(app, world.a)
    with app.app_context():
        db.session.get(Campaign, world.a["campaign"]).name = "=HYPERLINK(\"http://evil\")"
        db.session.commit()
    rows = read_csv(browser("owner_a").get("/analytics/export.csv"))
    labels = {r["label"] for r in rows if r["section"] == "campaign"}
    assert labels == {"'=HYPERLINK(\"http://evil\")"}


def overview_rows(html: str) -> list[str]:
    return sorted(re.findall(r'<tr data-tenant-id="\d+">\s*<td>([^<]+)</td>', html))


def test_agency_overview_shows_only_own_agencies(app, world, browser):
    paid_now(app, world.a)
    html = browser("agency").get("/agency/").get_data(as_text=True)
    assert overview_rows(html) == ["Tenant A", "Tenant B"] and "Tenant C" not in html
    row_a = re.search(r'<tr data-tenant-id="%d">(.*?)</tr>' % world.a.tenant_id, html, re.S).group(1)
    assert "₹799.00" in row_a
    other = browser("agency_y").get("/agency/").get_data(as_text=True)
    assert overview_rows(other) == ["Tenant C"] and "Tenant A" not in other
    everyone = browser("admin").get("/agency/").get_data(as_text=True)
    assert overview_rows(everyone) == ["Tenant A", "Tenant B", "Tenant C"]
    for persona in ("owner_a", "staff_a"):
        assert browser(persona).get("/agency/").status_code in (302, 403)
    assert browser("agency").get("/agency/?start=nope").status_code == 400
    for query in ("end=0001-01-01", "start=9999-12-31&end=9999-12-31"):
        page = browser("agency").get(f"/agency/?{query}")
        assert page.status_code == 400 and "must be between" in page.get_data(as_text=True), query


def test_agency_overview_opens_a_tenants_dashboard_through_the_switcher(world, browser):
    agency = browser("agency")
    html = agency.get("/agency/").get_data(as_text=True)
    assert html.count('action="/tenant/switch"') >= 2
    resp = agency.post("/tenant/switch", data={"tenant_id": world.b.tenant_id})
    assert resp.status_code == 302
    assert "Tenant B" in agency.get(resp.headers["Location"]).get_data(as_text=True)
    assert agency.post("/tenant/switch", data={"tenant_id": world.c.tenant_id}).status_code == 404


def test_menus(world, browser):
    def menu(persona):
        return browser(persona).get("/").get_data(as_text=True)

    assert "Analytics</a>" in menu("staff_a") or ">Analytics<" in menu("staff_a")
    assert "Agency Overview" in menu("agency") and "Agency Overview" not in menu("owner_a")


def test_plotly_js_is_served_locally_with_long_cache(app, world, browser):
    client = browser("owner_a")
    html = client.get("/analytics/").get_data(as_text=True)
    src = f"/assets/plotly-{PLOTLY_VERSION}.min.js"
    assert f'src="{src}"' in html and "cdn" not in html.lower()
    resp = app.test_client().get(src)
    assert resp.status_code == 200 and resp.mimetype == "text/javascript"
    assert "max-age=31536000" in resp.headers["Cache-Control"]
    assert "immutable" in resp.headers["Cache-Control"]
    assert len(resp.get_data()) > 1_000_000
    resp.close()
    assert app.test_client().get("/assets/plotly-0.0.1.min.js").status_code == 404


def test_names_in_figures_cannot_break_out_of_the_page(app, world, browser):
    from app.extensions import db
    from app.models import Campaign

    evil = "</script><img src=x onerror=alert(1)>&"
    paid_now(app, world.a)
    with app.app_context():
        db.session.get(Campaign, world.a["campaign"]).name = evil
        db.session.commit()
    html = browser("owner_a").get("/analytics/").get_data(as_text=True)
    assert "<img src=x" not in html
    assert list(figures(html)["chart-campaigns"]["data"][0]["x"]) == [evil]


def test_platform_and_campaign_filters_narrow_the_figures(app, world, browser):
    paid_now(app, world.a)  # tenant A's order came through its Messenger channel and Camp-A

    def revenue(query):
        rows = read_csv(browser("owner_a").get(f"/analytics/export.csv?{query}"))
        return {r["metric"]: r["value"] for r in rows if r["section"] == "summary"}["revenue_minor"]

    assert revenue("platform=messenger") == "79900"
    assert revenue("platform=Messenger") == "79900"  # any case, as the API reads it
    html = browser("owner_a").get("/analytics/?platform=WhatsApp").get_data(as_text=True)
    assert '<option value="whatsapp" selected>' in html
    assert revenue("platform=whatsapp") == "0"
    assert revenue(f"campaign_id={world.a['campaign']}") == "79900"


@pytest.mark.parametrize("name", [
    "=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", "\n=1+1", "  =1+1",
])
def test_export_neutralises_every_formula_start(app, world, browser, name):
    """OWASP's and ASVS 1.2.10's list: = + - @ tab CR (and LF, NUL), also behind spaces a
    spreadsheet may trim on import; the name is otherwise kept as it is."""
    from app.extensions import db
    from app.models import Campaign

    paid_now(app, world.a)
    with app.app_context():
        db.session.get(Campaign, world.a["campaign"]).name = name
        db.session.commit()
    rows = read_csv(browser("owner_a").get("/analytics/export.csv"))
    labels = {r["label"] for r in rows if r["section"] == "campaign"}
    assert labels == {"'" + name}


def test_export_cells_starting_with_nul_are_neutralised_too():
    """PostgreSQL stores no NUL, but a name may come from elsewhere (ASVS lists it)."""
    from app.services.analytics_export import _cell

    assert _cell("\0=1+1") == "'\0=1+1"
    assert _cell("Plain name") == "Plain name" and _cell(-5) == "-5" and _cell(0.25) == "0.25"


def test_export_quotes_every_text_cell_so_a_semicolon_starts_no_cell(app, world, browser):
    """Where the spreadsheet's list separator is ';' (much of Europe), an unquoted
    `x;=cmd` would open a new cell starting with '='."""
    from app.extensions import db
    from app.models import Campaign, Product

    paid_now(app, world.a)
    with app.app_context():
        db.session.get(Campaign, world.a["campaign"]).name = "Sale;=1+1"
        db.session.get(Product, world.a["product"]).name = "साड़ी – ₹ 😀 “silk”"
        db.session.commit()
    resp = browser("owner_a").get("/analytics/export.csv")
    assert resp.mimetype == "text/csv" and resp.mimetype_params.get("charset") == "utf-8"
    text = resp.get_data(as_text=True)
    line = next(ln for ln in text.splitlines() if "Sale;" in ln)
    assert ',"Sale;=1+1",' in line
    rows = read_csv(resp)
    assert {r["label"] for r in rows if r["section"] == "product"} == {"साड़ी – ₹ 😀 “silk”"}
    assert "Prod-B" not in text and "Camp-B" not in text


def test_a_business_with_no_conversations_has_no_conversion_rate_on_the_overview(app, world, browser):
    """As on its dashboard: nothing to divide by is a dash, not a real 0.0%."""
    from app.extensions import db
    from app.models import Conversation, Order

    with app.app_context():
        for model in (Order, Conversation):
            db.session.query(model).filter(model.tenant_id == world.b.tenant_id).delete()
        db.session.commit()
    html = browser("agency").get("/agency/").get_data(as_text=True)
    row_b = re.search(r'<tr data-tenant-id="%d">(.*?)</tr>' % world.b.tenant_id, html, re.S).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row_b)
    assert cells[:5] == ["Tenant B", "₹0.00", "0", "–", "–"]


def test_repeated_filters_are_refused_not_silently_narrowed(world, browser):
    client = browser("owner_a")
    for query in ("platform=whatsapp&platform=instagram", "start=2026-01-01&start=2025-01-01",
                  f"campaign_id={world.a['campaign']}&campaign_id={world.b['campaign']}"):
        for path in ("/analytics/", "/analytics/export.csv"):
            resp = client.get(f"{path}?{query}")
            assert resp.status_code == 400, (path, query)
            assert "given more than once" in resp.get_data(as_text=True), (path, query)
    same_twice = client.get("/analytics/?platform=whatsapp&platform=whatsapp")
    assert same_twice.status_code == 200
    assert browser("agency").get("/agency/?end=2026-01-01&end=2026-02-01").status_code == 400


def test_the_filter_form_shows_the_filters_the_figures_use(world, browser):
    """A value read leniently (spaces around an id or a date) is shown as used, so the next
    Apply keeps it rather than dropping it."""
    html = browser("owner_a").get(
        f"/analytics/?start=%202026-01-01%20&end=2026-01-31&campaign_id=%20{world.a['campaign']}%20"
    ).get_data(as_text=True)
    assert 'id="f-start" name="start" class="form-control" value="2026-01-01"' in html
    assert re.search(r'<option value="%d" selected>' % world.a["campaign"], html)
