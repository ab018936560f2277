"""Error pages. A person who follows a stale link or lacks a permission gets the app's own page,
with its navigation and a way back, not the server's bare one; an API client gets JSON, as
the model APIs answer an unknown id."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from app.extensions import appbuilder

HANDLED = (403, 404, 405)
WORDS = {
    403: ("You can't open this", "Your role doesn't include this page, or it belongs to another business."),
    404: ("Nothing here", "The page or record doesn't exist, or it belongs to another business."),
    405: ("That doesn't work here", "This address can't be used that way."),
}


def _answer(exc: HTTPException):
    if request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json"):
        return jsonify(message=exc.description or exc.name), exc.code, _headers(exc)
    title, text = WORDS[exc.code]
    return render_template("closer/error.html", appbuilder=appbuilder, code=exc.code, title=title,
                           text=text), exc.code, _headers(exc)


def _headers(exc: HTTPException) -> dict:
    """What the status itself requires (Allow on a 405)."""
    return {k: v for k, v in exc.get_headers() if k.lower() == "allow"}


def register_error_pages(app: Flask) -> None:
    for code in HANDLED:
        app.register_error_handler(code, _answer)
