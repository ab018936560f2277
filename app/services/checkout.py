"""Checkout: placing an order with its stock reserved, and moving it through its life.

Stock is held by the rule in app.services.stock: a reservation per line as the order is
placed, turned into a sale by payment, given back by expiry or cancellation.

Every status change is a compare-and-set (`UPDATE ... WHERE status IN (allowed sources)`),
so two workers applying two deliveries of the same payment can't both win: exactly one
transition happens, and only the winner commits stock, sends the confirmation and writes the
history row. Statuses only move forward along TRANSITIONS.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    MAX_QUANTITY,
    Conversation,
    Customer,
    Order,
    OrderEvent,
    OrderItem,
    OrderStatus,
    Product,
    Tenant,
    utcnow,
)
from app.money import format_money
from app.services import attribution, order_triggers, stock
from app.services.orders import (
    OrderError,
    conversation_of_customer,
    next_order_number,
    payment_ids,
)
from app.services.payments.gateway import close_link

log = logging.getLogger(__name__)

S = OrderStatus
MAX_LINES = 20
TRANSITIONS: dict[OrderStatus, set[OrderStatus]] = {
    S.PENDING_PAYMENT: {S.PAID, S.CANCELLED, S.EXPIRED},
    S.PAID: {S.FULFILLED, S.SHIPPED, S.DELIVERED, S.REFUNDED},
    S.FULFILLED: {S.SHIPPED, S.DELIVERED, S.REFUNDED},
    S.SHIPPED: {S.DELIVERED, S.REFUNDED},
    S.DELIVERED: {S.REFUNDED},
}
STAMPS = {S.PAID: "paid_at", S.FULFILLED: "fulfilled_at", S.SHIPPED: "shipped_at",
          S.DELIVERED: "delivered_at", S.CANCELLED: "closed_at", S.EXPIRED: "closed_at",
          S.REFUNDED: "closed_at"}


@dataclass(frozen=True)
class Line:
    product_id: int
    quantity: int


def sources_of(target: OrderStatus) -> set[OrderStatus]:
    return {src for src, targets in TRANSITIONS.items() if target in targets}


# ------------------------------------------------------------------------------ stock


def _release_items(order: Order) -> None:
    for item in order.items:
        stock.release(order.tenant_id, item.product_id, item.quantity)


def _sell_items(order: Order) -> None:
    for item in order.items:
        stock.sell(order.tenant_id, item.product_id, item.quantity)


def adjust_line(item: OrderItem, created: bool) -> None:
    """An admin adds or changes a line of a pending order: the product's reservation becomes
    the sum of its pending lines again, refused if that is more than the shelf holds.

    Recounting (rather than adding the difference) does not depend on what the form layer
    flushed before us; the invariant it restores is the one every other path keeps:
    reserved = the quantities of pending orders' lines.
    """
    order = item.order
    if order is None or order.status != S.PENDING_PAYMENT:
        raise OrderError("Only a pending order's items can change")
    _refuse_once_linked(order)
    db.session.add(item)
    db.session.flush()
    product = db.session.scalar(select(Product).where(
        Product.id == item.product_id, Product.tenant_id == order.tenant_id)
        .with_for_update().execution_options(populate_existing=True))
    if product is None:
        return
    pending = db.session.scalar(
        select(func.coalesce(func.sum(OrderItem.quantity), 0)).join(Order, OrderItem.order_id == Order.id)
        .where(OrderItem.product_id == product.id, Order.status == S.PENDING_PAYMENT)) or 0
    if pending > product.stock:
        others = pending - item.quantity
        raise OrderError(f"Only {max(product.stock - others, 0)} of {product.name} available")
    stock.recount(product.id, pending)


def release_line(item: OrderItem) -> None:
    """A line of a pending order is deleted: its reservation goes back."""
    order = item.order
    if order is not None and order.status != S.PENDING_PAYMENT:
        raise OrderError(f"Order {order.number} is {order.status}; its items can't change")
    if order is not None:
        _refuse_once_linked(order)
    stock.release(item.tenant_id, item.product_id, item.quantity)


def release_order(order: Order) -> None:
    """A pending order is deleted in the admin: everything it held goes back."""
    if order.status != S.PENDING_PAYMENT:
        raise OrderError(f"Order {order.number} is {order.status}: cancel or refund it instead")
    if order.payment_link_id:  # the customer could still pay it: Cancel also cancels the link
        raise OrderError(f"Order {order.number} has a payment link: cancel it instead")
    _release_items(order)


def _refuse_once_linked(order: Order) -> None:
    """The link's amount is fixed when it is made: after that the lines can't change."""
    if order.payment_link_id:
        raise OrderError(f"Order {order.number} already has a payment link for "
                         f"{format_money(order.total_minor, order.currency)}: cancel it and place a "
                         "new order to change its items")


# ------------------------------------------------------------------------------ placing


def normalize_lines(raw: list[tuple[int, int]]) -> list[Line]:
    """Merge repeated products; every quantity a whole number within bounds."""
    merged: dict[int, int] = {}
    for product_id, quantity in raw:
        try:
            qty = int(quantity)
        except (TypeError, ValueError):
            raise OrderError("Quantities must be whole numbers") from None
        if qty < 1 or qty > MAX_QUANTITY:
            raise OrderError(f"Quantity must be between 1 and {MAX_QUANTITY}")
        merged[int(product_id)] = merged.get(int(product_id), 0) + qty
    if not merged:
        raise OrderError("An order needs at least one item")
    if len(merged) > MAX_LINES:
        raise OrderError(f"An order can have at most {MAX_LINES} different products")
    for product_id, qty in merged.items():
        if qty > MAX_QUANTITY:
            raise OrderError(f"Quantity must be between 1 and {MAX_QUANTITY}")
    return [Line(pid, qty) for pid, qty in sorted(merged.items())]  # one lock order: no deadlocks


def closing(conv, tenant_id: int, source: str, actor_id: int | None) -> dict:
    """Who closed the sale (app.services.attribution), as the order's closed_by_* fields."""
    sender, user_id = attribution.closing_turn(conv.id if conv else None, tenant_id,
                                               source=source, actor_id=actor_id)
    return {"closed_by_sender": sender, "closed_by_user_id": user_id}


