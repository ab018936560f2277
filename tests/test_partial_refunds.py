"""Partial refunds count: Razorpay's `refund.processed` for part of a payment keeps the order
paid, records what went back so far, and every figure of its payment day takes it off revenue
and adds it to refunds. Orders are placed in the chat, paid and refunded through Razorpay's
signed webhooks (Razorpay faked at its HTTP boundary); the figures are read from the API."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order, OrderEvent, OrderStatus, PaymentEvent
from tests import razorpay_fake as rz
from tests.conftest import IS_POSTGRES
from tests.test_checkout import link_job, order_row, place, post_event

S = OrderStatus
TOTAL = 2 * 79900  # two of the world's product


def paid(app, world, run_jobs, tenant="a", n=1) -> Order:
    """An order placed in the tenant's chat and paid through Razorpay's webhook (its own ids)."""
    rows = getattr(world, tenant)
    order_id = place(app, world, quantity=2, tenant=tenant)
    link_job(app, order_id, rows.tenant_id)
    order = order_row(app, order_id)
    event = rz.paid_events(order.payment_link_id, order.payment_reference, order.total_minor,
                           rzp_order=f"order_Part{tenant}{n}", payment_id=f"pay_Part{tenant}{n}")["payment_link.paid"]
    assert post_event(app, event, f"evt_paid_{tenant}{n}").status_code == 200
    run_jobs()
    order = order_row(app, order_id)
    assert (order.status, order.total_minor, order.refunded_minor) == (S.PAID, TOTAL, 0)
    return order


def refund_event(order: Order, refund_id: str, amount=None, amount_refunded=None, *, payment=True) -> dict:
    """Razorpay's `refund.processed`: the refund and (usually) its payment with the running total."""
    refund = {"id": refund_id, "entity": "refund", "status": "processed", "payment_id": order.razorpay_payment_id}
    if amount is not None:
        refund["amount"] = amount
    entity = None
    if payment:
        entity = {"id": order.razorpay_payment_id, "entity": "payment", "status": "captured",
                  "amount": order.total_minor, "order_id": order.razorpay_order_id}
        if amount_refunded is not None:
            entity["amount_refunded"] = amount_refunded
    return rz.event("refund.processed", refund=refund, payment=entity)


def deliver(app, run_jobs, payload: dict, event_id: str) -> None:
    assert post_event(app, payload, event_id).status_code == 200
    run_jobs()


def today() -> datetime.date:
    return datetime.now(ZoneInfo("Asia/Kolkata")).date()


def figures(api, what: str, user="owner_a", **extra) -> dict | list:
    """The API's figures over yesterday to tomorrow (the payment is today, in the tenant's days)."""
    day = today()
    query = "&".join([f"start={(day - timedelta(days=1)).isoformat()}",
                      f"end={(day + timedelta(days=1)).isoformat()}"] + [f"{k}={v}" for k, v in extra.items()])
    resp = api(user).get(f"/api/v1/analytics/{what}?{query}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.json["result"]


def refunded(app, order_id) -> tuple[OrderStatus, int]:
    order = order_row(app, order_id)
    return order.status, order.refunded_minor


def notes(app, order_id) -> list[str]:
    with app.app_context():
        out = [e.note or "" for e in db.session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))]
        db.session.remove()
    return out


def test_a_partial_refund_lowers_revenue_and_raises_refunds_on_the_payment_day(app, world, razorpay, run_jobs, api,
                                                                               browser):
    order = paid(app, world, run_jobs)
    before = figures(api, "summary")
    assert (before["orders_paid"], before["revenue_minor"], before["refunds_minor"]) == (1, TOTAL, 0)

    deliver(app, run_jobs, refund_event(order, "rfnd_P1", 40000, 40000), "evt_rf_p1")
    assert refunded(app, order.id) == (S.PAID, 40000)
    assert any("Partial refund rfnd_P1 processed" in n for n in notes(app, order.id))
    assert api("owner_a").get(f"/api/v1/orders/{order.id}").json["result"]["refunded_minor"] == 40000
    page = browser("owner_a").get(f"/orderview/show/{order.id}").get_data(as_text=True)
    assert "Refunded so far" in page and "₹400.00" in page
    assert api("owner_b").get(f"/api/v1/orders/{order.id}").status_code == 404

    net = TOTAL - 40000
    s = figures(api, "summary")
    assert (s["orders_paid"], s["revenue_minor"], s["refunds_minor"], s["average_order_minor"]) == (1, net, 40000, net)
    closer = "ai_closed_revenue_minor" if order.closed_by_sender == "ai" else "human_closed_revenue_minor"
    other = "human_closed_revenue_minor" if closer.startswith("ai") else "ai_closed_revenue_minor"
    if order.closed_by_sender:
        assert (s[closer], s[other]) == (net, 0)
    days = figures(api, "timeseries")
    assert [r["revenue_minor"] for r in days if r["day"] == today().isoformat()] == [net]
    assert sum(r["revenue_minor"] for r in days) == net
    for by in ("campaign", "platform", "ad"):
        rows = figures(api, "breakdown", by=by)
        assert sum(r["revenue_minor"] for r in rows) == net, by
        assert max(r["revenue_minor"] for r in rows) == net, by
    agency = {r["tenant_id"]: r["revenue_minor"] for r in figures(api, "agency", user="agency")}
    assert agency[world.a.tenant_id] == net
    # the lines' value: a partial refund names no product
    assert sum(r["revenue_minor"] for r in figures(api, "breakdown", by="product")) == TOTAL
    # the customer's lifetime spend (segments, the inbox sidebar) is net of it as revenue is
    customer = api("owner_a").get(f"/api/v1/customers/{order.customer_id}").json["result"]
    assert (customer["lifetime_spend_minor"], customer["paid_order_count"]) == (net, 1)


