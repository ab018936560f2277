"""The integrations page in a real browser: an owner connects a WhatsApp number (Meta faked at
HTTP inside the server's process), sees its health, and disconnects it; nothing breaks the
page's content security policy and nothing is loaded from outside."""
from __future__ import annotations

import pytest
import responses

from tests import meta_fake
from tests.test_browser import login, server  # noqa: F401  (server is a fixture)


@pytest.fixture
def meta(app):
    app.config.update(META_APP_ID=meta_fake.APP_ID)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = meta_fake.install(rsps)
        fake.phones = {"106540352242922": {"display": "+91 98200 12345", "name": "Kurta House",
                                           "waba": "102290129340398"}}
        fake.templates = [{"id": "t1", "name": "order_update", "language": "en", "status": "APPROVED",
                           "category": "UTILITY", "components": [{"type": "BODY", "text": "Hi {{1}}"}]}]
        yield fake
    app.config.update(META_APP_ID=None)


def test_owner_connects_checks_and_disconnects_a_whatsapp_number(server, page, meta):  # noqa: F811
    login(page, server, "owner_a")
    page.goto(server + "/integrations/")
    assert "Chan-A" in page.inner_text(".channel-health")
    page.click("#connect-whatsapp")
    page.fill("#waba_id", "102290129340398")
    page.fill("#phone_number_id", "106540352242922")
    page.fill("#access_token", meta.wa_token)
    page.click("form.whatsapp-connect button[type=submit]")
    page.wait_for_selector("text=Connected Kurta House (+91 98200 12345); 1 approved template fetched")
    row = page.locator("tr.channel-row", has_text="106540352242922")
    assert "subscribed" in row.inner_text() and meta.wa_token not in page.content()
    row.locator("button:has-text('Check now')").click()
    page.wait_for_selector("text=Kurta House: checked")
    row = page.locator("tr.channel-row", has_text="106540352242922")
    assert "valid" in row.inner_text()
    row.locator("button:has-text('Disconnect')").click()
    page.wait_for_selector("text=Kurta House is disconnected")
    assert "Disconnected" in page.locator("tr.channel-row", has_text="106540352242922").inner_text()
    assert meta.subscriptions["102290129340398"] == set()
    assert not page.console_errors, page.console_errors