def place_order(tenant_id: int, customer_id: int | None, conversation_id: int | None,
                lines: list[tuple[int, int]], *, source: str, actor_id: int | None = None,
                reason: str | None = None) -> Order:
    """Validate, reserve and create the order in one transaction (all or nothing), committed.

    Prices and the total come from the catalog rows as they are now, never from the caller.
    `reason`: added to the order's "Placed" history entry.
    """
    wanted = normalize_lines(lines)
    products = {p.id: p for p in db.session.scalars(select(Product).where(
        Product.tenant_id == tenant_id, Product.id.in_([line.product_id for line in wanted])))}
    tenant = db.session.get(Tenant, tenant_id)
    conv = db.session.get(Conversation, conversation_id) if conversation_id else None
    if conv is not None and conv.tenant_id != tenant_id:
        raise OrderError("No such conversation")
    customer = db.session.get(Customer, customer_id) if customer_id else None
    if customer is not None and customer.tenant_id != tenant_id:
        raise OrderError("No such customer")
    conversation_of_customer(customer.id if customer else None, conv)
    held: list[Line] = []
    try:
        for line in wanted:
            product = products.get(line.product_id)
            refusal = None
            if product is None or not product.active:
                refusal = f"Product {line.product_id} is not for sale"
            elif not stock.reserve(tenant_id, product.id, line.quantity):
                db.session.refresh(product)
                left = max(product.available, 0)
                refusal = (f"Only {left} of {product.name} available" if left else
                           f"{product.name} is out of stock")
            if refusal:
                # Undo this order's own reservations instead of rolling the session back: the
                # caller's pending work in the same transaction (the answer job's claim on the
                # customer's messages) must survive a refused order.
                for done in held:
                    stock.release(tenant_id, done.product_id, done.quantity)
                raise OrderError(refusal)
            held.append(line)
        number = next_order_number(tenant_id)
        order = Order(tenant_id=tenant_id, number=number, status=S.PENDING_PAYMENT,
                      currency=tenant.currency if tenant else "INR",
                      customer_id=customer.id if customer else (conv.customer_id if conv else None),
                      conversation_id=conv.id if conv else None,
                      campaign_id=conv.campaign_id if conv else None,
                      **payment_ids(number),
                      **closing(conv, tenant_id, source, actor_id))
        db.session.add(order)
        total = 0
        for line in wanted:
            product = products[line.product_id]
            db.session.add(OrderItem(tenant_id=tenant_id, order=order, product_id=product.id,
                                     sku=product.sku, name=product.name,
                                     unit_price_minor=product.price_minor, quantity=line.quantity))
            total += product.price_minor * line.quantity
        order.total_minor = total
        db.session.add(OrderEvent(tenant_id=tenant_id, order=order, to_status=str(S.PENDING_PAYMENT),
                                  source=source, actor_id=actor_id,
                                  note=f"Placed: {summary(order, with_total=False)}"
                                       + (f" ({reason})" if reason else "")))
        db.session.commit()
    except OrderError:
        raise
    except Exception:
        db.session.rollback()
        raise
    log.info("order %s placed for tenant %s: %s", order.number, tenant_id, order.total_minor)
    return order


