"""Several jobs at once per worker process: RQ SimpleWorkers, one per thread.

A reply spends almost all of its time waiting (debounce, LLM, Graph API), so a process per job
mostly holds memory (~150 MB each) and makes the cores switch between dozens of processes, each
of which warms its own caches, connections and prepared statements. RQ 2.12 has no threaded
worker, but its SimpleWorker runs in any thread given two adjustments, made here:

* job timeouts use RQ's `TimerDeathPenalty` (the timeout exception is raised in the job's own
  thread) because SIGALRM can only interrupt a process's main thread;
* signals belong to the main thread: the first SIGINT/SIGTERM asks every worker to stop after
  its current job (warm shutdown, idle ones notice within `IDLE_WAKEUP` seconds), a second
  one exits at once, as RQ's own workers do.

Each job still runs in its own app context and so its own database session (Flask-SQLAlchemy
scopes sessions per app context, and contexts are per thread); the worker command sizes the
engine's pool to the threads. RQ's scheduler (delayed jobs, retries) runs on a thread of its
own beside them (`SchedulerThread`).

The same threads run the embedded default's jobs (`InProcessWorkers`).
"""
from __future__ import annotations

import gc
import logging
import signal
import threading
import time
import uuid

from rq import SimpleWorker
from rq.executions import Execution
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty
from rq.utils import now
from rq.worker_pool import WorkerPool

from app.jobs.recovery import ProcessHeartbeat, free_dead_scheduler_locks, process_name

log = logging.getLogger(__name__)

JOB_HEARTBEAT_TTL = 15  # seconds; the worker command passes JOB_HEARTBEAT_TTL_SECONDS
IDLE_WAKEUP = 5  # seconds an idle worker blocks on Redis before it checks for a stop request
# A worker's own heartbeat (its key lives worker_ttl + 60 s) is renewed at most this often
# between jobs; RQ renews it three times per job, two round trips each.
HEARTBEAT_SECONDS = 15
# How often a process without the scheduler locks tries to take them (a dead holder's are
# freed first: app.jobs.recovery); RQ's own scheduler tries every ten minutes.
SCHEDULER_CHECK_SECONDS = 2
# The RQ release whose worker and scheduler internals the classes below were checked against:
# ThreadWorker overrides `dequeue_job_and_maintain_ttl`, `heartbeat`, `set_state`,
# `prepare_execution`, `execute_job` and `_install_signal_handlers` and sets `_stop_requested`;
# SchedulerThread drives an RQScheduler through its methods and frees its lock keys;
# app.jobs.recovery renews the started registry's entries by their keys. tests/test_job_system.py fails on any other release until they are
# checked again.
RQ_CHECKED = "2.12.0"


