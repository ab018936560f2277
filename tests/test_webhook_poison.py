"""Any signed delivery, any shape: never a 5xx, never an exception escaping a job, nothing
half-written; one poisoned event never costs the others of its batch their answer; a body that
can't be parsed is kept for Admins and never retried; failing deliveries are parked.
"""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, update

from app.extensions import db
from app.models import MAX_DELIVERY_ATTEMPTS, Message, PaymentEvent, WebhookEvent, utcnow
from tests import meta_payloads as mp
from tests import razorpay_fake as rz

PAGE = "page-A"
DEEP = b"[" * 100_000 + b"]" * 100_000
LONG = "x" * 20_000

# Bodies that are not a JSON object naming a platform: stored as unprocessable, answered 200.
UNPARSEABLE = {
    "not json": b"{not json",
    "invalid utf-8": b'{"object":"page","entry":[{"id":"\xff\xfe"}]}',
    "100,000-deep nesting": DEEP,
    "deep object": b'{"object":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001,
    "a list": b"[]",
    "a number": b"5",
    "null": b"null",
    "a string": b'"page"',
    "object is an object": b'{"object":{"page":1},"entry":[]}',
    "nul byte": b'{"object":"page"\x00}',
    "empty": b"",
}

# JSON objects naming a platform, with every part of the wrong shape: stored, processed, and
# whatever can be read from them is.
WRONG_SHAPES = [
    {"object": "page", "entry": "x"},
    {"object": "page", "entry": [5, None, "x", [], {"id": {"a": 1}}, {"id": [1]}]},
    {"object": "page", "entry": [{"id": PAGE, "messaging": 7}]},
    {"object": "page", "entry": [{"id": PAGE, "messaging": [1, None, "m", [], {}]}]},
    {"object": "page", "entry": [{"id": PAGE, "time": "soon", "messaging": [
        {"sender": None, "recipient": None, "timestamp": None, "message": None},
        {"sender": {"id": {"x": 1}}, "message": {"mid": "m1", "text": "hi"}},
        {"sender": {"id": ["p"]}, "message": {"mid": "m2", "text": "hi"}},
        {"sender": {"id": True}, "message": {"mid": "m3", "text": "hi"}},
        {"sender": {"id": "psid-z"}, "message": {"mid": {"a": 1}, "text": "hi"}},
        {"sender": {"id": "psid-z"}, "message": {"mid": "m4", "text": {"a": 1}}},
        {"sender": {"id": "psid-z"}, "message": {"mid": "m5", "text": LONG, "attachments": "x"}},
        {"sender": {"id": "psid-z"}, "message": {"mid": "m6", "text": "a\u0000b\ud800c"}},
        {"sender": {"id": LONG}, "message": {"mid": "m7", "text": "hi"}},
        {"sender": {"id": "psid-z"}, "message": {"mid": LONG, "text": "hi"}},
        {"sender": {"id": "psid-z"}, "postback": "buy"},
        {"sender": {"id": "psid-z"}, "delivery": {"mids": "m", "watermark": {"a": 1}}},
        {"sender": {"id": "psid-z"}, "read": {"watermark": [], "mid": 5}},
        {"sender": {"id": "psid-z"}, "reaction": {"mid": ["m"], "emoji": 5}},
        {"sender": {"id": "psid-z"}, "referral": "ad"},
        {"sender": {"id": "psid-z"}, "message_edit": {"mid": "m6", "text": ["x"]}},
    ]}]},
    {"object": "instagram", "entry": [{"id": "1784", "messaging": [
        {"sender": {"id": 1234}, "recipient": {"id": 1784}, "timestamp": "1763800000",
         "message": {"mid": 99, "text": 12.5, "is_echo": "yes"}}]}]},
    {"object": "whatsapp_business_account", "entry": [{"changes": "x"}, {"changes": [
        5, {"field": ["messages"]}, {"field": "messages", "value": None},
        {"field": "messages", "value": {"metadata": [], "messages": [{}]}},
        {"field": "messages", "value": {"metadata": {"phone_number_id": {"a": 1}}}},
        {"field": "messages", "value": {"metadata": {"phone_number_id": "wa-x"}, "contacts": "c",
                                        "messages": [5, {"from": {"a": 1}}, {"from": "91", "type": 5}],
                                        "statuses": [None, {"id": None}, {"id": "w", "errors": "e"}],
                                        "errors": {"code": 1}}}]}]},
]


