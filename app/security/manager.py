"""Closer's SecurityManager: FAB's, with roles synced from app.security.permissions.

FAB's own user and role screens stay registered, but the builtin-role regexes grant them only
to Admin; tenant user management is ours (app.views.team) and scoped to the active tenant.
"""
from __future__ import annotations

from flask_appbuilder.security.sqla.manager import SecurityManager

from app.security.permissions import ALL_ROLES, ROLE_PUBLIC


class CloserSecurityManager(SecurityManager):
    def sync_roles(self) -> list[str]:
        """Create the role rows FAB_ROLES refers to (idempotent); returns the names created."""
        created = []
        for name in ALL_ROLES + [ROLE_PUBLIC]:
            if self.find_role(name) is None:
                self.add_role(name)
                created.append(name)
        return created