class ThreadWorker(SimpleWorker):
    """A SimpleWorker that may run on any thread of its process."""

    death_penalty_class = TimerDeathPenalty
    executions = None  # the process's app.jobs.recovery.Executions, when a heartbeat runs

    def prepare_execution(self, job):
        """RQ's bookkeeping for a job about to run, with the started registry's entry set to
        expire in JOB_HEARTBEAT_TTL_SECONDS (RQ: the job timeout plus a minute): the
        process's heartbeat renews it while the job runs, so only a dead process's jobs
        lapse, within seconds, and are taken up again. Without a heartbeat, RQ's own."""
        if self.executions is None:
            return super().prepare_execution(job)
        from rq.worker.base import WorkerStatus

        with self.connection.pipeline() as pipeline:
            self.execution = Execution.create(job, self.executions.ttl, pipeline=pipeline,
                                              worker_name=self.name)
            self.set_state(WorkerStatus.BUSY, pipeline=pipeline)
            pipeline.execute()
        self.executions.add(self, self.execution, job)
        return self.execution

    def execute_job(self, job, queue):
        try:
            super().execute_job(job, queue)
        finally:
            if self.executions is not None:
                self.executions.discard(self)

    @property
    def dequeue_timeout(self) -> int:
        return IDLE_WAKEUP

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """Wait for a job, but look up every IDLE_WAKEUP seconds for a stop request.

        RQ's own loop retries an empty wait forever (its main-thread workers are stopped by
        an exception from the signal handler, which a thread can't receive), so an idle
        thread would never notice a warm shutdown. Returns None once stopping."""
        if timeout is None or max_idle_time is not None:  # burst mode, or a caller's own limit
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        while True:
            result = super().dequeue_job_and_maintain_ttl(timeout, IDLE_WAKEUP)
            if result is not None or self._stop_requested:
                return result

    # --- worker bookkeeping between jobs: RQ renews the worker's heartbeat and state before
    # and after every dequeue and job, two round trips each; these skip the repeats.

    def heartbeat(self, timeout=None, pipeline=None):
        """Skip a worker heartbeat that renews one sent moments ago. A heartbeat with a
        timeout of its own, or inside a job's bookkeeping pipeline, always goes out."""
        if (timeout is None and pipeline is None and self.last_heartbeat is not None
                and (now() - self.last_heartbeat).total_seconds() < HEARTBEAT_SECONDS):
            return
        super().heartbeat(timeout, pipeline)

    def set_state(self, state, pipeline=None):
        """Don't write the state the worker is already in (idle after a job, idle again at
        the next dequeue)."""
        if pipeline is None and state == self.get_state():
            return
        super().set_state(state, pipeline)

    def _install_signal_handlers(self) -> None:
        """The main thread owns the signals (see `run_threads`)."""

    def request_warm_stop(self) -> None:
        """Stop after the current job; the work loop checks this flag between jobs."""
        self._stop_requested = True


