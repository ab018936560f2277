"""Agencies: creating one with its admin, and which agencies a user may overview."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import func, select

from app.analytics.filters import zone_of
from app.extensions import appbuilder, db
from app.models import Agency, AgencyMembership, Tenant
from app.security import tenancy
from app.security.permissions import ROLE_AGENCY_ADMIN
from app.services import team


class AgencyError(ValueError):
    """An agency change the rules refuse (the message is shown to the user)."""


MAX_NAME = Agency.__table__.c.name.type.length


def find_agency(name: str | None) -> Agency | None:
    """The agency of exactly this name (surrounding spaces ignored), or None."""
    return db.session.scalar(select(Agency).where(Agency.name == (name or "").strip()))


def create_agency(name: str, *, admin_username: str, admin_email: str, admin_password: str) -> Agency:
    """A new agency and its Agency Admin user, in one transaction (the password policy applies,
    and refuses the agency's own name too)."""
    name = (name or "").strip()
    admin_username = (admin_username or "").strip()
    if not name:
        raise AgencyError("An agency needs a name")
    if len(name) > MAX_NAME:
        raise AgencyError(f"Use at most {MAX_NAME} characters for the agency's name")
    if not admin_username:
        raise AgencyError("An agency needs an admin username")
    # names differing only in case would read as one agency in every list
    same = db.session.scalar(select(Agency.name).where(func.lower(Agency.name) == name.lower()))
    if same is not None:
        raise AgencyError(f"An agency named {same!r} already exists")
    if appbuilder.sm.find_user(username=admin_username) is not None:
        raise AgencyError(f"The username {admin_username!r} is taken")
    if admin_email and appbuilder.sm.find_user(email=admin_email) is not None:
        raise AgencyError(f"The email {admin_email!r} is already used by another account")
    role = appbuilder.sm.find_role(ROLE_AGENCY_ADMIN)
    if role is None:
        raise AgencyError("Roles are not set up: run `flask --app run roles sync`")
    try:
        agency = Agency(name=name)
        db.session.add(agency)
        db.session.flush()
        user = team.create_user(admin_username, admin_email, admin_password, role,
                                business_names=[name])
        db.session.add(AgencyMembership(agency_id=agency.id, user_id=user.id))
        db.session.commit()
    except team.TeamError as exc:
        db.session.rollback()
        raise AgencyError(str(exc)) from exc
    except Exception:
        db.session.rollback()
        raise
    return agency


def attach_tenant(tenant: Tenant, agency_name: str) -> Agency:
    """Put an existing tenant in an existing agency."""
    agency = find_agency(agency_name)
    if agency is None:
        raise AgencyError(f"No agency named {agency_name!r}")
    tenant.agency_id = agency.id
    db.session.commit()
    return agency


def overview_agency_ids(user) -> list[int]:
    """The agencies whose tenants this user may see side by side: their own agencies, or every
    agency for a platform Admin; none for anyone else."""
    with tenancy.unguarded():
        if tenancy.is_admin(user):
            return list(db.session.scalars(select(Agency.id).order_by(Agency.id)))
        if not tenancy.is_agency_admin(user):
            return []
        return list(db.session.scalars(select(AgencyMembership.agency_id).where(
            AgencyMembership.user_id == user.id).order_by(AgencyMembership.agency_id)))


def tenant_currencies(tenant_ids: list[int]) -> dict[int, str]:
    if not tenant_ids:
        return {}
    with tenancy.unguarded():
        return dict(db.session.execute(
            select(Tenant.id, Tenant.currency).where(Tenant.id.in_(tenant_ids))).all())


def latest_today(agency_ids: list[int]) -> date:
    """The latest calendar day any business of these agencies is in now. A default range ending
    there holds every business's today, as its own dashboard does (in UTC, a Mumbai business's
    first 5½ hours of the day would be missing); a day not yet begun elsewhere holds nothing."""
    now = datetime.now(timezone.utc)
    if not agency_ids:
        return now.date()
    with tenancy.unguarded():
        zones = set(db.session.scalars(select(Tenant.timezone).where(Tenant.agency_id.in_(list(agency_ids)))))
    return max((now.astimezone(zone_of(name)).date() for name in zones), default=now.date())
