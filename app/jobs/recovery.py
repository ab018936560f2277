"""Taking up a dead worker's work within seconds.

RQ notices a dead worker's jobs through their entries in each queue's StartedJobRegistry: an
entry carries an expiry its worker renews while the job runs, and `StartedJobRegistry.cleanup()`
hands a job whose entry has expired to its Retry (or to the failed registry). Out of the box
a SimpleWorker's entry lasts the job timeout plus a minute and the cleanup runs every ten
minutes, so a killed worker's jobs waited up to a quarter of an hour. Here every worker
process runs a `ProcessHeartbeat` thread that

* renews its running jobs' entries every third of JOB_HEARTBEAT_TTL_SECONDS (the entries are
  written with that short expiry by `app.jobs.threads.ThreadWorker`), so they lapse within
  seconds of the process's death and never while it lives;
* every REAP_EVERY_SECONDS (one process in the deployment at a time) expires the entries of
  jobs whose worker process is known dead (app.jobs.liveness: at once on the same machine),
  runs RQ's cleanup, and puts the retry of each job found abandoned straight back on its
  queue: it was interrupted, not failing, so the Retry's backoff would only make its
  customer wait;
* keeps the process's liveness key, by which processes on other machines know it alive; the
  scheduler threads take over a dead process's scheduler locks at once instead of after
  RQ's 61-second lock expiry;
* queues the periodic sweep (app.services.sweep) every SWEEP_EVERY_SECONDS, so the sweep
  goes on whichever processes die.

The conversation locks a dead worker held are taken over by the next job that wants them
(app.services.locks).
"""
from __future__ import annotations

import logging
import threading
import time

from redis.exceptions import RedisError
from rq import Queue
from rq.job import JobStatus
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

from app.jobs.liveness import ALIVE_KEY, BEATING_KEY, holder_process, is_dead, process_name

log = logging.getLogger(__name__)

BEAT_SECONDS = 1.0  # the heartbeat thread's tick; each duty below has its own period
REAP_EVERY_SECONDS = 1
PROCESS_TTL_SECONDS = 10  # a process's liveness key outlives nine missed renewals
REAPER_KEY = "closer:reaper"

__all__ = ["ProcessHeartbeat", "free_dead_scheduler_locks", "process_name", "reap_abandoned"]


def _lost_entries(connection, key: str, now: float) -> list[str]:
    """The started entries of jobs whose worker is gone: expired ones (RQ's rule) and those of
    a worker process known dead (app.jobs.liveness), which are expired here and now."""
    entries = [(e.decode() if isinstance(e, bytes) else e, score)
               for e, score in connection.zrange(key, 0, -1, withscores=True)]
    if not entries:
        return []
    # the execution's worker, written with the entry (the job's own `worker_name` still names
    # the previous worker until the new one has prepared it: a re-run would look lost)
    with connection.pipeline(transaction=False) as pipe:
        for entry, _ in entries:
            pipe.hget(f"rq:execution:{entry}", "worker_name")
        workers = pipe.execute()
    lost, dead = [], {}
    for (entry, score), worker in zip(entries, workers):
        process = holder_process(worker)
        if process and process not in dead:
            dead[process] = is_dead(connection, process)
        if score <= now or dead.get(process):
            lost.append(entry)
    fresh = [e for (e, score) in entries if e in lost and score > now]
    if fresh:  # RQ's cleanup takes what has expired
        connection.zadd(key, {e: now - 1 for e in fresh}, xx=True)
    return lost


def reap_abandoned(connection, queue_names: list[str], now: float | None = None) -> list[str]:
    """Hand the jobs of dead workers to RQ's cleanup, and queue each one's retry at once.
    Returns the ids of the jobs queued again."""
    now = time.time() if now is None else now
    requeued = []
    for name in queue_names:
        queue = Queue(name, connection=connection, serializer=JSONSerializer)
        started = queue.started_job_registry
        entries = _lost_entries(connection, started.key, now)
        if not entries:
            continue
        expired = [started.parse_job_id(e) for e in entries]
        started.cleanup(now)  # RQ's own handling: Retry if any left, else the failed registry
        _forget_executions(connection, entries)
        scheduled = ScheduledJobRegistry(queue=queue)
        again = []
        for job_id in dict.fromkeys(expired):
            job = queue.fetch_job(job_id)
            if job is None:
                continue
            if job_id in scheduled:  # its Retry's backoff
                if scheduled.remove(job):  # not moved by the scheduler meanwhile
                    queue.enqueue_job(job, at_front=True)
                    again.append(job_id)
            elif job.get_status() == JobStatus.QUEUED:  # a Retry without backoff
                again.append(job_id)
        log.warning("queue %s: %d jobs of a lost worker, %d queued again", name, len(set(expired)), len(again))
        requeued += again
    return requeued


