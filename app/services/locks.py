"""Per-conversation locks so one conversation is answered by one worker at a time.

A lock lives only as long as its holder: it is taken with a short TTL
(`CONVERSATION_LOCK_TTL_SECONDS`) that a keeper thread of the holding process renews every
third of it. A worker killed mid-reply (SIGKILL, OOM, a lost machine) renews nothing, so its
conversations are free again within the TTL and the re-run of its job, or the customer's next
message, goes ahead; a TTL as long as the job timeout kept them waiting for minutes. A
holder stuck past the job timeout is no longer renewed either.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager

from flask import current_app
from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)


class Busy(RuntimeError):
    """Another worker holds the conversation; the job retries later."""


class _Held:
    __slots__ = ("lock", "renew_every", "renewed", "until")

    def __init__(self, lock, ttl: float, longest: float) -> None:
        self.lock = lock
        self.renew_every = ttl / 3
        self.renewed = time.monotonic()
        self.until = self.renewed + longest


class LockKeeper:
    """Renews the locks this process holds, on one daemon thread started with the first.

    The thread dies with the process, which is the point: nothing renews a dead holder's
    locks. A lock found taken over (this process stalled longer than its TTL) is dropped
    with a warning; the reply itself is unique per message, so the overlap loses nothing."""

    def __init__(self) -> None:
        self._held: dict[int, _Held] = {}
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def hold(self, lock, ttl: float, longest: float) -> None:
        with self._guard:
            self._held[id(lock)] = _Held(lock, ttl, longest)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="closer-lock-keeper", daemon=True)
                self._thread.start()

    def let_go(self, lock) -> None:
        with self._guard:
            self._held.pop(id(lock), None)

    def held(self) -> int:
        return len(self._held)

    def _run(self) -> None:
        while True:
            with self._guard:
                due = list(self._held.values())
            wait = min((h.renew_every for h in due), default=1.0)
            now = time.monotonic()
            for held in due:
                if now - held.renewed >= held.renew_every:
                    self._renew(held, now)
            self._wake.wait(min(wait, 1.0) / 2)

    def _renew(self, held: _Held, now: float) -> None:
        if now > held.until:  # stuck past the job timeout: let the lock lapse
            log.warning("lock %s held past the job timeout; no longer renewed", held.lock.name)
            self.let_go(held.lock)
            return
        try:
            held.lock.reacquire()
            held.renewed = now
        except LockError:
            log.warning("lock %s expired before its renewal and may be another worker's now",
                        held.lock.name)
            self.let_go(held.lock)
        except RedisError as exc:  # Redis unreachable for a moment: try again next round
            log.warning("could not renew lock %s: %s", held.lock.name, exc)


keeper = LockKeeper()


@contextmanager
def conversation_lock(conversation_id: int, *, wait: float | None = None):
    """A Redis lock across processes and machines (within the process on the embedded
    default's in-memory Redis), renewed while held; raises Busy after `wait` seconds
    (default CONVERSATION_LOCK_WAIT_SECONDS). The default wait is longer than the TTL, so a
    dead holder's lock is taken over by the job already waiting for it."""
    config = current_app.config
    ttl = float(config["CONVERSATION_LOCK_TTL_SECONDS"])
    wait = config["CONVERSATION_LOCK_WAIT_SECONDS"] if wait is None else wait
    # not thread-local: the keeper thread renews it with the token of the thread that took it
    lock = current_app.extensions["redis"].lock(
        f"closer:lock:conversation:{conversation_id}", timeout=ttl, blocking_timeout=wait,
        thread_local=False)
    if not lock.acquire():
        raise Busy(f"conversation {conversation_id} is busy")
    keeper.hold(lock, ttl, longest=float(config["JOB_TIMEOUT"]) + ttl)
    try:
        yield
    finally:
        keeper.let_go(lock)
        try:
            lock.release()
        except Exception:  # expired meanwhile: another worker may own it now; nothing to undo
            pass
