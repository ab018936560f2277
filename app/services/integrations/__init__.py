"""Connecting channels and keeping them healthy.

- state: the signed, expiring, single-use `state` of a Login dialog, bound to tenant and user.
- channels: claiming a channel for a tenant (never another tenant's), disconnect, resubscribe.
- facebook / instagram / whatsapp: each way of connecting.
- health: token and subscription checks, last inbound and send error, the quiet alarm.
- privacy: Meta's data-deletion and deauthorize callbacks.
"""
from __future__ import annotations

from flask import current_app

from app.clients.meta_accounts import App


class ConnectError(Exception):
    """Why a connection did not happen, in words meant for the person connecting."""


def meta_app() -> App:
    config = current_app.config
    if not config.get("META_APP_ID") or not config.get("META_APP_SECRET"):
        raise ConnectError("Facebook Login is not configured: set META_APP_ID and META_APP_SECRET.")
    return App(str(config["META_APP_ID"]), config["META_APP_SECRET"])


def instagram_app() -> App:
    """Instagram Login has an app id and secret of its own; unset, the Meta app's are used."""
    config = current_app.config
    app_id = config.get("INSTAGRAM_APP_ID") or config.get("META_APP_ID")
    secret = config.get("INSTAGRAM_APP_SECRET") or config.get("META_APP_SECRET")
    if not app_id or not secret:
        raise ConnectError("Instagram Login is not configured: set INSTAGRAM_APP_ID and "
                           "INSTAGRAM_APP_SECRET (or META_APP_ID and META_APP_SECRET).")
    return App(str(app_id), secret)


def callback_url(provider: str) -> str:
    """Where the Login dialog sends the person back (must match the app's settings exactly)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/integrations/{provider}/callback"
