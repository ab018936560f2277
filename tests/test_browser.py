"""A person in a real browser (Debian's chromium through Playwright): sign in, switch tenant,
and chat in the Playground, with a real worker process answering when Redis is configured
(the embedded default's worker threads otherwise).
The page must load nothing from outside 127.0.0.1."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import DATABASE_URL, PASSWORD, REDIS_URL, require_chromium

ROOT = Path(__file__).resolve().parent.parent
require_chromium()


@pytest.fixture
def server(app, world):
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{srv.server_port}"
    public = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = base  # payment links point at this server
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    worker = in_process = None
    if REDIS_URL:  # answers come from a real worker process, as in production
        env = {**os.environ, "CLOSER_ENV": "testing", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
               "PUBLIC_BASE_URL": base}
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "run", "worker"], cwd=ROOT,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
    else:  # the embedded default's worker threads, as `make run` starts them
        from app.jobs.threads import InProcessWorkers

        in_process = InProcessWorkers(app)
    yield base
    if worker:  # a warm stop, then whatever is left: a worker outliving its test takes the next one's jobs
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        worker.wait(timeout=20)
    if in_process:
        in_process.stop()
    srv.shutdown()
    app.config["PUBLIC_BASE_URL"] = public


def login(page, base, username):
    page.goto(base + "/login/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(base + "/")


def test_playground_chat_in_a_browser(server, page):
    login(page, server, "staff_a")
    page.goto(server + "/playground/")
    page.fill("#pg-text", "Hi there")
    page.click("#pg-send")
    page.wait_for_selector(".pg-out", timeout=30_000)
    assert page.locator(".pg-in").first.inner_text() == "Hi there"
    assert "Hello from A" in page.locator(".pg-out").first.inner_text()
    page.fill("#pg-text", "how much is Prod-A?")
    page.click("#pg-send")
    page.wait_for_function("() => document.querySelectorAll('.pg-out').length >= 2", timeout=30_000)
    assert "₹799.00" in page.locator(".pg-out").nth(1).inner_text()


def test_playground_shows_each_message_once_when_polls_overlap(server, page):
    """The poll after a send and the timer's poll may be in flight together (a slow
    answer): the thread must not show what both of them bring twice."""
    import time

    def slow(route):
        time.sleep(0.6)
        route.continue_()

    login(page, server, "staff_a")
    page.goto(server + "/playground/")
    page.route("**/playground/messages*", slow)
    page.fill("#pg-text", "how much is Prod-A?")
    page.click("#pg-send")
    page.wait_for_function("() => [...document.querySelectorAll('.pg-out')].some(e => e.innerText.includes('799'))",
                           timeout=30_000)
    def poll(request):
        return "/playground/messages" in request.url

    for _ in range(2):  # two more polls answered: any that was in flight with the reply has landed
        page.wait_for_event("requestfinished", predicate=poll, timeout=30_000)
    shown = [page.locator(".pg-in, .pg-out").nth(i).inner_text()
             for i in range(page.locator(".pg-in, .pg-out").count())]
    assert len(shown) == len(set(shown)), shown


def test_agency_admin_switches_tenant_in_the_navbar(server, page):
    login(page, server, "agency")
    page.goto(server + "/productview/list/")
    page.click("#tenant-switcher > a")
    page.click("#tenant-switcher button:has-text('Tenant B')")
    page.goto(server + "/productview/list/")
    body = page.inner_text("body")
    assert "Prod-B" in body and "Prod-A" not in body
    assert "Tenant C" not in page.inner_text("#tenant-switcher")


def test_buy_in_the_playground_and_pay_on_the_test_page(server, page):
    """The whole sale as a newcomer sees it after `make run`: no Razorpay keys, test mode."""
    import re

    login(page, server, "staff_a")
    page.goto(server + "/playground/")
    page.fill("#pg-text", "I'll take 2 of Prod-A")
    page.click("#pg-send")
    page.wait_for_function("() => [...document.querySelectorAll('.pg-out')].some(e => e.innerText.includes('/pay/test/'))",
                           timeout=30_000)
    outs = [page.locator(".pg-out").nth(i).inner_text() for i in range(page.locator(".pg-out").count())]
    number = re.search(r"ORD-\d+", outs[0]).group(0)
    assert "₹1,598.00" in outs[0] and number in outs[-1]
    link = re.search(r"https?://\S+/pay/test/\S+", outs[-1]).group(0)
    page.goto(link)
    assert "TEST MODE" in page.inner_text("body")
    page.click("button.pay")
    page.wait_for_selector("#status strong:has-text('paid')")
    page.goto(server + "/playground/")
    page.wait_for_function("() => [...document.querySelectorAll('.pg-out')].some(e => e.innerText.includes('Payment received'))",
                           timeout=30_000)
    page.goto(server + "/orderview/list/")
    row = page.locator("tr", has_text=number)
    assert "paid" in row.inner_text().lower()
