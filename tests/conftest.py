"""Test scaffolding: a real database (PostgreSQL under CI, SQLite otherwise) migrated from empty,
Redis when REDIS_URL is set, two agencies with three tenants, and logged-in clients per persona.

Only the outside world (Graph API, Razorpay, Groq) is ever faked, at the HTTP boundary.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

# Before config is imported: tests never read the developer's instance/ secrets.
os.environ.setdefault("CLOSER_ENV", "testing")
_TMP = Path(tempfile.mkdtemp(prefix="closer-test-"))
os.environ.setdefault("CLOSER_INSTANCE_DIR", str(_TMP))
for _name in ("GRAPH_API_BASE", "JOB_TIMEOUT", "REPLY_DEBOUNCE_SECONDS"):
    os.environ.pop(_name, None)  # the outside world is faked per test, never the developer's

from sqlalchemy import text  # noqa: E402

from config import TestConfig  # noqa: E402

PASSWORD = "Kestrel-Harbor-Lantern-47"
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"
REDIS_URL = os.environ.get("REDIS_URL") or None
IS_POSTGRES = DATABASE_URL.startswith("postgresql")


def pytest_report_header(config):
    return [f"closer: database={DATABASE_URL.split('@')[-1]} redis={REDIS_URL or 'in-memory (fakeredis)'}"]


def pytest_sessionstart(session):
    """Under CI the real services must be there: fail loudly instead of skipping."""
    if os.environ.get("CI", "").lower() != "true":
        return
    if not IS_POSTGRES or not REDIS_URL:
        pytest.exit("CI=true needs DATABASE_URL (PostgreSQL) and REDIS_URL", returncode=3)


def wait_for(condition, timeout: float, what: str) -> None:
    """Wait until `condition()` holds (a worker process got there), failing after `timeout`
    seconds: for what runs outside the test's reach; jobs it can reach it drains (`run_jobs`)."""
    import threading
    import time

    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        pause.wait(0.05)


def make_config(**overrides):
    cfg = TestConfig()
    cfg.SQLALCHEMY_DATABASE_URI = DATABASE_URL
    cfg.REDIS_URL = REDIS_URL
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


def reset_database(engine) -> None:
    """Empty schema: the migrations run from nothing, as on a fresh install."""
    if IS_POSTGRES:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        path = Path(DATABASE_URL.removeprefix("sqlite:///"))
        engine.dispose()
        if path.exists():
            path.unlink()


@pytest.fixture(scope="session")
def app():
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import appbuilder, db

    application = create_app(make_config())
    with application.app_context():
        reset_database(db.engine)
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        appbuilder.sm.sync_roles()
    return application


KEEP_TABLES = {"ab_role", "alembic_version"}


def truncate_all(db) -> None:
    from flask_appbuilder import Model

    tables = [t for t in Model.metadata.sorted_tables if t.name not in KEEP_TABLES]
    db.session.remove()
    with db.engine.begin() as conn:
        if IS_POSTGRES:
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())


WORKERS: list = []  # worker processes a test started (spawn_worker)


def spawn_worker(args: list, **kwargs):
    """A worker subprocess in its own session, killed with its children after the test
    whatever happened in it: a worker left running would take the next tests' jobs."""
    import subprocess

    proc = subprocess.Popen(args, start_new_session=True, **kwargs)
    WORKERS.append(proc)
    return proc


def _kill_workers() -> None:
    import signal

    while WORKERS:
        proc = WORKERS.pop()
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def _clean(app):
    from app.extensions import db

    yield
    _kill_workers()
    # A delivery a test left being queued is queued here, not in the next test's database;
    # jobs a test left queued go with the flush.
    app.extensions["delivery_intake"].drain()
    with app.app_context():
        truncate_all(db)
    app.extensions["redis"].flushdb()
    if "media_cache" in app.extensions:  # ids start again with the next test's rows
        app.extensions["media_cache"].clear()


@contextlib.contextmanager
def seeded_demo(app):
    """The demo stores for a whole module (evaluation suites), emptied afterwards."""
    from app.extensions import db
    from app.services import demo

    with app.app_context():
        demo.seed()
        db.session.remove()
    yield app
    with app.app_context():
        truncate_all(db)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def world(app):
    """Agency X {A, B} and agency Y {C}, users per role, one row of every table per tenant."""
    from tests.factories import build_world

    with app.app_context():
        return build_world()


