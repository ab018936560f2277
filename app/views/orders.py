"""Orders with their items (price and name snapshots), history and lifecycle actions.

Statuses never change by editing: they move through the actions below (forward only, each
validated by app.services.checkout and recorded with who and when). Lines of a pending order
reserve stock as they are added or changed, and give it back when removed.
"""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.api import expose as expose_api
from flask_appbuilder.api import safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name, protect
from marshmallow.validate import Range
from wtforms.validators import NumberRange

from app.extensions import db
from app.models import MAX_QUANTITY, Order, OrderEvent, OrderItem, OrderStatus
from app.security import tenancy
from app.security.permissions import (
    API_METHOD_PERMISSIONS,
    CAN_REFUND,
    CAN_WRITE,
    RESOURCE_ORDER_ITEMS,
    RESOURCE_ORDERS,
)
from app.services import attribution, checkout, outbound
from app.services.payments import fulfilment, links, refunds
from app.services.payments.gateway import PaymentError, TransientPaymentError
from app.services import orders as order_service
from app.services.orders import OrderError
from app.views.base import TenantModelApi, TenantModelView

# Status moves only through the order lifecycle (forward only), never by free editing.
ORDER_EDIT = ["tracking_number", "notes"]
ITEM_COLUMNS = ["order", "product", "quantity"]


class OrderItemRules:
    """Lines snapshot the product, reserve its stock and keep the order's total right (admin
    and API alike)."""

    def before_save(self, item, created):
        order_service.snapshot_item(item)
        checkout.adjust_line(item, created)

    def before_delete(self, item):
        checkout.release_line(item)

    def post_add(self, item):
        order_service.recompute_total(item.order)

    def post_update(self, item):
        order_service.recompute_total(item.order)

    def post_delete(self, item):
        order_service.recompute_total(item.order)


class OrderRules:
    """A new order gets its number, status, currency and payment reference on the server, and
    its conversation must be its customer's; a pending one deleted gives its stock back (any
    other is cancelled or refunded instead)."""

    def before_save(self, item, created):
        order_service.check_parties(item, created)
        if created:
            order_service.assign_number(item)
            attribution.credit_order(item, source="admin", actor_id=_actor())

    def before_delete(self, item):
        checkout.release_order(item)


def _actor() -> int | None:
    """Who acts: the signed-in browser user, or the API caller of this request's token."""
    user = getattr(g, "user", None)
    if getattr(user, "is_authenticated", False):
        return user.id
    from flask_jwt_extended import current_user as jwt_user

    return getattr(jwt_user, "id", None)


class OrderEventView(TenantModelView):
    """An order's history (read-only): transitions and payment facts with who and when."""

    datamodel = SQLAInterface(OrderEvent)
    class_permission_name = RESOURCE_ORDERS
    exclude_route_methods = {"download", "add", "edit", "delete", "action", "action_post"}
    list_columns = ["created_at", "from_status", "to_status", "source", "actor", "note"]
    show_columns = ["order", "created_at", "from_status", "to_status", "source", "actor", "note"]
    add_columns = edit_columns = ["note"]  # unreachable (no add/edit routes), but explicit
    search_columns = ["order", "source", "to_status", "created_at"]
    base_order = ("id", "asc")


class OrderItemView(OrderItemRules, TenantModelView):
    datamodel = SQLAInterface(OrderItem)
    validators_columns = {"quantity": [NumberRange(min=1, max=MAX_QUANTITY)]}
    class_permission_name = RESOURCE_ORDER_ITEMS
    list_columns = ["sku", "name", "unit_price", "quantity", "line_total"]
    show_columns = ["order", "product", "sku", "name", "unit_price", "quantity", "line_total"]
    add_columns = ITEM_COLUMNS
    edit_columns = ["quantity"]
    search_columns = ["order", "product", "sku", "name"]


