"""Recovery that fits the load: the default worker runs many jobs at once, and a killed
worker's conversation locks, jobs and scheduler locks are taken up within seconds, not minutes.

The units (RQ's registries, the lock keeper, the sweep) run on Redis or the in-memory one; the
killed-process tests need real Redis (REDIS_URL): separate processes, SIGKILLed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from rq import Queue, Retry
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import HIGH_QUEUE, QUEUE_NAMES
from app.jobs.threads import ThreadWorker
from app.jobs.liveness import ALIVE_KEY, BEATING_KEY, is_dead, process_name
from app.jobs.recovery import Executions, free_dead_scheduler_locks, reap_abandoned
from app.models import Direction, Message
from app.services.locks import Busy, conversation_lock, keeper
from tests import meta_payloads as mp
from tests.conftest import DATABASE_URL, REDIS_URL, wait_for
from tests.graph_stub import GraphStub

ROOT = Path(__file__).resolve().parent.parent
PAGE = "page-A"
needs_redis = pytest.mark.skipif(REDIS_URL is None, reason="needs Redis (REDIS_URL): separate processes")


def _env(**extra) -> dict:
    return {**os.environ, "CLOSER_ENV": "testing", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL or "",
            **{k: str(v) for k, v in extra.items()}}


def _started(queue: Queue, job: Job, ttl: int, worker: str = "gone") -> Execution:
    """RQ's bookkeeping of a job a worker has just started, its entry expiring in `ttl` s."""
    with queue.connection.pipeline() as pipe:
        execution = Execution.create(job, ttl, pipeline=pipe, worker_name=worker)
        job.set_status(JobStatus.STARTED, pipeline=pipe)
        pipe.execute()
    queue.connection.lrem(queue.key, 0, job.id)  # a worker took it off the queue
    return execution


# ------------------------------------------------------------------ defaults


def test_the_worker_runs_forty_jobs_at_once_by_default(app):
    from config import Config

    assert Config.WORKER_THREADS == 40
    result = app.test_cli_runner().invoke(args=["worker", "--help"])
    assert "WORKER_THREADS (40)" in result.output
    # and the recovery that fits it: seconds, not minutes
    assert Config.CONVERSATION_LOCK_TTL_SECONDS == 15 and Config.JOB_HEARTBEAT_TTL_SECONDS == 15
    assert Config.SWEEP_EVERY_SECONDS == 10 and Config.SWEEP_AFTER_SECONDS == 15


@needs_redis
def test_flask_worker_with_no_flags_starts_forty_job_threads(app):
    from rq import Worker

    redis = app.extensions["redis"]
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "run", "worker"], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for(lambda: Worker.count(connection=redis) >= 40, 60, "forty worker threads")
        time.sleep(1)
        assert Worker.count(connection=redis) == 40
        assert {w.pid for w in Worker.all(connection=redis)} == {proc.pid}  # one process
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)


# ------------------------------------------------------------------ conversation locks


@pytest.fixture
def restore_config(app):
    saved = dict(app.config)
    yield
    app.config.update(saved)


def test_a_live_holder_keeps_its_lock_past_the_ttl(app, restore_config):
    app.config["CONVERSATION_LOCK_TTL_SECONDS"] = 2.0
    try:
        with app.app_context():
            with conversation_lock(901):
                time.sleep(5)  # two and a half TTLs: renewed meanwhile
                with pytest.raises(Busy):
                    with conversation_lock(901, wait=0.2):
                        pass
                ttl = app.extensions["redis"].pttl("closer:lock:conversation:901")
                assert 0 < ttl <= 2000
            with conversation_lock(901, wait=0):  # released at once when done
                pass
    finally:
        pass
    assert keeper.held() == 0


def test_a_holder_stuck_past_the_job_timeout_loses_its_lock(app, restore_config):
    app.config.update(CONVERSATION_LOCK_TTL_SECONDS=1.0, JOB_TIMEOUT=1)
    with app.app_context():
        with conversation_lock(902):
            time.sleep(4)  # past JOB_TIMEOUT + TTL: no longer renewed
            started = time.monotonic()
            with conversation_lock(902, wait=5):  # another job gets it
                assert time.monotonic() - started < 2


