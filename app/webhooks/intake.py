"""Group commit for webhook deliveries: concurrent requests share one INSERT and one job.

Meta and Razorpay send in bursts and want a fast 200, and we may only answer once a delivery
is durably stored. A transaction per request pays BEGIN, INSERT, COMMIT and a WAL flush each,
and an RQ enqueue per request costs as much again. Instead:

* each request appends its raw body to this process's pending list and takes the flush lock;
  whoever holds it stores *everything* pending with one multi-row INSERT (one atomic
  statement in autocommit: one round trip, one flush) and wakes the others, whose deliveries
  are then already stored. Requests arriving while a flush runs form the next batch, so
  batches grow with load by themselves; at rest a batch is one delivery and costs nothing extra.
* a background thread queues one job per source for everything stored since its last
  enqueue, so a slow Redis never holds up a 200.

A failed INSERT fails every request of that batch (each answers 503 so the sender retries);
a failed enqueue fails none of them: the rows are stored and the sweep queues them later.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from typing import Callable

from flask import Flask, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from app.jobs.queueing import queue_deliveries
from app.models import WebhookEvent, utcnow

log = logging.getLogger(__name__)

MAX_BATCH = 64
MAX_BATCH_BYTES = 8 * 1024 * 1024
WAIT_SECONDS = 10.0
QUEUE_INTERVAL = 0.025
_TABLE = WebhookEvent.__tablename__
_COLUMNS = ("source", "body", "received_at")


class DeliveryIntake:
    """Per process: a pending list, a flush lock with its own database connection, and a
    queueing thread (state is rebuilt after gunicorn forks)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        # where stored deliveries go: their processing job (a test may hold them back)
        self.on_stored: Callable[[str, list[int]], None] = queue_deliveries
        self._pid: int | None = None
        self._init_process_state()

    def _init_process_state(self) -> None:
        self._pid = os.getpid()
        self._pending: list[tuple[str, str, Future]] = []
        self._pending_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._conn = None
        self._stored: queue.Queue = queue.Queue()
        self._queuer: threading.Thread | None = None

    def store(self, source: str, body: str) -> int:
        """Durably store one delivery and return its id; raises if it could not be stored."""
        if self._pid != os.getpid():
            self._init_process_state()
        future: Future = Future()
        with self._pending_lock:
            self._pending.append((source, body, future))
        with self._flush_lock:
            if not future.done():  # nobody flushed it meanwhile: this request leads the batch
                self._flush()
        return future.result(timeout=WAIT_SECONDS)

    def _flush(self) -> None:
        with self._pending_lock:
            batch, size = [], 0
            while self._pending and len(batch) < MAX_BATCH and size < MAX_BATCH_BYTES:
                item = self._pending.pop(0)
                batch.append(item)
                size += len(item[1])
        if not batch:
            return
        rows = [{"source": source, "body": body, "received_at": utcnow()} for source, body, _ in batch]
        try:
            kept = self._conn is not None
            try:
                ids = self._insert(rows)
            except SQLAlchemyError:
                if not kept:
                    raise
                self._disconnect()  # a kept connection gone stale (database restarted): once more
                ids = self._insert(rows)
        except Exception as exc:  # every waiting request answers 503; the sender retries
            log.exception("webhook intake: could not store %d deliveries", len(batch))
            self._disconnect()
            for _, _, future in batch:
                future.set_exception(exc)
            return
        self._ensure_queuer()
        for (source, _, future), event_id in zip(batch, ids):
            self._stored.put((source, event_id))
            future.set_result(event_id)  # stored: that request may answer 200 now

    def _insert(self, rows: list[dict]) -> list[int]:
        """One `INSERT ... VALUES (...), (...) RETURNING id`, sent as driver SQL: this runs once
        per batch on the hot path, where SQLAlchemy's statement machinery cost more than the
        round trip. Which id belongs to which request does not matter (only the set is
        queued), so the order RETURNING yields them in is irrelevant."""
        if self._conn is None:
            self._conn = self._connect()
        dialect = self._conn.dialect
        named = "%({})s" if dialect.paramstyle == "pyformat" else ":{}"
        stamp = WebhookEvent.__table__.c.received_at.type.bind_processor(dialect)  # SQLite: text
        values, params = [], {}
        for i, row in enumerate(rows):
            values.append("(" + ", ".join(named.format(f"{col}_{i}") for col in _COLUMNS) + ")")
            params.update({f"{col}_{i}": row[col] for col in _COLUMNS})
            if stamp is not None:
                params[f"received_at_{i}"] = stamp(row["received_at"])
        sql = f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) VALUES {', '.join(values)} RETURNING id"
        return [r[0] for r in self._conn.exec_driver_sql(sql, params)]

    def _connect(self):
        """The flusher's own connection, kept open: one multi-row INSERT is one atomic
        statement, so autocommit stores a batch in a single round trip (no BEGIN, no
        COMMIT, no pool check-out and pre-ping per batch)."""
        from app.extensions import db

        with self.app.app_context():
            engine = db.engine
        return engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _disconnect(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except Exception:
                log.debug("webhook intake: closing a broken connection failed", exc_info=True)
            self._conn = None

    def _ensure_queuer(self) -> None:
        if self._queuer is None or not self._queuer.is_alive():
            self._queuer = threading.Thread(target=self._queue_stored, name="closer-intake-queue",
                                            daemon=True)
            self._queuer.start()

    def _queue_stored(self) -> None:
        """One job per source for everything stored since the last one, at most one job per
        QUEUE_INTERVAL: under load a job carries many deliveries (each job is Redis work here
        and in a worker), at rest a delivery is queued at once."""
        last = 0.0
        while True:
            taken = [self._stored.get()]
            wait = last + QUEUE_INTERVAL - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            last = time.monotonic()
            while True:
                try:
                    taken.append(self._stored.get_nowait())
                except queue.Empty:
                    break
            by_source: dict[str, list[int]] = {}
            for source, event_id in taken:
                by_source.setdefault(source, []).append(event_id)
            for source, stored in by_source.items():
                try:
                    with self.app.app_context():
                        self.on_stored(source, stored)
                except Exception:  # stored already: the sweep queues them later
                    log.exception("webhook intake: could not queue %s events %s", source, stored)
            for _ in taken:
                self._stored.task_done()

    def drain(self) -> None:
        """Wait until every delivery stored so far has been handed to the queue (tests, shutdown)."""
        self._stored.join()


def intake(app: Flask) -> DeliveryIntake:
    found = app.extensions.get("delivery_intake")
    if found is None:
        found = app.extensions["delivery_intake"] = DeliveryIntake(app)
    return found


def keep_unprocessable(source: str, body: bytes, reason: str):
    """The answer to a signed delivery nobody can parse: stored for an Admin as unprocessable
    (never retried) and acknowledged; 503 only if it could not be stored."""
    from app.extensions import db
    from app.services.webhook_events import store_unprocessable

    with current_app.admin.app_context():
        try:
            store_unprocessable(source, body, reason)
        except Exception:
            db.session.rollback()
            log.exception("%s webhook: could not store an unprocessable delivery", source)
            return jsonify(error="temporarily unavailable"), 503
    return jsonify(status="unprocessable", reason=reason), 200
