"""Error pages: a person gets the app's own page (navigation, a way back, no detail of what was
refused); an API client gets JSON."""
from __future__ import annotations

from html import unescape


def test_a_missing_page_is_the_apps_own_page_with_a_way_back(world, browser):
    owner = browser("owner_a")
    resp = owner.get("/no-such-page/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    assert "Nothing here" in html and "Go to the dashboard" in html
    assert "Tenant A" in html  # the navbar's business switcher: the app's own layout
    # another tenant's record reads exactly like one that never existed
    theirs = owner.get(f"/campaignview/show/{world.b['campaign']}")
    assert theirs.status_code == 404 and "Nothing here" in theirs.get_data(as_text=True)
    assert "Tenant B" not in theirs.get_data(as_text=True)


def test_a_refused_action_says_so_without_detail(world, browser):
    staff = browser("staff_a")
    resp = staff.get(f"/orderview/action/refund_order/{world.a['order']}")  # owners refund, not staff
    html = unescape(resp.get_data(as_text=True))
    assert resp.status_code == 403 and "You can't open this" in html and "Go to the dashboard" in html
    anonymous = browser(None).get("/no-such-page/")
    assert anonymous.status_code == 404 and "Sign in" in anonymous.get_data(as_text=True)


def test_api_errors_are_json(world, api):
    client = api("owner_a")
    missing = client.get("/api/v1/no-such-thing/")
    assert missing.status_code == 404 and missing.is_json and missing.json["message"]
    wrong = client.client.put("/api/v1/leo/ask", json={"question": "hi"}, headers=client.headers)
    assert wrong.status_code == 405 and wrong.is_json and "POST" in wrong.headers["Allow"]
