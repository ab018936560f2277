"""Queueing work: one typed function per job, with its options decided here once.

Everything that hands work to the workers comes through this module: which job runs it, under
which id (so a second queueing of the same work is a no-op while the first is pending), on
which queue (HIGH for what a customer waits for, LOW for what can wait), with or without
retries, after which delay. The jobs are named by dotted path here and nowhere else, so this
module imports none of them (they import the services, which import this).

Functions that log a queue failure instead of raising leave the work to the sweep
(app.services.sweep), which finds the stored rows their jobs never reached.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from flask import current_app

from app.jobs import HIGH_QUEUE, LOW_QUEUE, enqueue, enqueue_again, job_pending

log = logging.getLogger(__name__)

RATING_DELAY_SECONDS = 30  # one model rating per conversation per this long
SEND_RETRY_DELAY_SECONDS = 10  # a send the platform throttled is tried again after this
SEND_RETRY_SOON_SECONDS = 2  # ... and one that met a 5xx or a network error, after this
# The send job's own backoff when it fails again: a customer is waiting, and a platform's
# transient errors pass in seconds; the first send retry above already paced a throttle.
SEND_RETRY_INTERVALS = [3, 10, 30]
PAUSE_END_MARGIN_SECONDS = 2


# ------------------------------------------------------------------------------ messages


def queue_send(message_id: int, tenant_id: int, *, delay: float | None = None) -> None:
    """Deliver a QUEUED outbound message in the retrying send job."""
    enqueue("app.jobs.outbound.send_outbound", message_id, tenant_id=tenant_id,
            job_id=f"send-{message_id}", delay=delay, retry_intervals=SEND_RETRY_INTERVALS)


def queue_deliveries(source: str, event_ids: list[int]) -> None:
    """One job for a batch of stored webhook deliveries (raises if the queue is down: the
    sweep then picks them up, since they are stored already)."""
    processors = {"meta": "app.jobs.webhooks.process_meta_events"}
    enqueue(processors[source], list(event_ids), queue=HIGH_QUEUE)


def delivery_pending(event_id: int) -> bool:
    """Whether the sweep's job for this stored delivery is still waiting or running."""
    return job_pending(f"meta-event-{event_id}")


def requeue_delivery(event_id: int) -> bool:
    """Queue one stored delivery again (the sweep, an Admin's retry) unless its job is still
    pending; a finished or failed job of its id is replaced. True if queued."""
    return enqueue_again("app.jobs.webhooks.process_meta_event", event_id,
                         job_id=f"meta-event-{event_id}", queue=HIGH_QUEUE)


def arrived(received_at: datetime | None) -> float:
    """When a message reached our webhook, in epoch seconds (now if not known)."""
    if received_at is None:
        return time.time()
    return received_at.replace(tzinfo=received_at.tzinfo or timezone.utc).timestamp()


def queue_answer(message_id: int, tenant_id: int, conversation_id: int | None = None, *,
                 not_before: float | None = None) -> None:
    """The answer job of one stored inbound message (one per message, whoever queues it)."""
    enqueue("app.jobs.inbound.handle_inbound", message_id, *([conversation_id] if conversation_id else []),
            tenant_id=tenant_id, job_id=f"inbound-{message_id}", not_before=not_before,
            queue=HIGH_QUEUE)


def requeue_answer(message_id: int, tenant_id: int) -> bool:
    """The sweep's answer job for a message still unanswered: queued unless one is pending,
    replacing a failed one (kept a week) that would otherwise block it. True if queued."""
    return enqueue_again("app.jobs.inbound.handle_inbound", message_id, tenant_id=tenant_id,
                         job_id=f"inbound-{message_id}", queue=HIGH_QUEUE)


def requeue_send(message_id: int, tenant_id: int) -> bool:
    """The sweep's send job for a reply still QUEUED (see requeue_answer). True if queued."""
    return enqueue_again("app.jobs.outbound.send_outbound", message_id, tenant_id=tenant_id,
                         job_id=f"send-{message_id}", retry_intervals=SEND_RETRY_INTERVALS)