def _sign_meta(body: bytes) -> dict:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": mp.sign(body)}


def _sign_razorpay(body: bytes) -> dict:
    return {"Content-Type": "application/json", "X-Razorpay-Signature": rz.sign(body),
            "X-Razorpay-Event-Id": "evt_poison"}


def _deliveries(app):
    with app.app_context():
        rows = [(e.source, e.status, e.error, e.processed_at) for e in
                db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))]
        db.session.remove()
        return rows


@pytest.mark.parametrize("name", list(UNPARSEABLE))
def test_unparseable_signed_bodies_are_kept_as_unprocessable(app, world, name):
    body = UNPARSEABLE[name]
    for path, headers in (("/webhooks/meta", _sign_meta(body)), ("/webhooks/razorpay", _sign_razorpay(body))):
        resp = app.test_client().post(path, data=body, headers=headers)
        assert resp.status_code == 200, (path, resp.get_data(as_text=True)[:200])
    rows = _deliveries(app)
    assert [(source, status) for source, status, _, _ in rows] == [
        ("meta", "unprocessable"), ("razorpay", "unprocessable")]
    assert all(error and processed for _, _, error, processed in rows)  # the reason, and done


def test_wrongly_signed_garbage_is_refused_and_not_stored(app, world):
    for path, header in (("/webhooks/meta", "X-Hub-Signature-256"), ("/webhooks/razorpay", "X-Razorpay-Signature")):
        for signature in ("sha256=zz", "sha256=\u00e9\u00e9", "\u00ff" * 64):
            resp = app.test_client().post(path, data=b"{not json", headers={header: signature})
            assert resp.status_code in (400, 403)
    assert _deliveries(app) == []


@pytest.mark.parametrize("payload", WRONG_SHAPES, ids=lambda p: p["object"])
def test_wrong_shapes_are_processed_event_by_event(app, world, post_meta, payload):
    resp = post_meta(payload)  # stores, then processes the delivery as its job would
    assert resp.status_code == 200
    [(source, status, error, processed)] = _deliveries(app)
    assert status == "processed" and processed is not None
    assert error  # every unreadable event is named with its reason (or its unknown account)


