"""Per-conversation locks so one conversation is answered by one worker at a time."""
from __future__ import annotations

from contextlib import contextmanager

from flask import current_app


class Busy(RuntimeError):
    """Another worker holds the conversation; the job retries later."""


@contextmanager
def conversation_lock(conversation_id: int, *, wait: float = 10.0):
    """A Redis lock, across processes and machines (within the process on the embedded
    default's in-memory Redis)."""
    lock = current_app.extensions["redis"].lock(
        f"closer:lock:conversation:{conversation_id}",
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
