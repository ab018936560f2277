"""Template helpers available on every page (the navbar's tenant switcher)."""
from flask import Flask, g
from sqlalchemy import select

from app.extensions import db
from app.models import Tenant
from app.security.tenancy import unguarded


def closer_tenants() -> dict:
    """The active tenant and the ones the user may switch to."""
    ids = getattr(g, "allowed_tenant_ids", None) or []
    if not ids:
        return {"active": None, "choices": []}
    with unguarded():
        choices = db.session.scalars(select(Tenant).where(Tenant.id.in_(ids)).order_by(Tenant.name)).all()
    active = next((t for t in choices if t.id == getattr(g, "active_tenant_id", None)), None)
    return {"active": active, "choices": choices}


def register_template_helpers(app: Flask) -> None:
    from app.views.formatting import local_time
    from app.views.integrations import channel_alarms

    app.jinja_env.filters["local_time"] = local_time  # {{ row.created_at|local_time }}
    app.jinja_env.globals["closer_tenants"] = closer_tenants
    app.jinja_env.globals["closer_channel_alarms"] = channel_alarms
