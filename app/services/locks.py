"""Per-conversation locks so one conversation is answered by one worker at a time."""
from __future__ import annotations

import threading
from contextlib import contextmanager

from flask import current_app


class Busy(RuntimeError):
    """Another worker holds the conversation; the job retries later."""


_local_locks: dict[int, threading.Lock] = {}
_guard = threading.Lock()


@contextmanager
def conversation_lock(conversation_id: int, *, wait: float = 10.0):
    """Redis lock across processes and machines; a process-local lock without Redis."""
    redis = current_app.extensions.get("redis")
    if redis is None:
        with _guard:
            lock = _local_locks.setdefault(conversation_id, threading.Lock())
        if not lock.acquire(timeout=wait):
            raise Busy(f"conversation {conversation_id} is busy")
        try:
            yield
        finally:
            lock.release()
        return
    lock = redis.lock(f"closer:lock:conversation:{conversation_id}",
                      timeout=current_app.config["JOB_TIMEOUT"], blocking_timeout=wait)
    if not lock.acquire():
        raise Busy(f"conversation {conversation_id} is busy")
    try:
        yield
    finally:
        try:
            lock.release()
        except Exception:  # expired meanwhile: another worker may own it now; nothing to undo
            pass
