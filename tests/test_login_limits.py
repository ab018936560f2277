"""Password guessing is rate-limited on both logins: FAB's form and the JWT API.

The suite's own config turns the limiter off (many logins per second); these tests build apps
with it on, as production runs, against the same database.
"""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, REDIS_URL, make_config

LIMIT = 10  # AUTH_RATE_LIMIT = "10 per 20 second"


def limited_app(**overrides):
    from app import create_app

    settings = {"AUTH_RATE_LIMITED": True, "RATELIMIT_ENABLED": True, **overrides}
    return create_app(make_config(**settings))


def api_login(client, password="wrong-password-guess"):
    return client.post("/api/v1/security/login",
                       json={"username": "owner_a", "password": password, "provider": "db"})


def test_api_login_gets_429_after_the_limit_even_with_the_right_password(world):
    client = limited_app().test_client()
    assert [api_login(client).status_code for _ in range(LIMIT)] == [401] * LIMIT
    resp = api_login(client, PASSWORD)
    assert resp.status_code == 429
    assert "access_token" not in resp.get_data(as_text=True)


def test_form_login_is_limited_too(world):
    from tests.conftest import Browser

    app = limited_app()
    person = Browser(app, None)
    token = person.csrf("/login/")
    statuses = [person.client.post("/login/", data={
        "username": "owner_a", "password": "wrong-password-guess", "csrf_token": token,
    }).status_code for _ in range(LIMIT + 1)]
    assert statuses == [302] * LIMIT + [429]


def test_limiter_is_off_when_disabled(world):
    client = limited_app(AUTH_RATE_LIMITED=False, RATELIMIT_ENABLED=False).test_client()
    assert {api_login(client).status_code for _ in range(LIMIT + 2)} == {401}


def test_limiter_counts_in_redis_when_redis_url_is_set():
    from limits.storage import MemoryStorage, RedisStorage

    app = limited_app(REDIS_URL="redis://127.0.0.1:1/0")  # never connected to here
    assert isinstance(app.appbuilder.sm.limiter.storage, RedisStorage)
    assert isinstance(limited_app(REDIS_URL=None).appbuilder.sm.limiter.storage, MemoryStorage)


@pytest.mark.skipif(not REDIS_URL, reason="needs Redis (REDIS_URL)")
def test_app_processes_sharing_redis_share_the_count(world):
    """Two gunicorn workers are two apps: a guesser can't spread attempts over them."""
    first, second = limited_app().test_client(), limited_app().test_client()
    statuses = [api_login(client).status_code for client in [first, second] * (LIMIT // 2)]
    assert statuses == [401] * LIMIT
    assert api_login(first).status_code == 429
    assert api_login(second).status_code == 429