LINK_MARGIN = timedelta(minutes=2)  # a link about to expire is not worth pointing the customer to


def payable_twin(tenant_id: int, conversation_id: int | None,
                 lines: list[tuple[int, int]]) -> Order | None:
    """The order this conversation already awaits payment for with the same lines (products
    and quantities), if its payment link can still be paid (not made yet, or not expiring
    within LINK_MARGIN).

    A second Buy tap, a WhatsApp list reply chosen twice, a postback Meta delivers again
    under a new mid, or the agent ordering what is already ordered: each would place a
    second order with its own link and hold the stock twice. The customer meant the one
    order, so the chat answers with it instead. A different product, or another quantity, is
    a different order (the agent changes a pending order's quantity with change_order).

    The conversation's row is locked first (until the caller's commit, on PostgreSQL), so two
    jobs placing the same order at once are serialized here: the second sees the first's
    order, whatever the conversation's Redis lock did.
    """
    if conversation_id is None:
        return None
    wanted = {(line.product_id, line.quantity) for line in normalize_lines(lines)}
    db.session.execute(select(Conversation.id).where(
        Conversation.id == conversation_id, Conversation.tenant_id == tenant_id).with_for_update())
    soon = utcnow() + LINK_MARGIN
    candidates = db.session.scalars(select(Order).where(
        Order.tenant_id == tenant_id, Order.conversation_id == conversation_id,
        Order.status == S.PENDING_PAYMENT).order_by(Order.id.desc())
        .execution_options(populate_existing=True))
    for order in candidates:
        expires = order.payment_link_expires_at
        if expires is not None and expires.tzinfo is None:  # SQLite hands back naive UTC
            expires = expires.replace(tzinfo=timezone.utc)
        if expires is not None and expires <= soon:
            continue
        if {(item.product_id, item.quantity) for item in order.items} == wanted:
            return order
    return None


