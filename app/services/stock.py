"""Holding stock: the one rule every path that promises, gives back or sells units goes through.

A product has two counters: `stock` (on the shelf) and `reserved` (promised to orders awaiting
payment). A reservation is one conditional UPDATE (`reserved = reserved + q WHERE
stock - reserved >= q`), so concurrent orders can never promise more than the shelf holds, on
any database. Payment turns a reservation into a sale (both counters drop); expiry or
cancellation gives it back. Neither ever takes a counter below zero, whatever an admin did to
the counters meanwhile. The caller commits.
"""
from __future__ import annotations

from sqlalchemy import case, update

from app.extensions import db
from app.models import Product


def reserve(tenant_id: int, product_id: int, quantity: int) -> bool:
    """Promise `quantity` of an active product, or refuse (False) if the shelf can't cover it."""
    result = db.session.execute(
        update(Product)
        .where(Product.id == product_id, Product.tenant_id == tenant_id, Product.active.is_(True),
               Product.stock - Product.reserved >= quantity)
        .values(reserved=Product.reserved + quantity)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def release(tenant_id: int, product_id: int | None, quantity: int) -> None:
    """Give a reservation back."""
    _lower(tenant_id, product_id, reserved=quantity)


def sell(tenant_id: int, product_id: int | None, quantity: int) -> None:
    """Payment arrived: the promised units leave the shelf."""
    _lower(tenant_id, product_id, stock=quantity, reserved=quantity)


def recount(product_id: int, pending: int) -> None:
    """Set a product's reservation to what its pending lines hold (after an admin's edit)."""
    db.session.execute(update(Product).where(Product.id == product_id).values(reserved=pending)
                       .execution_options(synchronize_session=False))


def _lower(tenant_id: int, product_id: int | None, **by: int) -> None:
    """Lower the named counters by their amounts, never below zero."""
    if product_id is None:
        return
    columns = {name: getattr(Product, name) for name in by}
    db.session.execute(
        update(Product)
        .where(Product.id == product_id, Product.tenant_id == tenant_id)
        .values({name: case((col >= by[name], col - by[name]), else_=0) for name, col in columns.items()})
        .execution_options(synchronize_session=False))
