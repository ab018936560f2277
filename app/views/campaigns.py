"""Campaigns: a product (or a few) to sell with a chat flow, per platform."""
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.models import Campaign
from app.security.permissions import RESOURCE_CAMPAIGNS
from app.services import attribution
from app.views.base import TenantModelApi, TenantModelView

FLOW = ["greeting", "qualification_questions", "objection_handling", "closing", "audience"]
COLUMNS = ["name", "target_platform", "status", "products", *FLOW, "starts_at", "ends_at",
           "ad_ids", "ref"]


class CampaignRules:
    """Ad ids and link refs are checked before a campaign is saved (app.services.attribution)."""

    def before_save(self, item, created):
        attribution.check_campaign_sources(item)


class CampaignView(CampaignRules, TenantModelView):
    datamodel = SQLAInterface(Campaign)
    class_permission_name = RESOURCE_CAMPAIGNS
    list_columns = ["name", "target_platform", "status", "products", "starts_at", "ends_at"]
    show_columns = COLUMNS + ["created_at"]
    add_columns = edit_columns = COLUMNS
    search_columns = ["name", "target_platform", "status", "products"]
    description_columns = {
        "greeting": "First message the agent sends for this campaign",
        "qualification_questions": "One question per line, asked before recommending",
        "objection_handling": "How to answer common objections (price, delivery, quality)",
        "closing": "How to ask for the order",
        "ad_ids": "Meta ad ids (comma-separated) whose clicks are credited to this campaign",
        "ref": "The ref of an m.me / ig.me link credited to this campaign",
    }
    base_order = ("created_at", "desc")


class CampaignApi(CampaignRules, TenantModelApi):
    resource_name = "campaigns"
    datamodel = SQLAInterface(Campaign)
    class_permission_name = RESOURCE_CAMPAIGNS
    list_columns = show_columns = ["id", *COLUMNS]
    add_columns = edit_columns = COLUMNS
    search_columns = ["name", "target_platform", "status"]
