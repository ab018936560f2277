"""Closer's SecurityManager: FAB's, with roles synced from app.security.permissions.

FAB's own user and role screens stay registered, but the builtin-role regexes grant them only
to Admin; tenant user management is ours (app.views.team) and scoped to the active tenant.
"""
from __future__ import annotations

from flask import g, has_request_context
from flask_appbuilder.security.sqla.manager import SecurityManager

from app.security.permissions import (
    ALL_ROLES,
    PLATFORM_ROLES,
    ROLE_OWNER,
    ROLE_PUBLIC,
    ROLE_STAFF,
)

SEAT_ROLES = {"owner": ROLE_OWNER, "staff": ROLE_STAFF}


class CloserSecurityManager(SecurityManager):
    def get_user_roles(self, user) -> list:
        """What a user may do depends on their seat in the *active* tenant.

        Admin and Agency Admin are platform roles and apply everywhere they reach. Anyone else
        gets the role of their seat (Owner or Staff) in the tenant they are working in, so an
        owner of one store who is staff in another is staff there. No seat, no permissions.
        """
        roles = super().get_user_roles(user)
        if not user.is_authenticated:
            return roles
        platform = [r for r in roles if r.name in PLATFORM_ROLES]
        if platform:
            return platform
        seat = g.get("seat_role") if has_request_context() else None
        if seat is None:
            return []
        cache = g.setdefault("_seat_role_objects", {})
        if seat not in cache:
            cache[seat] = self.find_role(SEAT_ROLES[str(seat)])
        return [cache[seat]] if cache[seat] is not None else []

    def sync_roles(self) -> list[str]:
        """Create the role rows FAB_ROLES refers to (idempotent); returns the names created."""
        created = []
        for name in ALL_ROLES + [ROLE_PUBLIC]:
            if self.find_role(name) is None:
                self.add_role(name)
                created.append(name)
        return created
