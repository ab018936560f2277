"""`POST /meta/data-deletion`, its status page, and `POST /meta/deauthorize`.

Meta calls these with a form field `signed_request` (see app.services.integrations.privacy).
A request that is missing, malformed or not signed with our app secret gets 400 or 403 and
changes nothing; no input makes them answer 500. They are CSRF-exempt (Meta has no session)
and run outside any tenant scope, since a person may be a customer of many tenants.
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, jsonify, render_template, request, url_for

from app.security.tenancy import unguarded
from app.services.integrations import privacy

log = logging.getLogger(__name__)
bp = Blueprint("meta_callbacks", __name__, url_prefix="/meta")


def _verified_user_id() -> str:
    raw = request.form.get("signed_request")
    if not raw:
        abort(400, "signed_request is missing")
    secrets_ = privacy.app_secrets()
    if not secrets_:
        log.warning("meta callback refused: no app secret configured")
        abort(403)
    try:
        return privacy.parse_signed_request(raw, secrets_)["user_id"]
    except privacy.SignedRequestError as exc:
        log.warning("meta callback refused: %s", exc)
        abort(403)


@bp.post("/data-deletion")
def data_deletion():
    user_id = _verified_user_id()
    with unguarded():
        deletion = privacy.request_deletion(user_id)
    return jsonify(url=url_for("meta_callbacks.deletion_status", code=deletion.confirmation_code,
                               _external=True),
                   confirmation_code=deletion.confirmation_code)


@bp.get("/data-deletion/<code>")
def deletion_status(code: str):
    with unguarded():
        deletion = privacy.find_request(code)
    if deletion is None:
        abort(404)
    return render_template("closer/data_deletion_status.html", deletion=deletion)


@bp.post("/deauthorize")
def deauthorize():
    user_id = _verified_user_id()
    with unguarded():
        stopped = privacy.deauthorize(user_id)
    return jsonify(status="ok", channels_disconnected=stopped)
