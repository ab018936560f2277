"""Business settings an Owner keeps: store settings, business profile, knowledge."""
from flask_appbuilder.models.sqla.filters import FilterInFunction
from sqlalchemy import inspect
from wtforms import BooleanField, IntegerField
from wtforms.validators import NumberRange, Optional
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.models import BusinessProfile, KnowledgeDocument, Tenant
from app.security import tenancy
from app.services import knowledge
from app.services.disclosure import DEFAULT_TEXT
from app.views.validators import TENANT_VALIDATORS
from app.security.permissions import (
    RESOURCE_KNOWLEDGE,
    RESOURCE_PROFILE,
    RESOURCE_TENANT_SETTINGS,
    VIEW_METHOD_PERMISSIONS,
)
from app.views.base import TenantModelApi, TenantModelView
from flask_appbuilder import ModelView

INBOX_SETTINGS = ["human_pause_minutes", "ai_disclosure", "ai_disclosure_text"]
DEFAULT_DISCLOSURE = DEFAULT_TEXT.format(business="<business name>")
PROFILE_COLUMNS = ["business_name", "owner_name", "industry", "description", "website", "phone",
                   "goals", "audience", "tone", "policies"]


class BusinessProfileView(TenantModelView):
    datamodel = SQLAInterface(BusinessProfile)
    class_permission_name = RESOURCE_PROFILE
    list_columns = ["business_name", "industry", "website", "phone", "updated_at"]
    show_columns = PROFILE_COLUMNS + ["updated_at"]
    add_columns = edit_columns = PROFILE_COLUMNS
    search_columns = ["business_name", "industry"]
    description_columns = {
        "tone": "How the salesperson should sound, e.g. warm, concise, Hinglish ok",
        "policies": "Shipping, returns, payment and warranty rules the agent must follow",
    }


class KnowledgeDocumentView(TenantModelView):
    datamodel = SQLAInterface(KnowledgeDocument)
    class_permission_name = RESOURCE_KNOWLEDGE
    list_columns = ["title", "updated_at", "chunked_at"]
    show_columns = ["title", "content", "created_at", "updated_at", "chunked_at"]
    add_columns = edit_columns = ["title", "content"]
    search_columns = ["title", "content"]
    label_columns = {"chunked_at": "Indexed at"}

    def post_add(self, item):
        knowledge.document_saved(item)

    post_update = post_add


class TenantSettingsView(ModelView):
    """The active tenant's own row (name, currency, timezone)."""

    datamodel = SQLAInterface(Tenant)
    class_permission_name = RESOURCE_TENANT_SETTINGS
    method_permission_name = VIEW_METHOD_PERMISSIONS
    base_permissions = ["can_read", "can_write"]
    base_filters = [["id", FilterInFunction, tenancy.scope_ids]]
    include_route_methods = {"list", "show", "edit"}
    validators_columns = TENANT_VALIDATORS
    list_columns = ["name", "slug", "currency", "timezone"]
    show_columns = ["name", "slug", "agency", "currency", "timezone", *INBOX_SETTINGS, "created_at"]
    edit_columns = ["name", "currency", "timezone", *INBOX_SETTINGS]
    label_columns = {"human_pause_minutes": "AI pause after a person replies (minutes)",
                     "ai_disclosure": "AI says it is automated",
                     "ai_disclosure_text": "Disclosure wording"}
    description_columns = {
        "human_pause_minutes": "When someone replies from the inbox or the Page / Instagram / "
                               "WhatsApp Business app, the AI stays quiet in that chat this long",
        "ai_disclosure": "The AI's first message in a conversation says it is automated and "
                         "how to reach a person",
        "ai_disclosure_text": "Optional; empty uses: " + DEFAULT_DISCLOSURE,
    }
    search_columns = ["name"]


    # Explicit fields: FAB would mark both required (NOT NULL), refusing a checkbox left off.
    edit_form_extra_fields = {
        "human_pause_minutes": IntegerField(
            "AI pause after a person replies (minutes)", validators=[Optional(), NumberRange(
                0, 10080, message="Between 0 and 10080 minutes (a week)")]),
        "ai_disclosure": BooleanField("AI says it is automated"),
    }

    def pre_update(self, item):
        """A form posted without the pause (an older page) keeps the stored one."""
        if item.human_pause_minutes is None:
            previous = inspect(item).attrs.human_pause_minutes.history.deleted
            item.human_pause_minutes = previous[0] if previous else 30


class BusinessProfileApi(TenantModelApi):
    resource_name = "business_profile"
    datamodel = SQLAInterface(BusinessProfile)
    class_permission_name = RESOURCE_PROFILE
    list_columns = show_columns = ["id", *PROFILE_COLUMNS, "updated_at"]
    add_columns = edit_columns = PROFILE_COLUMNS
    search_columns = ["business_name", "industry"]


class KnowledgeDocumentApi(TenantModelApi):
    resource_name = "knowledge"
    datamodel = SQLAInterface(KnowledgeDocument)
    class_permission_name = RESOURCE_KNOWLEDGE
    list_columns = show_columns = ["id", "title", "content", "updated_at", "chunked_at"]
    add_columns = edit_columns = ["title", "content"]
    search_columns = ["title"]

    def post_add(self, item):
        knowledge.document_saved(item)

    post_update = post_add
