"""Permission names as constants and the four roles built from them (Airflow's habit).

Roles are FAB "builtin" roles (FAB_ROLES): regexes over (view, permission) evaluated at request
time, so no permission rows need syncing at deploy and nobody can widen a role from the UI.
Every tenant view/API collapses its methods to two permissions, `can_read` and `can_write`.
"""
from __future__ import annotations

ROLE_ADMIN = "Admin"
ROLE_AGENCY_ADMIN = "Agency Admin"
ROLE_OWNER = "Owner"
ROLE_STAFF = "Staff"
ROLE_PUBLIC = "Public"
ALL_ROLES = [ROLE_ADMIN, ROLE_AGENCY_ADMIN, ROLE_OWNER, ROLE_STAFF]
PLATFORM_ROLES = {ROLE_ADMIN, ROLE_AGENCY_ADMIN}  # apply across tenants; seats give the rest

CAN_READ = "read"
CAN_WRITE = "write"
# Giving money back is the business's decision: owners (and platform roles) refund; staff may
# only ask for one, which is an ordinary write on the order.
CAN_REFUND = "refund"

# Resources (class_permission_name of views and APIs)
RESOURCE_PRODUCTS = "Products"
RESOURCE_CATEGORIES = "Categories"
RESOURCE_CAMPAIGNS = "Campaigns"
RESOURCE_CUSTOMERS = "Customers"
RESOURCE_CONVERSATIONS = "Conversations"
RESOURCE_MESSAGES = "Messages"
RESOURCE_CANNED_REPLIES = "CannedReplies"
RESOURCE_ORDERS = "Orders"
RESOURCE_ORDER_ITEMS = "OrderItems"
RESOURCE_CHANNELS = "Channels"
RESOURCE_TEMPLATES = "Templates"
RESOURCE_AUTOMATION = "AutomationRules"
RESOURCE_LEO = "Leo"  # ask the analytics assistant (panel, page and API)
RESOURCE_PROMISES = "AiPromises"  # the log of what automated replies promised
RESOURCE_PROFILE = "BusinessProfile"
RESOURCE_KNOWLEDGE = "Knowledge"
RESOURCE_TEAM = "Team"
RESOURCE_TENANT_SETTINGS = "TenantSettings"
RESOURCE_TENANTS = "Tenants"  # create tenants (agency admins)
RESOURCE_ONBOARDING = "Onboarding"  # the set-up wizard a new business starts in
RESOURCE_ANALYTICS = "Analytics"  # the tenant's figures (dashboard, analytics page, API)
RESOURCE_AGENCY_OVERVIEW = "AgencyOverview"  # every tenant of the user's agencies side by side
RESOURCE_SEGMENTS = "Segments"
RESOURCE_BROADCASTS = "Broadcasts"  # messages to many customers at once: the owner's decision
RESOURCE_DELIVERIES = "WebhookDeliveries"  # platform Admins only: deliveries belong to no tenant

# Menu categories and items that need menu_access
MENU_INBOX = "Inbox"
MENU_CATALOG = "Catalog"
MENU_SALES = "Sales"
MENU_MARKETING = "Marketing"
MENU_SETTINGS = "Settings"
MENU_AGENCY = "Agency"
MENU_OPERATIONS = "Operations"  # platform Admins only

STAFF_RESOURCES = [
    RESOURCE_PRODUCTS,
    RESOURCE_CATEGORIES,
    RESOURCE_CAMPAIGNS,
    RESOURCE_CUSTOMERS,
    RESOURCE_LEO,
    RESOURCE_PROMISES,
    RESOURCE_CONVERSATIONS,
    RESOURCE_MESSAGES,
    RESOURCE_ORDERS,
    RESOURCE_ORDER_ITEMS,
    RESOURCE_ANALYTICS,
    RESOURCE_CANNED_REPLIES,
    RESOURCE_SEGMENTS,
]
OWNER_RESOURCES = STAFF_RESOURCES + [
    RESOURCE_BROADCASTS,
    RESOURCE_CHANNELS,
    RESOURCE_TEMPLATES,
    RESOURCE_AUTOMATION,
    RESOURCE_PROFILE,
    RESOURCE_KNOWLEDGE,
    RESOURCE_TEAM,
    RESOURCE_TENANT_SETTINGS,
    RESOURCE_ONBOARDING,
]
AGENCY_RESOURCES = OWNER_RESOURCES + [RESOURCE_TENANTS, RESOURCE_AGENCY_OVERVIEW]

