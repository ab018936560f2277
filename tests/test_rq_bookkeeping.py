"""The thread worker's lean bookkeeping for high-queue jobs: a finished job leaves nothing in
Redis, a failing one is still retried and then kept as failed, and other queues keep RQ's own
handling (results kept, registries)."""
from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from app.jobs import HIGH_QUEUE, LOW_QUEUE
from app.jobs.threads import ThreadWorker
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.skipif(REDIS_URL is None, reason="needs Redis (REDIS_URL)")


def fails(x):
    raise ValueError(f"no {x}")


def queue(name: str) -> Queue:
    return Queue(name, connection=Redis.from_url(REDIS_URL), serializer=JSONSerializer)


def run_burst(*names: str) -> ThreadWorker:
    worker = ThreadWorker(list(names), connection=Redis.from_url(REDIS_URL), serializer=JSONSerializer)
    worker.work(burst=True, logging_level="WARNING")
    return worker


def rq_keys(redis: Redis, job_id: str) -> list[bytes]:
    """Every key that still names the job (its hash, executions, registries' entries)."""
    keys = [k for k in redis.scan_iter(f"*{job_id}*")]
    for registry in redis.scan_iter("rq:wip:*"):  # the started registry holds "<job>:<execution>"
        keys += [m for m in redis.zrange(registry, 0, -1) if job_id.encode() in m]
    return keys


def test_a_finished_high_queue_job_leaves_nothing_behind():
    q = queue(HIGH_QUEUE)
    jobs = [q.enqueue("builtins.len", [1, 2, 3], result_ttl=0) for _ in range(5)]
    worker = run_burst(HIGH_QUEUE)
    for job in jobs:
        assert rq_keys(q.connection, job.id) == []
    assert q.started_job_registry.count == 0 and q.finished_job_registry.count == 0
    assert len(q) == 0
    worker.refresh()
    assert worker.successful_job_count == 5 and worker.total_working_time > 0


def test_a_failing_high_queue_job_is_retried_then_kept_as_failed():
    q = queue(HIGH_QUEUE)
    job = q.enqueue(f"{__name__}.fails", "luck", result_ttl=0, retry=Retry(max=1), failure_ttl=600)
    run_burst(HIGH_QUEUE)  # first attempt fails, the retry (no interval) is queued again and fails
    job = Job.fetch(job.id, connection=q.connection, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.FAILED and job.retries_left == 0
    assert job.id in q.failed_job_registry.get_job_ids()
    assert "no luck" in job.latest_result().exc_string


def test_jobs_of_other_queues_keep_rq_s_own_handling():
    q = queue(LOW_QUEUE)
    job = q.enqueue("builtins.len", [1, 2], result_ttl=600)
    run_burst(LOW_QUEUE)
    job = Job.fetch(job.id, connection=q.connection, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == 2
    assert job.id in q.finished_job_registry.get_job_ids()


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
