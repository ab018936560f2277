"""Enqueueing jobs: RQ, on Redis in production and on an in-memory Redis in the embedded default.

Jobs are named by dotted path and take ids plus an explicit `tenant_id` (never a user, never a
token), so the JSON serializer is enough and Redis write access can't smuggle in pickles.
Every job gets a timeout and a Retry with backoff; job ids are `[A-Za-z0-9_-]` only.
"""
from __future__ import annotations

import importlib
import logging
import re
import threading
from datetime import timedelta

from flask import Flask, current_app
from rq import Retry
from rq.exceptions import DuplicateJobError

log = logging.getLogger(__name__)

HIGH_QUEUE = "high"  # what customers wait for: stored webhook deliveries and their answers
QUEUE_NAME = "default"
LOW_QUEUE = "low"  # work that can wait (model ratings); drained only when QUEUE_NAME is empty
# The order workers listen in: RQ takes the first non-empty. A delivery's job usually answers
# its message too (`app.jobs.inbound.answer_here`), and the answer jobs of the others go to the
# same queue: behind a steady stream of deliveries, answers on a lower queue would wait until
# the stream paused.
QUEUE_NAMES = [HIGH_QUEUE, QUEUE_NAME, LOW_QUEUE]
RETRY_INTERVALS = [10, 30, 60]
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_fake_server = None
_fake_lock = threading.Lock()


def resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def in_process_redis():
    """The process's in-memory Redis stand-in (one fakeredis server, shared by every app,
    worker thread and test of the process), for running without REDIS_URL."""
    global _fake_server
    import fakeredis

    with _fake_lock:
        if _fake_server is None:
            _fake_server = fakeredis.FakeServer()
    return fakeredis.FakeRedis(server=_fake_server)


def init_queue(app: Flask) -> None:
    """RQ queues on REDIS_URL, or on the process's in-memory stand-in without it (the
    embedded default: `app.jobs.threads.InProcessWorkers` runs them on threads of the web
    process; tests drain them with a burst worker). Same semantics either way."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    if app.config.get("REDIS_URL"):
        from redis import Redis

        connection = Redis.from_url(app.config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=2,
                                    max_connections=app.config.get("REDIS_MAX_CONNECTIONS", 500))
    else:
        connection = in_process_redis()
    app.extensions["redis"] = connection
    app.extensions["job_queues"] = {name: Queue(
        name, connection=connection, serializer=JSONSerializer,
        default_timeout=app.config["JOB_TIMEOUT"],
    ) for name in QUEUE_NAMES}
    app.extensions["job_queue"] = app.extensions["job_queues"][QUEUE_NAME]


def enqueue(path: str, *args, tenant_id: int | None = None, job_id: str | None = None,
            delay: float | None = None, not_before: float | None = None, retry: bool = True,
            queue: str = QUEUE_NAME, retry_intervals: list[int] | None = None):
    """Queue `path(*args, tenant_id=...)`, after `delay` seconds if given.

    `queue` is one of QUEUE_NAMES: workers take a LOW_QUEUE job only when the default queue
    is empty, so background work never delays a reply. `retry_intervals`: the Retry's
    backoff, if not RETRY_INTERVALS.

    `not_before` (epoch seconds, for `@job` functions, meant for sub-second to few-second
    waits such as the reply debounce) keeps the job from starting its work earlier. The job
    is queued at once and waits out the rest itself: RQ's scheduler counts in whole seconds
    (integer scores, polled once a second), which would add up to a second to every reply.
    With `job_id`, a second enqueue of the same id while the first exists is a no-op.
    """
    if job_id is not None and not _JOB_ID.match(job_id):
        raise ValueError(f"job id {job_id!r} may only use letters, digits, '-' and '_'")
    kwargs = {"tenant_id": tenant_id} if tenant_id is not None else {}
    if not_before is not None:
        kwargs["not_before"] = not_before
    q = current_app.extensions["job_queues"][queue]
    options = dict(
        job_id=job_id, unique=job_id is not None,
        retry=Retry(max=current_app.config["JOB_RETRIES"], interval=retry_intervals or RETRY_INTERVALS)
        if retry else None,
        job_timeout=current_app.config["JOB_TIMEOUT"],
        # A finished delivery or answer leaves its record in the database, not in Redis:
        # keeping RQ's result (a stream entry, a registry entry and a rewrite of the job) was
        # a fifth of what RQ cost per job. Failures are kept a week either way.
        result_ttl=0 if queue == HIGH_QUEUE else 600, failure_ttl=7 * 24 * 3600,
    )
    try:
        if delay:
            return q.enqueue_in(timedelta(seconds=delay), path, *args, **kwargs, **options).id
        return q.enqueue(path, *args, **kwargs, **options).id
    except DuplicateJobError:
        return job_id


def _existing_job(job_id: str):
    """RQ's job of this id, or None."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.serializers import JSONSerializer

    try:
        return Job.fetch(job_id, connection=current_app.extensions["redis"], serializer=JSONSerializer)
    except NoSuchJobError:
        return None


def job_pending(job_id: str) -> bool:
    """Whether a job of this id is waiting (queued, scheduled, deferred) or running.

    A job QUEUED but no longer on its queue is not: a worker took it off (a Redis BLPOP)
    and died before RQ recorded it as started, where no registry will ever find it."""
    from rq.job import JobStatus

    existing = _existing_job(job_id)
    if existing is None:
        return False
    status = existing.get_status(refresh=False)
    if status == JobStatus.QUEUED:
        return current_app.extensions["redis"].lpos(f"rq:queue:{existing.origin}", job_id) is not None
    return status in (JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def enqueue_again(path: str, *args, job_id: str, queue: str = QUEUE_NAME,
                  tenant_id: int | None = None, retry_intervals: list[int] | None = None) -> bool:
    """Queue `path(*args)` under `job_id` unless a job of that id is still pending; a finished
    or failed one of that id is replaced. True if queued.

    For the sweep: `enqueue`'s id uniqueness alone would let a failed job (kept a week for
    inspection) block its row's re-queue for that long.
    """
    if job_pending(job_id):
        return False
    existing = _existing_job(job_id)
    if existing is not None:
        existing.delete()
    enqueue(path, *args, tenant_id=tenant_id, job_id=job_id, queue=queue, retry_intervals=retry_intervals)
    return True
