"""The webhook intake: concurrent deliveries grouped into shared INSERTs and jobs, none lost,
each answered once; a batch job isolates a broken delivery."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import Direction, Message, WebhookEvent, utcnow
from tests import meta_payloads as mp

PAGE = "page-A"


def test_concurrent_deliveries_are_all_stored_queued_and_answered_once(app, world, run_jobs, graph):
    client_count, per_client = 8, 5
    bodies = [mp.encode(mp.messenger(PAGE, mp.text(f"psid-c{c}", PAGE, f"m_c{c}_{i}", f"hello {i}")))
              for c in range(client_count) for i in range(per_client)]
    statuses: list[int] = []
    barrier = threading.Barrier(client_count)

    def customer(c: int):
        client = app.test_client()
        barrier.wait()
        for body in bodies[c * per_client:(c + 1) * per_client]:
            statuses.append(client.post("/webhooks/meta", data=body, headers={
                "X-Hub-Signature-256": mp.sign(body), "Content-Type": "application/json"}).status_code)

    threads = [threading.Thread(target=customer, args=(c,)) for c in range(client_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * len(bodies)
    app.extensions["delivery_intake"].drain()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == len(bodies)
        db.session.remove()
    run_jobs()
    run_jobs()  # answers queued by the ingest jobs
    with app.app_context():
        inbound = db.session.scalar(select(func.count()).select_from(Message).where(
            Message.direction == Direction.IN, Message.external_id.like("m_c%")))
        pending = db.session.scalar(select(func.count()).select_from(WebhookEvent).where(
            WebhookEvent.processed_at.is_(None)))
        db.session.remove()
    assert inbound == len(bodies) and pending == 0
    replied_to = {s["recipient"]["id"] for s in graph.sends()}
    assert replied_to == {f"psid-c{c}" for c in range(client_count)}


def test_a_broken_delivery_does_not_hold_back_its_batch(app, world):
    from app.jobs.webhooks import process_meta_events

    good = mp.encode(mp.messenger(PAGE, mp.text("psid-ok", PAGE, "m_ok", "hi"))).decode()
    with app.app_context():
        ids = db.session.execute(insert(WebhookEvent).returning(WebhookEvent.id), [
            {"source": "meta", "body": "{not json", "received_at": utcnow()},
            {"source": "meta", "body": good, "received_at": utcnow()}]).scalars().all()
        db.session.commit()
        process_meta_events(list(ids))  # a parse error is permanent: nothing to retry
        rows = {e.id: (e.status, e.processed_at, e.error) for e in db.session.scalars(select(WebhookEvent))}
        assert rows[ids[0]][0] == "unprocessable" and rows[ids[0]][1] is not None
        assert "not JSON" in rows[ids[0]][2]
        assert rows[ids[1]][:1] == ("processed",)
        assert db.session.scalar(select(Message.text).where(Message.external_id == "m_ok")) == "hi"
        db.session.remove()


def test_a_stale_kept_connection_is_replaced(app, world):
    """The intake keeps its connection open; one gone stale is replaced, nothing is refused."""
    intake = app.extensions["delivery_intake"]
    body = mp.encode(mp.messenger(PAGE, mp.text("psid-db2", PAGE, "m_db2", "hi")))
    headers = {"X-Hub-Signature-256": mp.sign(body), "Content-Type": "application/json"}
    client = app.test_client()
    assert client.post("/webhooks/meta", data=body, headers=headers).status_code == 200
    intake._conn.connection.dbapi_connection.close()  # as if the server had gone away
    assert client.post("/webhooks/meta", data=body, headers=headers).status_code == 200
    intake.drain()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 2
        db.session.remove()


def test_stored_deliveries_keep_their_timestamps_comparable(app, world, post_meta):
    """The intake writes driver SQL; its timestamps must read back like the ORM's own."""
    from datetime import timedelta

    post_meta(mp.messenger(PAGE, mp.text("psid-ts", PAGE, "m_ts", "hi")), process=False)
    with app.app_context():
        received = db.session.scalar(select(WebhookEvent.received_at))
        assert abs(received.replace(tzinfo=None) - utcnow().replace(tzinfo=None)) < timedelta(minutes=1)
        later = utcnow() + timedelta(seconds=1)
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent).where(
            WebhookEvent.received_at < later)) == 1
        db.session.remove()
