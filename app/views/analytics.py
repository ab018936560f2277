"""Analytics page (/analytics/) with its CSV export, for the active tenant."""
from __future__ import annotations

from flask import Response, abort, request
from flask_appbuilder import BaseView, expose, has_access

from app.analytics import charts
from app.extensions import db
from app.models import Tenant
from app.security import tenancy
from app.security.permissions import CAN_READ, RESOURCE_ANALYTICS
from app.services import analytics_export, reporting
from app.views.assets import PLOTLY_VERSION
from app.views.figures import slot
from app.views.report_format import Formats

NO_DATA = "Nothing in this period yet."


def page_charts(page: reporting.AnalyticsPage) -> dict:
    cur = page.currency
    daily = page.daily
    any_daily = any(r["messages_received"] or r["messages_sent"] or r["conversations"]
                    or r["orders_paid"] or r["revenue_minor"] for r in daily)
    dist = page.distributions
    return {
        "revenue": slot("chart-revenue", any(r["revenue_minor"] for r in daily),
                        lambda: charts.revenue_over_time(daily, cur),
                        "No paid orders in this period yet."),
        "conversations": slot("chart-conversations", any_daily,
                              lambda: charts.conversations_over_time(daily), NO_DATA),
        "messages": slot("chart-messages", any_daily, lambda: charts.messages_over_time(daily),
                         "No messages in this period yet."),
        "campaigns": slot("chart-campaigns", bool(page.campaigns),
                          lambda: charts.campaign_comparison(page.campaigns, cur),
                          "No campaign brought conversations in this period."),
        "products": slot("chart-products", any(r["revenue_minor"] for r in page.products),
                         lambda: charts.top_products(page.products, cur),
                         "No products sold in this period."),
        "platforms": slot("chart-platforms", any(r["conversations"] for r in page.platforms),
                          lambda: charts.platform_distribution(page.platforms), NO_DATA),
        "inbound_heatmap": slot(
            "chart-heat-inbound", any(c["count"] for c in page.inbound_heatmap),
            lambda: charts.weekly_heatmap(page.inbound_heatmap, "Customer messages by weekday and hour"),
            "No customer messages in this period."),
        "paid_heatmap": slot(
            "chart-heat-paid", any(c["count"] for c in page.paid_heatmap),
            lambda: charts.weekly_heatmap(page.paid_heatmap, "Paid orders by weekday and hour"),
            "No paid orders in this period."),
        "funnel": slot("chart-funnel", bool(page.funnel.get("conversations")),
                       lambda: charts.funnel(page.funnel), "No conversations in this period."),
        "first_response": slot(
            "chart-first-response", any(b["count"] for b in dist.get("first_response", [])),
            lambda: charts.buckets(dist["first_response"], "First response time", "#1f77b4"),
            "No answered conversations in this period."),
        "sentiment": slot(
            "chart-sentiment", any(b["count"] for b in dist.get("sentiment", [])),
            lambda: charts.buckets(dist["sentiment"], "Customer sentiment", "#ff7f0e"),
            "No rated conversations in this period."),
        "lead_score": slot(
            "chart-lead-score", any(b["count"] for b in dist.get("lead_score", [])),
            lambda: charts.buckets(dist["lead_score"], "Lead score", "#6a51a3"),
            "No scored conversations in this period."),
    }


class AnalyticsView(BaseView):
    route_base = "/analytics"
    default_view = "index"
    class_permission_name = RESOURCE_ANALYTICS
    method_permission_name = {"index": CAN_READ, "export": CAN_READ}

    def _tenant_and_filters(self):
        tenant = db.session.get(Tenant, tenancy.require_active_tenant())
        try:
            return tenant, reporting.parse_filters(tenant, request.args), None
        except reporting.UnknownCampaign:
            abort(404)
        except reporting.FilterError as exc:
            return tenant, None, str(exc)

    @expose("/")
    @has_access
    def index(self):
        tenant, filters, error = self._tenant_and_filters()
        page = chart_slots = None
        if filters is not None:
            page = reporting.analytics_page(filters, tenant.currency)
            chart_slots = page_charts(page)
        html = self.render_template(
            "closer/analytics.html", tenant=tenant, page=page, charts=chart_slots, error=error,
            args=request.args, campaigns=reporting.campaign_choices(tenant.id),
            platforms=reporting.PLATFORMS, plotly_version=PLOTLY_VERSION, fmt=Formats,
        )
        return (html, 400) if error else html

    @expose("/export.csv")
    @has_access
    def export(self):
        tenant, filters, error = self._tenant_and_filters()
        if error:
            return Response(error + "\n", status=400, mimetype="text/plain")
        page = reporting.analytics_page(filters, tenant.currency)
        return Response(
            analytics_export.to_csv(page), mimetype="text/csv",
            headers={"Content-Disposition":
                     f'attachment; filename="{analytics_export.filename(page, tenant.slug)}"',
                     "Cache-Control": "no-store"},
        )