def test_numbers_where_meta_documents_strings_are_read(app, world, post_meta):
    from tests.test_webhook_meta import add_channel

    add_channel(app, world.a.tenant_id, "instagram", "1784", "IG A")
    resp = post_meta({"object": "instagram", "entry": [{"id": 1784, "time": mp.now_ms(), "messaging": [
        {"sender": {"id": 1234}, "recipient": {"id": 1784}, "timestamp": str(mp.now_ms() // 1000),
         "message": {"mid": 99, "text": 12.5}}]}]})
    assert resp.stored == 1
    with app.app_context():
        msg = db.session.scalar(select(Message).where(Message.external_id == "99"))
        assert (msg.text, msg.conversation.customer.external_id) == ("12.5", "1234")
        db.session.remove()


def test_a_poisoned_event_does_not_cost_its_batch_their_answers(app, world, post_meta, graph, run_jobs):
    good1 = mp.text("psid-good1", PAGE, "m_good1", "Do you have a blue kurta?")
    poisoned = {"sender": {"id": {"$gt": ""}}, "recipient": {"id": PAGE}, "timestamp": mp.now_ms(),
                "message": {"mid": "m_poison", "text": "hi"}}
    good2 = mp.text("psid-good2", PAGE, "m_good2", "What does delivery cost?")
    resp = post_meta(mp.messenger(PAGE, good1, poisoned, good2))
    assert resp.status_code == 200 and resp.stored == 2
    run_jobs()
    assert {s["recipient"]["id"] for s in graph.sends()} == {"psid-good1", "psid-good2"}
    [(_, status, error, _)] = _deliveries(app)
    assert status == "processed"
    assert "entry[0].messaging[1]: sender.id is an object, not an id" in error


def test_a_poisoned_whatsapp_message_does_not_cost_the_others(app, world, post_meta, graph, run_jobs):
    from tests.test_webhook_meta import add_channel

    add_channel(app, world.a.tenant_id, "whatsapp", "wa-phone-A", "WA A")
    good = mp.wa_text("919800000001", "wamid.good", "price of kurta?")
    bad = {**mp.wa_text("919800000002", "wamid.bad", "hi"), "from": ["919800000002"]}
    resp = post_meta(mp.whatsapp("wa-phone-A", messages=[bad, good]))
    assert resp.stored == 1
    run_jobs()
    assert [s["to"] for s in graph.sends()] == ["919800000001"]
    assert "messages[0]: from is a list, not an id" in _deliveries(app)[0][2]


def test_an_event_the_database_refuses_is_skipped_and_the_rest_land(app, world):
    """The slow path: the batch fails on one event's value, so each is stored on its own."""
    from app.channels.base import EventKind, InboundEvent
    from app.services import ingest

    def event(mid, text):
        return InboundEvent(platform="messenger", kind=EventKind.MESSAGE, account_id=PAGE,
                            customer_id="psid-slow", message_id=mid, text=text, timestamp=utcnow())

    with app.app_context():
        result = ingest.ingest([event("m_s1", "one"), event("m_s2", {"not": "text"}), event("m_s3", "three")])
        assert result.stored == 2 and len(result.to_answer) == 2
        assert len(result.skipped) == 1 and "m_s2" in result.skipped[0]
        texts = db.session.scalars(select(Message.text).where(Message.external_id.like("m_s%"))
                                   .order_by(Message.external_id)).all()
        assert texts == ["one", "three"]
        db.session.remove()


def test_unprocessable_deliveries_are_shown_to_admins_only(app, world, browser):
    body = b'{"object":"page","entry":[' + b"{" * 10
    app.test_client().post("/webhooks/meta", data=body, headers=_sign_meta(body))
    page = browser("admin").get("/webhookdeliveryview/list/").get_data(as_text=True)
    assert "unprocessable" in page and "not JSON" in page
    for user in ("owner_a", "agency", "staff_a"):
        resp = browser(user).get("/webhookdeliveryview/list/")
        assert resp.status_code in (302, 403, 404)
        assert "not JSON" not in resp.get_data(as_text=True)


def test_the_sweep_never_requeues_unprocessable_and_parks_what_keeps_failing(app, world):
    from datetime import timedelta

    from app.services import webhook_events
    from app.services.sweep import sweep

    old = utcnow() - timedelta(hours=1)
    good = mp.encode(mp.messenger(PAGE, mp.text("psid-late", PAGE, "m_late", "hi"))).decode()
    with app.app_context():
        unprocessable = webhook_events.store_unprocessable("meta", b"{nope", "not JSON")
        ids = db.session.execute(insert(WebhookEvent).returning(WebhookEvent.id), [
            {"source": "meta", "body": good, "received_at": old,
             "attempts": MAX_DELIVERY_ATTEMPTS - 1},  # failed four times already
            {"source": "meta", "body": good, "received_at": old}]).scalars().all()
        db.session.commit()
        failing, fresh = ids
        report = sweep()
        assert report.deliveries == 1  # only the fresh one is queued; the other is out of attempts
        rows = {e.id: e for e in db.session.scalars(select(WebhookEvent))}
        assert rows[failing].status == "parked" and "gave up after" in rows[failing].error
        assert rows[unprocessable].status == "unprocessable"
        db.session.remove()
        # An Admin fixed the cause: the parked one gets a fresh set of attempts.
        assert webhook_events.process_again([failing, unprocessable]) == 1
        db.session.remove()


def test_failures_are_counted_and_park_the_delivery(app, world):
    from app.services import webhook_events

    body = mp.encode(mp.messenger(PAGE, mp.text("psid-f", PAGE, "m_f", "hi"))).decode()
    with app.app_context():
        event_id = db.session.execute(insert(WebhookEvent).returning(WebhookEvent.id),
                                      [{"source": "meta", "body": body, "received_at": utcnow()}]).scalar()
        db.session.commit()
        parked = [webhook_events.record_failure(event_id, RuntimeError(f"boom {n}"))
                  for n in range(MAX_DELIVERY_ATTEMPTS)]
        assert parked == [False] * (MAX_DELIVERY_ATTEMPTS - 1) + [True]
        row = db.session.get(WebhookEvent, event_id)
        assert row.status == "parked" and row.processed_at is not None
        assert row.error.endswith(f"RuntimeError: boom {MAX_DELIVERY_ATTEMPTS - 1}")
        assert webhook_events.process_meta(event_id).status == "skipped"  # never retried
        db.session.remove()


def test_rows_that_keep_failing_never_starve_newer_ones(app, world, run_jobs):
    """More stuck rows than one sweep takes: the least-tried (the new ones) go first."""
    from datetime import timedelta

    from app.services.sweep import BATCH, sweep

    old = utcnow() - timedelta(hours=1)
    good = mp.encode(mp.messenger(PAGE, mp.text("psid-new", PAGE, "m_new", "fresh"))).decode()
    with app.app_context():
        db.session.execute(insert(WebhookEvent), [
            {"source": "meta", "body": '{"object":"page","entry":[]}', "received_at": old, "attempts": 2}
            for _ in range(BATCH)])
        newest = db.session.execute(insert(WebhookEvent).returning(WebhookEvent.id), [
            {"source": "meta", "body": good, "received_at": old}]).scalar()
        db.session.commit()
        sweep()
        db.session.remove()
    run_jobs()
    with app.app_context():
        assert db.session.get(WebhookEvent, newest).status == "processed"
        assert db.session.scalar(select(Message.text).where(Message.external_id == "m_new")) == "fresh"
        db.session.remove()


# ------------------------------------------------------------------ property-based

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
                      st.sampled_from(["", "0", PAGE, "psid-h", "1763800000", "\u0000", "\ud800", LONG]))
