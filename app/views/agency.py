"""Agency overview (/agency/): every tenant of the user's agencies side by side."""
from __future__ import annotations

from flask import g, request
from flask_appbuilder import BaseView, expose, has_access

from app import analytics
from app.security.permissions import CAN_READ, RESOURCE_AGENCY_OVERVIEW
from app.services import agencies, reporting
from app.views.report_format import Formats

HEALTH_LABELS = {"ok": ("success", "Receiving"), "quiet": ("warning", "Quiet"),
                 "error": ("danger", "Error"), "none": ("default", "No channel")}


class AgencyOverviewView(BaseView):
    route_base = "/agency"
    default_view = "index"
    class_permission_name = RESOURCE_AGENCY_OVERVIEW
    method_permission_name = {"index": CAN_READ}

    @expose("/")
    @has_access
    def index(self):
        agency_ids = agencies.overview_agency_ids(g.user)
        error, rows, start, end = None, [], None, None
        try:
            start, end = reporting.parse_range(request.args, agencies.latest_today(agency_ids))
        except reporting.FilterError as exc:
            error = str(exc)
        if error is None:
            allowed = set(getattr(g, "allowed_tenant_ids", []) or [])
            rows = [r for r in analytics.agency_overview(agency_ids, start, end)
                    if r["tenant_id"] in allowed] if agency_ids else []
            currencies = agencies.tenant_currencies([r["tenant_id"] for r in rows])
            rows = [{**r, "currency": r.get("currency") or currencies.get(r["tenant_id"], "INR")}
                    for r in rows]
            rows.sort(key=lambda r: (-(r["revenue_minor"] or 0), r["name"]))
        html = self.render_template(
            "closer/agency.html", rows=rows, start=start, end=end, error=error, args=request.args,
            fmt=Formats, health=HEALTH_LABELS, active_id=getattr(g, "active_tenant_id", None),
        )
        return (html, 400) if error else html
