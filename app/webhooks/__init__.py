"""Webhook ingress: a lean WSGI app of its own, mounted at /webhooks in front of the admin.

Signed machine-to-machine POSTs need none of what the admin app runs on every request
(cookie sessions, login, FAB's security hooks, the rate limiter, CSRF, the tenant scope), and
at Meta's burst rates that per-request work was most of the cost. So `/webhooks/*` is served
by a bare Flask app (`WebhookApp`) that reads the admin app's configuration and does its
database and queue work inside the admin app's context (the same engine, job queue and delivery
intake), and shares nothing else. Its handlers check the sender's signature before anything
else and never answer 500 for a payload they dislike. Its security headers are set with the
admin's (app.security.headers).
"""
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

PREFIX = "/webhooks"


class WebhookApp(Flask):
    """The ingress for one admin app.

    `config` is the admin app's own Config object, not a copy: one source of truth, so a
    setting changed on either (as tests do with `app.config.update`) is what both read.
    `extensions` are its own; handlers reach the database, the queue and the delivery intake
    through `admin` (`with current_app.admin.app_context(): ...`).
    """

    def __init__(self, admin: Flask) -> None:
        self.admin = admin
        super().__init__("closer.webhooks")

    def make_config(self, instance_relative: bool = False):
        return self.admin.config


def register_webhooks(app: Flask) -> None:
    from app.webhooks.intake import intake
    from app.webhooks.meta import bp as meta_bp
    from app.webhooks.razorpay import bp as razorpay_bp

    intake(app)  # created here; its queueing thread starts on first use (after gunicorn forks)
    ingress = WebhookApp(app)
    ingress.register_blueprint(meta_bp)
    ingress.register_blueprint(razorpay_bp)
    app.extensions["webhook_ingress"] = ingress
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {PREFIX: ingress})