def test_two_partial_refunds_add_up_by_razorpays_running_total(app, world, razorpay, run_jobs, api):
    order = paid(app, world, run_jobs)
    first = refund_event(order, "rfnd_A", 30000, 30000)
    second = refund_event(order, "rfnd_B", 50000, 80000)
    deliver(app, run_jobs, first, "evt_rf_a")
    assert refunded(app, order.id) == (S.PAID, 30000)
    deliver(app, run_jobs, second, "evt_rf_b")
    assert refunded(app, order.id) == (S.PAID, 80000)
    deliver(app, run_jobs, second, "evt_rf_b")  # Razorpay delivers it again
    deliver(app, run_jobs, first, "evt_rf_a")
    assert refunded(app, order.id) == (S.PAID, 80000)
    s = figures(api, "summary")
    assert (s["orders_paid"], s["revenue_minor"], s["refunds_minor"]) == (1, TOTAL - 80000, 80000)


def test_an_older_refund_arriving_late_does_not_lower_the_running_total(app, world, razorpay, run_jobs):
    order = paid(app, world, run_jobs)
    deliver(app, run_jobs, refund_event(order, "rfnd_New", 50000, 80000), "evt_rf_new")
    deliver(app, run_jobs, refund_event(order, "rfnd_Old", 30000, 30000), "evt_rf_old")
    assert refunded(app, order.id) == (S.PAID, 80000)


def test_without_the_running_total_each_refunds_own_amount_is_added_once(app, world, razorpay, run_jobs, api):
    order = paid(app, world, run_jobs)
    first = refund_event(order, "rfnd_C", 30000, payment=False)
    second = refund_event(order, "rfnd_D", 50000, payment=False)
    deliver(app, run_jobs, first, "evt_rf_c")
    deliver(app, run_jobs, second, "evt_rf_d")
    deliver(app, run_jobs, first, "evt_rf_c")  # re-delivered: stored once, applied once
    deliver(app, run_jobs, second, "evt_rf_d")
    assert refunded(app, order.id) == (S.PAID, 80000)
    with app.app_context():
        assert db.session.query(PaymentEvent).filter(PaymentEvent.order_id == order.id,
                                                     PaymentEvent.event_type == "refund.processed").count() == 2
        db.session.remove()
    s = figures(api, "summary")
    assert (s["revenue_minor"], s["refunds_minor"]) == (TOTAL - 80000, 80000)


def test_a_partial_then_the_rest_makes_the_order_refunded(app, world, razorpay, run_jobs, api):
    order = paid(app, world, run_jobs)
    deliver(app, run_jobs, refund_event(order, "rfnd_E", 40000, 40000), "evt_rf_e")
    deliver(app, run_jobs, refund_event(order, "rfnd_F", TOTAL - 40000, TOTAL), "evt_rf_f")
    assert refunded(app, order.id) == (S.REFUNDED, TOTAL)
    assert order_row(app, order.id).refund_id == "rfnd_F"
    s = figures(api, "summary")
    assert (s["orders_paid"], s["revenue_minor"], s["refunds_minor"], s["average_order_minor"]) == (0, 0, TOTAL, 0)
    assert sum(r["revenue_minor"] for r in figures(api, "timeseries")) == 0


def test_refund_amounts_adding_up_past_the_total_refund_it_once(app, world, razorpay, run_jobs, api):
    order = paid(app, world, run_jobs)
    deliver(app, run_jobs, refund_event(order, "rfnd_G", 100000, payment=False), "evt_rf_g")
    deliver(app, run_jobs, refund_event(order, "rfnd_H", 100000, payment=False), "evt_rf_h")
    assert refunded(app, order.id) == (S.REFUNDED, TOTAL)  # never above the total
    assert figures(api, "summary")["refunds_minor"] == TOTAL


