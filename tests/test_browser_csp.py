"""The admin works in a real browser under its Content-Security-Policy.

Debian's chromium (through Playwright) signs in and walks the admin: any console error, and in
particular any CSP violation (an inline script without the nonce, a style or font the policy
refuses), fails the test. FAB's own inline scripts must have run (they set globals we check),
so a policy that silently blocked them would fail too.
"""
from __future__ import annotations

import pytest

from tests.conftest import watched_page
from tests.test_browser import login, server  # noqa: F401  (server is a fixture)

REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', e => console.error(
    'CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
    ' at ' + e.sourceFile + ':' + e.lineNumber));
"""


@pytest.fixture
def csp_page():
    """Requests to outside are not intercepted here: the policy itself must refuse them, and
    what it refuses shows up as a console error in page.problems."""
    with watched_page(init_script=REPORT_VIOLATIONS, block_outside=False) as pg:
        yield pg


def visit(page, url):
    resp = page.goto(url)
    assert resp.status == 200, (url, resp.status)
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.jQuery") == "function", url  # FAB's static JS ran
    return resp


def test_admin_pages_run_clean_under_the_csp(server, csp_page, world):  # noqa: F811
    page = csp_page
    resp = page.goto(server + "/login/")
    assert "script-src 'self' 'nonce-" in resp.headers["content-security-policy"]
    login(page, server, "owner_a")
    paths = [
        "/",
        "/productview/list/",
        "/productview/add",
        f"/productview/show/{world.a['product']}",
        f"/productview/edit/{world.a['product']}",
        "/orderview/list/",
        "/conversationview/list/",
        f"/conversationview/show/{world.a['conversation']}",
        "/playground/",
        "/teamview/list/",
        "/addteammemberview/form",
        "/users/userinfo/",
        "/resetmypassword/form",
    ]
    for path in paths:
        visit(page, server + path)
    visit(page, server + "/productview/list/")
    # FAB's inline scripts (nonce'd) ran: the list page's actions object exists
    assert page.evaluate("typeof window.modelActions") == "object"
    assert page.problems == [], page.problems


def test_admin_only_pages_run_clean_under_the_csp(server, csp_page, world):  # noqa: F811
    page = csp_page
    login(page, server, "admin")
    for path in ("/users/list/", "/users/add", "/roles/list/", "/tenantsview/list/",
                 "/tenantsview/add"):
        visit(page, server + path)
    visit(page, server + "/users/list/")
    assert page.evaluate("typeof window.modelActions") == "object"
    assert page.problems == [], page.problems


def test_a_violation_would_be_caught(server, csp_page):  # noqa: F811
    """The watcher itself: an inline script without the nonce is refused and reported."""
    page = csp_page
    visit(page, server + "/login/")
    with page.expect_console_message(lambda m: "CSP violation" in m.text) as reported:
        page.evaluate("""() => { const s = document.createElement('script');
                                  s.textContent = 'window.injected = 1';
                                  document.body.appendChild(s); }""")
    assert page.evaluate("typeof window.injected") == "undefined"
    assert "script-src" in reported.value.text and "blocked inline" in reported.value.text
