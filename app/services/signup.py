"""Self-registration: a business name, an email and a password become a tenant and its owner.

The account's username is its email (lower-cased, so one address is one account whatever
its case). The tenant is created the way every tenant is (app.services.tenants: slug,
defaults, a business profile named after the business, the Playground channel), with the
person as its Owner, in one transaction: a refused password or a taken email leaves nothing.
"""
from __future__ import annotations

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Tenant
from app.security.passwords import WeakPasswordError, ensure_strong
from app.services import tenants, team

EMAIL_TAKEN = "An account with this email already exists: sign in instead"
MAX_BUSINESS_NAME = 120


class SignupError(ValueError):
    """A sign-up refused as given (message is shown to the person signing up)."""


def email_taken(email: str) -> bool:
    email = email.strip().lower()
    return db.session.scalar(select(User.id).where(or_(
        func.lower(User.email) == email, func.lower(User.username) == email))) is not None


def register(business_name: str, email: str, password: str) -> tuple[User, Tenant]:
    """Create the tenant and its Owner; SignupError says what to fix."""
    business_name = " ".join((business_name or "").split())
    email = (email or "").strip().lower()
    if "@" not in email:
        raise SignupError("Enter a valid email address")
    if not business_name:
        raise SignupError("Enter your business's name")
    if len(business_name) > MAX_BUSINESS_NAME:
        raise SignupError(f"Use at most {MAX_BUSINESS_NAME} characters for the business name")
    try:
        ensure_strong(password, [email, business_name])
    except WeakPasswordError as exc:
        raise SignupError(str(exc)) from exc
    if email_taken(email):
        raise SignupError(EMAIL_TAKEN)
    tenant = Tenant(name=business_name)
    try:
        tenants.prepare_tenant(tenant)
        db.session.add(tenant)
        db.session.flush()
        tenants.add_starter_rows(tenant)
        # Never an existing account: someone else's email must not get a session here.
        membership = team.add_member(
            tenant.id, username=email, email=email, password=password, role=team.Role.OWNER,
            first_name=email.split("@", 1)[0][:64], commit=False, allow_existing=False,
        )
        db.session.commit()
    except IntegrityError as exc:  # the same email signing up twice at once
        db.session.rollback()
        raise SignupError(EMAIL_TAKEN) from exc
    except (team.TeamError, tenants.TenantError) as exc:
        db.session.rollback()
        raise SignupError(str(exc)) from exc
    return membership.user, tenant
