"""/health answers 200 when usable and 503 when not; production refuses development secrets."""
from __future__ import annotations

import pytest

from config import DEV_SECRET_KEY, Config
from tests.conftest import REDIS_URL, make_config


def test_health_ok(app):
    resp = app.test_client().get("/health")
    assert resp.status_code == 200
    assert resp.json["database"] == "ok"
    assert resp.json["queue"] == ("ok" if REDIS_URL else "inline")


def test_health_503_when_redis_is_down():
    from app import create_app

    broken = create_app(make_config(REDIS_URL="redis://127.0.0.1:1/0"))
    resp = broken.test_client().get("/health")
    assert resp.status_code == 503
    assert resp.json["queue"].startswith("error") and resp.json["status"] == "unavailable"


def test_health_503_when_database_is_down():
    from app import create_app

    broken = create_app(make_config(
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none", REDIS_URL=None))
    resp = broken.test_client().get("/health")
    assert resp.status_code == 503 and resp.json["database"].startswith("error")


def _prod(**overrides):
    cfg = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    cfg.update(PRODUCTION=True, **overrides)
    return cfg


def test_production_refuses_development_secret():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        Config.validate(_prod(SECRET_KEY=DEV_SECRET_KEY, TOKEN_ENCRYPTION_KEYS="k"))
    with pytest.raises(RuntimeError, match="TOKEN_ENCRYPTION_KEYS"):
        Config.validate(_prod(SECRET_KEY="x" * 40, TOKEN_ENCRYPTION_KEYS=None))
    Config.validate(_prod(SECRET_KEY="x" * 40, TOKEN_ENCRYPTION_KEYS="k", RAZORPAY_KEY_ID="id",
                          RAZORPAY_KEY_SECRET="secret", RAZORPAY_WEBHOOK_SECRET="hook"))


def test_production_app_does_not_start_with_dev_secret():
    from app import create_app

    cfg = make_config(PRODUCTION=True, SECRET_KEY=DEV_SECRET_KEY)
    with pytest.raises(RuntimeError, match="Refusing to start"):
        create_app(cfg)


def test_outside_world_base_urls_default_to_the_real_services():
    assert Config.GRAPH_API_BASE.startswith("https://graph.facebook.com/v")
    assert Config.GRAPH_API_BASE.rsplit("/", 1)[1].endswith(".0")
    assert Config.RAZORPAY_API_BASE == "https://api.razorpay.com"
    assert Config.GROQ_BASE_URL == "https://api.groq.com"


def test_token_encryption_rotates_keys(app, monkeypatch):
    from cryptography.fernet import Fernet

    from app.security import crypto

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with app.app_context():
        monkeypatch.setitem(app.config, "TOKEN_ENCRYPTION_KEYS", old)
        enc = crypto.EncryptedText().process_bind_param("tok", None)
        app.config["TOKEN_ENCRYPTION_KEYS"] = f"{new},{old}"
        assert crypto.EncryptedText().process_result_value(enc, None) == "tok"
        rotated = crypto.rotate(enc)
        app.config["TOKEN_ENCRYPTION_KEYS"] = new
        assert crypto.EncryptedText().process_result_value(rotated, None) == "tok"
        with pytest.raises(crypto.TokenKeyError):
            crypto.EncryptedText().process_result_value(enc, None)


def test_public_base_url_follows_the_port_make_run_serves_on():
    """Unset, PUBLIC_BASE_URL follows PORT: test-mode payment links must open on this server."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"}
    out = subprocess.run([sys.executable, "-c", "from config import Config; print(Config.PUBLIC_BASE_URL)"],
                         cwd=Path(__file__).resolve().parent.parent, env={**env, "PORT": "5077"},
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "http://127.0.0.1:5077"
