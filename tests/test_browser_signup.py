"""A visitor in a real browser (Debian's chromium through Playwright): the landing page, sign-up,
and the whole onboarding wizard. The document's job is run by the test once the page shows it
queued, so the progress bar can only turn to done through the page's own polling.
Any console error, page error or failed request fails the test."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import watched_page
from tests.document_files import pdf_bytes


@pytest.fixture
def server(app):
    """The app on a local port, with no worker: the test runs the jobs itself."""
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture
def watched():
    with watched_page(fail_on=("outside", "problems")) as pg:
        yield pg


def test_landing_signup_and_onboarding_wizard(server, watched, run_jobs):
    page = watched
    page.goto(server + "/")
    assert "AI salesperson" in page.inner_text("#landing")
    page.click("#get-started")
    page.wait_for_url(server + "/signup")
    page.fill("#business_name", "Meera Handlooms")
    page.fill("#email", "meera@handlooms.in")
    page.fill("#password", "Marigold-Tandoor-Quartz-81")
    page.click("#signup-submit")
    page.wait_for_url(server + "/onboarding/profile")
    assert page.input_value("#business_name") == "Meera Handlooms"
    assert "0% set up" in page.inner_text("#wizard-progress")

    page.fill("#owner_name", "Meera Iyer")
    page.fill("#tone", "Warm and brief")
    page.fill("#policies", "Returns within 7 days")
    page.click("#save-profile")
    page.wait_for_url(server + "/onboarding/documents")
    assert "25% set up" in page.inner_text("#wizard-progress")

    page.set_input_files("#document-file", files=[{
        "name": "catalog.pdf", "mimeType": "application/pdf",
        "buffer": pdf_bytes("Kanchipuram silk saree Rs 12000", "Cotton kurta Rs 799")}])
    page.click("#upload-document")
    page.wait_for_url(server + "/onboarding/documents")
    assert page.get_attribute("#uploads tr.upload", "data-status") == "queued"
    with page.expect_response(lambda r: "/status" in r.url):  # the poller is running
        pass
    run_jobs()
    page.wait_for_selector('#uploads tr.upload[data-status="done"]', timeout=30_000)
    row = page.locator("#uploads tr.upload").first
    assert "passages indexed" in row.inner_text()
    assert row.locator(".upload-bar").get_attribute("style").replace(" ", "") == "width:100%;"

    page.click("#documents-continue")
    page.wait_for_url(server + "/onboarding/campaign")
    page.fill("#name", "Wedding season")
    page.fill("#new_product_name", "Silk dupatta")
    page.fill("#new_product_price", "1499")
    page.fill("#greeting", "Namaste! Shopping for a wedding?")
    page.click("#save-campaign")
    page.wait_for_url(server + "/onboarding/channel")
    assert page.get_attribute("#connect-facebook", "href") == "/integrations/facebook/connect"
    assert page.get_attribute("#open-integrations", "href") == "/integrations/"

    page.click("#finish-channel")
    page.wait_for_url(server + "/onboarding/")
    page.wait_for_selector("#onboarding-finished")
    assert "100% set up" in page.inner_text("#wizard-progress")