@needs_redis
def test_a_lock_held_by_a_killed_process_is_taken_over_at_once(app, restore_config):
    """Same machine: the waiting job sees the holder's process is gone (app.jobs.liveness)
    and takes the lock over without waiting out its TTL; a living holder keeps it renewed."""
    script = textwrap.dedent("""
        import time
        from app import create_app
        from app.services.locks import conversation_lock
        app = create_app()
        with app.app_context(), conversation_lock(903):
            print("held", flush=True)
            time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=_env(CONVERSATION_LOCK_TTL_SECONDS=2),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with app.app_context():
            time.sleep(3)  # longer than the TTL: the living holder renews it
            with pytest.raises(Busy):
                with conversation_lock(903, wait=0.5):
                    pass
            proc.kill()
            killed = time.monotonic()
            with conversation_lock(903, wait=20):
                taken_after = time.monotonic() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
    assert taken_after <= 1.0, taken_after


def _remote(pid: int = 4242) -> str:
    """The name of a worker process on another machine."""
    return f"closer-ffffffffff-{pid}-12345"


def test_a_lock_held_on_another_machine_is_taken_over_once_its_heartbeat_lapses(app):
    redis = app.extensions["redis"]
    key = "closer:lock:conversation:904"
    with app.app_context():
        redis.set(key, f"{_remote()}.token", px=60_000)
        redis.set(BEATING_KEY.format(_remote()), 1)
        redis.set(ALIVE_KEY.format(_remote()), 1, ex=60)
        with pytest.raises(Busy):  # alive over there
            with conversation_lock(904, wait=0.3):
                pass
        redis.delete(ALIVE_KEY.format(_remote()))  # its heartbeat stopped
        with conversation_lock(904, wait=0.3):
            pass
        # a holder that runs no heartbeat (a one-off script) is left to the lock's TTL
        redis.set(key, f"{_remote(77)}.token", px=60_000)
        with pytest.raises(Busy):
            with conversation_lock(904, wait=0.3):
                pass


def test_liveness_knows_this_process_and_a_finished_one(app):
    redis = app.extensions["redis"]
    assert not is_dead(redis, process_name())
    child = subprocess.run([sys.executable, "-c", "from app.jobs.liveness import process_name; "
                            "print(process_name())"], cwd=ROOT, capture_output=True, text=True, check=True)
    gone = child.stdout.strip()
    assert gone.rsplit("-", 2)[0] == process_name().rsplit("-", 2)[0]  # same machine
    assert is_dead(redis, gone)
    assert not is_dead(redis, "a-plain-rq-worker") and not is_dead(redis, _remote())


# ------------------------------------------------------------------ abandoned jobs


def test_an_abandoned_job_is_queued_again_at_once(app):
    queue = app.extensions["job_queues"][HIGH_QUEUE]
    job = queue.enqueue("builtins.len", [1], retry=Retry(max=3, interval=[10, 30, 60]), result_ttl=0)
    later = queue.enqueue("builtins.len", [2], result_ttl=0)
    execution = _started(queue, job, ttl=2)
    assert reap_abandoned(queue.connection, QUEUE_NAMES) == []  # its worker may still be alive
    queue.connection.delete(execution.key)  # its record lapsed with the dead worker
    assert reap_abandoned(queue.connection, QUEUE_NAMES, now=time.time() + 3) == [job.id]
    job = Job.fetch(job.id, connection=queue.connection, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.QUEUED and job.retries_left == 2
    assert queue.job_ids == [job.id, later.id]  # ahead of newer work: interrupted, not failing
    assert job.id not in StartedJobRegistry(queue=queue)
    # the re-run succeeds and leaves nothing behind (the dead execution is not looked up)
    ThreadWorker([queue.name], connection=queue.connection, serializer=JSONSerializer).work(
        burst=True, logging_level="WARNING")
    assert not Job.exists(job.id, connection=queue.connection)
    assert FailedJobRegistry(queue=queue).count == 0


def test_a_job_of_a_dead_process_is_taken_up_before_its_entry_expires(app):
    queue = app.extensions["job_queues"][HIGH_QUEUE]
    dead = process_name().rsplit("-", 2)[0] + "-999999999-1"
    lost = queue.enqueue("builtins.len", [1], retry=Retry(max=3))
    alive = queue.enqueue("builtins.len", [2], retry=Retry(max=3))
    for job, worker in ((lost, f"{dead}.abc"), (alive, f"{process_name()}.def")):
        _started(queue, job, ttl=60, worker=worker)
        # the job itself may still name a previous, dead worker: the execution counts
        queue.connection.hset(job.key, "worker_name", f"{dead}.old")
    assert reap_abandoned(queue.connection, QUEUE_NAMES) == [lost.id]
    assert alive.id in StartedJobRegistry(queue=queue) and lost.id not in StartedJobRegistry(queue=queue)


def test_an_abandoned_job_without_retries_goes_to_the_failed_registry(app):
    queue = app.extensions["job_queues"][HIGH_QUEUE]
    job = queue.enqueue("builtins.len", [1])
    _started(queue, job, ttl=2)
    assert reap_abandoned(queue.connection, QUEUE_NAMES, now=time.time() + 3) == []
    assert job.id in FailedJobRegistry(queue=queue) and queue.count == 0


def test_a_running_jobs_entry_is_renewed_while_its_process_lives(app):
    queue = app.extensions["job_queues"][HIGH_QUEUE]
    job = queue.enqueue("builtins.len", [1], retry=Retry(max=3))
    execution = _started(queue, job, ttl=2)
    running = Executions(ttl=30)
    running.add(object(), execution, job)
    running.renew(queue.connection)
    assert reap_abandoned(queue.connection, QUEUE_NAMES, now=time.time() + 20) == []
    assert job.id in StartedJobRegistry(queue=queue)
    assert queue.connection.ttl(execution.key) > 20


def test_the_worker_threads_keep_a_slow_jobs_entry_short_and_renewed(app):
    """`run_threads` with a 2-second job heartbeat runs a 5-second job once: its entry never
    lapses while the process lives, and it is gone when the job ends."""
    from app.jobs.threads import run_threads

    queue = app.extensions["job_queues"][HIGH_QUEUE]
    job = queue.enqueue("time.sleep", 5, retry=Retry(max=3), job_timeout=60)
    stop = threading.Event()
    thread = threading.Thread(target=run_threads, args=(QUEUE_NAMES, queue.connection, 2), daemon=True,
                              kwargs={"stop": stop, "logging_level": "WARNING", "job_ttl": 2,
                                      "with_scheduler": False})
    thread.start()
    try:
        registry = StartedJobRegistry(queue=queue)
        wait_for(lambda: job.id in registry, 15, "the job to start")
        (_, expiry), = queue.connection.zrange(registry.key, 0, -1, withscores=True)
        assert expiry - time.time() <= 2.5  # not RQ's job timeout + 60 s
        time.sleep(3.5)  # past the first expiry: renewed by the heartbeat, never reaped
        assert job.id in registry
        wait_for(lambda: Job.fetch(job.id, connection=queue.connection, serializer=JSONSerializer)
                 .get_status() == JobStatus.FINISHED, 15, "the job to finish")
    finally:
        stop.set()
        thread.join(30)
    assert job.id not in registry
    assert Job.fetch(job.id, connection=queue.connection, serializer=JSONSerializer).retries_left == 3


def test_a_dead_processs_scheduler_locks_are_freed_and_no_one_elses(app):
    redis = app.extensions["redis"]
    dead = process_name().rsplit("-", 2)[0] + "-999999999-1"  # this machine, no such process
    redis.set("rq:scheduler-lock:high", dead)
    redis.set("rq:scheduler-lock:default", process_name())
    redis.set("rq:scheduler-lock:low", "a-plain-rq-scheduler")
    keys = ["rq:scheduler-lock:high", "rq:scheduler-lock:default", "rq:scheduler-lock:low"]
    assert free_dead_scheduler_locks(redis, keys) == 1
    assert [redis.get(k) for k in keys] == [None, process_name().encode(), b"a-plain-rq-scheduler"]


@needs_redis
def test_a_job_of_a_killed_worker_is_rerun_within_seconds(app, world, post_meta):
    """Two worker processes; the one answering a customer is SIGKILLed mid reply (its
    profile lookup hangs). The other takes the job up and answers once, within seconds: the
    dead process's started entry and conversation lock are known lost at once."""
    from rq import Worker

    redis = app.extensions["redis"]
    assert post_meta(mp.messenger(PAGE, mp.text("psid-kill", PAGE, "m_kill", "hello?"))).status_code == 200
    with GraphStub(get_delay=60) as stub:
        env = _env(GRAPH_API_BASE=stub.base_url)
        procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "run", "worker", "-t", "4"],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, start_new_session=True) for _ in range(2)]
        try:
            wait_for(lambda: stub.gets, 60, "the answer job to start")
            stub.get_delay = 0  # the re-run's lookup answers
            queue = app.extensions["job_queues"][HIGH_QUEUE]
            (job_id, execution_id), = StartedJobRegistry(queue=queue).get_job_and_execution_ids()
            holder = Execution.fetch(execution_id, job_id, connection=redis).worker_name
            victim = next(p for p in procs if p.pid == Worker.find_by_key(
                f"rq:worker:{holder}", connection=redis).pid)
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(timeout=10)
            killed = time.monotonic()
            wait_for(lambda: stub.sends, 45, "the other worker to answer")
            answered_after = time.monotonic() - killed
            time.sleep(2)  # nothing more comes
        finally:
            for p in procs:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGTERM)
            for p in procs:
                p.communicate(timeout=30)
    assert [s["recipient"]["id"] for s in stub.sends] == ["psid-kill"]
    assert answered_after < 8, answered_after  # found dead within a second or two; then the reply
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message).where(
            Message.direction == Direction.OUT)) == 1