def queues_for_next(queue_names: list[str], running: list[list[str]], threads: int) -> list[str]:
    """The queues a new worker thread listens to, given those of the `running` ones.

    Background work (the last queue: model ratings) gets at most one thread in eight. RQ
    takes a lower queue's job whenever the ones before it are empty for an instant, which
    under a steady stream of replies is all the time, and the ratings (one per conversation)
    would take the CPU the replies need; this way they wait instead."""
    if len(queue_names) == 1:
        return queue_names
    background = sum(1 for names in running if names[-1:] == queue_names[-1:])
    return queue_names if background < max(1, threads // 8) else queue_names[:-1]


class SchedulerThread(threading.Thread):
    """RQ's scheduler (delayed jobs, retries) on a thread of a worker process.

    RQ starts its scheduler as a forked process; a thread instead shares the process's
    connection, which the embedded default needs (its Redis lives in the process's memory),
    and dies with the process. Only one scheduler in the whole deployment moves a queue's due
    jobs (RQ's per-queue lock); the others try to take the lock over every
    SCHEDULER_CHECK_SECONDS, so a dead holder is replaced once its lock expires."""

    def __init__(self, queue_names: list[str], connection, stop: threading.Event,
                 name: str | None = None) -> None:
        super().__init__(name="rq-scheduler", daemon=True)
        # named after the process: a lock held by a name whose process is gone is freed
        self.scheduler = RQScheduler(queue_names, connection=connection, serializer=JSONSerializer,
                                     name=name)
        self.queue_names = set(queue_names)
        self.stop = stop
        self.connection = connection

    def run(self) -> None:
        scheduler = self.scheduler
        name = scheduler.name if scheduler.name.startswith("closer-") else None
        scheduler.register_birth()
        tried = None
        try:
            while not self.stop.is_set():
                if scheduler.acquired_locks != self.queue_names and (
                        tried is None or time.monotonic() - tried > SCHEDULER_CHECK_SECONDS):
                    tried = time.monotonic()
                    if name is not None:
                        free_dead_scheduler_locks(self.connection, [
                            scheduler.get_locking_key(q) for q in self.queue_names - scheduler.acquired_locks])
                    scheduler.acquire_locks()
                if scheduler.acquired_locks:
                    scheduler.heartbeat()
                    scheduler.enqueue_scheduled_jobs()
                self.stop.wait(scheduler.interval)
        finally:
            scheduler.stop()  # releases its locks: another process's scheduler takes over


def run_threads(queue_names: list[str], connection, threads: int, *, burst: bool = False,
                with_scheduler: bool = True, logging_level: str = "INFO",
                stop: threading.Event | None = None, worker_class: type[ThreadWorker] = ThreadWorker,
                job_ttl: int = JOB_HEARTBEAT_TTL, sweep_every: float | None = None) -> None:
    """Run `threads` workers in this process until stopped (a signal, or `stop` set) or, in
    burst mode, until the queues are empty; a worker thread that dies is replaced, and so is
    the scheduler's. `queue_names` is in priority order: a worker takes a job from a later
    queue only when every earlier one is empty.

    Outside burst mode the process's heartbeat (app.jobs.recovery) runs beside them: running
    jobs' started entries renewed every third of `job_ttl` seconds, abandoned jobs of dead
    processes taken up again, and, with `sweep_every`, the periodic sweep queued."""
    stop = stop or threading.Event()
    state = {"stopping": None}  # when the first stop signal came
    workers: dict[threading.Thread, ThreadWorker] = {}
    name = process_name()
    beat_stop = threading.Event()  # set only once every job has ended: warm stops renew to the end
    beat = None if burst else ProcessHeartbeat(connection, queue_names, name=name, job_ttl=job_ttl,
                                               sweep_every=sweep_every, stop=beat_stop)

    def start_one() -> None:
        names = queues_for_next(queue_names, [w.queue_names() for w in workers.values()], threads)
        # named after the process, so the reaper knows whose jobs died with it
        worker = worker_class(names, connection=connection, serializer=JSONSerializer,
                              name=f"{name}.{uuid.uuid4().hex[:12]}")
        worker.executions = beat.executions if beat is not None else None
        thread = threading.Thread(target=worker.work, name=f"rq-{worker.name[-8:]}", daemon=True,
                                  kwargs={"burst": burst, "logging_level": logging_level})
        workers[thread] = worker
        thread.start()

    def start_scheduler() -> SchedulerThread:
        thread = SchedulerThread(queue_names, connection, stop, name=name)
        thread.start()
        return thread

    def warm_stop() -> None:
        if state["stopping"] is None:
            state["stopping"] = time.monotonic()
            log.info("warm shutdown: %d workers finish their current job", len(workers))
            stop.set()
            for worker in workers.values():
                worker.request_warm_stop()

    def on_signal(signum, frame):
        if state["stopping"] is not None:
            if time.monotonic() - state["stopping"] < 1:
                return  # the pool's SIGINT and the terminal's Ctrl+C arrive together: one request
            log.warning("second signal: cold shutdown")
            raise SystemExit(1)
        warm_stop()

    if beat is not None:
        beat.beat()  # alive before the scheduler looks for dead processes' locks
        beat.start()
    scheduler = start_scheduler() if with_scheduler and not burst else None
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
    for _ in range(threads):
        start_one()
    try:
        while workers:
            if stop.is_set():
                warm_stop()
            for thread in list(workers):
                thread.join(timeout=0.2)
                if not thread.is_alive():
                    del workers[thread]
                    if not burst and state["stopping"] is None:
                        log.warning("worker thread %s ended; starting another", thread.name)
                        start_one()
            if scheduler is not None and not scheduler.is_alive() and not stop.is_set():
                log.warning("the scheduler thread ended; starting another")
                scheduler = start_scheduler()
            if beat is not None and not beat.is_alive() and not beat_stop.is_set():
                log.warning("the heartbeat thread ended; starting another")
                beat = ProcessHeartbeat(connection, queue_names, name=name, job_ttl=job_ttl,
                                        sweep_every=sweep_every, stop=beat_stop)
                for worker in workers.values():
                    worker.executions = beat.executions
                beat.start()
    finally:
        stop.set()
        if scheduler is not None:
            scheduler.join(timeout=5)
        beat_stop.set()


EMBEDDED_THREADS = 4  # the debounce and the model's answer wait on a thread each


class InProcessWorkers:
    """The app's jobs run on threads of this process, for the embedded default (no
    REDIS_URL: its Redis is in this process's memory, where no worker process could reach it)."""

    def __init__(self, app) -> None:
        from app.jobs import QUEUE_NAMES
        from app.jobs.context import set_worker_app

        set_worker_app(app)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=run_threads, name="closer-jobs", daemon=True, args=(
            QUEUE_NAMES, app.extensions["redis"], EMBEDDED_THREADS),
            kwargs={"stop": self._stop, "logging_level": app.config["WORKER_LOG_LEVEL"],
                    **recovery_settings(app.config)})
        self._thread.start()

    @classmethod
    def with_first_request(cls, app) -> None:
        """Start them when the app serves its first request: a command (`db upgrade`, `demo
        seed`) loads the same app, and its periodic sweep must not query tables a migration is
        still creating, nor its jobs die half-done when the command ends. Jobs a command queued
        would be lost with the process's memory either way."""
        lock, started = threading.Lock(), []

        def start_jobs() -> None:
            if not started:
                with lock:
                    if not started:
                        started.append(cls(app))

        app.before_request_funcs.setdefault(None, []).insert(0, start_jobs)  # before any that may fail

    def stop(self, timeout: float = 30) -> None:
        """Stop after the current jobs (idle threads notice within IDLE_WAKEUP seconds)."""
        self._stop.set()
        self._thread.join(timeout)


