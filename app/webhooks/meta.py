"""`/webhooks/meta`: the verification handshake and signed deliveries from Messenger,
Instagram and WhatsApp.

POST does as little as it safely can, because Meta wants a 200 within seconds and sends in
bursts: size limit, signature over the raw bytes (403 and nothing stored when wrong), a check
that the body is a JSON object naming a platform, then the raw delivery is written to
`webhook_event` and committed (grouped with concurrent deliveries, app.webhooks.intake); only
then do we answer 200. Parsing and ingest
run in a job (app.jobs.webhooks). If the database can't store the delivery we answer 503 so
Meta retries; if only the queue is down the delivery is already stored and the sweep
enqueues it later, so we still say 200. A signed body that can't be parsed at all (not UTF-8,
not JSON, not an object) is stored as unprocessable for an Admin to see and acknowledged with
200: Meta sending it again would not make it parse, and failing deliveries get the app's
subscription disabled.
"""
from __future__ import annotations

import hmac
import logging

from flask import Blueprint, current_app, jsonify, request

from app.channels import WEBHOOK_OBJECTS
from app.services.webhook_events import Unparseable, read_body
from app.webhooks.intake import intake, keep_unprocessable
from app.webhooks.signatures import meta_signature_valid

log = logging.getLogger(__name__)
bp = Blueprint("meta_webhook", __name__)  # mounted under /webhooks (app.webhooks)

MAX_BODY = 3 * 1024 * 1024  # WhatsApp batches are at most 3 MB
SOURCE = "meta"
STORED = b'{"status":"ok"}\n'  # the hot path's answer, built once
JSON = {"Content-Type": "application/json"}


@bp.get("/meta")
def verify():
    """Meta's subscription handshake: echo hub.challenge when the verify token matches."""
    expected = current_app.config.get("META_VERIFY_TOKEN") or ""
    token = request.args.get("hub.verify_token", "")
    if (request.args.get("hub.mode") == "subscribe" and expected
            and hmac.compare_digest(token.encode(), expected.encode())):
        return request.args.get("hub.challenge", ""), 200, {"Content-Type": "text/plain"}
    return "Forbidden", 403


@bp.post("/meta")
def receive():
    if request.content_length is not None and request.content_length > MAX_BODY:
        return jsonify(error="payload too large"), 413
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY:
        return jsonify(error="payload too large"), 413
    signature = request.headers.get("X-Hub-Signature-256")
    # Instagram accounts connected through Instagram Login belong to the Instagram app, whose
    # own secret signs their deliveries.
    if not any(meta_signature_valid(current_app.config.get(name), body, signature)
               for name in ("META_APP_SECRET", "INSTAGRAM_APP_SECRET")):
        log.warning("meta webhook: missing or wrong signature from %s", request.remote_addr)
        return jsonify(error="invalid signature"), 403
    try:
        raw, payload = read_body(body)
        obj = payload.get("object")
        if not isinstance(obj, str):
            raise Unparseable(f"object is {type(obj).__name__}, not a name")
    except Unparseable as exc:
        return keep_unprocessable(SOURCE, body, str(exc))
    if obj not in WEBHOOK_OBJECTS:
        log.info("meta webhook: object %r acknowledged and ignored", obj[:60])
        return jsonify(status="ignored"), 200
    try:
        intake(current_app.admin).store(SOURCE, raw)
    except Exception:
        log.warning("meta webhook: could not store the delivery; asking Meta to retry")
        return jsonify(error="temporarily unavailable"), 503
    return STORED, 200, JSON