STAFF_MENUS = [MENU_INBOX, MENU_CATALOG, MENU_SALES, MENU_MARKETING]
OWNER_MENUS = STAFF_MENUS + [MENU_SETTINGS]
AGENCY_MENUS = OWNER_MENUS + [MENU_AGENCY]

# Every signed-in user may edit their own profile and password.
SELF_SERVICE = [
    ["^UserDBModelView$", "^can_(userinfo|resetmypassword)$"],
    ["^ResetMyPasswordView$", "^can_this_form_(get|post)$"],
    ["^UserInfoEditView$", "^can_this_form_(get|post)$"],
    ["^TenantSwitchView$", "^can_switch$"],
]


def _any(names: list[str]) -> str:
    return "^(" + "|".join(names) + ")$"


# Rights beyond read/write, granted to owners and agency admins only.
OWNER_GRANTS = [
    [_any([RESOURCE_ORDERS]), f"^can_{CAN_REFUND}$"],
]


def _role(resources: list[str], menus: list[str], menu_items: list[str],
          grants: list[list[str]] | None = None) -> list[list[str]]:
    return [
        [_any(resources), "^can_(read|write)$"],
        *(grants or []),
        [_any(menus + menu_items), "^menu_access$"],
        *SELF_SERVICE,
    ]


# Menu item names (the `name` given to add_view), grouped by who sees them.
STAFF_MENU_ITEMS = [
    "Inbox",
    "Conversations",
    "Canned Replies",
    "Playground",
    "AI Promises",
    "Ask Leo",
    "Customers",
    "Products",
    "Categories",
    "Orders",
    "Campaigns",
    "Analytics",
    "Segments",
]
OWNER_MENU_ITEMS = STAFF_MENU_ITEMS + [
    "Broadcasts",
    "Integrations",
    "Channels",
    "Templates",
    "Automation Rules",
    "Business Profile",
    "Knowledge",
    "Team",
    "Add Team Member",
    "Store Settings",
    "Get Started",
]
AGENCY_MENU_ITEMS = OWNER_MENU_ITEMS + ["Tenants", "Agency Overview"]


def fab_roles() -> dict[str, list[list[str]]]:
    """FAB_ROLES: Admin can do everything (FAB user/role screens included); the rest are scoped."""
    return {
        ROLE_ADMIN: [[".*", ".*"]],
        ROLE_AGENCY_ADMIN: _role(AGENCY_RESOURCES, AGENCY_MENUS, AGENCY_MENU_ITEMS, OWNER_GRANTS),
        ROLE_OWNER: _role(OWNER_RESOURCES, OWNER_MENUS, OWNER_MENU_ITEMS, OWNER_GRANTS),
        ROLE_STAFF: _role(STAFF_RESOURCES, STAFF_MENUS, STAFF_MENU_ITEMS),
    }


VIEW_METHOD_PERMISSIONS = {
    "list": CAN_READ,
    "show": CAN_READ,
    "download": CAN_READ,
    "api": CAN_READ,
    "api_read": CAN_READ,
    "api_get": CAN_READ,
    "api_column_add": CAN_READ,
    "api_column_edit": CAN_READ,
    "api_readvalues": CAN_READ,
    "add": CAN_WRITE,
    "edit": CAN_WRITE,
    "delete": CAN_WRITE,
    "action": CAN_WRITE,
    "action_post": CAN_WRITE,
    "reply": CAN_WRITE,
    "refund_request": CAN_WRITE,
    "api_create": CAN_WRITE,
    "api_update": CAN_WRITE,
    "api_delete": CAN_WRITE,
}

API_METHOD_PERMISSIONS = {
    "get_list": CAN_READ,
    "get": CAN_READ,
    "info": CAN_READ,
    "post": CAN_WRITE,
    "put": CAN_WRITE,
    "delete": CAN_WRITE,
}
