"""The dashboard that `/` shows a signed-in user with an active tenant."""
from __future__ import annotations

from flask import request, url_for
from werkzeug.routing import BuildError

from app.analytics import charts
from app.services import reporting
from app.views.assets import PLOTLY_VERSION
from app.views.figures import slot
from app.views.formatting import local_time
from app.views.report_format import Formats

# (label, icon, endpoint, permission, resource): shown only to those who may use them.
QUICK_ACTIONS = [
    ("Open the inbox", "fa-comments", "ConversationView.list", "can_read", "Conversations"),
    ("Try the Playground", "fa-flask", "PlaygroundView.index", "can_read", "Conversations"),
    ("Add a product", "fa-cube", "ProductView.add", "can_write", "Products"),
    ("New campaign", "fa-bullhorn", "CampaignView.add", "can_write", "Campaigns"),
    ("See orders", "fa-shopping-cart", "OrderView.list", "can_read", "Orders"),
    ("Connect a channel", "fa-plug", "ChannelView.list", "can_read", "Channels"),
    ("Analytics", "fa-line-chart", "AnalyticsView.index", "can_read", "Analytics"),
]


def quick_actions(security_manager) -> list[dict]:
    found = []
    for label, icon, endpoint, permission, resource in QUICK_ACTIONS:
        if not security_manager.has_access(permission, resource):
            continue
        try:
            found.append({"label": label, "icon": icon, "url": url_for(endpoint)})
        except BuildError:  # a view this deployment doesn't register
            continue
    return found


def render(view, tenant):
    days = request.args.get("days", reporting.DEFAULT_DAYS, type=int)
    board = reporting.dashboard(tenant, days)
    daily, cur = board.daily, board.currency
    chart_slots = {
        "revenue": slot("chart-revenue", any(r["revenue_minor"] for r in daily),
                        lambda: charts.revenue_over_time(daily, cur),
                        "No paid orders in this period yet."),
        "messages": slot("chart-messages",
                         any(r["messages_received"] or r["messages_sent"] for r in daily),
                         lambda: charts.messages_over_time(daily),
                         "No messages in this period yet."),
    }
    return view.render_template(
        "closer/dashboard.html", appbuilder=view.appbuilder, tenant=tenant, board=board,
        charts=chart_slots, periods=reporting.DASHBOARD_PERIODS, fmt=Formats,
        actions=quick_actions(view.appbuilder.sm), plotly_version=PLOTLY_VERSION, local_time=local_time,
    )