# ------------------------------------------------------------------ the sweep


def test_the_sweep_replaces_a_failed_answer_job(app, world, post_meta, run_jobs, graph, restore_config):
    """A message whose answer job failed (kept a week by RQ) is still answered by the sweep:
    the failed job of the same id no longer blocks it."""
    from app.jobs import enqueue
    from app.services.sweep import sweep

    assert post_meta(mp.messenger(PAGE, mp.text("psid-swept", PAGE, "m_sw", "hello?"))).status_code == 200
    app.extensions["redis"].flushdb()  # its answer job is lost with the queue
    with app.app_context():
        mid = db.session.scalar(select(Message.id).filter_by(external_id="m_sw"))
        enqueue("builtins.int", "not a number", job_id=f"inbound-{mid}", retry=False, queue=HIGH_QUEUE)
    run_jobs()  # fails: the failed job keeps the id
    queue = app.extensions["job_queues"][HIGH_QUEUE]
    assert f"inbound-{mid}" in FailedJobRegistry(queue=queue)
    app.config["SWEEP_AFTER_SECONDS"] = 0
    with app.app_context():
        assert sweep().inbound == 1
        assert sweep().inbound == 0  # queued and pending: not twice
    run_jobs()
    assert [s["recipient"]["id"] for s in graph.sends()] == ["psid-swept"]


