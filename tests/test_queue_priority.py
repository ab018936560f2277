"""Two queues: replies on the default queue, model ratings on a low-priority one that
workers drain only when the default queue is empty."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from app.jobs import LOW_QUEUE, QUEUE_NAME, enqueue
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.groq_fake import completion, fake_groq
from tests.test_groq_agent import ask

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(REDIS_URL is None, reason="needs Redis (REDIS_URL) for a worker process")
def test_worker_takes_default_jobs_before_earlier_low_priority_ones(app):
    with app.app_context():
        low = [enqueue("app.jobs.scoring.rate_conversation", 900 + i, tenant_id=1, queue=LOW_QUEUE)
               for i in range(2)]
        default = [enqueue("app.jobs.knowledge.chunk_document", 900 + i, tenant_id=1) for i in range(2)]
    queues = app.extensions["job_queues"]
    assert (queues[QUEUE_NAME].job_ids, queues[LOW_QUEUE].job_ids) == (default, low)
    env = {**os.environ, "CLOSER_ENV": "testing", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL}
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "run", "worker", "--burst", "-t", "1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    redis = app.extensions["redis"]
    jobs = {job_id: Job.fetch(job_id, connection=redis, serializer=queues[QUEUE_NAME].serializer)
            for job_id in low + default}
    assert {job.get_status() for job in jobs.values()} == {"finished"}
    # one job at a time, so the start order is the order the worker took them in (with many
    # threads, jobs taken a moment apart can start in either order)
    started = sorted(jobs, key=lambda job_id: jobs[job_id].started_at)
    assert started == default + low  # the low jobs were queued first, and ran last


def test_model_rating_is_scheduled_on_the_low_priority_queue(app, world, monkeypatch):
    with fake_groq(app, monkeypatch) as route:
        route.side_effect = [completion("Hello! How can I help?")]
        reply = ask(app, world, "hi there")
    queues = app.extensions["job_queues"]
    rating = f"rate-conversation-{reply.conversation_id}"
    assert ScheduledJobRegistry(queue=queues[LOW_QUEUE]).get_job_ids() == [rating]
    assert rating not in ScheduledJobRegistry(queue=queues[QUEUE_NAME]).get_job_ids()