json_values = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)), max_leaves=12)

TEMPLATES = [
    mp.messenger(PAGE, mp.text("psid-h", PAGE, "m_h1", "hello"), mp.postback("psid-h", PAGE, "m_h2", "Buy", "BUY:1"),
                 mp.delivery("psid-h", PAGE, ["m_out"], mp.now_ms()), mp.read("psid-h", PAGE, mp.now_ms()),
                 mp.reaction("psid-h", PAGE, "m_h1"), mp.echo("psid-h", PAGE, "m_h3", "ok")),
    mp.messenger("1784", mp.text("ig-h", "1784", "m_ig1", "hi"), obj="instagram"),
    mp.whatsapp("wa-h", contacts=[mp.wa_contact("9198", "Asha")], messages=[
        mp.wa_text("9198", "wamid.h1", "hi"), mp.wa_message("9198", "wamid.h2", "image", {"id": "1", "caption": "c"})],
        statuses=[mp.wa_status("wamid.o1", "read", "9198")]),
]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


def _replace(node, path, value):
    if not path:
        return value
    node = copy.deepcopy(node)
    target = node
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return node


@st.composite
def mutated_deliveries(draw):
    """A real delivery with some part of it (any depth, the root included) replaced by any JSON."""
    payload = draw(st.sampled_from(TEMPLATES))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(payload))
        payload = _replace(payload, draw(st.sampled_from(paths)), draw(json_values))
    return payload


