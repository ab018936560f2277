"""`POST /webhooks/razorpay`: signed payment events, stored once, applied by a job.

The signature (`X-Razorpay-Signature`, HMAC-SHA256 of the raw body with the webhook secret)
is checked before anything is parsed; a wrong one gets 400 and changes nothing. Razorpay
delivers at least once and in any order, and the body carries no id, so the
`X-Razorpay-Event-Id` header is the dedupe key: a repeat is acknowledged and ignored. The
stored event is applied by a job (app.jobs.payments); if the queue is down, the sweep does it.
A signed body that is not a JSON event is stored as unprocessable for an Admin and
acknowledged (Razorpay disables a webhook that keeps failing; resending would not help).
Razorpay gives up after 5 s, so nothing slow happens here.
"""
from __future__ import annotations

import hashlib
import logging
import re

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import DataError

from app.services.webhook_events import Unparseable, read_body
from app.webhooks.intake import keep_unprocessable
from app.webhooks.signatures import razorpay_signature_valid

log = logging.getLogger(__name__)
bp = Blueprint("razorpay_webhook", __name__)  # mounted under /webhooks (app.webhooks)

MAX_BODY = 1024 * 1024
SOURCE = "razorpay"
EVENT_NAME = re.compile(r"[a-z_]{1,32}\.[a-z_.]{1,31}")  # payment_link.paid, refund.processed
EVENT_ID = re.compile(r"[A-Za-z0-9_:.-]{1,128}")


@bp.post("/razorpay")
def receive():
    if request.content_length is not None and request.content_length > MAX_BODY:
        return jsonify(error="payload too large"), 413
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY:
        return jsonify(error="payload too large"), 413
    if not razorpay_signature_valid(current_app.config.get("RAZORPAY_WEBHOOK_SECRET"), body,
                                    request.headers.get("X-Razorpay-Signature")):
        log.warning("razorpay webhook: missing or wrong signature from %s", request.remote_addr)
        return jsonify(error="invalid signature"), 400
    try:
        _, payload = read_body(body)
        event_type = payload.get("event")
        if not isinstance(event_type, str) or not EVENT_NAME.fullmatch(event_type):
            raise Unparseable("`event` is not an event name")
    except Unparseable as exc:
        return keep_unprocessable(SOURCE, body, str(exc))
    # The dedupe key. Razorpay always sends one; the header is not covered by the signature,
    # so an odd one is replaced by the body's hash (a replayed body is then still one event).
    event_id = request.headers.get("X-Razorpay-Event-Id") or ""
    if not EVENT_ID.fullmatch(event_id):
        event_id = "sha256:" + hashlib.sha256(body).hexdigest()
    admin_app = current_app.admin
    from app.extensions import db
    from app.jobs.queueing import queue_payment_event
    from app.services.payments.events import record_event
    from app.services.payments.gateway import RAZORPAY

    with admin_app.app_context():
        try:
            stored_id, new = record_event(RAZORPAY, event_id, event_type, payload)
        except DataError as exc:  # a value the database refuses: storing it again won't help
            db.session.rollback()
            return keep_unprocessable(SOURCE, body, f"the database refused it: {str(exc).splitlines()[0][:200]}")
        except Exception:
            db.session.rollback()
            log.exception("razorpay webhook: could not store event %s; asking Razorpay to retry", event_id)
            return jsonify(error="temporarily unavailable"), 503
        if new:
            queue_payment_event(stored_id)
    return jsonify(status="ok" if new else "duplicate"), 200
