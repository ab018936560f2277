"""A visitor in a real browser (Debian's chromium through Playwright): the landing page, sign-up,
and the whole onboarding wizard, a document read by a real worker while its progress bar moves.
Any console error, page error or failed request fails the test."""
from __future__ import annotations

from tests.document_files import pdf_bytes
from tests.test_browser import launch, server  # noqa: F401  (server is a fixture)

import pytest


@pytest.fixture
def watched():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context()
        outside, problems = [], []

        def block_outside(route):
            if not route.request.url.split("/")[2].startswith("127.0.0.1"):
                outside.append(route.request.url)
                return route.abort()
            return route.continue_()

        context.route("**/*", block_outside)
        page = context.new_page()
        page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(f"{page.url}: {exc}"))
        page.on("response", lambda resp: problems.append(f"{resp.status} {resp.url}")
                if resp.status >= 400 else None)
        yield page
        assert not outside, f"the page tried to load from outside: {outside}"
        assert not problems, problems
        browser.close()


def test_landing_signup_and_onboarding_wizard(server, watched):  # noqa: F811
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
    page.wait_for_selector('#uploads tr.upload[data-status="done"]', timeout=60_000)
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