HYPOTHESIS = settings(max_examples=120, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@HYPOTHESIS
@given(payload=mutated_deliveries())
def test_any_signed_meta_delivery_is_answered_below_500_and_processed(app, world, payload):
    from app.jobs.webhooks import process_meta_events

    body = json.dumps(payload).encode()
    with app.app_context():
        before = db.session.scalar(select(func.coalesce(func.max(WebhookEvent.id), 0)))
        db.session.remove()
    intake = app.extensions["delivery_intake"]
    queued, intake.on_stored = intake.on_stored, lambda source, ids: None
    try:
        resp = app.test_client().post("/webhooks/meta", data=body, headers=_sign_meta(body))
        intake.drain()
    finally:
        intake.on_stored = queued
    assert resp.status_code < 500
    with app.app_context():
        ids = db.session.scalars(select(WebhookEvent.id).where(WebhookEvent.id > before)).all()
        if ids:
            process_meta_events(ids)  # raises if any delivery failed: nothing may escape
            statuses = db.session.scalars(select(WebhookEvent.status).where(WebhookEvent.id.in_(ids))).all()
            assert set(statuses) <= {"processed", "unprocessable"}
        db.session.remove()


razorpay_templates = list(rz.paid_events("plink_H1", "ref_H1", 49900).values()) + [
    rz.event("refund.processed", refund={"id": "rfnd_1", "payment_id": "pay_Fake1", "amount": 49900}),
    rz.event("payment_link.expired", link={"id": "plink_H1", "status": "expired"}),
    rz.event("payment.failed", payment={"id": "pay_2", "status": "failed", "error_description": "x"}),
]


@st.composite
def mutated_payment_events(draw):
    payload = draw(st.sampled_from(razorpay_templates))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(payload) if p != ("event",)] or [()]
        payload = _replace(payload, draw(st.sampled_from(paths)), draw(json_values))
    return payload


@HYPOTHESIS
@given(payload=mutated_payment_events(), event_id=st.one_of(st.just("evt_ok"), st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=300)))
def test_any_signed_razorpay_event_is_answered_below_500_and_applied(app, world, payload, event_id):
    from app.services.payments.events import apply_event

    body = json.dumps(payload).encode()
    headers = {**_sign_razorpay(body), "X-Razorpay-Event-Id": event_id}
    resp = app.test_client().post("/webhooks/razorpay", data=body, headers=headers)
    assert resp.status_code < 500
    with app.app_context():
        for pk in db.session.scalars(select(PaymentEvent.id).where(PaymentEvent.processed_at.is_(None))).all():
            apply_event(pk)  # nothing may escape
        db.session.execute(update(PaymentEvent).values(processed_at=utcnow()))
        db.session.commit()
        db.session.remove()


def test_through_the_queue_nothing_fails_and_the_good_message_is_answered(app, world, post_meta, graph, run_jobs):
    """The same deliveries left to the job system (RQ workers on Redis, or the embedded
    default's queue): no job fails, nothing stays pending, the good message is answered."""
    for payload in WRONG_SHAPES + [mp.messenger(PAGE, mp.text("psid-q", PAGE, "m_q", "hello"))]:
        assert post_meta(payload, process=False).status_code == 200
    for body in UNPARSEABLE.values():
        assert app.test_client().post("/webhooks/meta", data=body, headers=_sign_meta(body)).status_code == 200
    app.extensions["delivery_intake"].drain()
    run_jobs()
    statuses = [status for _, status, _, _ in _deliveries(app)]
    assert statuses and set(statuses) <= {"processed", "unprocessable"}
    # psid-z's readable messages among the poisoned ones are customers too
    assert sorted({s["recipient"]["id"] for s in graph.sends()}) == ["psid-q", "psid-z"]
    queues = app.extensions.get("job_queues")
    if queues:
        from rq.registry import FailedJobRegistry

        assert all(FailedJobRegistry(queue=q).count == 0 for q in queues.values())
