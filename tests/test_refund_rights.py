"""Refunds are an owner's decision: staff may only ask for one (recorded on the order for the
owner to see); owners, agency admins and admins execute it, through the admin or the API.

Razorpay is faked at the HTTP boundary (tests/razorpay_fake.py): a refused refund must never
reach it.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order, OrderEvent, OrderStatus
from tests import razorpay_fake as rz
from tests.test_checkout import order_row, paid_order, place, post_event

S = OrderStatus


def refund_calls(graph) -> list[str]:
    """Every request that reached Razorpay's refund endpoint, refused or not."""
    return [c.request.url for c in graph.calls if re.search(r"/v1/payments/[^/]+/refund", c.request.url)]


def fingerprint(app, order_id):
    with app.app_context():
        order = db.session.get(Order, order_id)
        history = db.session.scalars(select(OrderEvent.note).where(OrderEvent.order_id == order_id)
                                     .order_by(OrderEvent.id)).all()
        out = (order.status, order.refund_id, order.refund_requested_at, order.closed_at, list(history))
        db.session.remove()
    return out


def text_of(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def act(client, name, order_id):
    return client.post("/orderview/action_post", data={"action": name, "rowid": [str(order_id)]})


# -------------------------------------------------------------------------- staff


def test_staff_can_not_refund_in_the_admin(app, world, browser, razorpay, graph, run_jobs):
    order = paid_order(app, world, run_jobs)
    before = fingerprint(app, order.id)
    staff = browser("staff_a")
    assert act(staff, "refund_order", order.id).status_code == 403
    assert staff.post(f"/orderview/action/refund_order/{order.id}").status_code == 403
    listing = staff.get("/orderview/list/").get_data(as_text=True)
    assert "refund_order" not in listing and "request_refund" in listing  # no Refund to pick
    assert fingerprint(app, order.id) == before and before[0] == S.PAID
    assert razorpay.refunds == [] and refund_calls(graph) == []


def test_staff_can_not_refund_through_the_api(app, world, api, razorpay, graph, run_jobs):
    order = paid_order(app, world, run_jobs)
    before = fingerprint(app, order.id)
    resp = api("staff_a").post(f"/api/v1/orders/{order.id}/refund")
    assert resp.status_code == 403
    assert fingerprint(app, order.id) == before
    assert razorpay.refunds == [] and refund_calls(graph) == []


def test_staff_can_not_refund_in_test_mode_either(app, world, api, browser):
    """No keys: a refund would be immediate (no money moved), so the rule matters as much."""
    from app.services.payments import links

    order_id = place(app, world)
    with app.app_context():
        links.ensure_link(order_id, world.a.tenant_id)
        db.session.remove()
    url = f"/pay/test/{order_row(app, order_id).payment_token}"
    browser(None).post(url, data={"outcome": "paid"}, token_from=url)
    before = fingerprint(app, order_id)
    assert before[0] == S.PAID
    assert api("staff_a").post(f"/api/v1/orders/{order_id}/refund").status_code == 403
    assert act(browser("staff_a"), "refund_order", order_id).status_code == 403
    assert fingerprint(app, order_id) == before


def test_staff_request_a_refund_and_the_owner_sees_it(app, world, browser, razorpay, graph, run_jobs):
    order = paid_order(app, world, run_jobs)
    staff = browser("staff_a")
    page = staff.post("/orderview/action_post", data={"action": "request_refund", "rowid": [str(order.id)]},
                      follow_redirects=True)
    assert "1 of 1 with a refund requested" in text_of(page)
    with app.app_context():
        row = db.session.get(Order, order.id)
        assert row.status == S.PAID and row.refund_id is None  # asked, not executed
        assert row.refund_requested_at is not None and row.refund_requested_by.username == "staff_a"
        event = db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)
                                   .order_by(OrderEvent.id.desc())).first()
        assert (event.note, event.actor.username, event.to_status) == ("Refund requested", "staff_a", None)
        db.session.remove()
    assert razorpay.refunds == [] and refund_calls(graph) == []
    owner = browser("owner_a")
    assert "Requested by staff_a" in text_of(owner.get("/orderview/list/"))
    shown = text_of(owner.get(f"/orderview/show/{order.id}"))
    assert "Refund Requested By" in shown and "Refund requested" in shown  # field and history
    again = act(staff, "request_refund", order.id)
    assert again.status_code == 302
    assert "already been requested" in text_of(staff.get("/orderview/list/"))