def queue_answers(items: list[tuple[int, int]], received_at: datetime | None = None,
                  conversations: dict[int, int] | None = None) -> int:
    """Enqueue an answer job per stored inbound message, to start when the debounce window
    has passed since the message reached our webhook (`received_at`; now if not given).
    `conversations`: message id -> conversation id where known (saves the job a lookup).

    Counting from arrival rather than from ingest means time spent queued for ingest is not
    added on top of the window. A queue failure is logged, not raised: the messages are
    stored, and the sweep enqueues whatever was left behind. Returns how many were enqueued.
    """
    debounce = current_app.config.get("REPLY_DEBOUNCE_SECONDS") or 0
    not_before = arrived(received_at) + debounce if debounce else None
    done = 0
    for message_id, tenant_id in items:
        try:
            queue_answer(message_id, tenant_id, (conversations or {}).get(message_id), not_before=not_before)
            done += 1
        except Exception:
            log.exception("could not enqueue message %s; the sweep will pick it up", message_id)
    return done


def queue_pause_end(conversation_id: int, tenant_id: int, *, at: datetime) -> None:
    """When a person's pause on a conversation ends (`at`), the AI answers what the customer
    wrote meanwhile that no person answered. Through RQ's scheduler, like a follow-up; one job
    per conversation and pause end, a couple of seconds late (the scheduler counts in whole
    seconds, and the job must find the pause over)."""
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    enqueue("app.jobs.inbound.answer_after_pause", conversation_id, tenant_id=tenant_id,
            job_id=_pause_end_id(conversation_id, at),
            delay=max(at.timestamp() - time.time(), 0) + PAUSE_END_MARGIN_SECONDS)


def requeue_pause_end(conversation_id: int, tenant_id: int, *, at: datetime) -> bool:
    """The sweep's pause-end job for a pause that ended with a customer still waiting (its
    scheduled job was lost with the queue): under the scheduled job's id, so one still
    waiting is not doubled; a finished or failed one is replaced. True if queued."""
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    return enqueue_again("app.jobs.inbound.answer_after_pause", conversation_id, tenant_id=tenant_id,
                         job_id=_pause_end_id(conversation_id, at))


def _pause_end_id(conversation_id: int, at: datetime) -> str:
    """One job per conversation and pause end, whoever queues it."""
    return f"pause-end-{conversation_id}-{int(at.timestamp())}"


def queue_rating(conversation_id: int, tenant_id: int) -> None:
    """The model's rating of a conversation, off the reply path: at most one per conversation
    per RATING_DELAY_SECONDS (a chat of ten messages costs one call). A nicety: the lexicon's
    score already stands, so a queue failure is only logged."""
    try:
        enqueue("app.jobs.scoring.rate_conversation", conversation_id, tenant_id=tenant_id,
                job_id=f"rate-conversation-{conversation_id}", delay=RATING_DELAY_SECONDS,
                queue=LOW_QUEUE)
    except Exception:
        log.warning("could not queue the model rating of conversation %s", conversation_id)


def queue_chunking(document_id: int, tenant_id: int) -> None:
    """Rebuild a knowledge document's retrievable chunks."""
    enqueue("app.jobs.knowledge.chunk_document", document_id, tenant_id=tenant_id)


# ------------------------------------------------------------------------------ workflows


def queue_follow_up(follow_up_id: int, tenant_id: int, *, delay: float) -> None:
    """Send (or drop) a follow-up when it comes due, through RQ's scheduler: the job waits in
    Redis, so a worker restart doesn't lose it."""
    enqueue("app.jobs.workflows.send_follow_up", follow_up_id, tenant_id=tenant_id,
            job_id=f"follow-up-{follow_up_id}", delay=max(delay, 1))


def requeue_follow_up(follow_up_id: int, tenant_id: int) -> bool:
    """The sweep's re-queue of a follow-up past due whose job is gone (an in-memory Redis that
    restarted, a flushed one); True if queued."""
    return enqueue_again("app.jobs.workflows.send_follow_up", follow_up_id, tenant_id,
                         job_id=f"follow-up-{follow_up_id}")


def queue_rule_event(conversation_id: int, tenant_id: int, trigger: str, event: str, *,
                     order_id: int | None = None, rule_id: int | None = None,
                     delay: float | None = None) -> None:
    """Run a conversation's rules for an event (an order paid or shipped, a quiet spell);
    one job per conversation, event and rule, however often it is queued."""
    enqueue("app.jobs.workflows.run_rule_event", conversation_id, trigger, event, order_id, rule_id,
            tenant_id=tenant_id, job_id=_rule_event_job(conversation_id, rule_id, event), delay=delay)


def requeue_rule_event(conversation_id: int, tenant_id: int, trigger: str, event: str, *,
                       order_id: int | None = None, rule_id: int | None = None) -> bool:
    """The sweep's job for an event whose job was lost (a quiet spell's check, kept only in an
    in-memory Redis that restarted): the same job id, so not queued while that job still
    waits; a finished or failed one is replaced. True if queued."""
    return enqueue_again("app.jobs.workflows.run_rule_event", conversation_id, trigger, event, order_id,
                         rule_id, tenant_id=tenant_id, job_id=_rule_event_job(conversation_id, rule_id, event))


