"""Workers that run several jobs at once on threads (`flask worker -t N`), and the reply
debounce counted from a message's arrival (`not_before`)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Channel, Direction, Message, utcnow
from tests import meta_payloads as mp
from tests.test_workers import ai_replies  # AI replies per conversation
from tests.conftest import DATABASE_URL, REDIS_URL, spawn_worker, wait_for
from tests.graph_stub import GraphStub

ROOT = Path(__file__).resolve().parent.parent
PAGE = "page-A"
needs_redis = pytest.mark.skipif(REDIS_URL is None, reason="needs Redis (REDIS_URL)")


def threaded_worker(stub: GraphStub, *args: str, job_timeout: int = 120, debounce: float = 0):
    env = {**os.environ, "CLOSER_ENV": "testing", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
           "GRAPH_API_BASE": stub.base_url, "JOB_TIMEOUT": str(job_timeout),
           "REPLY_DEBOUNCE_SECONDS": str(debounce)}
    return spawn_worker([sys.executable, "-m", "flask", "--app", "run", "worker", *args], cwd=ROOT,
                        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@needs_redis
def test_threaded_workers_answer_bursts_once_and_concurrently(app, world, post_meta):
    customers = [f"psid-thread-{i}" for i in range(6)]
    for n in range(3):  # three fragments per customer, interleaved
        items = [mp.text(c, PAGE, f"m_{c}_{n}", f"fragment {n}", offset_s=n * 0.01 - 5) for c in customers]
        assert post_meta(mp.messenger(PAGE, *items)).status_code == 200
    with GraphStub(send_delay=1.0) as stub:
        proc = threaded_worker(stub, "--burst", "-n", "2", "-t", "4")
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out[-3000:]
    replies = ai_replies(app)
    assert len(replies) == len(customers) and set(replies.values()) == {1}
    assert sorted(s["recipient"]["id"] for s in stub.sends) == sorted(customers)
    # six sends of 1 s each on 8 threads overlap: one after another they'd span 5 s or more
    answered = sorted(at for at, _ in stub.sent_log)
    assert answered[-1] - answered[0] < 4.0, answered
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message).where(
            Message.direction == Direction.IN, Message.handled_at.is_(None))) == 0


@needs_redis
def test_an_idle_threaded_pool_stops_soon_after_sigterm(app):
    """RQ's wait for a job retries forever; the thread worker looks up for a stop request
    between waits, so a warm shutdown of idle threads ends (and leaves no scheduler behind)."""
    import signal

    with GraphStub() as stub:
        from rq import Worker

        redis = app.extensions["redis"]
        proc = threaded_worker(stub, "-n", "2", "-t", "8")
        try:  # whatever fails, no worker outlives the test (it would take the next tests' jobs)
            wait_for(lambda: Worker.count(connection=redis) >= 16, 60, "the threads to wait on Redis")
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
        finally:
            os.killpg(proc.pid, signal.SIGKILL) if proc.poll() is None else None
    assert time.monotonic() - started < 15, out[-3000:]
    left = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert left == [], f"processes left behind: {left}"


@needs_redis
def test_job_timeout_interrupts_a_job_on_a_worker_thread(app, world, post_meta, monkeypatch):
    """SIGALRM can't reach a thread: the timeout is raised in the job's thread instead."""
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry

    monkeypatch.setitem(app.config, "JOB_TIMEOUT", 3)  # what the answer job is queued with
    assert post_meta(mp.messenger(PAGE, mp.text("psid-slow", PAGE, "m_slow", "hello?"))).status_code == 200
    queue = app.extensions["job_queues"]["high"]  # answers go where deliveries go
    with GraphStub(get_delay=8) as stub:  # the profile lookup hangs past the job timeout
        started = time.monotonic()
        proc = threaded_worker(stub, "--burst", "-t", "2", job_timeout=3)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out[-3000:]
        assert stub.gets and stub.sends == [], out[-4000:]
    assert "JobTimeoutException" in out and time.monotonic() - started < 60
    # the job failed and waits for its retry (RQ's Retry), nothing was half-done
    waiting = ScheduledJobRegistry(queue=queue).get_job_ids() + FailedJobRegistry(queue=queue).get_job_ids()
    assert any(j.startswith("inbound-") for j in waiting), waiting
    with app.app_context():
        assert db.session.scalar(select(Message.handled_at).filter_by(external_id="m_slow")) is None
        db.session.remove()
    assert ai_replies(app) == {}


def test_not_before_queues_at_once_on_rq_and_the_job_waits(app):
    from rq.registry import ScheduledJobRegistry

    from app.jobs import enqueue

    due = time.time() + 0.4
    with app.app_context():
        job_id = enqueue("app.jobs.knowledge.chunk_document", 1, tenant_id=1, job_id="nb-1", not_before=due)
        queue = app.extensions["job_queue"]
        job = queue.fetch_job(job_id)
        # ready at once (RQ's scheduler would round to whole seconds), carrying its start time
        assert queue.count == 1 and ScheduledJobRegistry(queue=queue).count == 0
        assert job.kwargs == {"tenant_id": 1, "not_before": due}


def test_job_waits_until_not_before_then_runs(app, world):
    from app.jobs.knowledge import chunk_document

    started = time.monotonic()
    with app.app_context():
        assert chunk_document(123456, tenant_id=world.a.tenant_id, not_before=time.time() + 0.3) == 0
    assert time.monotonic() - started >= 0.29
    started = time.monotonic()
    with app.app_context():  # a start time long past (a retry, the sweep): no wait at all
        chunk_document(123456, tenant_id=world.a.tenant_id, not_before=time.time() - 60)
    assert time.monotonic() - started < 0.2


def test_debounce_counts_from_arrival_not_from_ingest(app, monkeypatch):
    """A message that reached the webhook 0.8 s ago waits ~0.2 s more, not another full window."""
    from app.jobs.inbound import queue_answers

    monkeypatch.setitem(app.config, "REPLY_DEBOUNCE_SECONDS", 1.0)
    arrived = utcnow() - timedelta(seconds=0.8)
    with app.app_context():
        assert queue_answers([(987654, 1)], arrived) == 1
        job = app.extensions["job_queues"]["high"].fetch_job("inbound-987654")  # with deliveries
    assert abs(job.kwargs["not_before"] - (arrived.timestamp() + 1.0)) < 0.01


@needs_redis
def test_a_delivery_job_answers_its_own_message_and_bursts_still_merge(app, world, post_meta):
    """A one-message delivery is answered by the job that stored it (no answer job is
    queued); fragments of one customer, each in its own delivery, still get one reply."""
    import signal

    from rq import Worker

    from app.jobs import QUEUE_NAMES

    with app.app_context():  # checked just now: the periodic health check leaves the stub to the replies
        db.session.execute(update(Channel).values(token_checked_at=utcnow()))
        db.session.commit()
        db.session.remove()
    redis = app.extensions["redis"]
    queues = [app.extensions["job_queues"][name] for name in QUEUE_NAMES]
    with GraphStub() as stub:
        # The window counts from each message's arrival at the webhook. The deliveries are
        # posted once the worker's threads wait on Redis, so they are stored within
        # milliseconds, well inside the window, however long the worker took to start (a
        # window that had passed before a fragment was stored would rightly make it a new
        # burst, and the test would measure the machine's load).
        proc = threaded_worker(stub, "-n", "1", "-t", "6", debounce=3.0)
        try:
            wait_for(lambda: Worker.count(connection=redis) >= 6, 60, "the threads to wait on Redis")
            posted = time.monotonic()
            post_meta(mp.messenger(PAGE, mp.text("psid-solo", PAGE, "m_solo", "hello?")), process=False)
            for n in range(3):
                post_meta(mp.messenger(PAGE, mp.text("psid-frag", PAGE, f"m_frag_{n}", f"part {n}")),
                          process=False)

            def settled() -> bool:
                if any(q.count or q.started_job_registry.count for q in queues):
                    return False
                with app.app_context():
                    try:
                        return db.session.scalar(select(func.count()).select_from(Message).where(
                            Message.direction == Direction.IN, Message.external_id.like("m_%"),
                            Message.handled_at.is_(None))) == 0 and len(stub.sends) >= 2
                    finally:
                        db.session.remove()

            wait_for(settled, 90, "every message to be answered and the queues to empty")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, _ = proc.communicate(timeout=30)
    assert sorted(s["recipient"]["id"] for s in stub.sends) == ["psid-frag", "psid-solo"], out[-6000:]
    assert min(at for at, _ in stub.sent_log) - posted >= 2.9  # each answer waited out the window
    assert set(ai_replies(app).values()) == {1}
    assert "process_meta_events" in out and "handle_inbound" not in out  # RQ logs each job it runs


def test_background_queue_gets_one_thread_in_eight():
    from app.jobs import QUEUE_NAMES
    from app.jobs.threads import queues_for_next

    running: list[list[str]] = []
    for _ in range(40):
        running.append(queues_for_next(QUEUE_NAMES, running, 40))
    assert sum(names == QUEUE_NAMES for names in running) == 5  # the rest skip the low queue
    assert all(names[:2] == QUEUE_NAMES[:2] for names in running)  # replies: every thread
    assert queues_for_next(QUEUE_NAMES, [], 1) == QUEUE_NAMES  # a lone thread does everything
    assert queues_for_next(QUEUE_NAMES, [QUEUE_NAMES], 1) == QUEUE_NAMES[:-1]


@needs_redis
def test_a_job_held_by_a_killed_worker_process_is_taken_up_again(app, world, post_meta):
    """SIGKILL the process of a threaded pool that holds a reply mid-flight: the pool starts
    another, and the job goes back to the running workers within seconds (the other
    process's heartbeat finds its holder dead and hands it to RQ's abandoned-job handling),
    which answer once."""
    import signal

    from rq import Worker
    from rq.job import Job
    from rq.registry import StartedJobRegistry

    assert post_meta(mp.messenger(PAGE, mp.text("psid-gone", PAGE, "m_gone", "hello?"))).status_code == 200
    with app.app_context():  # checked just now: the periodic health check leaves the stub to the reply
        db.session.execute(update(Channel).values(token_checked_at=utcnow()))
        db.session.commit()
        db.session.remove()
    queue = app.extensions["job_queues"]["high"]
    redis = app.extensions["redis"]
    with GraphStub(get_delay=30) as stub:  # the profile lookup hangs: the job is mid-flight
        proc = threaded_worker(stub, "-n", "2", "-t", "2", job_timeout=6)
        try:
            wait_for(lambda: stub.gets, 60, "the job to start")
            held = StartedJobRegistry(queue=queue).get_job_ids()
            assert len(held) == 1, held
            job = Job.fetch(held[0], connection=redis, serializer=queue.serializer)
            holder = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name,
                                        connection=redis)
            stub.get_delay = 0
            os.kill(holder.pid, signal.SIGKILL)
            killed = time.monotonic()
            wait_for(lambda: stub.sends, 30, "the reply")
            assert time.monotonic() - killed < 15
            children = lambda: subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                              text=True).stdout.split()
            wait_for(lambda: len(children()) == 2 and str(holder.pid) not in children(), 30,
                     "the pool to replace the killed process")
            with app.app_context():
                wait_for(lambda: db.session.scalar(select(Message.handled_at).filter_by(
                    external_id="m_gone")) is not None, 30, "the message to be answered")
                db.session.remove()
        finally:
            # Shutting down is not what this test is about (see the idle-pool test): a job the
            # sweep queued meanwhile (a channel health check against this stub) may still run.
            proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            finally:
                try:  # whatever of its process group is left
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.communicate(timeout=30)
    assert [s["recipient"]["id"] for s in stub.sends] == ["psid-gone"]
    assert list(ai_replies(app).values()) == [1]
