"""GET /api/v1/analytics/*: the analytics figures of the active tenant as JSON (JWT).

The tenant is the request's active tenant (agency admins and Admins name one with `tenant_id`
or X-Tenant-ID, refused with 403 when it is not theirs); the agency overview is for agency
admins (their own agencies) and Admins. Parameters are read as the pages read them
(app.services.reporting), never trusted: a bad date, platform or range, or a filter given twice
with different values, is a 400 that says what is wrong; a campaign of another tenant is a 404.
"""
from __future__ import annotations

from datetime import date, datetime

from flask import request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import protect
from sqlalchemy import select

from app import analytics
from app.analytics.filters import tenant_facts
from app.extensions import db
from app.models import Agency, AgencyMembership
from app.security import tenancy
from app.security.permissions import CAN_READ, RESOURCE_ANALYTICS
from app.services import agencies, reporting

def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


class AnalyticsApi(BaseApi):
    resource_name = "analytics"
    class_permission_name = RESOURCE_ANALYTICS
    method_permission_name = {name: CAN_READ for name in (
        "summary", "timeseries", "breakdown", "heatmap", "funnel", "distributions", "agency")}
    allow_browser_login = False
    openapi_spec_tag = "Analytics"

    def _filters(self) -> analytics.Filters:
        tenant_id = tenancy.active_tenant_id()
        if tenant_id is None:
            raise LookupError
        zone, _, _ = tenant_facts(tenant_id)
        try:
            return reporting.parse_tenant_filters(tenant_id, datetime.now(zone).date(), request.args)
        except reporting.UnknownCampaign:
            raise LookupError from None

    def _answer(self, compute):
        try:
            f = self._filters()
            result = compute(f)
        except reporting.FilterError as exc:
            return self.response_400(message=str(exc))
        except LookupError:
            return self.response_404()
        return self.response(200, tenant_id=f.tenant_id, start=f.start.isoformat(),
                             end=f.end.isoformat(), result=_jsonable(result))

    @expose("/summary", methods=["GET"])
    @protect()
    def summary(self):
        """Headline figures of the active tenant for start..end (tenant-local days)."""
        return self._answer(analytics.summary)

    @expose("/timeseries", methods=["GET"])
    @protect()
    def timeseries(self):
        return self._answer(analytics.timeseries)

    @expose("/funnel", methods=["GET"])
    @protect()
    def funnel(self):
        return self._answer(analytics.funnel)

    @expose("/distributions", methods=["GET"])
    @protect()
    def distributions(self):
        return self._answer(analytics.distributions)

    @expose("/breakdown", methods=["GET"])
    @protect()
    def breakdown(self):
        by = (request.args.get("by") or "").strip().lower()
        if by not in analytics.BREAKDOWNS:
            return self.response_400(message=f"by must be one of {', '.join(analytics.BREAKDOWNS)}")
        return self._answer(lambda f: analytics.breakdown(f, by))

    @expose("/heatmap", methods=["GET"])
    @protect()
    def heatmap(self):
        kind = (request.args.get("kind") or "").strip().lower()
        if kind not in analytics.HEATMAP_KINDS:
            return self.response_400(message=f"kind must be one of {', '.join(analytics.HEATMAP_KINDS)}")
        return self._answer(lambda f: analytics.heatmap(f, kind))

    @expose("/agency", methods=["GET"])
    @protect()
    def agency(self):
        """One row per tenant of the caller's agencies (Admins: every agency, or `agency_id`)."""
        from flask_jwt_extended import current_user as jwt_user

        user = jwt_user
        if not (tenancy.is_agency_admin(user) or tenancy.is_admin(user)):
            return self.response_403()
        with tenancy.unguarded():
            if tenancy.is_admin(user):
                agency_ids = list(db.session.scalars(select(Agency.id)).all())
            else:
                agency_ids = list(db.session.scalars(select(AgencyMembership.agency_id).where(
                    AgencyMembership.user_id == user.id)).all())
        raw = (request.args.get("agency_id") or "").strip()
        if raw:
            try:
                wanted = int(raw)
            except ValueError:
                return self.response_400(message="agency_id must be an integer")
            if wanted not in agency_ids:
                return self.response_404()
            agency_ids = [wanted]
        try:
            start, end = reporting.parse_range(request.args, agencies.latest_today(agency_ids))
        except reporting.FilterError as exc:
            return self.response_400(message=str(exc))
        with tenancy.unguarded():
            rows = analytics.agency_overview(agency_ids, start, end)
        return self.response(200, start=start.isoformat(), end=end.isoformat(), result=_jsonable(rows))
