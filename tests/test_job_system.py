"""The job system as it behaves through RQ's public API, on Redis or on the embedded default's
in-memory Redis: what a finished or failed job leaves, the scheduler running delayed jobs on
worker threads, a dead worker thread replaced, and the RQ release the worker code was checked
against."""
from __future__ import annotations

import threading
import time

import pytest
import rq
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from app.jobs import HIGH_QUEUE, LOW_QUEUE, QUEUE_NAMES, enqueue, job_pending
from app.jobs.threads import RQ_CHECKED, ThreadWorker, run_threads
from tests.conftest import wait_for

RAN: list[tuple[str, float]] = []  # what `record` was called with, and when (same process)


def record(name: str) -> str:
    RAN.append((name, time.time()))
    return name


def fails(x):
    raise ValueError(f"no {x}")


@pytest.fixture
def queues(app):
    RAN.clear()
    return app.extensions["job_queues"]


def burst(queue: Queue) -> None:
    ThreadWorker([queue.name], connection=queue.connection, serializer=JSONSerializer).work(
        burst=True, logging_level="WARNING")


def test_rq_is_the_release_the_worker_code_was_checked_against():
    assert rq.__version__ == RQ_CHECKED, (
        f"RQ {rq.__version__} is installed, app/jobs/threads.py was checked against {RQ_CHECKED}: "
        "re-check ThreadWorker's overrides (dequeue_job_and_maintain_ttl, heartbeat, set_state, "
        "_install_signal_handlers, _stop_requested) and SchedulerThread's use of RQScheduler "
        "against the new release, run tests/test_thread_workers.py and tests/test_workers.py on "
        "Redis, then update RQ_CHECKED")


def test_a_finished_high_queue_job_leaves_nothing_pending(app, queues):
    with app.app_context():
        enqueue(f"{__name__}.record", "done", job_id="lean-1", queue=HIGH_QUEUE)
        assert job_pending("lean-1")
    burst(queues[HIGH_QUEUE])
    assert [name for name, _ in RAN] == ["done"]
    with app.app_context():
        assert not job_pending("lean-1")
    with pytest.raises(NoSuchJobError):  # no result kept on the high queue
        Job.fetch("lean-1", connection=queues[HIGH_QUEUE].connection, serializer=JSONSerializer)
    assert queues[HIGH_QUEUE].count == 0 and StartedJobRegistry(queue=queues[HIGH_QUEUE]).count == 0
    with app.app_context():  # the id is free again
        enqueue(f"{__name__}.record", "again", job_id="lean-1", queue=HIGH_QUEUE)
    assert queues[HIGH_QUEUE].count == 1


def test_a_failing_job_is_retried_then_kept_as_failed(queues):
    q = queues[HIGH_QUEUE]
    job = q.enqueue(f"{__name__}.fails", "luck", result_ttl=0, retry=Retry(max=1), failure_ttl=600)
    burst(q)  # the first attempt fails, the retry (no interval) is queued again and fails
    job = Job.fetch(job.id, connection=q.connection, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.FAILED and job.retries_left == 0
    assert FailedJobRegistry(queue=q).count == 1
    assert "no luck" in job.latest_result().exc_string


def test_jobs_of_other_queues_keep_their_result(queues):
    q = queues[LOW_QUEUE]
    job = q.enqueue("builtins.len", [1, 2], result_ttl=600)
    burst(q)
    job = Job.fetch(job.id, connection=q.connection, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == 2


def test_run_jobs_runs_what_is_due_and_leaves_later_jobs_scheduled(app, queues, run_jobs):
    with app.app_context():
        enqueue(f"{__name__}.record", "soon", delay=30)
        enqueue(f"{__name__}.record", "later", delay=600)
    run_jobs()
    assert RAN == []
    run_jobs(ahead=60)
    assert [name for name, _ in RAN] == ["soon"]


def _workers(app, stop: threading.Event, **kwargs) -> threading.Thread:
    thread = threading.Thread(target=run_threads, args=(QUEUE_NAMES, app.extensions["redis"], 2),
                              kwargs={"stop": stop, "logging_level": "WARNING", **kwargs}, daemon=True)
    thread.start()
    return thread


def test_the_scheduler_runs_a_delayed_job_once_when_due(app, queues):
    """Real worker threads with RQ's scheduler beside them, as `flask worker -t` and the
    embedded default run them."""
    stop = threading.Event()
    thread = _workers(app, stop)
    try:
        with app.app_context():
            queued = time.time()
            enqueue(f"{__name__}.record", "delayed", job_id="delayed-1", delay=1)
        assert RAN == []  # scheduled, not queued
        wait_for(lambda: RAN, 15, "the delayed job")
        with app.app_context():
            wait_for(lambda: not job_pending("delayed-1"), 5, "the job to finish")
    finally:
        stop.set()
        thread.join(30)
    assert [name for name, _ in RAN] == ["delayed"]
    assert RAN[0][1] >= int(queued) + 1  # not before it was due (RQ counts whole seconds)
    assert not thread.is_alive()


class DiesAfterEachJob(ThreadWorker):
    """A worker whose thread ends with an error after each job, as a bug or a lost
    connection outside any job would end it."""

    def execute_job(self, job, queue):
        super().execute_job(job, queue)
        raise RuntimeError("this worker thread dies")


def test_a_worker_thread_that_dies_is_replaced(app, queues):
    stop = threading.Event()
    thread = _workers(app, stop, worker_class=DiesAfterEachJob, with_scheduler=False)
    try:
        with app.app_context():
            for n in range(5):  # more jobs than threads: each thread dies after one
                enqueue(f"{__name__}.record", f"job-{n}")
        wait_for(lambda: len(RAN) == 5, 30, "every job, each on a fresh thread")
    finally:
        stop.set()
        thread.join(30)
    assert sorted(name for name, _ in RAN) == [f"job-{n}" for n in range(5)]
    assert not thread.is_alive()


def test_a_new_worker_process_opens_its_pool_before_its_first_job(app):
    from app.extensions import db
    from app.jobs import context
    from app.jobs.threads import warm_up

    previous = (context._app, context._pid)
    context.set_worker_app(app)
    try:
        with app.app_context():
            if not hasattr(db.engine.pool, "size"):
                pytest.skip("this database's pool keeps no connections")
            db.engine.dispose()
            warm_up()
            assert db.engine.pool.checkedin() == db.engine.pool.size()
        import gc

        assert gc.get_freeze_count() > 100_000  # what was loaded is out of the collector's way
    finally:
        import gc

        gc.unfreeze()
        context._app, context._pid = previous


def test_warm_up_with_the_database_down_leaves_the_worker_running(tmp_path):
    from app import create_app
    from app.jobs import context
    from app.jobs.threads import warm_up
    from tests.conftest import make_config

    cfg = make_config()
    cfg.SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://postgres@127.0.0.1:9/closer_down?connect_timeout=1"
    down = create_app(cfg)
    previous = (context._app, context._pid)
    context.set_worker_app(down)
    try:
        warm_up()  # logs a warning; the jobs open connections once the database is back
    finally:
        context._app, context._pid = previous
