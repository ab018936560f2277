"""Security headers on every kind of response: pages, the API, webhooks, the payment page."""
from __future__ import annotations

import re

import pytest

from tests.conftest import make_config


def csp(resp) -> dict[str, str]:
    policy = resp.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part for part in (p.strip() for p in policy.split(";")) if part}


def assert_page_headers(resp):
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    policy = csp(resp)
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["default-src"] == "default-src 'self'"
    assert policy["object-src"] == "object-src 'none'"
    script = policy["script-src"]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert not re.search(r"https?:|\*", resp.headers["Content-Security-Policy"])  # no outside origin


def test_login_page(app):
    resp = app.test_client().get("/login/")
    assert resp.status_code == 200
    assert_page_headers(resp)


def test_admin_pages_carry_a_fresh_nonce_on_their_inline_scripts(world, browser):
    owner = browser("owner_a")
    nonces = []
    for path in ("/productview/list/", "/productview/list/"):
        resp = owner.get(path)
        assert resp.status_code == 200
        assert_page_headers(resp)
        nonce = re.search(r"'nonce-([^']+)'", csp(resp)["script-src"]).group(1)
        html = resp.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
        assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_api_json(world, api):
    resp = api("owner_a").get("/api/v1/products/")
    assert resp.status_code == 200 and resp.is_json
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


def test_webhook_ingress(app):
    resp = app.test_client().get("/webhooks/meta", query_string={
        "hub.mode": "subscribe", "hub.verify_token": "test_verify_token", "hub.challenge": "42"})
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "42"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert csp(resp)["default-src"] == "default-src 'none'"
    bad = app.test_client().post("/webhooks/meta", data=b"{}")
    assert bad.headers["X-Content-Type-Options"] == "nosniff"


def test_payment_page(world, app, ctx):
    from app.extensions import db
    from app.models import Order

    order = db.session.get(Order, world.a["order"])
    order.payment_token = "tok-headers-test"
    db.session.commit()
    resp = app.test_client().get("/pay/test/tok-headers-test")
    assert resp.status_code == 200
    assert_page_headers(resp)


def test_health_and_no_https_redirect_by_default(app):
    resp = app.test_client().get("/health")
    assert resp.status_code == 200
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in resp.headers  # plain HTTP: no HSTS


@pytest.fixture
def https_app():
    from app import create_app

    return create_app(make_config(FORCE_HTTPS=True, SESSION_COOKIE_SECURE=True))


def test_force_https_redirects_pages_but_not_probes_or_webhooks(https_app):
    client = https_app.test_client()
    resp = client.get("/login/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("https://")
    assert client.get("/health").status_code == 200
    assert client.get("/webhooks/meta", query_string={
        "hub.mode": "subscribe", "hub.verify_token": "test_verify_token",
        "hub.challenge": "7"}).status_code == 200
    behind_proxy = client.get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert behind_proxy.status_code == 200
    assert "max-age=" in behind_proxy.headers["Strict-Transport-Security"]


def test_session_cookie_settings_stay_as_configured(app):
    assert app.config["SESSION_COOKIE_SECURE"] is False  # TestConfig: plain http in tests
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