def test_the_owner_refunds_what_is_left_after_a_partial_refund(app, world, browser, razorpay, run_jobs, api):
    order = paid(app, world, run_jobs)
    deliver(app, run_jobs, refund_event(order, "rfnd_I", 40000, 40000), "evt_rf_i")
    browser("owner_a").post("/orderview/action_post", data={"action": "refund_order", "rowid": [str(order.id)]})
    assert [(p, body["amount"]) for p, body, _ in razorpay.refunds] == [(order.razorpay_payment_id, TOTAL - 40000)]
    assert refunded(app, order.id) == (S.PAID, 40000)  # asked for, not processed yet
    deliver(app, run_jobs, refund_event(order, "rfnd_Fake1", TOTAL - 40000, TOTAL), "evt_rf_rest")
    assert refunded(app, order.id) == (S.REFUNDED, TOTAL)
    s = figures(api, "summary")
    assert (s["revenue_minor"], s["refunds_minor"]) == (0, TOTAL)


def test_a_full_refund_without_any_amount_is_still_the_whole_order(app, world, razorpay, run_jobs):
    order = paid(app, world, run_jobs)
    deliver(app, run_jobs, refund_event(order, "rfnd_J"), "evt_rf_j")
    assert refunded(app, order.id) == (S.REFUNDED, TOTAL)


@pytest.mark.parametrize("sent", ["40000", " 40000 ", 40000.0])
def test_a_running_total_sent_as_a_string_or_a_whole_float_is_read(app, world, razorpay, run_jobs, api, sent):
    order = paid(app, world, run_jobs)
    deliver(app, run_jobs, refund_event(order, "rfnd_K", "junk", sent), "evt_rf_k")
    assert refunded(app, order.id) == (S.PAID, 40000)
    assert figures(api, "summary")["revenue_minor"] == TOTAL - 40000


@pytest.mark.parametrize("garbage", ["4e4", "forty", "-40000", -40000, 40000.5, True, None, {}, [40000],
                                     "9" * 40, 10**20])
def test_an_unreadable_running_total_falls_back_to_the_refunds_own_amount(app, world, razorpay, run_jobs, garbage):
    order = paid(app, world, run_jobs)
    deliver(app, run_jobs, refund_event(order, "rfnd_L", 40000, garbage), "evt_rf_l")
    assert refunded(app, order.id) == (S.PAID, 40000)
    deliver(app, run_jobs, refund_event(order, "rfnd_M", "1000", garbage), "evt_rf_m")
    assert refunded(app, order.id) == (S.PAID, 41000)


def test_a_partial_refund_of_one_tenant_leaves_the_other_alone(app, world, razorpay, run_jobs, api):
    a = paid(app, world, run_jobs, tenant="a")
    b = paid(app, world, run_jobs, tenant="b")
    deliver(app, run_jobs, refund_event(a, "rfnd_N", 40000, 40000), "evt_rf_n")
    # ids that name both tenants' orders touch neither
    mixed = refund_event(a, "rfnd_O", 10000, 50000)
    mixed["payload"]["payment"]["entity"]["order_id"] = b.razorpay_order_id
    deliver(app, run_jobs, mixed, "evt_rf_o")
    assert refunded(app, a.id) == (S.PAID, 40000)
    assert refunded(app, b.id) == (S.PAID, 0)
    sa, sb = figures(api, "summary"), figures(api, "summary", user="owner_b")
    assert (sa["revenue_minor"], sa["refunds_minor"]) == (TOTAL - 40000, 40000)
    assert (sb["revenue_minor"], sb["refunds_minor"]) == (TOTAL, 0)
    agency = {r["tenant_id"]: r["revenue_minor"] for r in figures(api, "agency", user="agency")}
    assert (agency[world.a.tenant_id], agency[world.b.tenant_id]) == (TOTAL - 40000, TOTAL)


@pytest.mark.skipif(not IS_POSTGRES, reason="concurrency is a PostgreSQL property (CI runs it)")
def test_refunds_applied_at_the_same_time_all_count(app, world, razorpay, run_jobs):
    """Workers apply events in parallel: each adds its amount under the order's row lock."""
    from app.services.payments import events

    order = paid(app, world, run_jobs)
    for n in range(10):
        assert post_event(app, refund_event(order, f"rfnd_Q{n}", 1000, payment=False), f"evt_rf_q{n}").status_code == 200
    with app.app_context():
        ids = db.session.scalars(select(PaymentEvent.id).where(PaymentEvent.event_type == "refund.processed")).all()
        db.session.remove()
    assert len(ids) == 10
    barrier = threading.Barrier(len(ids))
    outcomes: list[str] = []

    def worker(event_id: int):
        with app.app_context():
            barrier.wait()
            outcomes.append(events.apply_event(event_id).status)
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["partial refund"] * 10
    assert refunded(app, order.id) == (S.PAID, 10000)
    run_jobs()  # the queued jobs find them applied
    assert refunded(app, order.id) == (S.PAID, 10000)