class OrderView(OrderRules, TenantModelView):
    datamodel = SQLAInterface(Order)
    class_permission_name = RESOURCE_ORDERS
    action_permissions = {"refund_order": CAN_REFUND}  # staff use request_refund instead
    related_views = [OrderItemView, OrderEventView]
    list_columns = ["number", "customer", "status", "total", "campaign", "paid_at", "refund_request",
                    "created_at"]
    label_columns = {"refund_request": "Refund request", "refund_request_reason": "Refund reason",
                     "closed_by_sender": "Sale closed by", "closed_by_user": "Closed by (person)",
                     "refunded": "Refunded so far"}
    show_fieldsets = [
        ("Order", {"fields": ["number", "status", "total", "customer", "conversation", "campaign",
                              "closed_by_sender", "closed_by_user", "notes", "created_at", "updated_at"]}),
        ("Payment", {"fields": ["payment_link_url", "payment_link_expires_at", "payment_link_sent_at",
                                "paid_at", "razorpay_payment_id", "payment_error", "refund_requested_at",
                                "refund_requested_by", "refund_request_reason", "refund_id", "refunded"]}),
        ("Delivery", {"fields": ["tracking_number", "fulfilled_at", "shipped_at", "delivered_at",
                                 "closed_at"]}),
    ]
    add_columns = ["customer", "conversation", "campaign", "notes"]
    edit_columns = ORDER_EDIT
    search_columns = ["number", "customer", "campaign", "status", "total_minor", "refund_requested_at",
                      "created_at"]
    base_order = ("created_at", "desc")

    def _each(self, items, change, done: str):
        """Apply a lifecycle change to each selected order; say what happened to each."""
        rows = items if isinstance(items, list) else [items]
        changed = 0
        for order in rows:
            if order is None or order.tenant_id not in tenancy.scope_ids():
                abort(404)
            try:
                result = change(order)
            except (OrderError, PaymentError) as exc:  # Razorpay refused or was unreachable too
                db.session.rollback()
                flash(f"{order.number}: {exc}" if isinstance(exc, PaymentError) else str(exc), "danger")
                continue
            changed += 1
            if isinstance(result, list):
                outbound.send_later(result, order.tenant_id)
        if changed:
            flash(f"{changed} of {len(rows)} {done}", "success")
        self.update_redirect()
        return redirect(self.get_redirect())

    @action("send_link", "Send payment link", "Send the payment link to the customer's chat?",
            "fa-link")
    def send_link(self, items):
        def change(order):
            links.send_link(order)
        return self._each(items, change, "queued to get their payment link")

    @action("mark_fulfilled", "Mark fulfilled", "Mark these orders packed and ready?", "fa-cube")
    def mark_fulfilled(self, items):
        return self._each(items, lambda o: fulfilment.advance(o, OrderStatus.FULFILLED, actor_id=_actor()),
                          "marked fulfilled")

    @action("mark_shipped", "Mark shipped", "Mark these orders shipped and tell the customers?",
            "fa-truck")
    def mark_shipped(self, items):
        return self._each(items, lambda o: fulfilment.advance(o, OrderStatus.SHIPPED, actor_id=_actor()),
                          "marked shipped")

    @action("mark_delivered", "Mark delivered", "Mark these orders delivered?", "fa-check")
    def mark_delivered(self, items):
        return self._each(items, lambda o: fulfilment.advance(o, OrderStatus.DELIVERED, actor_id=_actor()),
                          "marked delivered")

    @action("cancel_order", "Cancel", "Cancel these unpaid orders and release their stock?", "fa-ban")
    def cancel_order(self, items):
        return self._each(items, lambda o: fulfilment.cancel(o, actor_id=_actor()), "cancelled")

    @action("request_refund", "Request refund", "Ask an owner to refund these orders?", "fa-flag")
    def request_refund(self, items):
        """From the list: requested without a reason; from an order's page: the reason form."""
        if not isinstance(items, list):
            if items is None or items.tenant_id not in tenancy.scope_ids():
                abort(404)
            return redirect(url_for(".refund_request", pk=items.id))
        return self._each(items, lambda o: refunds.request_refund(o, actor_id=_actor()),
                          "with a refund requested")

    @expose("/refund_request/<pk>", methods=["GET", "POST"])
    @has_access
    def refund_request(self, pk):
        """Ask an owner to refund one order, saying why."""
        order = self._scoped_get(pk)
        if request.method == "POST":
            try:
                refunds.request_refund(order, actor_id=_actor(), reason=request.form.get("reason"))
            except OrderError as exc:
                db.session.rollback()
                flash(str(exc), "danger")
            else:
                flash(f"Refund of {order.number} requested: an owner will decide", "success")
                return redirect(url_for(".show", pk=order.id))
        return self.render_template("closer/refund_request.html", order=order,
                                    max_reason=refunds.MAX_REASON)

    @action("refund_order", "Refund", "Refund these orders in full through Razorpay?", "fa-undo")
    def refund_order(self, items):
        return self._each(items, lambda o: refunds.refund(o, actor_id=_actor()), "refunded or refund requested")


