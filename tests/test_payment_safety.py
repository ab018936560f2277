"""No payment without Razorpay: production needs its keys and never has the test-mode page;
elsewhere the test-mode page acts only on an order that can still be paid; CLOSER_ENV names
exactly one of the three environments."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.clients.razorpay_client import PaymentRefused
from app.extensions import db
from app.models import Order, OrderEvent, OrderStatus, PaymentEvent, Product, utcnow
from app.services import checkout
from app.services.payments import fulfilment, gateway, links, refunds, test_mode
from config import RAZORPAY_SETTINGS, Config, DevConfig, TestConfig, config_from_env
from tests.conftest import make_config

S = OrderStatus
ROOT = Path(__file__).resolve().parent.parent
KEYS = {"RAZORPAY_KEY_ID": "rzp_live_key", "RAZORPAY_KEY_SECRET": "rzp_live_secret",
        "RAZORPAY_WEBHOOK_SECRET": "rzp_webhook_secret"}
PRODUCTION = {"PRODUCTION": True, "SECRET_KEY": "p" * 48, **KEYS}


def _prod(**overrides) -> dict:
    cfg = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    cfg.update(PRODUCTION=True, SECRET_KEY="x" * 40, TOKEN_ENCRYPTION_KEYS="k", **KEYS)
    cfg.update(overrides)
    return cfg


def place_linked(app, world, quantity=2) -> Order:
    """A pending order in A's chat with its test-mode link made (testing, no keys)."""
    from app.jobs.payments import create_payment_link

    with app.app_context():
        order = checkout.place_order(world.a.tenant_id, world.a["customer"], world.a["conversation"],
                                     [(world.a["product"], quantity)], source="agent")
        order_id = order.id
        db.session.remove()
    with app.app_context():
        links.ensure_link(order_id, world.a.tenant_id)
        db.session.remove()
    return snapshot(app, order_id)[0]


def snapshot(app, order_id):
    """(order, its history, product counters, every payment event) as plain values."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        product = db.session.get(Product, order.items[0].product_id)
        stock = (product.stock, product.reserved)
        db.session.expunge(order)
        history = db.session.scalars(select(OrderEvent.note).where(OrderEvent.order_id == order_id)
                                     .order_by(OrderEvent.id)).all()
        events = db.session.scalars(select(PaymentEvent.event_id).order_by(PaymentEvent.id)).all()
        db.session.remove()
    return order, list(history), stock, list(events)


def state(app, order_id):
    order, history, stock, events = snapshot(app, order_id)
    return (order.status, order.payment_link_id, order.paid_at, order.closed_at, history, stock, events)


# -------------------------------------------------------------------------- configuration


def test_production_refuses_to_start_without_razorpay_naming_each_missing_setting():
    with pytest.raises(RuntimeError) as refused:
        Config.validate(_prod(RAZORPAY_KEY_ID=None, RAZORPAY_KEY_SECRET="", RAZORPAY_WEBHOOK_SECRET=None))
    for name in RAZORPAY_SETTINGS:
        assert name in str(refused.value)
    for name in RAZORPAY_SETTINGS:
        with pytest.raises(RuntimeError, match="Refusing to start") as one:
            Config.validate(_prod(**{name: None}))
        assert name in str(one.value)
        assert [n for n in RAZORPAY_SETTINGS if n in str(one.value)] == [name]
    Config.validate(_prod())  # all three set: starts
    Config.validate({**_prod(RAZORPAY_KEY_ID=None), "PRODUCTION": False})  # development: test mode


def test_a_production_app_without_razorpay_keys_does_not_start():
    from app import create_app

    cfg = make_config(**{**PRODUCTION, "RAZORPAY_KEY_ID": None, "RAZORPAY_KEY_SECRET": None})
    with pytest.raises(RuntimeError, match="RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET must be set"):
        create_app(cfg)


@pytest.mark.parametrize("value, expected", [
    (None, DevConfig), ("", DevConfig), ("development", DevConfig), ("production", Config),
    ("Production", Config), ("TESTING", TestConfig), ("testing", TestConfig),
])
def test_closer_env_names_one_of_three_environments(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("CLOSER_ENV", raising=False)
    else:
        monkeypatch.setenv("CLOSER_ENV", value)
    assert config_from_env() is expected


@pytest.mark.parametrize("value", ["prodution", "staging", "prod", "test", "dev", "production2"])
def test_an_unknown_closer_env_refuses_to_start(monkeypatch, value):
    monkeypatch.setenv("CLOSER_ENV", value)
    with pytest.raises(RuntimeError, match="production, development, testing") as refused:
        config_from_env()
    assert repr(value) in str(refused.value)


def test_a_misspelt_closer_env_stops_the_server_before_it_serves():
    env = {**os.environ, "CLOSER_ENV": "prodution"}
    run = subprocess.run([sys.executable, "-c", "import run"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "CLOSER_ENV='prodution' is not one of production, development, testing" in run.stderr


# -------------------------------------------------------------------------- production


@pytest.fixture
def production_app(app):
    """A production app (Razorpay keys set) on the suite's database."""
    from app import create_app

    prod = create_app(make_config(**PRODUCTION))
    try:
        yield prod
    finally:
        with prod.app_context():
            db.session.remove()
            db.engine.dispose()


