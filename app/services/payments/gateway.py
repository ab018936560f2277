"""Which way money goes (Razorpay, or the test-mode page) and the one Razorpay client."""
from __future__ import annotations

from flask import current_app

# The errors its calls raise are part of this service's interface: callers (the order views)
# tell "try again later" (TransientPaymentError) from "Razorpay said no" without knowing the client.
from app.clients.razorpay_client import (  # noqa: F401  (re-exported for callers)
    PaymentError,
    PaymentRefused,
    TransientPaymentError,
    client_for,
)
from app.models import Order
from app.services.orders import OrderError

RAZORPAY = "razorpay"
TEST_MODE = "test-mode"
TEST_LINK_PREFIX = "plink_test_"  # shaped like Razorpay's ids, so events resolve the same way


def live(config=None) -> bool:
    """Whether payments go through Razorpay: always in production (a config that doesn't say
    otherwise is production), elsewhere once its keys are set. Test mode is the opposite."""
    cfg = config if config is not None else current_app.config
    if cfg.get("PRODUCTION", True):
        return True
    return bool(cfg.get("RAZORPAY_KEY_ID") and cfg.get("RAZORPAY_KEY_SECRET"))


def razorpay():
    cfg = current_app.config
    if not (cfg.get("RAZORPAY_KEY_ID") and cfg.get("RAZORPAY_KEY_SECRET")):
        # Production refuses to start without them (config.Config.validate); this is the
        # last line should a misconfigured app get this far: no link rather than a free one.
        raise PaymentRefused("Razorpay keys are not configured")
    return client_for(cfg["RAZORPAY_KEY_ID"], cfg["RAZORPAY_KEY_SECRET"], cfg["RAZORPAY_API_BASE"])


def close_link(order: Order) -> None:
    """Cancel the order's Razorpay link before the order stops standing (a cancel, a
    replacement): a link paid meanwhile refuses, with OrderError, rather than taking money for
    an order that no longer stands. Test-mode links need nothing: their page checks the order."""
    link = order.payment_link_id
    if not live() or not link or link.startswith(TEST_LINK_PREFIX):
        return
    try:
        razorpay().cancel_payment_link(link)
    except PaymentRefused as exc:
        raise OrderError(f"Razorpay would not cancel order {order.number}'s payment link ({exc}); "
                         "it may have just been paid") from exc