class OrderApi(OrderRules, TenantModelApi):
    resource_name = "orders"
    datamodel = SQLAInterface(Order)
    class_permission_name = RESOURCE_ORDERS
    method_permission_name = {**API_METHOD_PERMISSIONS, "refund": CAN_REFUND, "request_refund": CAN_WRITE}
    list_columns = show_columns = [
        "id", "number", "customer.id", "conversation.id", "campaign.id", "status", "currency",
        "total_minor", "payment_link_url", "payment_error", "tracking_number", "notes", "paid_at",
        "shipped_at", "delivered_at", "closed_at", "refund_requested_at", "refund_requested_by.id",
        "refund_request_reason", "refund_id", "refunded_minor", "closed_by_sender", "closed_by_user.id",
        "created_at",
    ]
    add_columns = ["customer", "conversation", "campaign", "notes"]
    edit_columns = ORDER_EDIT
    search_columns = ["number", "customer", "status", "refund_requested_at", "created_at"]

    def _lifecycle(self, pk: int, change):
        """Run a service change on one of the tenant's orders: 404 for any other id, 422 for a
        refusal (503 when Razorpay is briefly unavailable)."""
        order = self.datamodel.get(pk, self._base_filters)
        if order is None or order.tenant_id not in tenancy.scope_ids():
            return self.response_404()
        try:
            result = change(order)
        except TransientPaymentError as exc:
            db.session.rollback()
            return self.response(503, message=str(exc))
        except (OrderError, PaymentError) as exc:
            db.session.rollback()
            return self.response_422(message={"_schema": [str(exc)]})
        if isinstance(result, list):
            outbound.send_later(result, order.tenant_id)
        return self.response(200, id=order.id, status=str(order.status), refund_id=order.refund_id,
                             refund_requested_at=order.refund_requested_at.isoformat()
                             if order.refund_requested_at else None)

    @expose_api("/<int:pk>/refund", methods=["POST"])
    @protect()
    @safe
    @permission_name(CAN_REFUND)
    def refund(self, pk: int):
        """Refund the order in full (owners and platform roles only)."""
        return self._lifecycle(pk, lambda o: refunds.refund(o, actor_id=_actor(), source="api"))

    @expose_api("/<int:pk>/refund_request", methods=["POST"])
    @protect()
    @safe
    @permission_name(CAN_WRITE)
    def request_refund(self, pk: int):
        """Ask an owner to refund the order; JSON body {"reason": "..."} (optional)."""
        body = request.get_json(silent=True)
        reason = body.get("reason") if isinstance(body, dict) else None
        if reason is not None and not isinstance(reason, str):
            return self.response_422(message={"reason": ["Must be text"]})
        return self._lifecycle(pk, lambda o: refunds.request_refund(
            o, actor_id=_actor(), reason=reason, source="api"))


class OrderItemApi(OrderItemRules, TenantModelApi):
    resource_name = "order_items"
    datamodel = SQLAInterface(OrderItem)
    validators_columns = {"quantity": Range(min=1, max=MAX_QUANTITY)}
    class_permission_name = RESOURCE_ORDER_ITEMS
    list_columns = show_columns = ["id", "order.id", "product.id", "sku", "name",
                                   "unit_price_minor", "quantity"]
    add_columns = ITEM_COLUMNS
    edit_columns = ["quantity"]
    search_columns = ["order", "product"]