def _rule_event_job(conversation_id: int, rule_id: int | None, event: str) -> str:
    return f"rules-{conversation_id}-{rule_id or 'all'}-{event}"[:128]


def queue_document(upload_id: int, tenant_id: int) -> None:
    """Read an uploaded onboarding document into knowledge (one job per upload)."""
    enqueue("app.jobs.documents.extract_document", upload_id, tenant_id=tenant_id,
            job_id=f"document-{upload_id}")


# ------------------------------------------------------------------------------ audiences


def queue_broadcast(broadcast_id: int, tenant_id: int, *, delay: float | None = None) -> None:
    """The next batch of a broadcast, on the low queue (a broadcast never delays a reply).
    Without a job id: each batch claims its recipients, so an extra run sends nothing twice."""
    enqueue("app.jobs.audience.send_broadcast_batch", broadcast_id, tenant_id=tenant_id,
            delay=delay, queue=LOW_QUEUE)


# ------------------------------------------------------------------------------ payments


def queue_link(order_id: int, tenant_id: int) -> None:
    """Make an order's payment link and put it in the chat; a queue failure is logged (the
    sweep finds the order later)."""
    try:
        # No job id: a finished or failed job of the same id would block a retry for days;
        # making the link is idempotent (reference_id) and sending it is guarded by a lock.
        enqueue("app.jobs.payments.create_payment_link", order_id, tenant_id=tenant_id)
    except Exception:
        log.exception("could not enqueue the payment link of order %s; the sweep will", order_id)


def queue_payment_event(event_id: int) -> None:
    """Apply a payment event just stored by the webhook; a queue failure is logged."""
    try:
        enqueue("app.jobs.payments.apply_payment_event", event_id, job_id=f"payment-event-{event_id}",
                queue=HIGH_QUEUE)
    except Exception:
        log.exception("could not enqueue payment event %s; the sweep will", event_id)


def requeue_payment_event(event_id: int) -> None:
    """The sweep's retry of an event not yet applied. No job id: a deferred event's finished
    job would block its re-queue, and applying is idempotent."""
    enqueue("app.jobs.payments.apply_payment_event", event_id, queue=HIGH_QUEUE)


def queue_reconcile(order_id: int, tenant_id: int) -> None:
    """Ask Razorpay what became of an overdue payment link."""
    enqueue("app.jobs.payments.reconcile_payment_link", order_id, tenant_id=tenant_id)


# ------------------------------------------------------------------------------ maintenance


def queue_sweep() -> None:
    """This period's sweep (SWEEP_EVERY_SECONDS), once across every worker process that asks:
    the job id names the period. Not retried: the next period's sweep does it again."""
    every = current_app.config["SWEEP_EVERY_SECONDS"]
    period = int(time.time() // every)
    # the id alone does not do it: a finished job of the high queue leaves no trace
    if not current_app.extensions["redis"].set(f"closer:sweep:{period}", 1, nx=True, ex=int(every) * 2 + 1):
        return
    # on the queue customers wait on: behind a backlog there, a sweep elsewhere would wait too
    enqueue("app.jobs.maintenance.periodic_sweep", job_id=f"sweep-{period}", retry=False,
            queue=HIGH_QUEUE)


# ------------------------------------------------------------------------------ channels

CHANNEL_CHECK_EVERY_SECONDS = 300


def queue_channel_checks() -> None:
    """The channel health check (tokens, subscriptions): at most one per five minutes across
    every worker (the id names the period); it checks only channels that are due. A queue
    failure is logged: the next sweep queues it again."""
    period = int(time.time() // CHANNEL_CHECK_EVERY_SECONDS)
    try:
        enqueue("app.jobs.integrations.check_channels", job_id=f"channel-checks-{period}",
                retry=False, queue=LOW_QUEUE)
    except Exception:
        log.warning("could not queue the channel health check")


def queue_data_deletion(request_id: int) -> None:
    """Anonymize the person named by a stored data-deletion request (by its id only)."""
    enqueue("app.jobs.integrations.delete_person_data", request_id,
            job_id=f"data-deletion-{request_id}")


def requeue_data_deletion(request_id: int) -> bool:
    """A stored deletion request whose job never ran or failed: queue it again (no-op while
    its job is pending)."""
    return enqueue_again("app.jobs.integrations.delete_person_data", request_id,
                         job_id=f"data-deletion-{request_id}")
