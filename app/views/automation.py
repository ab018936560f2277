"""Templates, workflow rules (with their steps), their runs and follow-ups, and the try-it box."""
from flask import request
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.api import protect
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import SelectField
from wtforms.validators import AnyOf, Optional

from app.models import AutomationRule, FollowUp, Platform, RuleRun, RuleStep, Template
from app.security import tenancy
from app.security.permissions import (
    API_METHOD_PERMISSIONS,
    CAN_READ,
    RESOURCE_AUTOMATION,
    RESOURCE_TEMPLATES,
)
from app.services import automation, rule_checks, tenant_content
from app.views.base import TenantModelApi, TenantModelView

TEMPLATE_COLUMNS = ["name", "platform", "language", "category", "body", "status"]
RULE_COLUMNS = ["name", "trigger", "match", "action", "response", "template", "assignee", "category",
                "delay_hours", "platform", "campaign", "customer_tag", "hours", "priority", "active"]
STEP_COLUMNS = ["rule", "position", "action", "response", "template", "assignee", "category", "delay_hours"]
RULE_HELP = {
    "trigger": "keyword, new_conversation, order_intent (buying words or a Buy button), no_reply, "
               "order_paid, order_shipped, outside_hours",
    "match": "keyword: words or phrases separated by commas; no_reply: hours of quiet (e.g. 24); "
             "outside_hours: opening hours such as 09:00-21:00",
    "action": "reply, ai_reply (the agent answers), send_catalog, tag, assign, create_order, "
              "follow_up, handoff, opt_out; add further actions as Steps. A reply alone is the "
              "whole answer: add an ai_reply step to send it with the agent's answer (a welcome)",
    "response": "The text to send (reply, handoff, opt_out, follow_up) or the tag to add (tag)",
    "template": "Instead of a text; a follow-up outside WhatsApp's 24 hours needs an approved one "
                "(its {{1}}..{{4}} are the customer's name, order number, total, payment link)",
    "assignee": "assign: the teammate who takes the conversation (the agent stops answering)",
    "category": "send_catalog: only this category (default: the campaign's products, else all)",
    "delay_hours": "follow_up: hours to wait before sending",
    "platform": "Condition: only on this platform",
    "campaign": "Condition: only in conversations of this campaign",
    "customer_tag": "Condition: only for customers with this tag",
    "hours": "Condition: only at these local times, e.g. 09:00-18:00",
}
PLATFORMS = [p.value for p in Platform if p != Platform.PLAYGROUND]
MAX_SAMPLE = 2000


class RuleValidation:
    """The same checks for the admin form and the API (app.services.rule_checks)."""

    def before_save(self, item, created):
        if isinstance(item, RuleStep):
            rule_checks.validate_step(item)
        else:
            rule_checks.validate(item)


class RuleApiRefusals:
    def _domain_refusal(self, exc: ValueError):
        if isinstance(exc, rule_checks.RuleInvalid):
            from app.extensions import db

            db.session.rollback()
            return self.response_422(message={k: [v] for k, v in exc.problems.items()})
        return super()._domain_refusal(exc)


class TemplateView(TenantModelView):
    datamodel = SQLAInterface(Template)
    class_permission_name = RESOURCE_TEMPLATES
    list_columns = ["name", "platform", "language", "category", "status"]
    show_columns = add_columns = edit_columns = TEMPLATE_COLUMNS
    search_columns = ["name", "platform", "status", "body"]
    description_columns = {
        "status": "WhatsApp: only approved templates may be sent outside the 24-hour window"
    }


class RuleStepView(RuleValidation, TenantModelView):
    datamodel = SQLAInterface(RuleStep)
    class_permission_name = RESOURCE_AUTOMATION
    list_columns = ["rule", "position", "action", "response", "delay_hours"]
    show_columns = add_columns = edit_columns = STEP_COLUMNS
    search_columns = ["rule", "action"]
    base_order = ("position", "asc")
    description_columns = {k: v for k, v in RULE_HELP.items() if k in STEP_COLUMNS}


def _platform_field() -> SelectField:
    """The platform condition, with "any platform" (FAB's enum field offers no empty choice)."""
    return SelectField("Platform", choices=[("", "Any platform")] + [(p, p) for p in PLATFORMS],
                       filters=[lambda value: value or None], validate_choice=False,
                       validators=[Optional(), AnyOf(PLATFORMS, message="Choose a platform or any")],
                       widget=Select2Widget(), description=RULE_HELP["platform"])


class AutomationRuleView(RuleValidation, TenantModelView):
    datamodel = SQLAInterface(AutomationRule)
    add_form_extra_fields = edit_form_extra_fields = {"platform": _platform_field()}
    class_permission_name = RESOURCE_AUTOMATION
    list_columns = ["name", "trigger", "match", "action", "platform", "priority", "active"]
    show_columns = add_columns = edit_columns = RULE_COLUMNS
    search_columns = ["name", "trigger", "action", "template", "active"]
    description_columns = RULE_HELP
    base_order = ("priority", "asc")
    related_views = [RuleStepView]


