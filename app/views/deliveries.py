"""Webhook deliveries, for Admins: what Meta and Razorpay sent that could not be used.

A delivery belongs to no tenant until it is parsed (the account named inside decides), so
this screen is for the platform's Admins only. It lists deliveries that are unprocessable
(no body that parses), parked (failed too often) or processed with events skipped, each with
the reason; a parked one can be processed again once its cause is fixed.
"""
from flask import flash, redirect
from flask_appbuilder import ModelView
from flask_appbuilder.actions import action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import or_

from app.models import DeliveryStatus, WebhookEvent
from app.security.permissions import RESOURCE_DELIVERIES, VIEW_METHOD_PERMISSIONS
from app.services import webhook_events
from app.views.formatting import datetime_formatters


class NeedsAttention(BaseFilter):
    """Deliveries not simply processed: pending, unprocessable, parked, or with events skipped."""

    name = "Needs attention"
    arg_name = "attention"

    def apply(self, query, value):
        return query.filter(or_(WebhookEvent.status != DeliveryStatus.PROCESSED.value,
                                WebhookEvent.error.is_not(None)))


class WebhookDeliveryView(ModelView):
    datamodel = SQLAInterface(WebhookEvent)
    class_permission_name = RESOURCE_DELIVERIES
    method_permission_name = {**VIEW_METHOD_PERMISSIONS, "retry": "write"}
    base_permissions = ["can_read", "can_write"]
    base_order = ("id", "desc")
    # Deliveries that went as expected are not news: the default list shows the others.
    base_filters = [["id", NeedsAttention, None]]
    list_columns = ["id", "source", "status", "attempts", "received_at", "error"]
    show_columns = ["id", "source", "status", "attempts", "received_at", "processed_at", "error", "body"]
    search_columns = ["source", "status", "error"]
    label_columns = {"error": "Reason", "body": "Body as received"}
    exclude_route_methods = {"add", "edit", "delete", "download", "api_create", "api_update",
                             "api_delete"}
    page_size = 50
    list_title = "Webhook deliveries that need attention"
    show_title = "Webhook delivery"
    formatters_columns = {
        **datetime_formatters(SQLAInterface(WebhookEvent), {"received_at", "processed_at"}),
        "error": lambda text: (text or "")[:300],
        "body": lambda text: (text or "")[:20000],
    }

    @action("retry", "Process again", "Process these parked deliveries again?", "fa-repeat",
            single=False)
    def retry(self, items):
        rows = items if isinstance(items, list) else [items]
        queued = webhook_events.process_again([row.id for row in rows])
        flash(f"{queued} of {len(rows)} queued again (only parked deliveries can be)", "success")
        self.update_redirect()
        return redirect(self.get_redirect())