def _forget_executions(connection, entries: list[str]) -> None:
    """Drop the dead executions' records. RQ's cleanup leaves them in the job's execution
    registry, which outlives the execution's own hash by a minute; a re-run finishing inside
    that minute would look them up (to remove them) and fail on the missing hash."""
    with connection.pipeline(transaction=False) as pipe:
        for entry in entries:
            job_id, _, execution_id = entry.rpartition(":")
            pipe.zrem(f"rq:executions:{job_id}", execution_id)
            pipe.delete(f"rq:execution:{entry}")
        pipe.execute()


class Executions:
    """The RQ executions this process runs, renewed together by the heartbeat."""

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self._running: dict[int, tuple] = {}
        self._guard = threading.Lock()

    def add(self, worker, execution, job) -> None:
        longest = (job.timeout or 0) + self.ttl if job.timeout and job.timeout > 0 else None
        with self._guard:
            self._running[id(worker)] = (execution, job, time.monotonic(), longest)

    def discard(self, worker) -> None:
        with self._guard:
            self._running.pop(id(worker), None)

    def renew(self, connection) -> None:
        """Push each running job's started entry `ttl` seconds ahead. Only entries still
        there are touched (ZADD XX, EXPIRE): one that just finished stays removed. A job
        stuck past its timeout is no longer renewed."""
        with self._guard:
            running = list(self._running.values())
        if not running:
            return
        until = time.time() + self.ttl
        with connection.pipeline(transaction=False) as pipe:
            for execution, job, started, longest in running:
                if longest is not None and time.monotonic() - started > longest:
                    continue
                pipe.zadd(job.started_job_registry.key, {execution.composite_key: until}, xx=True)
                pipe.expire(execution.key, self.ttl)
                pipe.zadd(f"rq:executions:{job.id}", {execution.id: until + 60}, xx=True)
            pipe.execute()


class ProcessHeartbeat(threading.Thread):
    """The recovery duties of one worker process (see the module docstring)."""

    def __init__(self, connection, queue_names: list[str], *, name: str, job_ttl: int,
                 sweep_every: float | None, stop: threading.Event) -> None:
        super().__init__(name="closer-heartbeat", daemon=True)
        self.connection = connection
        self.queue_names = list(queue_names)
        self.process = name
        self.executions = Executions(job_ttl)
        self.sweep_every = sweep_every
        self.stop = stop
        self._last: dict[str, float] = {}

    def _due(self, duty: str, every: float) -> bool:
        now = time.monotonic()
        if now - self._last.get(duty, -1e9) < every:
            return False
        self._last[duty] = now
        return True

    def beat(self) -> None:
        """One round of the duties that are due (also called directly by tests)."""
        if self._due("alive", BEAT_SECONDS):
            with self.connection.pipeline(transaction=False) as pipe:
                pipe.set(ALIVE_KEY.format(self.process), "1", ex=PROCESS_TTL_SECONDS)
                pipe.set(BEATING_KEY.format(self.process), "1", ex=24 * 3600)
                pipe.execute()
        if self._due("executions", max(self.executions.ttl / 3, 1)):
            self.executions.renew(self.connection)
        if self._due("reap", REAP_EVERY_SECONDS) and self.connection.set(
                REAPER_KEY, self.process, nx=True, ex=REAP_EVERY_SECONDS):
            reap_abandoned(self.connection, self.queue_names)
        if self.sweep_every and self._due("sweep", self.sweep_every):
            queue_periodic_sweep()

    def run(self) -> None:
        try:
            last = time.monotonic()
            while not self.stop.is_set():
                late = time.monotonic() - last - BEAT_SECONDS
                last = time.monotonic()
                if late > 2:  # starved: renewals this late risk a live job being taken as lost
                    log.warning("worker heartbeat ran %.1f s late", late)
                try:
                    self.beat()
                except RedisError as exc:  # Redis away for a moment: the next round retries
                    log.warning("worker heartbeat: %s", exc)
                except Exception:
                    log.exception("worker heartbeat round failed")
                self.stop.wait(BEAT_SECONDS)
        finally:
            try:
                self.connection.delete(ALIVE_KEY.format(self.process), BEATING_KEY.format(self.process))
            except RedisError:
                pass


def queue_periodic_sweep() -> None:
    """Queue this period's sweep (one per period across the deployment, by its job id)."""
    from app.jobs.context import _worker_app
    from app.jobs.queueing import queue_sweep

    with _worker_app().app_context():
        queue_sweep()


RELEASE_IF_HELD_BY = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def free_dead_scheduler_locks(connection, lock_keys: list[str]) -> int:
    """Delete the scheduler locks held by one of our worker processes known dead
    (app.jobs.liveness); a lock held by anything else is left alone."""
    freed = 0
    for key in lock_keys:
        holder = connection.get(key)
        holder = holder.decode() if isinstance(holder, bytes) else holder
        if holder and is_dead(connection, holder):
            freed += int(connection.eval(RELEASE_IF_HELD_BY, 1, key, holder) or 0)
            log.warning("scheduler lock %s of lost worker process %s released", key, holder)
    return freed
