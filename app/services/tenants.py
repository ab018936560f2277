"""Creating tenants (CLI, agency screens, demo seed) and their first owner."""
from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import Agency, BusinessProfile, Channel, Platform, Tenant
from app.services import team


class TenantError(ValueError):
    """A tenant that can't be created as asked (message is shown to the user)."""


MAX_NAME = Tenant.__table__.c.name.type.length


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:60] or "tenant"


def unique_slug(name: str) -> str:
    base = slugify(name)
    slug, n = base, 1
    while db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def business_name(tenant_id: int) -> str:
    """The name customers know the business by: its profile's, which the AI uses (the
    onboarding wizard may set it apart from the name given at sign-up), else the tenant's."""
    name = db.session.scalar(select(BusinessProfile.business_name).where(
        BusinessProfile.tenant_id == tenant_id))
    if name and name.strip():
        return name.strip()
    return db.session.scalar(select(Tenant.name).where(Tenant.id == tenant_id)) or ""


def get_or_create_agency(name: str) -> Agency:
    agency = db.session.scalar(select(Agency).where(Agency.name == name))
    if agency is None:
        agency = Agency(name=name)
        db.session.add(agency)
        db.session.flush()
    return agency


def prepare_tenant(tenant: Tenant) -> None:
    """Fill what every tenant needs: slug, defaults, a profile and a Playground channel."""
    if not tenant.name or not tenant.name.strip():
        raise TenantError("A tenant needs a name")
    tenant.name = tenant.name.strip()
    if len(tenant.name) > MAX_NAME:
        raise TenantError(f"Use at most {MAX_NAME} characters for the business's name")
    tenant.slug = tenant.slug or unique_slug(tenant.name)
    tenant.currency = tenant.currency or current_app.config["DEFAULT_CURRENCY"]
    tenant.timezone = tenant.timezone or current_app.config["DEFAULT_TIMEZONE"]


def add_starter_rows(tenant: Tenant) -> None:
    """Rows a new tenant starts with, so the inbox works before any Meta channel is connected."""
    db.session.add(BusinessProfile(tenant_id=tenant.id, business_name=tenant.name))
    db.session.add(
        Channel(
            tenant_id=tenant.id, name="Playground", platform=Platform.PLAYGROUND,
            external_id=f"playground-{tenant.slug}",
        )
    )


def create_tenant(
    name: str,
    *,
    owner_username: str | None = None,
    owner_email: str | None = None,
    owner_password: str | None = None,
    agency_name: str | None = None,
) -> Tenant:
    """Create a tenant (optionally in an agency) with its owner, in one transaction. An agency
    keeps its businesses' names apart (in any case): two alike would be one row twice on its
    overview and in its tenant switcher."""
    tenant = Tenant(name=name)
    prepare_tenant(tenant)
    if agency_name:
        agency = get_or_create_agency(agency_name)
        same = db.session.scalar(select(Tenant.name).where(
            Tenant.agency_id == agency.id, func.lower(Tenant.name) == tenant.name.lower()))
        if same:
            db.session.rollback()
            raise TenantError(f"{agency.name} already has a business named {same!r}")
        tenant.agency = agency
    db.session.add(tenant)
    try:
        db.session.flush()
        add_starter_rows(tenant)
        if owner_username:
            team.add_member(
                tenant.id, username=owner_username, email=owner_email, password=owner_password,
                role=team.Role.OWNER, commit=False, allow_existing=True,
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return tenant
