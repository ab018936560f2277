"""Webhook blueprints: signed by the sender, CSRF-exempt, never a 500 for a payload we dislike."""
from flask import Flask


def register_webhooks(app: Flask) -> None:
    from app.extensions import csrf
    from app.webhooks.meta import bp as meta_bp

    csrf.exempt(meta_bp)
    app.register_blueprint(meta_bp)
