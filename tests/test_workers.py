"""Real RQ worker processes on Redis: bursts get one reply each, and a worker killed mid-job
leaves nothing half-done: the re-run answers exactly once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Direction, Message, Sender
from tests import meta_payloads as mp
from tests.conftest import DATABASE_URL, REDIS_URL, spawn_worker, wait_for
from tests.graph_stub import GraphStub

pytestmark = pytest.mark.skipif(REDIS_URL is None, reason="needs Redis (REDIS_URL)")
ROOT = Path(__file__).resolve().parent.parent
PAGE = "page-A"


def worker(stub: GraphStub, *, burst=True, job_timeout=120):
    env = {**os.environ, "CLOSER_ENV": "testing", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
           "GRAPH_API_BASE": stub.base_url, "JOB_TIMEOUT": str(job_timeout)}
    args = [sys.executable, "-m", "flask", "--app", "run", "worker"] + (["--burst"] if burst else [])
    return spawn_worker(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def ai_replies(app):
    with app.app_context():
        rows = db.session.execute(select(Message.conversation_id, func.count()).where(
            Message.direction == Direction.OUT, Message.sender == Sender.AI,
        ).group_by(Message.conversation_id)).all()
        db.session.remove()
        return dict(rows)


def test_burst_from_many_customers_on_two_workers(app, world, post_meta):
    customers = [f"psid-burst-{i}" for i in range(6)]
    for n in range(4):  # four fragments per customer, interleaved like real traffic
        items = [mp.text(c, PAGE, f"m_{c}_{n}", f"fragment {n}", offset_s=n * 0.01 - 5) for c in customers]
        assert post_meta(mp.messenger(PAGE, *items)).status_code == 200
    with GraphStub(send_delay=0.05) as stub:
        procs = [worker(stub) for _ in range(2)]
        for p in procs:
            out, _ = p.communicate(timeout=120)
            assert p.returncode == 0, out[-3000:]
    replies = ai_replies(app)
    assert len(replies) == len(customers) and set(replies.values()) == {1}
    assert sorted(s["recipient"]["id"] for s in stub.sends) == sorted(customers)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message).where(
            Message.direction == Direction.IN, Message.handled_at.is_(None))) == 0


def test_worker_killed_mid_job_then_rerun_answers_once(app, world, post_meta):
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    assert post_meta(mp.messenger(PAGE, mp.text("psid-kill", PAGE, "m_kill", "hello?"))).status_code == 200
    queue = app.extensions["job_queues"]["high"]  # answers go where deliveries go
    with GraphStub(get_delay=30) as stub:  # the profile lookup hangs: the job is mid-flight
        proc = worker(stub, burst=False, job_timeout=6)
        wait_for(lambda: stub.gets, 60, "the job to start")
        # the work horse runs in its own session (RQ calls setsid): kill it and the worker
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        for pid in children:
            os.kill(int(pid), signal.SIGKILL)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert stub.sends == []
    assert ai_replies(app) == {}
    with app.app_context():
        assert db.session.scalar(select(Message.handled_at).filter_by(external_id="m_kill")) is None
        db.session.remove()
    # RQ's abandoned-job cleanup re-queues it (Retry); run it now instead of after the backoff
    StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + 3600)
    scheduled = ScheduledJobRegistry(queue=queue)
    for job_id in scheduled.get_job_ids():
        job = queue.fetch_job(job_id)
        scheduled.remove(job)
        queue.enqueue_job(job)
    assert queue.count >= 1
    # the dead worker's conversation lock expires with its job timeout
    redis = app.extensions["redis"]
    wait_for(lambda: not any(redis.scan_iter("closer:lock:conversation:*")), 15, "the lock to expire")
    with GraphStub() as stub:
        proc = worker(stub)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out[-3000:]
        with app.app_context():
            state = [(m.id, m.direction, m.status, m.error, m.handled_at) for m in db.session.scalars(
                select(Message).where(Message.external_id.is_(None) | (Message.external_id == "m_kill")))]
            db.session.remove()
        assert len(stub.sends) == 1 and stub.sends[0]["recipient"]["id"] == "psid-kill", state
    # running the same job once more changes nothing
    from app.jobs.inbound import handle_inbound

    with app.app_context():
        mid = db.session.scalar(select(Message.id).filter_by(external_id="m_kill"))
        assert handle_inbound(mid, tenant_id=world.a.tenant_id) == "already handled"
    assert list(ai_replies(app).values()) == [1]
