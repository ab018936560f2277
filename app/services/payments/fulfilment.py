"""Staff move an order on: cancel a pending one, mark a paid one fulfilled, shipped or
delivered. Each is a checkout transition; the customer hears of a cancel and of shipping."""
from __future__ import annotations

from app.extensions import db
from app.models import Order, OrderStatus
from app.services import checkout
from app.services.orders import OrderError
from app.services.payments.gateway import close_link
from app.services.payments.links import tell_customer

S = OrderStatus


def cancel(order: Order, *, actor_id: int | None, source: str = "admin") -> list[int]:
    """Cancel a pending order: its link is cancelled at Razorpay first (if that fails because
    the link was just paid, the cancel is refused), then the stock goes back."""
    checkout.refuse_unless(order, S.CANCELLED)
    close_link(order)
    if not checkout.transition(order, S.CANCELLED, source=source, actor_id=actor_id, note="Cancelled"):
        raise OrderError(f"Order {order.number} changed meanwhile; reload and try again")
    ids = []
    if order.conversation is not None:
        msg = tell_customer(order, f"Your order {order.number} has been cancelled.")
        db.session.flush()
        ids.append(msg.id)
    db.session.commit()
    return ids


def advance(order: Order, target: OrderStatus, *, actor_id: int | None) -> list[int]:
    """Fulfilled, shipped (needs the tracking number) or delivered; the customer hears of
    shipping."""
    checkout.refuse_unless(order, target)
    if target == S.SHIPPED and not (order.tracking_number or "").strip():
        raise OrderError(f"Enter order {order.number}'s tracking number (Edit) before marking it shipped")
    if not checkout.transition(order, target, source="admin", actor_id=actor_id):
        raise OrderError(f"Order {order.number} changed meanwhile; reload and try again")
    ids = []
    if target == S.SHIPPED and order.conversation is not None:
        msg = tell_customer(order, f"Good news: order {order.number} has shipped. "
                                  f"Tracking number: {order.tracking_number}.")
        db.session.flush()
        ids.append(msg.id)
    db.session.commit()
    return ids
