"""Templates and automation rules."""
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.models import AutomationRule, Template
from app.security.permissions import RESOURCE_AUTOMATION, RESOURCE_TEMPLATES
from app.views.base import TenantModelApi, TenantModelView

TEMPLATE_COLUMNS = ["name", "platform", "language", "category", "body", "status"]
RULE_COLUMNS = ["name", "trigger", "match", "action", "response", "template", "priority", "active"]


class TemplateView(TenantModelView):
    datamodel = SQLAInterface(Template)
    class_permission_name = RESOURCE_TEMPLATES
    list_columns = ["name", "platform", "language", "category", "status"]
    show_columns = add_columns = edit_columns = TEMPLATE_COLUMNS
    search_columns = ["name", "platform", "status", "body"]
    description_columns = {
        "status": "WhatsApp: only approved templates may be sent outside the 24-hour window"
    }


class AutomationRuleView(TenantModelView):
    datamodel = SQLAInterface(AutomationRule)
    class_permission_name = RESOURCE_AUTOMATION
    list_columns = ["name", "trigger", "match", "action", "priority", "active"]
    show_columns = add_columns = edit_columns = RULE_COLUMNS
    search_columns = ["name", "trigger", "action", "template", "active"]
    description_columns = {"match": "Keywords separated by commas (for keyword triggers)"}
    base_order = ("priority", "asc")


class TemplateApi(TenantModelApi):
    resource_name = "templates"
    datamodel = SQLAInterface(Template)
    class_permission_name = RESOURCE_TEMPLATES
    list_columns = show_columns = ["id", *TEMPLATE_COLUMNS]
    add_columns = edit_columns = TEMPLATE_COLUMNS
    search_columns = ["name", "platform", "status"]


class AutomationRuleApi(TenantModelApi):
    resource_name = "automation_rules"
    datamodel = SQLAInterface(AutomationRule)
    class_permission_name = RESOURCE_AUTOMATION
    list_columns = show_columns = ["id", *RULE_COLUMNS]
    add_columns = edit_columns = RULE_COLUMNS
    search_columns = ["name", "trigger", "action", "active"]
