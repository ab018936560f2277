"""GET /api/v1/analytics/*: the analytics figures of the active tenant as JSON (JWT).

The tenant is the request's active tenant (agency admins and Admins name one with `tenant_id`
or X-Tenant-ID, refused with 403 when it is not theirs); the agency overview is for agency
admins (their own agencies) and Admins. Parameters are parsed here, never trusted: a bad date,
platform or range is a 400 that says what is wrong, a campaign of another tenant is a 404.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import protect
from sqlalchemy import select

from app import analytics
from app.analytics.filters import (
    MAX_RANGE_DAYS as MAX_DAYS,
    PLATFORMS,
    could_be_id,
    out_of_calendar,
    tenant_facts,
)
from app.extensions import db
from app.models import Agency, AgencyMembership, Campaign
from app.security import tenancy
from app.security.permissions import CAN_READ, RESOURCE_ANALYTICS
from app.services import agencies

DEFAULT_DAYS = 30


class BadParameter(ValueError):
    """A query parameter the caller must fix (its message is the 400's message)."""


def _date(name: str) -> date | None:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise BadParameter(f"{name} must be a date written YYYY-MM-DD, got {raw[:40]!r}") from None
    problem = out_of_calendar(day)
    if problem:
        raise BadParameter(f"{name} {problem}")
    return day


def date_range(today: date) -> tuple[date, date]:
    """start/end from the query (both inclusive), read as the pages read them: without an end,
    up to today; without a start, the 30 days up to the end."""
    start, end = _date("start"), _date("end")
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise BadParameter("end must be on or after start")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadParameter(f"a range may span at most {MAX_DAYS} days")
    return start, end


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
        start, end = date_range(datetime.now(zone).date())
        platform = (request.args.get("platform") or "").strip().lower() or None
        if platform is not None and platform not in PLATFORMS:
            raise BadParameter(f"platform must be one of {', '.join(PLATFORMS)}")
        campaign_id = None
        raw = (request.args.get("campaign_id") or "").strip()
        if raw:
            try:
                campaign_id = int(raw)
            except ValueError:
                raise BadParameter("campaign_id must be an integer") from None
            owned = could_be_id(campaign_id) and db.session.scalar(select(Campaign.id).where(
                Campaign.id == campaign_id, Campaign.tenant_id == tenant_id))
            if not owned:
                raise LookupError
        return analytics.Filters(tenant_id=tenant_id, start=start, end=end, platform=platform,
                                 campaign_id=campaign_id)

    def _answer(self, compute):
        try:
            f = self._filters()
            result = compute(f)
        except BadParameter as exc:
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
            start, end = date_range(agencies.latest_today(agency_ids))
        except BadParameter as exc:
            return self.response_400(message=str(exc))
        with tenancy.unguarded():
            rows = analytics.agency_overview(agency_ids, start, end)
        return self.response(200, start=start.isoformat(), end=end.isoformat(), result=_jsonable(rows))
