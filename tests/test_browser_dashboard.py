"""The dashboard, analytics and agency pages in a real browser (Debian's chromium): the plots
are drawn by the locally served plotly.js under the admin's Content-Security-Policy, with no
console error, no CSP violation and nothing loaded from outside 127.0.0.1."""
from __future__ import annotations

import pytest

from tests.conftest import watched_page
from tests.test_browser import login, server  # noqa: F401  (server is a fixture)
from tests.test_browser_csp import REPORT_VIOLATIONS
from tests.test_dashboard_pages import paid_now


@pytest.fixture
def clean_page():
    with watched_page(init_script=REPORT_VIOLATIONS, fail_on=("outside",)) as pg:
        yield pg


def test_dashboard_and_analytics_plots_render(app, world, server, clean_page):  # noqa: F811
    page = clean_page
    paid_now(app, world.a)
    login(page, server, "owner_a")
    page.wait_for_selector("#chart-revenue .plot-container", timeout=20_000)
    page.wait_for_selector("#chart-messages .plot-container", timeout=20_000)
    assert "₹799.00" in page.inner_text("#headline-revenue_minor")

    page.goto(server + "/analytics/")
    page.wait_for_selector("#chart-funnel .plot-container", timeout=20_000)
    drawn = page.evaluate("document.querySelectorAll('.closer-chart .plot-container').length")
    expected = page.evaluate("document.querySelectorAll('script.closer-figure').length")
    assert drawn == expected >= 9
    assert page.locator("#chart-heat-paid .main-svg").count() >= 1

    page.select_option("#f-platform", "whatsapp")
    page.click("#analytics-filters button[type=submit]")
    page.wait_for_url("**platform=whatsapp**")
    assert page.locator("#analytics-filters").is_visible()
    assert page.problems == [], page.problems


def test_agency_overview_in_a_browser(world, server, clean_page):  # noqa: F811
    page = clean_page
    login(page, server, "agency")
    page.goto(server + "/agency/")
    page.wait_for_selector("#agency-tenants")
    rows = page.locator("#agency-tenants tbody tr")
    assert rows.count() == 2
    page.locator(f'tr[data-tenant-id="{world.b.tenant_id}"] button').click()
    page.wait_for_selector("#dashboard")
    assert "Tenant B" in page.inner_text("#dashboard h2")
    assert page.problems == [], page.problems


@pytest.mark.parametrize("persona", ["owner_a", "staff_a", "agency", "agency_y", "admin"])
def test_every_role_sees_its_pages_without_errors(app, world, server, clean_page, persona):  # noqa: F811
    """Each role allowed walks the dashboard, the analytics page with filters, and (agency
    admins, Admin) the overview: no console error, no failed request, no page error."""
    page = clean_page
    paid_now(app, world.a)
    login(page, server, persona)
    page.wait_for_selector("#dashboard")
    page.goto(server + "/analytics/?platform=messenger")
    page.wait_for_selector("#analytics-filters")
    assert page.evaluate("document.querySelectorAll('.closer-chart .plot-container').length") == \
        page.evaluate("document.querySelectorAll('script.closer-figure').length")
    if persona in ("agency", "agency_y", "admin"):
        page.goto(server + "/agency/")
        page.wait_for_selector("#agency-tenants")
        names = page.locator("#agency-tenants tbody tr td:first-child").all_inner_texts()
        assert ("Tenant C" in names) == (persona != "agency"), names
        assert ("Tenant A" in names) == (persona != "agency_y"), names
    assert page.problems == [], page.problems


def test_the_export_button_downloads_what_the_page_shows(app, world, server, clean_page):  # noqa: F811
    import csv
    import io

    page = clean_page
    paid_now(app, world.a)
    login(page, server, "owner_a")
    page.goto(server + f"/analytics/?platform=messenger&campaign_id={world.a['campaign']}")
    shown_revenue = page.inner_text("#headline-revenue_minor .headline-value")
    shown_orders = page.inner_text("#headline-orders_paid .headline-value")
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert download.suggested_filename.startswith("analytics-tenant-a-")
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    filters = {r["metric"]: r["value"] for r in rows if r["section"] == "filters"}
    assert (filters["platform"], filters["campaign_id"]) == ("messenger", str(world.a["campaign"]))
    summary = {r["metric"]: r["value"] for r in rows if r["section"] == "summary"}
    assert shown_revenue == "₹799.00" and summary["revenue_minor"] == "79900"
    assert shown_orders == summary["orders_paid"] == "1"
    assert page.problems == [], page.problems
