"""Leo's panel in a real browser: a suggested question and a typed one are answered with their
figures, with the page's CSRF token and no inline script (no console errors under the CSP)."""
from __future__ import annotations

from tests.test_browser import login, server  # noqa: F401  (server is a fixture)


def test_leo_panel_answers_with_figures(server, page):  # noqa: F811
    login(page, server, "owner_a")
    page.goto(server + "/leo/")
    page.click(".leo-suggestion:has-text('What was my revenue today?')")
    page.wait_for_selector(".leo-answer", timeout=20_000)
    assert page.locator(".leo-answer").first.inner_text().startswith("Revenue today: ₹0.00 from 0 paid orders.")
    figures = page.locator(".leo-figures").first.inner_text()
    assert "Revenue" in figures and "₹0.00" in figures and "Orders placed" in figures
    page.fill("#leo-question", "How are my campaigns doing?")
    page.click("#leo-ask")
    page.wait_for_function("() => document.querySelectorAll('.leo-answer').length >= 2", timeout=20_000)
    assert "Camp-A" in page.locator(".leo-answer").nth(1).inner_text()
    page.fill("#leo-question", "x" * 10)
    page.evaluate("() => { document.getElementById('leo-question').value = '   '; }")
    page.click("#leo-ask")  # blank: nothing is sent
    assert page.locator(".leo-entry").count() == 2
    assert not page.console_errors, page.console_errors