def test_production_has_no_test_mode_page_whatever_the_keys(app, world, production_app, browser):
    order = place_linked(app, world)
    url = f"/pay/test/{order.payment_token}"
    assert browser(None).get(url).status_code == 200  # testing, no keys: the page is there
    before = state(app, order.id)
    client = production_app.test_client()
    for keys in (KEYS, dict.fromkeys(KEYS)):  # configured, then (somehow) gone at run time
        production_app.config.update(keys)
        assert client.get(url).status_code == 404
        for outcome in ("paid", "failed"):
            assert client.post(url, data={"outcome": outcome}).status_code == 404
        with production_app.app_context():
            assert gateway.live()
    assert state(app, order.id) == before
    assert before[0] == S.PENDING_PAYMENT


def test_production_never_makes_a_test_mode_link(app, world, production_app):
    with app.app_context():
        order = checkout.place_order(world.a.tenant_id, world.a["customer"], world.a["conversation"],
                                     [(world.a["product"], 1)], source="agent")
        order_id = order.id
        db.session.remove()
    production_app.config.update(dict.fromkeys(KEYS))  # keys missing at run time
    with production_app.app_context():
        with pytest.raises(PaymentRefused, match="not configured"):
            links.ensure_link(order_id, world.a.tenant_id)
        db.session.rollback()
        assert test_mode.expire_overdue_test_links() == 0
        db.session.remove()
    order = snapshot(app, order_id)[0]
    assert (order.payment_link_id, order.payment_link_url) == (None, None)


def test_live_follows_the_environment_before_the_keys():
    keys = {"RAZORPAY_KEY_ID": "k", "RAZORPAY_KEY_SECRET": "s"}
    assert gateway.live({"PRODUCTION": True})
    assert gateway.live({})  # a config that doesn't say is production
    assert gateway.live({"PRODUCTION": True, **keys})
    assert not gateway.live({"PRODUCTION": False})
    assert gateway.live({"PRODUCTION": False, **keys})


# -------------------------------------------------------------------------- test mode


def _refused(app, browser, order: Order, outcomes=("paid", "failed")):
    url = f"/pay/test/{order.payment_token}"
    customer = browser(None)
    page = customer.get(url)
    assert page.status_code == 200 and 'name="outcome"' not in page.get_data(as_text=True)
    token = customer.csrf()  # the page has no form now: a token of this session from elsewhere
    for outcome in outcomes:
        resp = customer.client.post(url, data={"outcome": outcome, "csrf_token": token})
        assert resp.status_code == 409, (outcome, resp.status_code)


def test_a_cancelled_order_can_not_be_paid_on_the_test_page(app, world, browser):
    order = place_linked(app, world)
    with app.app_context():
        fulfilment.cancel(db.session.get(Order, order.id), actor_id=None)
        db.session.remove()
    before = state(app, order.id)
    assert before[0] == S.CANCELLED and before[5] == (10, 1)  # the stock went back
    _refused(app, browser, order)
    assert state(app, order.id) == before


def test_an_expired_order_can_not_be_paid_on_the_test_page(app, world, browser):
    order = place_linked(app, world)
    with app.app_context():
        db.session.get(Order, order.id).payment_link_expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        db.session.remove()
    before = state(app, order.id)
    assert before[0] == S.PENDING_PAYMENT  # past its expiry, the sweep hasn't run yet
    _refused(app, browser, order)
    assert state(app, order.id) == before
    with app.app_context():
        assert test_mode.expire_overdue_test_links() == 1
        db.session.remove()
    before = state(app, order.id)
    assert before[0] == S.EXPIRED
    _refused(app, browser, order)
    assert state(app, order.id) == before


def test_a_paid_or_refunded_order_can_not_be_paid_or_failed_again(app, world, browser, run_jobs, graph):
    order = place_linked(app, world)
    url = f"/pay/test/{order.payment_token}"
    customer = browser(None)
    assert customer.post(url, data={"outcome": "paid"}, token_from=url).status_code == 302
    run_jobs()
    before = state(app, order.id)
    assert before[0] == S.PAID and before[5] == (8, 1) and len(before[6]) == 1
    _refused(app, browser, order)
    assert state(app, order.id) == before
    with app.app_context():
        refunds.refund(db.session.get(Order, order.id), actor_id=None)
        db.session.remove()
    before = state(app, order.id)
    assert before[0] == S.REFUNDED
    _refused(app, browser, order)
    assert state(app, order.id) == before


def test_a_pending_linked_order_is_still_payable(app, world, browser, run_jobs, graph):
    order = place_linked(app, world, quantity=1)
    url = f"/pay/test/{order.payment_token}"
    customer = browser(None)
    assert 'name="outcome"' in customer.get(url).get_data(as_text=True)
    assert customer.post(url, data={"outcome": "failed"}, token_from=url).status_code == 302
    assert customer.post(url, data={"outcome": "paid"}, token_from=url).status_code == 302
    run_jobs()
    assert state(app, order.id)[0] == S.PAID
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaymentEvent)) == 2
        db.session.remove()
