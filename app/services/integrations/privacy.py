"""Meta's data-deletion and deauthorize callbacks.

Both carry a `signed_request`: `<base64url HMAC-SHA256 signature>.<base64url JSON payload>`,
signed with the app secret over the payload's base64 text. Anything else (not two parts, not
base64, not JSON, wrong algorithm, wrong signature, no user id) is refused with SignedRequestError,
whatever its shape; nothing is read from a payload before its signature checks out.

Deletion anonymizes the person wherever they are a customer, in every tenant: name, phone,
email, tags and the text of their conversations go; their orders stay, with their totals,
because the books need them. It runs in a job; the status page says when it is done.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from app.clients import meta_accounts as meta
from app.clients.graph import GraphError
from app.extensions import db
from app.jobs.queueing import queue_data_deletion, requeue_data_deletion
from app.models import (
    Channel,
    ChannelStatus,
    Conversation,
    Customer,
    DataDeletionRequest,
    DeletionStatus,
    Message,
    Order,
    Platform,
    utcnow,
)
from app.services.integrations import ConnectError, meta_app

log = logging.getLogger(__name__)
MAX_SIGNED_REQUEST = 4096
DELETED_TEXT = "[deleted at the customer's request]"


class SignedRequestError(ValueError):
    """The signed_request is malformed or not signed by us."""


def _b64(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SignedRequestError("not base64url") from exc


def app_secrets() -> list[str]:
    """Secrets a callback may be signed with: the Meta app's, and Instagram Login's own."""
    config = current_app.config
    return [s for s in (config.get("META_APP_SECRET"), config.get("INSTAGRAM_APP_SECRET")) if s]


def parse_signed_request(raw, secrets_: list[str]) -> dict:
    """The verified payload; SignedRequestError for anything else."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_SIGNED_REQUEST or raw.count(".") != 1:
        raise SignedRequestError("signed_request must be <signature>.<payload>")
    encoded_sig, payload = raw.split(".")
    if not encoded_sig or not payload or not payload.isascii() or not encoded_sig.isascii():
        raise SignedRequestError("signed_request must be <signature>.<payload>")
    signature = _b64(encoded_sig)
    if not any(hmac.compare_digest(hmac.new(s.encode(), payload.encode(), hashlib.sha256).digest(),
                                   signature) for s in secrets_):
        raise SignedRequestError("bad signature")
    try:
        data = json.loads(_b64(payload))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignedRequestError("payload is not JSON") from exc
    if not isinstance(data, dict) or str(data.get("algorithm", "")).upper() != "HMAC-SHA256":
        raise SignedRequestError("unsupported algorithm")
    user_id = data.get("user_id")
    if isinstance(user_id, bool) or not isinstance(user_id, (str, int)) or not str(user_id).isdigit() \
            or len(str(user_id)) > 64:
        raise SignedRequestError("no user id")
    return {**data, "user_id": str(user_id)}


def _hash(subject: str) -> str:
    return hashlib.sha256(f"meta-user:{subject}".encode()).hexdigest()


def request_deletion(user_id: str) -> DataDeletionRequest:
    """Record the request and hand it to the deletion job (also a repeat: it is idempotent)."""
    request = DataDeletionRequest(confirmation_code=secrets.token_hex(8), subject_id=user_id,
                                  subject_hash=_hash(user_id), status=DeletionStatus.PENDING.value)
    db.session.add(request)
    db.session.commit()
    try:
        queue_data_deletion(request.id)
    except Exception:
        log.exception("data deletion %s stored but not queued; the channel check re-queues it",
                      request.id)
    return request


def _subjects(user_id: str) -> tuple[set[str], str | None]:
    """The person's ids as our customers know them: the app-scoped id itself (Instagram Login
    uses it in messages) and their Page-scoped ids from the ID Matching API."""
    ids, note = {user_id}, None
    try:
        ids |= set(meta.ids_for_pages(current_app.config["GRAPH_API_BASE"], meta_app(), user_id))
    except (GraphError, ConnectError) as exc:
        note = f"Page-scoped ids not resolved: {exc}"
    return ids, note


def run_deletion(request_id: int) -> DataDeletionRequest | None:
    request = db.session.get(DataDeletionRequest, request_id)
    if request is None or request.status == DeletionStatus.DONE.value or not request.subject_id:
        return request
    ids, note = _subjects(request.subject_id)
    customers = db.session.scalars(select(Customer).where(
        Customer.platform.in_([Platform.MESSENGER, Platform.INSTAGRAM]),
        Customer.external_id.in_(sorted(ids)))).all()
    for customer in customers:
        _anonymize(customer)
    request.customers = len(customers)
    request.tenants = len({c.tenant_id for c in customers})
    request.detail = note
    request.status, request.completed_at, request.subject_id = DeletionStatus.DONE.value, utcnow(), None
    db.session.commit()
    return request


def _anonymize(customer: Customer) -> None:
    key = f"{customer.tenant_id}:{customer.platform}:{customer.external_id}"
    customer.external_id = "deleted-" + hashlib.sha256(key.encode()).hexdigest()[:32]
    customer.name = customer.phone = customer.email = customer.tags = None
    customer.opted_out = True
    conversations = select(Conversation.id).where(Conversation.customer_id == customer.id,
                                                  Conversation.tenant_id == customer.tenant_id)
    db.session.execute(update(Message).where(
        Message.tenant_id == customer.tenant_id, Message.conversation_id.in_(conversations))
        .values(text=DELETED_TEXT, payload=None).execution_options(synchronize_session=False))
    db.session.execute(update(Order).where(
        Order.tenant_id == customer.tenant_id, Order.customer_id == customer.id)
        .values(notes=None, tracking_number=None).execution_options(synchronize_session=False))


def deauthorize(user_id: str) -> int:
    """The person removed our app: the channels they connected stop (their tokens are void)."""
    channels = db.session.scalars(select(Channel).where(Channel.connected_meta_user_id == user_id,
                                                        Channel.status != ChannelStatus.DISABLED)).all()
    for channel in channels:
        channel.status, channel.subscribed, channel.token_valid = ChannelStatus.DISABLED, False, False
        channel.access_token = None
        channel.last_error = "Disconnected: the person who connected it removed Closer from Facebook"
    db.session.commit()
    return len(channels)


def requeue_stale(older_than: timedelta = timedelta(minutes=2)) -> int:
    """Queue again the requests still pending after a while (their job was lost or failed)."""
    ids = db.session.scalars(select(DataDeletionRequest.id).where(
        DataDeletionRequest.status == DeletionStatus.PENDING.value,
        DataDeletionRequest.created_at < utcnow() - older_than)).all()
    return sum(requeue_data_deletion(i) for i in ids)


def find_request(code: str) -> DataDeletionRequest | None:
    if not isinstance(code, str) or not code.isalnum() or len(code) > 32:
        return None
    return db.session.scalar(select(DataDeletionRequest).where(
        DataDeletionRequest.confirmation_code == code))