class Browser:
    """A logged-in browser session that posts forms with their CSRF token, as a person would."""

    def __init__(self, app, username: str | None):
        self.app = app
        self.client = app.test_client()
        if username:
            self.login(username)

    def csrf(self, path: str = "/login/") -> str:
        html = self.client.get(path).get_data(as_text=True)
        match = (
            re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
            or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
            or re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
        )
        assert match, f"no csrf token on {path}"
        return match.group(1)

    def login(self, username: str, password: str = PASSWORD):
        token = self.csrf("/login/")
        resp = self.client.post(
            "/login/", data={"username": username, "password": password, "csrf_token": token}
        )
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        assert "/login" not in resp.headers["Location"], f"login failed for {username}"

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post(self, path, data=None, token_from: str | None = None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf(token_from or "/"))
        return self.client.post(path, data=data, **kw)


@pytest.fixture
def browser(app):
    def make(username: str | None = None) -> Browser:
        return Browser(app, username)

    return make


class ApiClient:
    """JWT client for /api/v1 (the API is CSRF-exempt and cookie-less)."""

    def __init__(self, app, username: str, password: str = PASSWORD):
        self.client = app.test_client()
        resp = self.client.post(
            "/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db"},
        )
        assert resp.status_code == 200, resp.get_data(as_text=True)
        self.headers = {"Authorization": f"Bearer {resp.json['access_token']}"}

    def _h(self, tenant_id=None):
        h = dict(self.headers)
        if tenant_id is not None:
            h["X-Tenant-ID"] = str(tenant_id)
        return h

    def get(self, path, tenant_id=None, **kw):
        return self.client.get(path, headers=self._h(tenant_id), **kw)

    def post(self, path, json=None, tenant_id=None):
        return self.client.post(path, json=json, headers=self._h(tenant_id))

    def put(self, path, json=None, tenant_id=None):
        return self.client.put(path, json=json, headers=self._h(tenant_id))

    def delete(self, path, tenant_id=None):
        return self.client.delete(path, headers=self._h(tenant_id))


@pytest.fixture
def api(app):
    def make(username: str) -> ApiClient:
        return ApiClient(app, username)

    return make


@pytest.fixture
def run_jobs(app):
    """Run queued jobs until none is ready: RQ burst workers, on Redis or on the in-memory one.

    Delayed jobs (`enqueue(delay=)`, retries' backoff) that are due by then run too, and with
    `ahead=` those due within that many seconds, as if the time had passed: a test never waits
    for a timer. Each round can queue more (a retry, a follow-up); jobs that reschedule
    themselves further out than `ahead` (the minute's sweep) stay scheduled."""
    import time

    from rq import SimpleWorker
    from rq.registry import ScheduledJobRegistry

    def run(ahead: float = 0) -> None:
        queues = list(app.extensions["job_queues"].values())
        with app.app_context():
            for _ in range(20):
                SimpleWorker(queues, connection=app.extensions["redis"], serializer=queues[0].serializer
                             ).work(burst=True, with_scheduler=False, logging_level="WARNING")
                moved = 0
                for queue in queues:
                    scheduled = ScheduledJobRegistry(queue=queue)
                    for job_id in scheduled.get_jobs_to_schedule(time.time() + ahead):
                        job = queue.fetch_job(job_id)
                        scheduled.remove(job_id)
                        if job is not None:
                            queue.enqueue_job(job)
                            moved += 1
                if not moved:
                    return

    return run


@pytest.fixture
def graph():
    """The Graph API, faked at the HTTP boundary; every send gets a fresh message id."""
    import itertools
    import json as _json

    import responses

    counter = itertools.count(1)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        def send(request):
            body = _json.loads(request.body)
            n = next(counter)
            if body.get("messaging_product") == "whatsapp":
                return 200, {}, _json.dumps({"messaging_product": "whatsapp",
                                             "messages": [{"id": f"wamid.OUT{n}"}]})
            return 200, {}, _json.dumps({"recipient_id": body["recipient"]["id"],
                                         "message_id": f"m_out_{n}"})

        import re as _re

        rsps.add_callback(responses.POST, _re.compile(r"http://graph\.test/v25\.0/.+/messages"),
                          callback=send, content_type="application/json")
        rsps.sends = lambda: [_json.loads(c.request.body) for c in rsps.calls
                              if c.request.url.split("?")[0].endswith("/messages")]
        yield rsps


