"""The test-mode payment page: what a customer opens from the chat when no Razorpay keys are set.

It exists so the embedded default can complete a sale end to end: its buttons raise the very
events Razorpay would (`payment_link.paid`, `payment.failed`) and apply them through the same
service, so the order, the stock and the chat behave exactly as with real money. It is
labelled TEST MODE everywhere and answers 404 as soon as Razorpay keys are configured. The
URL carries a random token per order; nothing else identifies the order to an anonymous
visitor.
"""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from app.extensions import db
from app.models import Order, OrderStatus
from app.security.tenancy import unguarded
from app.services import payments

bp = Blueprint("test_payments", __name__, url_prefix="/pay/test")


def _order(token: str) -> Order:
    if payments.live() or not token or len(token) > 64:
        abort(404)
    with unguarded():
        order = db.session.scalar(select(Order).where(Order.payment_token == token))
    if order is None:
        abort(404)
    return order


@bp.get("/<token>")
def show(token: str):
    order = _order(token)
    return render_template("closer/pay_test.html", order=order,
                           payable=order.status == OrderStatus.PENDING_PAYMENT)


@bp.post("/<token>")
def act(token: str):
    from app.jobs import enqueue

    order = _order(token)
    outcome = request.form.get("outcome")
    if outcome not in ("paid", "failed"):
        abort(400)
    with unguarded():
        event_id, _ = payments.record_event(payments.TEST_MODE, f"test_{order.id}_{outcome}_{order.payment_reference}",
                                            *payments.test_event(order, outcome))
        applied = payments.apply_event(event_id)
    for message_id in applied.message_ids:
        enqueue("app.jobs.outbound.send_outbound", message_id, tenant_id=order.tenant_id,
                job_id=f"send-{message_id}")
    return redirect(url_for("test_payments.show", token=token))
