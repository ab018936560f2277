"""Tenant user management: seats (Owner or Staff) in a tenant.

Owners and agency admins manage the people of their own tenants here; FAB's global user and
role screens remain Admin-only. What a person may do comes from their seat in the tenant they
are working in (app.security.manager), never from a global role a tenant owner could change,
and a tenant screen only ever creates new people: attaching an existing account (which may
belong to another business) is an operator's job on the command line.
"""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from app.extensions import appbuilder, db
from app.models import BusinessProfile, Role, Tenant, TenantMembership
from app.security.passwords import WeakPasswordError, ensure_strong
from app.security.permissions import ROLE_OWNER, ROLE_STAFF

FAB_ROLE_FOR = {Role.OWNER: ROLE_OWNER, Role.STAFF: ROLE_STAFF}
# The user's first name defaults to the username, and FAB's first_name column holds 64.
MAX_USERNAME = 64

__all__ = ["Role", "TeamError", "add_member", "business_names", "change_role", "create_user",
           "remove_member"]


class TeamError(ValueError):
    """A team change the rules refuse (message is shown to the user)."""


def _fab_role(role: Role):
    found = appbuilder.sm.find_role(FAB_ROLE_FOR[Role(role)])
    if found is None:
        raise TeamError("Roles are not set up: run `flask --app run roles sync`")
    return found


def create_user(username, email, password, fab_role, first_name=None, last_name=None,
                business_names=()) -> User:
    """A new active user with one FAB role, flushed but not committed.

    The password must pass the policy (app.security.passwords), which also refuses the
    user's own names and `business_names`. FAB's own add_user() rolls back the whole session
    when it fails, which would silently discard the rest of a caller's unit of work; this only
    adds to it.

    The username and email are checked here too, as the team form checks them, because the
    command line and the services reach this without a form.
    """
    username = (username or "").strip()
    if not username:
        raise TeamError("A username is required")
    if len(username) > MAX_USERNAME:
        raise TeamError(f"Use at most {MAX_USERNAME} characters for the username")
    check_email(email)
    try:
        ensure_strong(password, [username, email, first_name, last_name, *business_names])
    except WeakPasswordError as exc:
        raise TeamError(str(exc)) from exc
    user = appbuilder.sm.user_model(
        username=username, email=email, first_name=first_name or username,
        last_name=last_name or "", active=True, roles=[fab_role],
    )
    user.password = generate_password_hash(
        password,
        method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=current_app.config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
    )
    db.session.add(user)
    db.session.flush()
    return user


def check_email(email: str | None) -> None:
    """Refuse what is not an email address (its syntax only: nothing is sent or looked up;
    reserved test domains such as example.test pass, for demos and tests)."""
    try:
        validate_email(email or "", check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise TeamError(f"{email!r} is not an email address: {exc}") from None


def add_member(
    tenant_id: int,
    *,
    username: str,
    email: str | None,
    password: str | None,
    role: Role = Role.STAFF,
    first_name: str | None = None,
    last_name: str | None = None,
    commit: bool = True,
    allow_existing: bool = False,
) -> TenantMembership:
    """Give `username` a seat in the tenant, creating the user (existing ones only if allowed)."""
    role = Role(role)
    username = (username or "").strip()
    if not username:
        raise TeamError("A username is required")
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is not None and not allow_existing:
        raise TeamError("That username is already taken: choose another")
    if user is None:
        if not email or not password:
            raise TeamError("A new user needs an email and a password")
        if db.session.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
            raise TeamError(f"Email {email} is already used by another user")
        user = create_user(username, email, password, _fab_role(role), first_name, last_name,
                           business_names(tenant_id))
    exists = db.session.scalar(
        select(TenantMembership).where(
            TenantMembership.tenant_id == tenant_id, TenantMembership.user_id == user.id
        )
    )
    if exists is not None:
        raise TeamError(f"{username} is already a member")
    membership = TenantMembership(tenant_id=tenant_id, user=user, role=role)
    db.session.add(membership)
    if commit:
        db.session.commit()
    return membership


def business_names(tenant_id: int) -> list[str]:
    """The tenant's names, which its people's passwords must not contain."""
    names = [db.session.scalar(select(Tenant.name).where(Tenant.id == tenant_id))]
    names += db.session.scalars(
        select(BusinessProfile.business_name).where(BusinessProfile.tenant_id == tenant_id)
    ).all()
    return [name for name in names if name]


def ensure_other_owner(membership: TenantMembership) -> None:
    """Refuse a change that would leave the tenant without an owner."""
    others = db.session.scalar(
        select(func.count()).select_from(TenantMembership).where(
            TenantMembership.tenant_id == membership.tenant_id,
            TenantMembership.role == Role.OWNER,
            TenantMembership.id != membership.id,
        )
    )
    if not others:
        raise TeamError("A tenant must keep at least one owner")


def change_role(membership: TenantMembership, role: Role, previous: Role | None) -> None:
    if previous == Role.OWNER and Role(role) != Role.OWNER:
        ensure_other_owner(membership)
    membership.role = Role(role)


def remove_member(membership: TenantMembership) -> None:
    """Check a seat may go (never the last owner); the caller deletes it."""
    if membership.role == Role.OWNER:
        ensure_other_owner(membership)