class ThreadedWorkerPool(WorkerPool):
    """RQ's WorkerPool (forks, watches and respawns processes) where each process runs
    `threads` workers instead of one."""

    def __init__(self, *args, threads: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.threads = threads

    def get_worker_process(self, name: str, burst: bool, _sleep: float = 0, logging_level: str = "INFO"):
        from rq.worker_pool import ForkProcess

        return ForkProcess(target=_run_process, name=f"Worker {name} (WorkerPool {self.name})", args=(
            self._queue_names, self._connection_class, self._pool_class, self._pool_kwargs,
            self.threads, burst, logging_level))


def _run_process(queue_names, connection_class, pool_class, pool_kwargs, threads, burst, logging_level):
    from redis import ConnectionPool

    # every worker thread blocks on its own connection while idle, and a job uses more (locks,
    # enqueues): redis-py's default of 100 connections per pool is too few for many threads
    pool_kwargs = {**pool_kwargs, "max_connections": max(pool_kwargs.get("max_connections") or 0,
                                                          4 * threads + 20)}
    connection = connection_class(connection_pool=ConnectionPool(connection_class=pool_class, **pool_kwargs))
    from app.jobs.context import _worker_app

    warm_up()
    run_threads(queue_names, connection, threads, burst=burst, logging_level=logging_level,
                **recovery_settings(_worker_app().config))


def recovery_settings(config) -> dict:
    """run_threads' recovery arguments from the app's settings."""
    return {"job_ttl": int(config["JOB_HEARTBEAT_TTL_SECONDS"]),
            "sweep_every": float(config["SWEEP_EVERY_SECONDS"]) or None}


def warm_up() -> None:
    """Get a new worker process ready before it takes jobs: its database pool opened to its
    kept size, the modules a reply uses imported, the sentiment lexicon loaded.

    Otherwise the first jobs pay for all of it at once, on every thread, just when a
    process (re)started, and under load that is when replies are already waiting."""
    from app.jobs.context import _worker_app

    app = _worker_app()  # after fork: the parent's pool is let go here
    with app.app_context():
        from app.ai import scoring
        from app.extensions import db
        from app.services import replies, webhook_events  # noqa: F401  (imported once, here)

        scoring.sentiment(["warm"])
        size = db.engine.pool.size() if hasattr(db.engine.pool, "size") else 0
        opened = []
        try:
            opened.extend(db.engine.connect() for _ in range(size))
        except Exception as exc:  # the database is down: jobs open connections when it is back
            log.warning("worker warm-up could not open the database pool: %s", exc)
        finally:
            for conn in opened:
                conn.close()  # back into the pool, which keeps it open
    # Everything loaded so far (the app, its modules and mappers, the pool) lives as long as
    # the process: out of the collector's sight, a full collection no longer walks it. Each
    # one did, holding the GIL for about 250 ms, so every thread of the process stalled; in
    # the reply benchmark they were half the time the collector took.
    gc.freeze()