@pytest.fixture
def razorpay(app, graph):
    """Razorpay keys configured and Razorpay itself faked (sharing the Graph API's mock)."""
    from tests import razorpay_fake as rz

    app.config.update(RAZORPAY_KEY_ID="rzp_test_key", RAZORPAY_KEY_SECRET="rzp_test_secret")
    try:
        yield rz.FakeRazorpay(graph)
    finally:
        app.config.update(RAZORPAY_KEY_ID=None, RAZORPAY_KEY_SECRET=None)


@pytest.fixture
def post_meta(app):
    """POST a signed Meta webhook delivery, as Meta would.

    With process=True (default) the stored delivery is then processed right here, as its job
    would (the queued job later finds it done), and `resp.stored` / `resp.duplicates` say what
    ingest did; answers stay queued for `run_jobs`. process=False leaves it all to the queue.
    """
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import WebhookEvent
    from app.services.webhook_events import process_meta
    from tests.meta_payloads import encode, sign

    client = app.test_client()

    def post(payload, signature: str | None = "auto", raw: bytes | None = None, process=True):
        body = raw if raw is not None else encode(payload)
        headers = {"Content-Type": "application/json"}
        if signature == "auto":
            headers["X-Hub-Signature-256"] = sign(body)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        with app.app_context():
            before = db.session.scalar(select(func.coalesce(func.max(WebhookEvent.id), 0)))
            db.session.remove()
        intake = app.extensions["delivery_intake"]
        queued = intake.on_stored
        if process:  # this fixture processes the delivery itself, deterministically
            intake.on_stored = lambda source, ids: None
        try:
            resp = client.post("/webhooks/meta", data=body, headers=headers)
            intake.drain()  # the 200 comes once stored; the batch's job is queued just after
        finally:
            intake.on_stored = queued
        resp.stored = resp.duplicates = 0
        if process:
            with app.app_context():
                ids = db.session.scalars(select(WebhookEvent.id).where(WebhookEvent.id > before)).all()
                for event_id in ids:
                    result = process_meta(event_id)
                    resp.stored += result.stored
                    resp.duplicates += result.duplicates
                db.session.remove()
        return resp

    return post


# ---------------------------------------------------------------------------- real browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def require_chromium() -> None:
    """Skip where chromium is missing, except on CI, where a missing browser is a broken setup
    and must not pass as a skipped test."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if os.environ.get("CI", "").lower() == "true":
            raise RuntimeError(f"chromium not found at {CHROMIUM}: .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)


def launch(playwright):
    """Debian's chromium, kept off the network it would otherwise try to reach at start."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--disable-background-networking", "--disable-component-update", "--no-first-run"])


@contextlib.contextmanager
def watched_page(*, init_script: str | None = None, block_outside: bool = True, fail_on: tuple[str, ...] = ()):
    """A chromium page that records what went wrong on it, so a test can fail on it.

    page.problems: console errors, page errors and responses of 400 or more, in order, each
    with the page's URL; page.console_errors and page.page_errors hold those kinds alone.
    With block_outside, any request that leaves 127.0.0.1 is aborted and listed in
    page.outside: the app must work with nothing from outside. Each list named in fail_on
    must be empty when the block ends, or the test fails.
    """
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context()
        if init_script:
            context.add_init_script(init_script)
        outside: list[str] = []
        if block_outside:
            def block(route):
                if not route.request.url.split("/")[2].startswith("127.0.0.1"):
                    outside.append(route.request.url)
                    return route.abort()
                return route.continue_()

            context.route("**/*", block)
        pg = context.new_page()
        pg.problems, pg.console_errors, pg.page_errors, pg.outside = [], [], [], outside

        def on_console(msg):
            if msg.type == "error":
                pg.console_errors.append(msg.text)
                pg.problems.append(f"{pg.url}: {msg.text}")

        def on_page_error(exc):
            pg.page_errors.append(str(exc))
            pg.problems.append(f"{pg.url}: {exc}")

        def on_response(resp):
            if resp.status >= 400:
                pg.problems.append(f"{resp.status} {resp.url}")

        pg.on("console", on_console)
        pg.on("pageerror", on_page_error)
        pg.on("response", on_response)
        try:
            yield pg
            for name in fail_on:
                assert not getattr(pg, name), f"{name}: {getattr(pg, name)}"
        finally:
            browser.close()


@pytest.fixture
def page():
    """The plain browser page: fails the test on a page error or on anything loaded from outside."""
    with watched_page(fail_on=("outside", "page_errors")) as pg:
        yield pg
