"""Tenants across an agency, the active-tenant switcher, and the home page."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, IndexView, ModelView, expose, has_access
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import select

from app.extensions import db
from app.models import AgencyMembership, Tenant
from app.security import tenancy
from app.views.validators import TENANT_VALIDATORS
from app.security.permissions import RESOURCE_TENANTS, VIEW_METHOD_PERMISSIONS
from app.services import tenants as tenant_service
from app.views.signup import signup_enabled
from app.views import dashboard


def allowed_ids() -> list[int]:
    return list(getattr(g, "allowed_tenant_ids", []) or [])


class TenantsView(ModelView):
    """Agency admins see and create the tenants of their agency; Admin sees every tenant."""

    datamodel = SQLAInterface(Tenant)
    class_permission_name = RESOURCE_TENANTS
    method_permission_name = VIEW_METHOD_PERMISSIONS
    base_filters = [["id", FilterInFunction, allowed_ids]]
    include_route_methods = {"list", "show", "add", "edit"}
    validators_columns = TENANT_VALIDATORS
    list_columns = ["name", "slug", "agency", "currency", "timezone", "created_at"]
    show_columns = ["name", "slug", "agency", "currency", "timezone", "active", "created_at"]
    add_columns = ["name", "currency", "timezone"]
    edit_columns = ["name", "currency", "timezone", "active"]
    search_columns = ["name", "slug"]
    base_order = ("name", "asc")

    def pre_add(self, item):
        item.agency_id = self._agency_for_new_tenant()
        tenant_service.prepare_tenant(item)

    def post_add(self, item):
        tenant_service.add_starter_rows(item)
        db.session.commit()
        g.allowed_tenant_ids = allowed_ids() + [item.id]

    def _agency_for_new_tenant(self):
        user = g.user
        if tenancy.is_admin(user):
            return None
        agency_id = db.session.scalar(
            select(AgencyMembership.agency_id).where(AgencyMembership.user_id == user.id)
        )
        if agency_id is None:
            abort(403)
        return agency_id


class TenantSwitchView(BaseView):
    """POST /tenant/switch: make another of the user's tenants the active one."""

    route_base = "/tenant"
    default_view = "switch"
    class_permission_name = "TenantSwitchView"
    base_permissions = ["can_switch"]

    @expose("/switch", methods=["POST"])
    @has_access
    def switch(self):
        try:
            tenant_id = int(request.form.get("tenant_id", ""))
        except ValueError:
            abort(400)
        if not tenancy.set_active_tenant(tenant_id):
            abort(404)
        tenant = db.session.get(Tenant, tenant_id)
        flash(f"Now working in {tenant.name}", "info")
        return redirect(url_for("CloserIndexView.index"))


class CloserIndexView(IndexView):
    """Home: the active tenant's dashboard for a signed-in user."""

    index_template = "closer/index.html"

    @expose("/")
    def index(self):
        if g.user is None or not g.user.is_authenticated:
            return self.render_template(
                "closer/landing.html", appbuilder=self.appbuilder, signup_enabled=signup_enabled()
            )
        tenant_id = tenancy.active_tenant_id()
        tenant = db.session.get(Tenant, tenant_id) if tenant_id is not None else None
        if tenant is not None:
            return dashboard.render(self, tenant)
        return self.render_template(self.index_template, appbuilder=self.appbuilder, tenant=None,
                                    agency_admin=tenancy.is_agency_admin(g.user))
