"""register_views(): every view and API, in menu order (Airflow's init_views habit)."""
from __future__ import annotations

from app.security.permissions import (
    MENU_AGENCY,
    MENU_CATALOG,
    MENU_INBOX,
    MENU_MARKETING,
    MENU_OPERATIONS,
    MENU_SALES,
    MENU_SETTINGS,
)


def register_views(appbuilder) -> None:
    from app.views.agency import AgencyOverviewView
    from app.views.analytics import AnalyticsView
    from app.views.analytics_api import AnalyticsApi
    from app.views.assets import PlotlyAssetView
    from app.views.audience import BroadcastsView, SegmentApi, SegmentsView
    from app.views.automation import (
        AutomationRuleApi,
        AutomationRuleView,
        AutomationTryView,
        FollowUpApi,
        FollowUpView,
        RuleRunApi,
        RuleRunView,
        RuleStepApi,
        RuleStepView,
        TemplateApi,
        TemplateView,
    )
    from app.views.campaigns import CampaignApi, CampaignView
    from app.views.catalog import CategoryApi, CategoryView, ProductApi, ProductView
    from app.views.channels import ChannelApi, ChannelView
    from app.views.customers import CustomerApi, CustomerView
    from app.views.deliveries import WebhookDeliveryView
    from app.views.integrations import IntegrationsView
    from app.views.conversation_api import ConversationApi
    from app.views.inbox import ConversationView, MessageApi, MessageView
    from app.views.inbox_page import CannedReplyView, ConversationNoteView, InboxView
    from app.views.leo import LeoApi, LeoView
    from app.views.orders import OrderApi, OrderEventView, OrderItemApi, OrderItemView, OrderView
    from app.views.onboarding import OnboardingView
    from app.views.playground import PlaygroundView
    from app.views.promises import AiPromiseApi, AiPromiseView
    from app.views.settings import (
        BusinessProfileApi,
        BusinessProfileView,
        KnowledgeDocumentApi,
        KnowledgeDocumentView,
        TenantSettingsView,
    )
    from app.views.signup import SignupView
    from app.views.team import AddTeamMemberView, TeamView
    from app.views.tenants import TenantSwitchView, TenantsView

    ab = appbuilder
    ab.add_view_no_menu(MessageView)
    ab.add_view_no_menu(OrderItemView)
    ab.add_view_no_menu(OrderEventView)
    ab.add_view_no_menu(TenantSwitchView)
    ab.add_view_no_menu(SignupView)
    ab.add_view_no_menu(PlotlyAssetView)
    ab.add_view_no_menu(ConversationNoteView)
    ab.add_view(InboxView, "Inbox", icon="fa-inbox", category=MENU_INBOX)
    ab.add_view(ConversationView, "Conversations", icon="fa-comments", category=MENU_INBOX)
    ab.add_view(CannedReplyView, "Canned Replies", icon="fa-bolt", category=MENU_INBOX)
    ab.add_view(CustomerView, "Customers", icon="fa-address-book", category=MENU_INBOX)
    ab.add_view(PlaygroundView, "Playground", icon="fa-flask", category=MENU_INBOX)
    ab.add_view(SegmentsView, "Segments", icon="fa-filter", category=MENU_INBOX)
    ab.add_view(AiPromiseView, "AI Promises", icon="fa-handshake-o", category=MENU_INBOX)
    ab.add_view(LeoView, "Ask Leo", icon="fa-line-chart", category=MENU_SALES)
    ab.add_view(ProductView, "Products", icon="fa-cube", category=MENU_CATALOG)
    ab.add_view(CategoryView, "Categories", icon="fa-tags", category=MENU_CATALOG)
    ab.add_view(OrderView, "Orders", icon="fa-shopping-cart", category=MENU_SALES)
    ab.add_view(AnalyticsView, "Analytics", icon="fa-line-chart", category=MENU_SALES)
    ab.add_view(CampaignView, "Campaigns", icon="fa-bullhorn", category=MENU_MARKETING)
    ab.add_view(TemplateView, "Templates", icon="fa-file-text-o", category=MENU_MARKETING)
    ab.add_view(AutomationRuleView, "Automation Rules", icon="fa-magic", category=MENU_MARKETING)
    ab.add_view_no_menu(RuleStepView)
    ab.add_view(AutomationTryView, "Try Rules", icon="fa-flask", category=MENU_MARKETING)
    ab.add_view(RuleRunView, "Rule Runs", icon="fa-history", category=MENU_MARKETING)
    ab.add_view(FollowUpView, "Follow-ups", icon="fa-clock-o", category=MENU_MARKETING)
    ab.add_view(BroadcastsView, "Broadcasts", icon="fa-paper-plane", category=MENU_MARKETING)
    ab.add_view(IntegrationsView, "Integrations", icon="fa-link", category=MENU_SETTINGS)
    ab.add_view(ChannelView, "Channels", icon="fa-plug", category=MENU_SETTINGS)
    ab.add_view(BusinessProfileView, "Business Profile", icon="fa-briefcase", category=MENU_SETTINGS)
    ab.add_view(KnowledgeDocumentView, "Knowledge", icon="fa-book", category=MENU_SETTINGS)
    ab.add_view(TeamView, "Team", icon="fa-users", category=MENU_SETTINGS)
    ab.add_view(AddTeamMemberView, "Add Team Member", icon="fa-user-plus", category=MENU_SETTINGS)
    ab.add_view(TenantSettingsView, "Store Settings", icon="fa-cog", category=MENU_SETTINGS)
    ab.add_view(OnboardingView, "Get Started", icon="fa-rocket", category=MENU_SETTINGS)
    ab.add_view(TenantsView, "Tenants", icon="fa-building", category=MENU_AGENCY)
    ab.add_view(AgencyOverviewView, "Agency Overview", icon="fa-th-list", category=MENU_AGENCY)
    ab.add_view(WebhookDeliveryView, "Webhook Deliveries", icon="fa-inbox", category=MENU_OPERATIONS)

    for api in (
        ConversationApi, MessageApi, CustomerApi, ProductApi, CategoryApi, OrderApi,
        OrderItemApi, CampaignApi, TemplateApi, AutomationRuleApi, RuleStepApi, RuleRunApi,
        FollowUpApi, ChannelApi, BusinessProfileApi, KnowledgeDocumentApi, SegmentApi, AnalyticsApi,
        AiPromiseApi, LeoApi,
    ):
        ab.add_api(api)
