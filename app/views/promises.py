"""AI Promises: what automated replies stated, and whether the records agree. A log: read only."""
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.models import AiPromise
from app.security.permissions import RESOURCE_PROMISES
from app.views.base import TenantModelApi, TenantModelView

LIST_COLUMNS = ["created_at", "kind", "stated", "on_record", "matches", "product", "conversation", "text"]


class AiPromiseView(TenantModelView):
    datamodel = SQLAInterface(AiPromise)
    class_permission_name = RESOURCE_PROMISES
    include_route_methods = {"list", "show"}
    list_title = "What the AI promised"
    show_title = "AI promise"
    list_columns = LIST_COLUMNS
    show_columns = [*LIST_COLUMNS, "checked_against", "message"]
    search_columns = ["kind", "matches", "created_at", "conversation", "product", "text"]
    label_columns = {"stated": "Stated", "on_record": "On record", "matches": "Matches records",
                     "text": "Said in", "created_at": "When"}
    description_columns = {"matches": "No: contradicts the catalog, the campaign's offer, the delivery "
                           "policy or the customer's orders. Empty: nothing on record to check against."}
    formatters_columns = {"matches": lambda value: {True: "Yes", False: "No"}.get(value, "Nothing on record"),
                          "product": lambda value: value or ""}  # a claim about no one product: blank, not "None"
    base_order = ("created_at", "desc")
    page_size = 50


class AiPromiseApi(TenantModelApi):
    resource_name = "ai_promises"
    datamodel = SQLAInterface(AiPromise)
    class_permission_name = RESOURCE_PROMISES
    include_route_methods = {"get", "get_list", "info"}
    list_columns = show_columns = [
        "id", "created_at", "conversation.id", "message.id", "kind", "text", "value", "value_minor",
        "catalog_value_minor", "product.id", "product.name", "matches", "checked_against",
    ]
    search_columns = ["kind", "matches", "created_at", "conversation", "product"]
    order_columns = ["created_at", "id"]
    base_order = ("created_at", "desc")
