"""The test-mode payment page: what a customer opens from the chat in development and testing
when no Razorpay keys are set.

It exists so the embedded default can complete a sale end to end: its buttons raise the very
events Razorpay would (`payment_link.paid`, `payment.failed`) and apply them through the same
service, so the order, the stock and the chat behave exactly as with real money. It is
labelled TEST MODE everywhere. A production app never registers it, and elsewhere it answers
404 as soon as Razorpay keys are configured (app.services.payments.gateway.live). It acts only on an
order that is still payable, as a Razorpay link would. The URL carries a random token per
order; nothing else identifies the order to an anonymous visitor.
"""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from app.extensions import db
from app.models import Order
from app.security.tenancy import unguarded
from app.services.payments import gateway, test_mode

bp = Blueprint("test_payments", __name__, url_prefix="/pay/test")


def _order(token: str) -> Order:
    if gateway.live() or not token or len(token) > 64:
        abort(404)
    with unguarded():
        order = db.session.scalar(select(Order).where(Order.payment_token == token))
    if order is None:
        abort(404)
    return order


def _page(order: Order, status: int = 200):
    return render_template("closer/pay_test.html", order=order,
                           payable=test_mode.payable_in_test_mode(order)), status


@bp.get("/<token>")
def show(token: str):
    return _page(_order(token))


@bp.post("/<token>")
def act(token: str):
    order = _order(token)
    outcome = request.form.get("outcome")
    if outcome not in ("paid", "failed"):
        abort(400)
    if not test_mode.payable_in_test_mode(order):
        # Cancelled, expired, paid, refunded...: Razorpay would not take a payment on its
        # link either, so no event is recorded and nothing about the order changes.
        return _page(order, 409)
    with unguarded():
        test_mode.pay_in_test_mode(order, outcome)
    return redirect(url_for("test_payments.show", token=token))
