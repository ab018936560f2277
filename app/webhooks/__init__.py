"""Webhook ingress: a lean WSGI app of its own, mounted at /webhooks in front of the admin.

Signed machine-to-machine POSTs need none of what the admin app runs on every request
(cookie sessions, login, FAB's security hooks, the rate limiter, CSRF, the tenant scope), and
at Meta's burst rates that per-request work was most of the cost. So `/webhooks/*` is served
by a bare Flask app that shares the admin's config and extensions (the same database engine,
job queue and delivery intake) and nothing else. Its handlers check the sender's signature
before anything else and never answer 500 for a payload they dislike.
"""
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

PREFIX = "/webhooks"


def register_webhooks(app: Flask) -> None:
    from app.webhooks.intake import intake
    from app.webhooks.meta import bp as meta_bp
    from app.webhooks.razorpay import bp as razorpay_bp

    intake(app)  # created here; its queueing thread starts on first use (after gunicorn forks)
    ingress = Flask("closer.webhooks")
    ingress.config = app.config
    ingress.extensions = app.extensions
    ingress.register_blueprint(meta_bp)
    ingress.register_blueprint(razorpay_bp)
    app.extensions["closer_app"] = app  # handlers that write open the admin app's context
    app.extensions["webhook_ingress"] = ingress
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {PREFIX: ingress})
