"""An order paid or shipped fires its conversation's workflow rules, once the change commits.

checkout.transition notes the change in its session; the job is queued only after that
transaction commits (`init_workflow_events`, installed by the app factory), so a rolled-back
payment fires nothing and the job never runs before the change it reacts to is visible.
"""
from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from app.jobs.queueing import queue_rule_event
from app.models import PAID_STATUSES, Order, OrderStatus, RuleTrigger

log = logging.getLogger(__name__)

ORDER_TRIGGERS = {OrderStatus.PAID: RuleTrigger.ORDER_PAID, OrderStatus.SHIPPED: RuleTrigger.ORDER_SHIPPED}
REACHED = {RuleTrigger.ORDER_PAID: set(PAID_STATUSES) | {OrderStatus.REFUNDED},
           RuleTrigger.ORDER_SHIPPED: {OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.REFUNDED}}
_KEY = "workflow_order_events"


def order_changed(order: Order, target: OrderStatus) -> None:
    """Note that `order` reached `target` in the current transaction (checkout.transition)."""
    trigger = ORDER_TRIGGERS.get(target)
    if trigger is None or order.conversation_id is None:
        return
    db.session.info.setdefault(_KEY, []).append(
        (order.conversation_id, order.tenant_id, str(trigger), order.id))


def _after_commit(session: Session) -> None:
    for conversation_id, tenant_id, trigger, order_id in session.info.pop(_KEY, []):
        try:
            queue_rule_event(conversation_id, tenant_id, trigger, f"order-{order_id}-{trigger}", order_id=order_id)
        except Exception:
            log.exception("could not queue the %s rules of order %s", trigger, order_id)


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    session.info.pop(_KEY, None)


def init_workflow_events() -> None:
    """Queue order rules when their transaction commits (once per process)."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
