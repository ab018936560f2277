"""Order bookkeeping shared by the admin, the API and the checkout flow (app.services.checkout)."""
from __future__ import annotations

import secrets

from sqlalchemy import inspect, select, update

from app.extensions import db
from app.models import MAX_QUANTITY, Conversation, Order, OrderItem, OrderStatus, Tenant


class OrderError(ValueError):
    """An order change that the rules refuse; the message is shown to the user."""


def next_order_number(tenant_id: int) -> str:
    """Hand out the tenant's next number in one atomic UPDATE ... RETURNING (no gaps on race)."""
    seq = db.session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id)
        .values(order_seq=Tenant.order_seq + 1)
        .returning(Tenant.order_seq)
    ).scalar_one()
    return f"ORD-{1000 + seq}"


def payment_ids(number: str) -> dict[str, str]:
    """A new order's `payment_reference` (Razorpay's reference_id: readable, unique, at most
    40 characters) and `payment_token` (the secret in its test-mode page's URL)."""
    return {"payment_reference": f"{number}-{secrets.token_hex(6)}"[:40],
            "payment_token": secrets.token_urlsafe(24)}


def assign_number(order: Order) -> None:
    """Number, status, currency and total for an order created in the admin or the API."""
    with db.session.no_autoflush:  # the half-built order must not be flushed by these reads
        if not order.number:
            order.number = next_order_number(order.tenant_id)
        tenant = db.session.get(Tenant, order.tenant_id)
    if order.status is None:
        order.status = OrderStatus.PENDING_PAYMENT
    ids = payment_ids(order.number)
    order.payment_reference = order.payment_reference or ids["payment_reference"]
    order.payment_token = order.payment_token or ids["payment_token"]
    order.currency = tenant.currency if tenant else "INR"
    order.total_minor = order.total_minor or 0


def conversation_of_customer(customer_id: int | None, conversation: Conversation | None) -> None:
    """Refuse a conversation that isn't the customer's: the payment link, the confirmation and
    the tracking number go to the order's conversation, so it must be the buyer's own."""
    if conversation is not None and customer_id is not None and conversation.customer_id != customer_id:
        raise OrderError("That conversation belongs to another customer: pick one of this "
                         "customer's conversations")


def check_parties(order: Order, created: bool) -> None:
    """An order created or changed in the admin or the API: its conversation must be its
    customer's (a conversation alone makes its customer the order's)."""
    state = inspect(order)
    if not created and not any(state.attrs[name].history.has_changes()
                               for name in ("customer", "customer_id", "conversation", "conversation_id")):
        return
    with db.session.no_autoflush:  # the half-built order must not be flushed by these reads
        conversation = order.conversation
        if conversation is None and order.conversation_id is not None:
            conversation = db.session.get(Conversation, order.conversation_id)
        if conversation is None:
            return
        if conversation.tenant_id != order.tenant_id:
            raise OrderError("No such conversation")
        customer_id = order.customer.id if order.customer is not None else order.customer_id
        if customer_id is None:
            order.customer_id = conversation.customer_id
            return
        conversation_of_customer(customer_id, conversation)


def snapshot_item(item: OrderItem) -> None:
    """Copy the product's sku, name and price onto the line; refuse what can't be sold."""
    order, product = item.order, item.product
    if order is None or product is None:
        raise OrderError("An order line needs an order and a product")
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise OrderError(f"Order {order.number} is {order.status}; its items can't change")
    if not product.active:
        raise OrderError(f"{product.name} is not for sale")
    if not item.quantity or item.quantity < 1 or item.quantity > MAX_QUANTITY:
        raise OrderError(f"Quantity must be between 1 and {MAX_QUANTITY}")
    item.sku, item.name, item.unit_price_minor = product.sku, product.name, product.price_minor


def recompute_total(order: Order | None) -> None:
    """Total = sum of the lines' snapshots, in minor units (never from free text)."""
    if order is None:
        return
    total = sum(
        line.unit_price_minor * line.quantity
        for line in db.session.scalars(select(OrderItem).where(OrderItem.order_id == order.id))
    )
    order.total_minor = total
    db.session.commit()


__all__ = ["OrderError", "assign_number", "check_parties", "conversation_of_customer", "next_order_number",
           "recompute_total", "snapshot_item"]
