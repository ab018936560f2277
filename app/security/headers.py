"""Security headers on every response, set by Flask-Talisman.

The admin's Content-Security-Policy allows only this origin: FAB serves jQuery, Bootstrap and
its own scripts from its static folder, and its templates already put `csp_nonce()` (which
Talisman provides) on every inline `<script>`, so scripts need no 'unsafe-inline'. Styles do:
FAB's templates and ours use `style=""` attributes, and a nonce can't cover those. Frames,
plugins, foreign form targets and `<base>` rewrites are refused outright.

The webhook ingress (app.webhooks) is a separate bare Flask app that only ever answers
machines; it gets the strictest policy and no HTTPS redirect (a redirected POST from Meta
would be lost; the signature, not the scheme, authenticates it).

Each app gets its own Talisman: the object keeps the app and its options, so one shared
instance would be silently rebound by a second create_app() (tests, worker threads).
"""
from __future__ import annotations

from flask import Flask
from flask_talisman import Talisman

ADMIN_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",  # + this request's nonce
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
MACHINE_CSP = {"default-src": "'none'", "frame-ancestors": "'none'"}
REFERRER_POLICY = "strict-origin-when-cross-origin"
# Probes (load balancers, orchestrators) often speak plain HTTP to the process itself.
PLAIN_HTTP_ENDPOINTS = ("health.health",)


def init_security_headers(app: Flask) -> None:
    """Talisman on the admin app and on the webhook ingress mounted in front of it."""
    talisman = Talisman(app, content_security_policy_nonce_in=["script-src"],
                        content_security_policy=ADMIN_CSP,
                        force_https=app.config["FORCE_HTTPS"], **_common(app))
    for endpoint in PLAIN_HTTP_ENDPOINTS:
        if endpoint in app.view_functions:
            talisman(force_https=False)(app.view_functions[endpoint])
    app.extensions["talisman"] = talisman
    ingress = app.extensions.get("webhook_ingress")
    if ingress is not None:
        app.extensions["talisman_webhooks"] = Talisman(
            ingress, content_security_policy=MACHINE_CSP, force_https=False, **_common(app)
        )


def _common(app: Flask) -> dict:
    """Options both apps share; the cookie ones repeat config.py so Talisman changes nothing."""
    return {
        "frame_options": "DENY",
        "referrer_policy": REFERRER_POLICY,
        "x_content_type_options": True,
        "session_cookie_secure": app.config["SESSION_COOKIE_SECURE"],
        "session_cookie_http_only": app.config["SESSION_COOKIE_HTTPONLY"],
        "session_cookie_samesite": app.config["SESSION_COOKIE_SAMESITE"],
    }