def replace_order(order_id: int, tenant_id: int, lines: list[tuple[int, int]], *,
                  source: str) -> Order:
    """Change a pending order's items after its payment link fixed the amount: the order is
    cancelled and a new one placed with `lines`, in one transaction, committed.

    What the new order needs beyond what the old one holds is reserved first (the same
    conditional UPDATE as any order), so a shelf that can't cover the change refuses it before
    anything moves. The old order's payment link is then closed (app.services.payments.gateway),
    or the change refused with OrderError (a link paid meanwhile). Only then is the old order cancelled, giving
    its stock back, and the new one placed: the rows our UPDATEs touched stay locked until the
    commit, so what was just given back can't be taken by anyone else in between.
    """
    wanted = normalize_lines(lines)
    old = locked(order_id, tenant_id)
    if old is None:
        raise OrderError("No such order")
    refuse_unless(old, S.CANCELLED)
    products = {p.id: p for p in db.session.scalars(select(Product).where(
        Product.tenant_id == tenant_id, Product.id.in_([line.product_id for line in wanted])))}
    for line in wanted:
        if line.product_id not in products or not products[line.product_id].active:
            raise OrderError(f"Product {line.product_id} is not for sale")
    held: dict[int, int] = {}
    for item in old.items:
        if item.product_id is not None:
            held[item.product_id] = held.get(item.product_id, 0) + item.quantity
    extra: list[Line] = []
    try:
        for line in wanted:
            more = line.quantity - held.get(line.product_id, 0)
            if more > 0 and not stock.reserve(tenant_id, line.product_id, more):
                product = products[line.product_id]
                db.session.refresh(product)
                raise OrderError(f"Only {max(product.available, 0) + held.get(product.id, 0)} of "
                                 f"{product.name} available")
            if more > 0:
                extra.append(Line(line.product_id, more))
        close_link(old)
    except OrderError:
        for line in extra:
            stock.release(tenant_id, line.product_id, line.quantity)
        raise
    for line in extra:  # from here the new order holds them itself
        stock.release(tenant_id, line.product_id, line.quantity)
    if not transition(old, S.CANCELLED, source=source, note="Replaced: the customer changed the items"):
        raise OrderError(f"Order {old.number} changed meanwhile")
    try:
        return place_order(tenant_id, old.customer_id, old.conversation_id,
                           [(line.product_id, line.quantity) for line in wanted], source=source,
                           reason=f"replaces {old.number}")
    except OrderError:
        db.session.rollback()  # never a cancelled order without its replacement
        raise


def summary(order: Order, with_total: bool = True) -> str:
    lines = ", ".join(f"{i.quantity} x {i.name}" for i in order.items)
    return f"{lines}; total {format_money(order.total_minor, order.currency)}" if with_total else lines


# ------------------------------------------------------------------------------ transitions


def locked(order_id: int, tenant_id: int) -> Order | None:
    """The order, row-locked until commit on PostgreSQL (SQLite serializes writers anyway)."""
    return db.session.scalar(select(Order).where(Order.id == order_id, Order.tenant_id == tenant_id)
                             .with_for_update().execution_options(populate_existing=True))


def transition(order: Order, target: OrderStatus, *, source: str, actor_id: int | None = None,
               note: str | None = None, at: datetime | None = None) -> bool:
    """Move the order to `target` if its current status allows; False if it doesn't (someone
    else moved it first, or the move would go backwards). The caller commits. `at`: when it
    happened, if not now (a payment is paid when Razorpay says, however late its event came)."""
    allowed = sources_of(target)
    stamp = STAMPS.get(target)
    values = {"status": target, "updated_at": utcnow()}
    if stamp:
        values[stamp] = at or utcnow()
    if target == S.REFUNDED:  # however it was refunded, all of it went back
        values["refunded_minor"] = Order.total_minor
    won = db.session.execute(
        update(Order).where(Order.id == order.id, Order.tenant_id == order.tenant_id,
                            Order.status.in_(allowed))
        .values(**values).execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        db.session.refresh(order)
        return False
    previous = order.status
    db.session.refresh(order)
    if target == S.PAID:
        _sell_items(order)
    elif target in (S.CANCELLED, S.EXPIRED):
        _release_items(order)
    db.session.add(OrderEvent(tenant_id=order.tenant_id, order_id=order.id,
                              from_status=str(previous), to_status=str(target), source=source,
                              actor_id=actor_id, note=note))
    order_triggers.order_changed(order, target)  # its rules run once this commits
    return True


def note(order: Order, text: str, *, source: str, actor_id: int | None = None) -> None:
    """A fact in the order's history that is not a status change (a failed payment, ...)."""
    db.session.add(OrderEvent(tenant_id=order.tenant_id, order_id=order.id, source=source,
                              actor_id=actor_id, note=text))


def refuse_unless(order: Order, target: OrderStatus) -> None:
    if order.status not in sources_of(target):
        raise OrderError(f"Order {order.number} is {order.status}; it can't become {target}")