def test_the_sweep_is_queued_once_per_period(app):
    from app.jobs.queueing import queue_sweep

    queue = app.extensions["job_queues"][HIGH_QUEUE]
    with app.app_context():
        period = int(time.time() // app.config["SWEEP_EVERY_SECONDS"])
        queue_sweep()
        queue_sweep()  # another process's heartbeat in the same period
    ids = [i for i in queue.job_ids if i.startswith("sweep-")]
    assert len(ids) == 1 and int(ids[0].split("-")[1]) in (period, period + 1)


def test_the_sweep_replaces_an_answer_job_a_dying_worker_took_off_the_queue(
        app, world, post_meta, run_jobs, graph, restore_config):
    """RQ still says QUEUED, but the job is on no queue and in no registry: a worker popped it
    and died before recording it as started. The sweep queues it again."""
    from app.services.sweep import sweep

    assert post_meta(mp.messenger(PAGE, mp.text("psid-popped", PAGE, "m_pop", "hello?"))).status_code == 200
    queue = app.extensions["job_queues"][HIGH_QUEUE]
    with app.app_context():
        mid = db.session.scalar(select(Message.id).filter_by(external_id="m_pop"))
    assert queue.job_ids == [f"inbound-{mid}"]
    assert queue.connection.lpop(queue.key).decode() == f"inbound-{mid}"  # the dying worker's pop
    app.config["SWEEP_AFTER_SECONDS"] = 0
    with app.app_context():
        assert sweep().inbound == 1
    run_jobs()
    assert [s["recipient"]["id"] for s in graph.sends()] == ["psid-popped"]


def test_a_send_that_fails_again_is_retried_within_seconds(app):
    """Its customer is waiting: the send job backs off seconds, not RQ's minute."""
    from app.jobs.queueing import queue_send

    queue = app.extensions["job_queues"]["default"]
    with app.app_context():
        queue_send(4321, 1)
    job = Job.fetch("send-4321", connection=queue.connection, serializer=JSONSerializer)
    assert job.retry_intervals == [3, 10, 30] and job.retries_left == app.config["JOB_RETRIES"]
