"""Per-conversation locks so one conversation is answered by one worker at a time.

A lock lives only as long as its holder:

* its token names the holding process (app.jobs.liveness), so a job waiting for it takes it
  over as soon as that process is known dead: at once on the same machine;
* it is taken with a short TTL (`CONVERSATION_LOCK_TTL_SECONDS`) that a keeper thread of the
  holding process renews, all of the process's locks in one round trip, every quarter of it;
  nothing renews a dead process's locks, so on any machine they are free within the TTL.

A TTL as long as the job timeout used to keep a killed worker's conversations waiting for
minutes. A holder stuck past the job timeout is no longer renewed either.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from contextlib import contextmanager

from flask import current_app
from redis.exceptions import RedisError

from app.jobs.liveness import holder_process, is_dead, process_name

log = logging.getLogger(__name__)


class Busy(RuntimeError):
    """Another worker holds the conversation; the job retries later."""


# Each KEYS[i] whose value is still ARGV[2i-1] gets a TTL of ARGV[2i] ms; 1 or 0 per key.
RENEW_IF_OURS = """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[2 * i - 1] then
    out[i] = redis.call('pexpire', key, ARGV[2 * i])
  else
    out[i] = 0
  end
end
return out
"""
RELEASE_IF_HELD_BY = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
POLL_SECONDS = 0.1


class _Held:
    __slots__ = ("lock", "ttl", "renew_every", "renewed", "until")

    def __init__(self, lock, ttl: float, longest: float) -> None:
        self.lock = lock
        self.ttl = ttl
        self.renew_every = ttl / 4
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
                held = list(self._held.values())
            now = time.monotonic()
            for stuck in [h for h in held if now > h.until]:  # past the job timeout: let it lapse
                log.warning("lock %s held past the job timeout; no longer renewed", stuck.lock.name)
                self.let_go(stuck.lock)
            due = [h for h in held if now <= h.until and now - h.renewed >= h.renew_every]
            if due:
                self._renew(due, now)
            self._wake.wait(0.25)

    def _renew(self, due: list[_Held], now: float) -> None:
        """Renew every due lock in one round trip (per Redis connection)."""
        by_client: dict[int, list[_Held]] = {}
        for held in due:
            by_client.setdefault(id(held.lock.redis), []).append(held)
        for group in by_client.values():
            redis = group[0].lock.redis
            args = []
            for held in group:
                args += [held.lock.local.token, int(held.ttl * 1000)]
            try:
                results = redis.eval(RENEW_IF_OURS, len(group), *[h.lock.name for h in group], *args)
            except RedisError as exc:  # Redis unreachable for a moment: try again next round
                log.warning("could not renew %d conversation locks: %s", len(group), exc)
                continue
            for held, renewed in zip(group, results):
                if renewed:
                    held.renewed = now
                else:
                    log.warning("lock %s expired before its renewal and may be another worker's now",
                                held.lock.name)
                    self.let_go(held.lock)


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
    redis = current_app.extensions["redis"]
    # not thread-local: the keeper thread renews it with the token of the thread that took it
    lock = redis.lock(f"closer:lock:conversation:{conversation_id}", timeout=ttl, thread_local=False)
    if not _acquire(redis, lock, wait):
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


def _acquire(redis, lock, wait: float) -> bool:
    """Take the lock within `wait` seconds, taking it over from a holder known dead."""
    token = f"{process_name()}.{uuid.uuid4().hex}"
    deadline = time.monotonic() + wait
    while True:
        if lock.acquire(blocking=False, token=token):
            return True
        holder = redis.get(lock.name)
        if holder is not None and is_dead(redis, holder_process(holder)):
            if redis.eval(RELEASE_IF_HELD_BY, 1, lock.name, holder):
                log.warning("%s: its holder's process is gone; taken over", lock.name)
            continue
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