def test_staff_request_a_refund_through_the_api_with_a_reason(app, world, api, razorpay, graph, run_jobs):
    order = paid_order(app, world, run_jobs)
    client = api("staff_a")
    resp = client.post(f"/api/v1/orders/{order.id}/refund_request", json={"reason": "  Wrong size,\n sent back "})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["status"] == "paid" and resp.json["refund_requested_at"]
    shown = client.get(f"/api/v1/orders/{order.id}").json["result"]
    assert shown["refund_request_reason"] == "Wrong size, sent back"
    assert shown["refund_requested_by"]["id"] is not None
    assert client.post(f"/api/v1/orders/{order.id}/refund_request", json={}).status_code == 422
    assert client.post(f"/api/v1/orders/{order.id}/refund_request", json={"reason": 5}).status_code == 422
    assert razorpay.refunds == [] and refund_calls(graph) == []
    with app.app_context():
        notes = db.session.scalars(select(OrderEvent.note).where(OrderEvent.order_id == order.id)).all()
        assert notes.count("Refund requested: Wrong size, sent back") == 1
        db.session.remove()


def test_a_refund_can_only_be_requested_for_a_paid_order(app, world, api):
    order_id = place(app, world)
    resp = api("staff_a").post(f"/api/v1/orders/{order_id}/refund_request", json={"reason": "x"})
    assert resp.status_code == 422 and "can't become refunded" in resp.get_data(as_text=True)
    assert fingerprint(app, order_id)[2] is None


# -------------------------------------------------------------------------- owners


def test_the_owner_executes_a_requested_refund(app, world, browser, api, razorpay, graph, run_jobs):
    order = paid_order(app, world, run_jobs)
    assert api("staff_a").post(f"/api/v1/orders/{order.id}/refund_request",
                               json={"reason": "damaged"}).status_code == 200
    owner = browser("owner_a")
    assert "Requested by staff_a: damaged" in text_of(owner.get("/orderview/list/"))
    assert act(owner, "refund_order", order.id).status_code == 302
    assert razorpay.refunds == [("pay_Fake1", {"amount": order.total_minor, "speed": "normal",
                                               "notes": {"order_number": order.number}},
                                 f"refund-{order.payment_reference}")]
    assert "Requested by staff_a" not in text_of(owner.get("/orderview/list/"))  # acted on
    post_event(app, rz.event("refund.processed", refund={"id": "rfnd_Fake1", "status": "processed",
                                                         "payment_id": "pay_Fake1"}), "evt_rf_owner")
    run_jobs()
    with app.app_context():
        row = db.session.get(Order, order.id)
        assert (row.status, row.refund_id) == (S.REFUNDED, "rfnd_Fake1")
        actors = db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)
                                    .order_by(OrderEvent.id)).all()
        assert [(e.note, e.actor.username if e.actor else None) for e in actors][-3:] == [
            ("Refund requested: damaged", "staff_a"), ("Refund rfnd_Fake1 requested (pending)", "owner_a"),
            ("Refund rfnd_Fake1 processed", None)]
        db.session.remove()


