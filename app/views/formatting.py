"""Display helpers for views: times in the active tenant's timezone (stored as UTC)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g, has_request_context

from app.extensions import db
from app.models import Tenant
from app.security import tenancy


def tenant_zone() -> ZoneInfo:
    """The active tenant's zone, looked up once per request."""
    if not has_request_context():
        return ZoneInfo("UTC")
    zone = g.get("_tenant_zone")
    if zone is None:
        tenant_id = tenancy.active_tenant_id()
        name = db.session.get(Tenant, tenant_id).timezone if tenant_id else "UTC"
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        g._tenant_zone = zone
    return zone


def local_time(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite returns naive datetimes; they are UTC by convention
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(tenant_zone()).strftime("%d %b %Y, %H:%M %Z")


def datetime_formatters(datamodel, columns) -> dict:
    """A local_time formatter for every datetime column among `columns`."""
    return {
        col: local_time for col in columns or []
        if "." not in col and col in datamodel.list_columns and datamodel.is_datetime(col)
    }
