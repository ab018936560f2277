"""Orders with their items (price and name snapshots)."""
from flask_appbuilder.models.sqla.interface import SQLAInterface
from marshmallow.validate import Range
from wtforms.validators import NumberRange

from app.models import Order, OrderItem
from app.security.permissions import RESOURCE_ORDER_ITEMS, RESOURCE_ORDERS
from app.services import orders as order_service
from app.views.base import TenantModelApi, TenantModelView

# Status moves only through the order lifecycle (forward only), never by free editing.
ORDER_EDIT = ["tracking_number", "notes"]
ITEM_COLUMNS = ["order", "product", "quantity"]


class OrderItemRules:
    """Lines snapshot the product and keep the order's total right (admin and API alike)."""

    def before_save(self, item, created):
        order_service.snapshot_item(item)

    def post_add(self, item):
        order_service.recompute_total(item.order)

    def post_update(self, item):
        order_service.recompute_total(item.order)

    def post_delete(self, item):
        order_service.recompute_total(item.order)


class OrderRules:
    """A new order gets its number, status and currency on the server."""

    def before_save(self, item, created):
        if created:
            order_service.assign_number(item)


class OrderItemView(OrderItemRules, TenantModelView):
    datamodel = SQLAInterface(OrderItem)
    validators_columns = {"quantity": [NumberRange(min=1, max=order_service.MAX_QUANTITY)]}
    class_permission_name = RESOURCE_ORDER_ITEMS
    list_columns = ["sku", "name", "unit_price", "quantity", "line_total"]
    show_columns = ["order", "product", "sku", "name", "unit_price", "quantity", "line_total"]
    add_columns = ITEM_COLUMNS
    edit_columns = ["quantity"]
    search_columns = ["order", "product", "sku", "name"]


class OrderView(OrderRules, TenantModelView):
    datamodel = SQLAInterface(Order)
    class_permission_name = RESOURCE_ORDERS
    related_views = [OrderItemView]
    list_columns = ["number", "customer", "status", "total", "campaign", "created_at"]
    show_columns = ["number", "customer", "conversation", "campaign", "status", "total",
                    "payment_link_url", "tracking_number", "notes", "paid_at", "created_at",
                    "updated_at"]
    add_columns = ["customer", "conversation", "campaign", "notes"]
    edit_columns = ORDER_EDIT
    search_columns = ["number", "customer", "campaign", "status", "total_minor", "created_at"]
    base_order = ("created_at", "desc")


class OrderApi(OrderRules, TenantModelApi):
    resource_name = "orders"
    datamodel = SQLAInterface(Order)
    class_permission_name = RESOURCE_ORDERS
    list_columns = show_columns = [
        "id", "number", "customer.id", "conversation.id", "campaign.id", "status", "currency",
        "total_minor", "payment_link_url", "tracking_number", "notes", "paid_at", "created_at",
    ]
    add_columns = ["customer", "conversation", "campaign", "notes"]
    edit_columns = ORDER_EDIT
    search_columns = ["number", "customer", "status", "created_at"]


class OrderItemApi(OrderItemRules, TenantModelApi):
    resource_name = "order_items"
    datamodel = SQLAInterface(OrderItem)
    validators_columns = {"quantity": Range(min=1, max=order_service.MAX_QUANTITY)}
    class_permission_name = RESOURCE_ORDER_ITEMS
    list_columns = show_columns = ["id", "order.id", "product.id", "sku", "name",
                                   "unit_price_minor", "quantity"]
    add_columns = ITEM_COLUMNS
    edit_columns = ["quantity"]
    search_columns = ["order", "product"]
