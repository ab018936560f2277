"""`POST /webhooks/razorpay`: signed payment events, stored once, applied by a job.

The signature (`X-Razorpay-Signature`, HMAC-SHA256 of the raw body with the webhook secret)
is checked before anything is parsed; a wrong one gets 400 and changes nothing. Razorpay
delivers at least once and in any order, and the body carries no id, so the
`X-Razorpay-Event-Id` header is the dedupe key: a repeat is acknowledged and ignored. The
stored event is applied by a job (app.jobs.payments); if the queue is down, the sweep does it.
Razorpay gives up after 5 s, so nothing slow happens here.
"""
from __future__ import annotations

import hashlib
import json
import logging

from flask import Blueprint, current_app, jsonify, request

from app.webhooks.signatures import razorpay_signature_valid

log = logging.getLogger(__name__)
bp = Blueprint("razorpay_webhook", __name__)  # mounted under /webhooks (app.webhooks)

MAX_BODY = 1024 * 1024


@bp.post("/razorpay")
def receive():
    if request.content_length is not None and request.content_length > MAX_BODY:
        return jsonify(error="payload too large"), 413
    body = request.get_data(cache=False)
    if not razorpay_signature_valid(current_app.config.get("RAZORPAY_WEBHOOK_SECRET"), body,
                                    request.headers.get("X-Razorpay-Signature")):
        log.warning("razorpay webhook: missing or wrong signature from %s", request.remote_addr)
        return jsonify(error="invalid signature"), 400
    try:
        payload = json.loads(body.decode("utf-8"))
        event_type = payload["event"]
        if not isinstance(payload, dict) or not isinstance(event_type, str):
            raise ValueError("not an event")
    except (ValueError, KeyError, TypeError):
        log.warning("razorpay webhook: malformed event acknowledged (%d bytes)", len(body))
        return jsonify(status="ignored"), 200
    event_id = request.headers.get("X-Razorpay-Event-Id") or (
        "sha256:" + hashlib.sha256(body).hexdigest())  # Razorpay always sends one; be safe
    admin_app = current_app.extensions["closer_app"]
    from app.extensions import db
    from app.jobs.payments import queue_event
    from app.services.payments import RAZORPAY, record_event

    with admin_app.app_context():
        try:
            stored_id, new = record_event(RAZORPAY, event_id, event_type, payload)
        except Exception:
            db.session.rollback()
            log.exception("razorpay webhook: could not store event %s; asking Razorpay to retry", event_id)
            return jsonify(error="temporarily unavailable"), 503
        if new:
            queue_event(stored_id)
    return jsonify(status="ok" if new else "duplicate"), 200
