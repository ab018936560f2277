"""Customers: one row per person per platform."""
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.models import Customer
from app.security.permissions import RESOURCE_CUSTOMERS
from app.views.base import TenantModelApi, TenantModelView

EDITABLE = ["name", "phone", "email", "tags", "opted_out"]
COLUMNS = ["platform", "external_id", *EDITABLE]


class CustomerView(TenantModelView):
    datamodel = SQLAInterface(Customer)
    class_permission_name = RESOURCE_CUSTOMERS
    # Spend and order count are derived from paid orders on every read (never stored).
    list_columns = ["name", "platform", "phone", "tags", "paid_order_count", "lifetime_spend",
                    "opted_out", "last_seen_at"]
    show_columns = COLUMNS + ["paid_order_count", "lifetime_spend", "first_seen_at", "last_seen_at"]
    add_columns = COLUMNS
    edit_columns = EDITABLE
    search_columns = ["name", "platform", "phone", "email", "tags", "opted_out"]
    label_columns = {"external_id": "Platform ID", "paid_order_count": "Paid orders",
                     "lifetime_spend": "Lifetime spend"}
    base_order = ("last_seen_at", "desc")


class CustomerApi(TenantModelApi):
    resource_name = "customers"
    datamodel = SQLAInterface(Customer)
    class_permission_name = RESOURCE_CUSTOMERS
    list_columns = show_columns = ["id", *COLUMNS, "paid_order_count", "lifetime_spend_minor",
                                   "first_seen_at", "last_seen_at"]
    add_columns = COLUMNS
    edit_columns = EDITABLE
    search_columns = ["name", "platform", "phone", "tags", "opted_out"]
