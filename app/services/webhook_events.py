"""Stored webhook deliveries: parse and ingest them, record what could not be, give up on what
keeps failing.

Idempotent: ingest skips messages it already has and statuses only move forward, so a
delivery processed twice (a retried job, a sweep) changes nothing the second time. A delivery
is read event by event (app.channels.fields): the events that can't be read are recorded on
the delivery with their reasons and the rest are stored and answered. A body that can't be
parsed at all is stored as unprocessable and never retried, since parsing it again gives the
same answer; one whose processing keeps failing is parked after MAX_DELIVERY_ATTEMPTS.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, literal, select, update

from app.channels import WEBHOOK_OBJECTS
from app.channels.fields import clean
from app.extensions import db
from app.jobs.queueing import queue_answers, requeue_delivery
from app.models import MAX_DELIVERY_ATTEMPTS, DeliveryStatus, WebhookEvent, utcnow, as_utc
from app.services import ingest

log = logging.getLogger(__name__)
MAX_ERROR = 4000  # characters of reasons kept on a delivery


class Unparseable(ValueError):
    """A delivery body that is not a JSON object naming a platform: nothing in it can be read."""


def _absent(name: str) -> None:
    """NaN, Infinity and -Infinity are not JSON (RFC 8259), though Python reads them: a field
    holding one reads as absent, so the rest of its message is stored (PostgreSQL's json
    columns refuse them, and the message would be lost with its payload)."""
    return None


def read_body(raw: bytes) -> tuple[str, dict]:
    """The body as text and as a JSON object, or Unparseable saying why. Never raises anything
    else, whatever the bytes (invalid UTF-8, nesting deeper than Python's stack)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unparseable(f"not UTF-8 (byte {exc.start})") from None
    try:
        payload = json.loads(text, parse_constant=_absent)
    except RecursionError:
        raise Unparseable("JSON nested too deeply") from None
    except ValueError as exc:
        raise Unparseable(f"not JSON ({str(exc)[:120]})") from None
    if not isinstance(payload, dict):
        raise Unparseable(f"JSON {type(payload).__name__}, not an object")
    return text, payload


def store_unprocessable(source: str, raw: bytes, reason: str) -> int:
    """Keep a signed delivery nobody can parse, for an Admin to look at; never retried."""
    now = utcnow()
    event = WebhookEvent(source=source, body=clean(raw.decode("utf-8", "replace")), received_at=now,
                         processed_at=now, status=DeliveryStatus.UNPROCESSABLE.value,
                         error=clean(reason, MAX_ERROR))
    db.session.add(event)
    db.session.commit()
    log.warning("%s webhook: unprocessable delivery %s stored: %s", source, event.id, reason)
    return event.id


@dataclass
class Processed:
    """What processing a delivery did; `to_answer` are the stored inbound messages (id,
    tenant id) that need a reply."""
    status: str
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0
    error: str | None = None
    to_answer: list[tuple[int, int]] = field(default_factory=list)
    received_at: datetime | None = None
    conversations: dict[int, int] = field(default_factory=dict)


def process_meta(event_id: int, *, answer_later: bool = True) -> Processed:
    """Ingest a stored Meta delivery, once; committed. The messages that need a reply get
    their answer jobs, unless the caller answers them itself (`answer_later=False`: the
    delivery's own job, app.jobs.inbound.answer_here)."""
    event = db.session.scalar(select(WebhookEvent).where(WebhookEvent.id == event_id))
    if event is None or event.processed_at is not None:
        return Processed("skipped")
    received_at = as_utc(event.received_at)
    try:
        _, payload = read_body(event.body.encode("utf-8", "surrogatepass"))
        adapter = WEBHOOK_OBJECTS.get(payload.get("object")) if isinstance(payload.get("object"), str) else None
        if adapter is None:
            raise Unparseable(f"object {str(payload.get('object'))[:60]!r} is not a platform we serve")
    except Unparseable as exc:
        event.processed_at, event.status, event.error = utcnow(), DeliveryStatus.UNPROCESSABLE.value, str(exc)
        db.session.commit()
        return Processed("unprocessable", error=str(exc))
    parsed = adapter.parse(payload, received_at)

    def mark_processed(result: ingest.IngestResult) -> None:
        """In the ingest's own transaction: stored and processed commit together."""
        done = db.session.get(WebhookEvent, event_id)
        done.processed_at = utcnow()
        done.status = DeliveryStatus.PROCESSED.value
        notes = [f"skipped {s}" for s in parsed.skipped + result.skipped]
        if result.unknown_accounts:
            notes.append("unknown accounts: " + ", ".join(sorted(result.unknown_accounts)))
        done.error = clean("\n".join(notes), MAX_ERROR) if notes else None

    result = ingest.ingest(parsed.events, before_commit=mark_processed)  # commits
    if answer_later:
        queue_answers(result.to_answer, received_at, result.conversations)
    return Processed("processed", stored=result.stored, duplicates=result.duplicates,
                     skipped=len(parsed.skipped) + len(result.skipped), to_answer=result.to_answer,
                     received_at=received_at, conversations=result.conversations)


def record_failure(event_id: int, exc: BaseException) -> bool:
    """Count a failed attempt on a delivery (in its own transaction; the caller rolled back)
    and park it once it has failed MAX_DELIVERY_ATTEMPTS times. True when parked."""
    return bool(count_attempts([event_id], clean(f"{type(exc).__name__}: {exc}", MAX_ERROR)))


def count_attempts(event_ids: list[int], reason: str | None = None) -> list[int]:
    """One more attempt at each still-pending delivery (the sweep re-queuing it, or its job
    failing with `reason`); those at the limit are parked, keeping the last reason. Returns
    the parked ids. Commits."""
    if not event_ids:
        return []
    values = {"attempts": WebhookEvent.attempts + 1}
    if reason is not None:
        values["error"] = reason
    counted = db.session.execute(
        update(WebhookEvent).where(WebhookEvent.id.in_(event_ids), WebhookEvent.processed_at.is_(None))
        .values(**values).returning(WebhookEvent.id, WebhookEvent.attempts)).all()
    parked = [event_id for event_id, attempts in counted if attempts >= MAX_DELIVERY_ATTEMPTS]
    if parked:
        db.session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(parked)).values(
            processed_at=utcnow(), status=DeliveryStatus.PARKED.value,
            error=literal(f"gave up after {MAX_DELIVERY_ATTEMPTS} attempts; last: ")
            + func.coalesce(WebhookEvent.error, "the job never finished (a worker lost?)")))
        log.error("webhook deliveries %s parked after %s attempts", parked, MAX_DELIVERY_ATTEMPTS)
    db.session.commit()
    return parked


def process_again(event_ids: list[int]) -> int:
    """Give parked deliveries a fresh set of attempts (an Admin fixed what failed them) and
    queue them; unprocessable ones stay as they are, since parsing gives the same answer."""
    ids = db.session.scalars(update(WebhookEvent).where(
        WebhookEvent.id.in_(event_ids), WebhookEvent.status == DeliveryStatus.PARKED.value,
    ).values(status=DeliveryStatus.PENDING.value, attempts=0, processed_at=None)
        .returning(WebhookEvent.id)).all()
    db.session.commit()
    for event_id in ids:
        requeue_delivery(event_id)
    return len(ids)


