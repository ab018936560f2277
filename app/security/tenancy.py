"""Who may see which tenant, which one is active, and the guards that enforce it.

Three layers, each failing closed:
1. `bind_request_scope()` (before every request) resolves the user's allowed tenants and the
   active one into `g`; no user or no tenant means an empty scope, which matches no row.
2. Views and APIs filter on `tenant_id IN scope` (app.views.base.TenantScoped*).
3. The ORM guard adds the same predicate to every ORM SELECT of a TenantMixin model issued
   while a request scope is bound, so a forgotten filter still returns nothing foreign.
   It does not see Core/text() SQL: raw SQL must carry its own tenant predicate.

CLI commands and jobs run without a request scope and name their tenant explicitly.
"""
from __future__ import annotations

import re
from contextlib import contextmanager

from flask import abort, g, has_request_context, jsonify, make_response, request, session
from sqlalchemy import event, select
from sqlalchemy.orm import Session, with_loader_criteria

from app.models import AgencyMembership, Tenant, TenantMembership, TenantMixin
from app.security.permissions import ROLE_ADMIN, ROLE_AGENCY_ADMIN

SESSION_KEY = "active_tenant_id"
SYSTEM_PATHS = ("/webhooks/", "/pay/test/")
TENANT_HEADER = "X-Tenant-ID"


def _role_names(user) -> set[str]:
    return {r.name for r in getattr(user, "roles", []) or []}


def is_admin(user) -> bool:
    return ROLE_ADMIN in _role_names(user)


def is_agency_admin(user) -> bool:
    return ROLE_AGENCY_ADMIN in _role_names(user)


def allowed_tenant_ids(db_session, user) -> list[int]:
    """Every tenant this user may act in, in a stable order (fail closed: [] for nobody)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    with unguarded():
        if is_admin(user):
            ids = db_session.scalars(select(Tenant.id).order_by(Tenant.id)).all()
            return list(ids)
        direct = db_session.scalars(
            select(TenantMembership.tenant_id)
            .join(Tenant, Tenant.id == TenantMembership.tenant_id)
            .where(TenantMembership.user_id == user.id, Tenant.active.is_(True))
        ).all()
        via_agency = []
        if is_agency_admin(user):  # agency admins still reach a paused tenant to reactivate it
            via_agency = db_session.scalars(
                select(Tenant.id)
                .join(AgencyMembership, AgencyMembership.agency_id == Tenant.agency_id)
                .where(AgencyMembership.user_id == user.id)
            ).all()
        return sorted(set(direct) | set(via_agency))


def _requested_tenant_id() -> int | None:
    """API callers name a tenant by header, query string or JSON body `tenant_id`."""
    raw = request.headers.get(TENANT_HEADER) or request.args.get("tenant_id")
    if raw is None and request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict) and "tenant_id" in body:
            # Remove it so FAB's schema doesn't reject an unknown field; the tenant is set on
            # the server from the scope, never from the payload.
            raw = body.pop("tenant_id")
    if raw is None or raw == "":
        return None
    # int() would also take JSON true (1), 1.5 (1) and non-ASCII digits: each would name a
    # tenant the caller did not write. Only an integer, or its decimal digits, names one.
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\s*-?[0-9]+\s*", raw):
        return int(raw)
    abort(make_response(jsonify(message="tenant_id must be an integer"), 400))


def bind_request_scope(db_session) -> None:
    """Resolve allowed and active tenants for this request into `g` (called before each request)."""
    from flask_login import current_user

    if request.path.startswith(SYSTEM_PATHS):
        # Signed webhooks act for whichever tenant owns the channel they name, the test-mode
        # payment page for the order its secret token names; their services filter by that
        # tenant explicitly, like jobs do. No user, so no request scope.
        g.tenant_scope = None
        g.allowed_tenant_ids = []
        g.seat_role = None
        return
    user = None
    is_api = request.path.startswith("/api/")
    if is_api and not request.path.startswith("/api/v1/security/"):
        user = _jwt_user()
    if user is None and current_user and current_user.is_authenticated:
        user = current_user
    g.tenant_scope = []
    allowed = allowed_tenant_ids(db_session, user)
    g.allowed_tenant_ids = allowed
    active = None
    if is_api:
        requested = _requested_tenant_id()
        if requested is not None:
            if requested not in allowed:
                abort(make_response(jsonify(message="Forbidden: not your tenant"), 403))
            active = requested
    if active is None and allowed:
        stored = session.get(SESSION_KEY)
        active = stored if stored in allowed else allowed[0]
    g.active_tenant_id = active
    g.tenant_scope = [active] if active is not None else []
    g.seat_role = seat_role(db_session, user, active)


def seat_role(db_session, user, tenant_id):
    """The user's role in this tenant (owner/staff), or None."""
    if user is None or tenant_id is None or not getattr(user, "is_authenticated", False):
        return None
    with unguarded():
        return db_session.scalar(select(TenantMembership.role).where(
            TenantMembership.user_id == user.id, TenantMembership.tenant_id == tenant_id))


def _jwt_user():
    from flask_jwt_extended import current_user as jwt_current_user
    from flask_jwt_extended import verify_jwt_in_request

    try:
        if verify_jwt_in_request(optional=True) is None:
            return None
        return jwt_current_user or None
    except Exception:  # invalid/expired token: FAB's @protect answers 401 itself
        return None


def set_active_tenant(tenant_id: int) -> bool:
    """Switch the browser session's active tenant; False if it isn't one the user may use."""
    if tenant_id not in getattr(g, "allowed_tenant_ids", []):
        return False
    session[SESSION_KEY] = tenant_id
    g.active_tenant_id = tenant_id
    g.tenant_scope = [tenant_id]
    return True


def active_tenant_id() -> int | None:
    return getattr(g, "active_tenant_id", None) if has_request_context() else None


def scope_ids() -> list[int]:
    """The tenant ids the current request may touch: [] (nothing) when unresolved."""
    if not has_request_context():
        return []
    return list(getattr(g, "tenant_scope", None) or [])


def require_active_tenant() -> int:
    tenant_id = active_tenant_id()
    if tenant_id is None:
        abort(404)
    return tenant_id


# ---------------------------------------------------------------------------- ORM guard

_BYPASS_KEY = "_tenant_guard_bypass"


@contextmanager
def unguarded():
    """Run queries without the ORM guard (scope resolution itself, admin-wide reports)."""
    if not has_request_context():
        yield
        return
    depth = g.get(_BYPASS_KEY, 0)
    g.setdefault(_BYPASS_KEY, 0)
    setattr(g, _BYPASS_KEY, depth + 1)
    try:
        yield
    finally:
        setattr(g, _BYPASS_KEY, depth)


def _guard_ids() -> list[int] | None:
    if not has_request_context() or g.get(_BYPASS_KEY, 0):
        return None
    scope = g.get("tenant_scope")
    return None if scope is None else list(scope)


def install_orm_guard() -> None:
    """Add `tenant_id IN scope` to every ORM SELECT of a tenant model during a request (once
    per process; later calls add nothing)."""
    if not event.contains(Session, "do_orm_execute", _add_tenant_criteria):
        event.listen(Session, "do_orm_execute", _add_tenant_criteria)


def _add_tenant_criteria(state) -> None:
    if not state.is_select or state.execution_options.get("skip_tenant_guard"):
        return
    ids = _guard_ids()
    if ids is None:
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantMixin,
            lambda cls: cls.tenant_id.in_(ids),
            include_aliases=True,
        )
    )
