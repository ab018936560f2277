"""CLI commands and the job queue: a real RQ worker process on Redis, RQ on the in-memory Redis without it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.extensions import db
from app.models import KnowledgeChunk, KnowledgeDocument, Tenant, TenantMembership
from tests.conftest import DATABASE_URL, REDIS_URL

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("args", [["tenant", "create", "--help"], ["seed-demo", "--help"],
                                  ["worker", "--help"], ["roles", "sync", "--help"]])
def test_commands_have_help(app, args):
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0 and "Usage:" in result.output


def test_tenant_create_prints_id(app):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["agency", "create", "Saree Agency", "--admin", "saree-admin", "--email",
                               "admin@saree.example.com", "--password", "Quill-Meadow-Copper-82"])
    assert made.exit_code == 0, made.output
    result = runner.invoke(args=["tenant", "create", "Kiran Sarees", "--owner", "kiran",
                                 "--email", "kiran@example.com", "--password", "Quill-Meadow-Copper-82",
                                 "--agency", "Saree Agency"])
    assert result.exit_code == 0, result.output
    tenant_id = int(result.output.strip().splitlines()[-1])
    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        assert tenant.slug == "kiran-sarees" and tenant.agency.name == "Saree Agency"
        seat = db.session.query(TenantMembership).filter_by(tenant_id=tenant_id).one()
        assert seat.role == "owner" and seat.user.username == "kiran"
    again = runner.invoke(args=["tenant", "create", "Other", "--owner", "kiran2",
                                "--email", "kiran@example.com", "--password", "Quill-Meadow-Copper-82"])
    assert again.exit_code != 0 and "already used" in again.output
    short = runner.invoke(args=["tenant", "create", "X", "--owner", "x", "--email",
                                "x@example.com", "--password", "short"])
    assert short.exit_code != 0


def test_roles_sync_is_idempotent(app):
    result = app.test_cli_runner().invoke(args=["roles", "sync"])
    assert result.exit_code == 0 and "none (all present)" in result.output


def _add_document(api, world):
    resp = api("owner_a").post("/api/v1/knowledge/", json={
        "title": "Returns", "content": "We accept returns within 7 days.\n\nShipping is free over ₹999."})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def _chunks(app, doc_id):
    with app.app_context():
        rows = [c.content for c in db.session.query(KnowledgeChunk).filter_by(document_id=doc_id)
                .order_by(KnowledgeChunk.position)]
        doc = db.session.get(KnowledgeDocument, doc_id)
        chunked = doc.chunked_at
        db.session.remove()
        return rows, chunked


@pytest.mark.skipif(REDIS_URL is not None, reason="the embedded path runs without Redis")
def test_without_redis_jobs_queue_on_rq_in_memory(app, world, api, run_jobs):
    import fakeredis

    queue = app.extensions["job_queue"]
    assert isinstance(queue.connection, fakeredis.FakeRedis)
    doc_id = _add_document(api, world)
    assert queue.count == 1 and _chunks(app, doc_id) == ([], None)  # queued, not yet run
    run_jobs()
    rows, chunked = _chunks(app, doc_id)
    assert chunked is not None and "returns within 7 days" in rows[0]


@pytest.mark.skipif(REDIS_URL is None, reason="needs Redis (REDIS_URL)")
def test_real_worker_process_runs_queued_job(app, world, api):
    from rq import Queue

    doc_id = _add_document(api, world)
    queue: Queue = app.extensions["job_queue"]
    assert queue.count == 1
    assert _chunks(app, doc_id) == ([], None)  # nothing ran in the web process
    env = {**os.environ, "CLOSER_ENV": "testing", "DATABASE_URL": DATABASE_URL,
           "REDIS_URL": REDIS_URL}
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", "worker", "--burst"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows, chunked = _chunks(app, doc_id)
    assert chunked is not None and len(rows) == 1
    # running the job again (a retry) leaves the same chunks, not duplicates
    with app.app_context():
        from app.jobs.knowledge import chunk_document

        assert chunk_document(doc_id, tenant_id=world.a.tenant_id) == 1
        assert chunk_document(doc_id, tenant_id=world.b.tenant_id) == 0  # wrong tenant: no-op
    assert len(_chunks(app, doc_id)[0]) == 1


def test_enqueue_sets_retry_timeout_and_dedupes_job_ids(app):
    from app.jobs import enqueue

    with app.app_context():
        first = enqueue("app.jobs.knowledge.chunk_document", 1, tenant_id=1, job_id="chunk-1")
        second = enqueue("app.jobs.knowledge.chunk_document", 1, tenant_id=1, job_id="chunk-1")
        queue = app.extensions["job_queue"]
        assert first == second == "chunk-1" and queue.count == 1
        job = queue.fetch_job("chunk-1")
        assert job.retries_left == app.config["JOB_RETRIES"] and job.timeout == app.config["JOB_TIMEOUT"]
        assert job.kwargs == {"tenant_id": 1}
        with pytest.raises(ValueError):
            enqueue("app.jobs.knowledge.chunk_document", 1, tenant_id=1, job_id="bad:id")


def test_worker_refuses_without_redis(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "REDIS_URL" in result.output


def test_split_text_keeps_paragraphs_and_limits_size():
    from app.services.knowledge import split_text

    text = "Para one.\n\n" + ("Sentence two is long. " * 60) + "\n\nPara three."
    chunks = split_text(text, limit=200)
    assert chunks[0].startswith("Para one.") and all(len(c) <= 200 for c in chunks)
    assert chunks[-1].endswith("Para three.")
    assert split_text("") == []


def test_the_embedded_jobs_start_with_the_first_request_not_with_a_command(tmp_path):
    """`make run` loads run.py for `db upgrade` and `demo seed` too: the embedded default's
    job threads (and their periodic sweep) wait for the server's first request, so no job
    queries tables a migration is still creating."""
    code = ("import threading, run\n"
            "jobs = lambda: any(t.name == 'closer-jobs' for t in threading.enumerate())\n"
            "assert not jobs(), 'started on import'\n"
            "try:\n"
            "    run.app.test_client().get('/login/')  # its answer is beside the point: no tables here\n"
            "except Exception:\n"
            "    pass\n"
            "assert jobs(), 'not started by a request'\n"
            "print('ok')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(CLOSER_ENV="testing", CLOSER_INSTANCE_DIR=str(tmp_path),
               DATABASE_URL=f"sqlite:///{tmp_path / 'embedded.db'}")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