@pytest.mark.parametrize("persona", ["owner_a", "agency", "admin"])
def test_owners_and_platform_roles_refund_through_the_api(app, world, api, razorpay, run_jobs, persona):
    order = paid_order(app, world, run_jobs)
    resp = api(persona).post(f"/api/v1/orders/{order.id}/refund", tenant_id=world.a.tenant_id)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["refund_id"] == "rfnd_Fake1" and resp.json["status"] == "paid"
    assert [r[0] for r in razorpay.refunds] == ["pay_Fake1"]
    with app.app_context():
        assert db.session.get(Order, order.id).refund_id == "rfnd_Fake1"
        db.session.remove()


def test_razorpay_refusing_an_api_refund_is_a_422(app, world, api, razorpay, run_jobs):
    order = paid_order(app, world, run_jobs)
    razorpay.refuse_refunds = "The payment has been fully refunded already"
    resp = api("owner_a").post(f"/api/v1/orders/{order.id}/refund")
    assert resp.status_code == 422 and "fully refunded already" in resp.get_data(as_text=True)
    assert fingerprint(app, order.id)[:2] == (S.PAID, None)


# -------------------------------------------------------------------------- tenants


@pytest.mark.parametrize("persona", ["owner_a", "staff_a"])
def test_another_tenants_order_can_not_be_refunded_or_requested(app, world, browser, api, razorpay, graph,
                                                               persona):
    b_id = place(app, world, tenant="b")
    with app.app_context():  # B's order paid, so a refund would be allowed to B's owner
        from app.services import checkout

        order = db.session.get(Order, b_id)
        order.razorpay_payment_id = "pay_B"
        checkout.transition(order, S.PAID, source="razorpay")
        db.session.commit()
        db.session.remove()
    before = fingerprint(app, b_id)
    client, token_client = browser(persona), api(persona)
    for name in ("refund_order", "request_refund"):
        assert act(client, name, b_id).status_code == 404
        assert client.post(f"/orderview/action/{name}/{b_id}").status_code == 404
    assert token_client.post(f"/api/v1/orders/{b_id}/refund_request", json={"reason": "x"}).status_code == 404
    refund = token_client.post(f"/api/v1/orders/{b_id}/refund")
    assert refund.status_code == (404 if persona == "owner_a" else 403)
    assert token_client.post(f"/api/v1/orders/{b_id}/refund", tenant_id=world.b.tenant_id).status_code == 403
    assert fingerprint(app, b_id) == before
    assert razorpay.refunds == [] and refund_calls(graph) == []


def test_staff_give_a_reason_on_the_orders_page(app, world, browser, razorpay, graph, run_jobs):
    order = paid_order(app, world, run_jobs)
    staff = browser("staff_a")
    form = f"/orderview/refund_request/{order.id}"
    single = staff.post(f"/orderview/action/request_refund/{order.id}")  # the button on its page
    assert single.status_code == 302 and single.headers["Location"].endswith(form)
    assert fingerprint(app, order.id)[2] is None  # only the form records it
    assert "Why should it be refunded?" in text_of(staff.get(form))
    done = staff.post(form, token_from=form, data={"reason": "Arrived torn"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/orderview/show/{order.id}")
    with app.app_context():
        row = db.session.get(Order, order.id)
        assert (row.refund_request_reason, row.refund_requested_by.username) == ("Arrived torn", "staff_a")
        db.session.remove()
    again = staff.post(form, token_from=form, data={"reason": "twice"})
    assert again.status_code == 200 and "already been requested" in text_of(again)
    assert "Requested by staff_a: Arrived torn" in text_of(browser("owner_a").get("/orderview/list/"))
    assert razorpay.refunds == [] and refund_calls(graph) == []


def test_the_reason_form_of_another_tenants_order_is_404(app, world, browser):
    b_id = place(app, world, tenant="b")
    client = browser("staff_a")
    form = f"/orderview/refund_request/{b_id}"
    assert client.get(form).status_code == 404
    assert client.post(form, data={"reason": "x"}, token_from="/orderview/list/").status_code == 404
    assert fingerprint(app, b_id)[2] is None
