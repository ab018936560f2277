"""Meta's data-deletion callback (`POST /meta/data-deletion` and its status page) and the
deauthorize callback (`POST /meta/deauthorize`): signed_request verification with good,
forged and malformed input (never a 5xx), anonymization across tenants that keeps order
totals, and channels stopped when their connector removes the app."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlparse

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Channel,
    ChannelStatus,
    Customer,
    DataDeletionRequest,
    Message,
    Order,
    Platform,
)
from app.services.integrations.privacy import SignedRequestError, parse_signed_request
from tests import meta_fake

SECRET = "test_app_secret"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(payload: dict, secret: str = SECRET) -> str:
    body = b64(json.dumps(payload).encode())
    return b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()) + "." + body


def request_for(user_id) -> dict:
    return {"algorithm": "HMAC-SHA256", "expires": 1291840400, "issued_at": 1291836800, "user_id": user_id}


@pytest.fixture
def meta(app):
    app.config.update(META_APP_ID=meta_fake.APP_ID)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield meta_fake.install(rsps)
    app.config.update(META_APP_ID=None)


# ------------------------------------------------------------------ the parser


def test_parser_accepts_our_signature_only():
    good = signed(request_for("218471"))
    assert parse_signed_request(good, [SECRET])["user_id"] == "218471"
    assert parse_signed_request(signed(request_for(218471)), [SECRET])["user_id"] == "218471"
    assert parse_signed_request(signed(request_for("7"), "instagram-secret"), [SECRET, "instagram-secret"])
    forged = signed(request_for("218471"), "not-our-secret")
    sig, body = good.split(".")
    swapped = sig + "." + b64(json.dumps(request_for("999")).encode())  # our signature, other payload
    for bad in (forged, swapped, body, good + ".x", "", "." + body, sig + "."):
        with pytest.raises(SignedRequestError):
            parse_signed_request(bad, [SECRET])
    for payload in ({**request_for("1"), "algorithm": "none"}, {"algorithm": "HMAC-SHA256"},
                    {**request_for(True)}, {**request_for("12ab")}, ["not", "an", "object"]):
        with pytest.raises(SignedRequestError):
            parse_signed_request(signed(payload), [SECRET])
    with pytest.raises(SignedRequestError):
        parse_signed_request(good, [])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(
    st.text(max_size=300),
    st.builds(lambda a, b: f"{a}.{b}", st.text(max_size=80), st.text(max_size=200)),
    st.builds(lambda p: signed(p), st.dictionaries(st.text(max_size=10), st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
        st.lists(st.integers(), max_size=3)), max_size=5)),
))
def test_malformed_signed_requests_never_5xx(app, raw):
    client = app.test_client()
    for path in ("/meta/data-deletion", "/meta/deauthorize"):
        resp = client.post(path, data={"signed_request": raw})
        assert resp.status_code < 500, (path, raw)
        if resp.status_code == 200:  # only a signed payload with a numeric user id gets through
            assert parse_signed_request(raw, [SECRET])


def test_missing_or_forged_request_is_refused_and_changes_nothing(world, app):
    client = app.test_client()
    assert client.post("/meta/data-deletion", data={}).status_code == 400
    forged = signed(request_for("psid-A"), "forged")
    assert client.post("/meta/data-deletion", data={"signed_request": forged}).status_code == 403
    assert client.post("/meta/deauthorize", data={"signed_request": forged}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DataDeletionRequest)) == 0


# ------------------------------------------------------------------ deletion


def test_deletion_anonymizes_the_person_in_every_tenant_and_keeps_order_totals(world, app, meta, run_jobs):
    asid = "5550001"
    # In tenant A the person is a Messenger customer known by a Page-scoped id, in tenant C an
    # Instagram Login customer known by the same id Meta sends; tenant B's customer is someone else.
    meta.ids_for_pages = {asid: ["psid-A"]}
    with app.app_context():
        c = db.session.get(Customer, world.c["customer"])
        c.platform, c.external_id, c.phone, c.email = Platform.INSTAGRAM, asid, "+919800000000", "c@example.test"
        db.session.get(Order, world.a["order"]).notes = "Deliver to 12 MG Road"
        db.session.commit()
    client = app.test_client()
    resp = client.post("/meta/data-deletion", data={"signed_request": signed(request_for(asid))})
    assert resp.status_code == 200
    body = resp.get_json()
    code = body["confirmation_code"]
    assert code and urlparse(body["url"]).path == f"/meta/data-deletion/{code}"
    pending = client.get(f"/meta/data-deletion/{code}")
    assert pending.status_code == 200 and "in progress" in pending.get_data(as_text=True)
    run_jobs()
    with app.app_context():
        a = db.session.get(Customer, world.a["customer"])
        c = db.session.get(Customer, world.c["customer"])
        b = db.session.get(Customer, world.b["customer"])
        for gone in (a, c):
            assert gone.name is None and gone.phone is None and gone.email is None and gone.opted_out
            assert gone.external_id.startswith("deleted-")
        assert b.name == "Cust-B" and b.external_id == "psid-B"
        texts = db.session.scalars(select(Message.text).where(Message.conversation_id.in_(
            [world.a["conversation"], world.c["conversation"]]))).all()
        assert texts and set(texts) == {"[deleted at the customer's request]"}
        assert db.session.scalar(select(Message.text).where(Message.id == world.b["message"])) == "Msg-B"
        order = db.session.get(Order, world.a["order"])
        assert (order.total_minor, order.number, order.customer_id, order.notes) == (
            79900, order.number, a.id, None)
        request = db.session.scalar(select(DataDeletionRequest))
        assert (request.status, request.customers, request.tenants, request.subject_id) == ("done", 2, 2, None)
    done = client.get(f"/meta/data-deletion/{code}").get_data(as_text=True)
    assert "done" in done and "2 customer records in" in done and "2 businesses" in done
    assert asid not in done and "Cust-A" not in done
    assert client.get("/meta/data-deletion/0000000000000000").status_code == 404
    assert client.get("/meta/data-deletion/not-a-code!").status_code == 404


def test_deletion_of_someone_unknown_says_nothing_was_held(world, app, meta, run_jobs):
    client = app.test_client()
    code = client.post("/meta/data-deletion",
                       data={"signed_request": signed(request_for("777000"))}).get_json()["confirmation_code"]
    run_jobs()
    page = client.get(f"/meta/data-deletion/{code}").get_data(as_text=True)
    assert "No business using Closer held data about you" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer).where(
            Customer.external_id.like("deleted-%"))) == 0


def test_a_lost_deletion_job_is_queued_again(world, app, meta, run_jobs):
    from datetime import timedelta

    client = app.test_client()
    code = client.post("/meta/data-deletion",
                       data={"signed_request": signed(request_for("5550001"))}).get_json()["confirmation_code"]
    app.extensions["redis"].flushdb()  # the queue lost it
    with app.app_context():
        request = db.session.scalar(select(DataDeletionRequest))
        request.created_at = request.created_at - timedelta(minutes=5)
        db.session.commit()
        from app.jobs.queueing import queue_channel_checks

        queue_channel_checks()  # the periodic check picks up requests left pending
    run_jobs()
    assert "Status: <strong>done" in client.get(f"/meta/data-deletion/{code}").get_data(as_text=True)


# ------------------------------------------------------------------ deauthorize


def test_deauthorize_disconnects_the_persons_channels(world, app):
    with app.app_context():
        mine = db.session.get(Channel, world.a["channel"])
        mine.connected_meta_user_id = "5550001"
        other = db.session.get(Channel, world.b["channel"])
        other.connected_meta_user_id = "5550002"
        db.session.commit()
    resp = app.test_client().post("/meta/deauthorize", data={"signed_request": signed(request_for("5550001"))})
    assert resp.status_code == 200 and resp.get_json()["channels_disconnected"] == 1
    with app.app_context():
        mine = db.session.get(Channel, world.a["channel"])
        other = db.session.get(Channel, world.b["channel"])
        assert (mine.status, mine.access_token) == (ChannelStatus.DISABLED, None)
        assert "removed Closer" in mine.last_error
        assert other.status == ChannelStatus.ACTIVE and other.access_token == "secret-token-B"