class RuleRunView(TenantModelView):
    """What the rules did, per conversation (read only)."""

    datamodel = SQLAInterface(RuleRun)
    class_permission_name = RESOURCE_AUTOMATION
    include_route_methods = {"list", "show"}
    list_columns = ["created_at", "rule_name", "trigger", "conversation", "summary"]
    show_columns = ["created_at", "rule_name", "trigger", "event", "conversation", "summary"]
    search_columns = ["rule_name", "trigger", "conversation", "created_at"]
    label_columns = {"summary": "Actions", "rule_name": "Rule"}
    base_order = ("created_at", "desc")


class FollowUpView(TenantModelView):
    datamodel = SQLAInterface(FollowUp)
    class_permission_name = RESOURCE_AUTOMATION
    include_route_methods = {"list", "show"}
    list_columns = ["due_at", "conversation", "status", "reason", "text", "template"]
    show_columns = ["due_at", "conversation", "rule", "order", "status", "reason", "text", "template",
                    "message", "created_at", "done_at"]
    search_columns = ["status", "conversation", "due_at"]
    base_order = ("due_at", "desc")


class AutomationTryView(BaseView):
    """Try a sample message against the active tenant's rules without sending anything."""

    route_base = "/automation/try"
    default_view = "index"
    class_permission_name = RESOURCE_AUTOMATION
    method_permission_name = {"index": CAN_READ}

    @expose("/")
    @has_access
    def index(self):
        tenant_id = tenancy.require_active_tenant()
        sample = (request.args.get("text") or "")[:MAX_SAMPLE]
        platform = request.args.get("platform") if request.args.get("platform") in PLATFORMS else "messenger"
        first = request.args.get("first") == "1"
        tags = (request.args.get("tags") or "")[:200]
        fired = None
        if sample.strip():
            fired = automation.preview(tenant_content.get(tenant_id), sample, platform=platform,
                                       first=first, tags=tags)
        return self.render_template("closer/automation_try.html", sample=sample, platform=platform,
                                    platforms=PLATFORMS, first=first, tags=tags, fired=fired)


class TemplateApi(TenantModelApi):
    resource_name = "templates"
    datamodel = SQLAInterface(Template)
    class_permission_name = RESOURCE_TEMPLATES
    list_columns = show_columns = ["id", *TEMPLATE_COLUMNS]
    add_columns = edit_columns = TEMPLATE_COLUMNS
    search_columns = ["name", "platform", "status"]


class AutomationRuleApi(RuleApiRefusals, RuleValidation, TenantModelApi):
    resource_name = "automation_rules"
    datamodel = SQLAInterface(AutomationRule)
    class_permission_name = RESOURCE_AUTOMATION
    method_permission_name = {**API_METHOD_PERMISSIONS, "try_it": CAN_READ}
    list_columns = show_columns = ["id", *RULE_COLUMNS]
    add_columns = edit_columns = RULE_COLUMNS
    search_columns = ["name", "trigger", "action", "active"]

    def _init_model_schemas(self):
        super()._init_model_schemas()
        # The platform condition is optional: null means every platform.
        for schema in (self.add_model_schema, self.edit_model_schema):
            schema.fields["platform"].allow_none = True

    @api_expose("/try", methods=["POST"])
    @protect()
    def try_it(self):
        """POST {"text", "platform"?, "first"?, "tags"?} -> the rules it would fire."""
        tenant_id = tenancy.active_tenant_id()
        if tenant_id is None:
            return self.response_404()
        body = request.get_json(silent=True)
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_SAMPLE:
            return self.response_400(message=f"text: a sample message of 1 to {MAX_SAMPLE} characters")
        platform = body.get("platform") or "messenger"
        if platform not in PLATFORMS:
            return self.response_400(message=f"platform: one of {', '.join(PLATFORMS)}")
        tags = body.get("tags") or ""
        if not isinstance(tags, str):
            return self.response_400(message="tags: comma-separated text")
        fired = automation.preview(tenant_content.get(tenant_id), text, platform=platform,
                                   first=body.get("first") is True, tags=tags[:200])
        return self.response(200, result=fired)


class RuleStepApi(RuleApiRefusals, RuleValidation, TenantModelApi):
    resource_name = "rule_steps"
    datamodel = SQLAInterface(RuleStep)
    class_permission_name = RESOURCE_AUTOMATION
    list_columns = show_columns = ["id", *STEP_COLUMNS]
    add_columns = edit_columns = STEP_COLUMNS
    search_columns = ["rule", "action"]


class RuleRunApi(TenantModelApi):
    resource_name = "rule_runs"
    datamodel = SQLAInterface(RuleRun)
    class_permission_name = RESOURCE_AUTOMATION
    include_route_methods = {"get", "get_list", "info"}
    list_columns = show_columns = ["id", "rule_name", "trigger", "event", "conversation.id", "actions",
                                   "created_at"]
    search_columns = ["rule_name", "trigger", "conversation"]


class FollowUpApi(TenantModelApi):
    resource_name = "follow_ups"
    datamodel = SQLAInterface(FollowUp)
    class_permission_name = RESOURCE_AUTOMATION
    include_route_methods = {"get", "get_list", "info"}
    list_columns = show_columns = ["id", "conversation.id", "order.number", "status", "reason", "text",
                                   "due_at", "created_at", "done_at"]
    search_columns = ["status", "conversation"]
