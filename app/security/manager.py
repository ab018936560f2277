"""Closer's SecurityManager: FAB's, with roles synced from app.security.permissions.

FAB's own user and role screens stay registered, but the builtin-role regexes grant them only
to Admin; tenant user management is ours (app.views.team) and scoped to the active tenant.
On top of FAB: the password policy on every password it sets (app.security.passwords), session
cookies that end on logout (app.security.sessions), and the login rate limit on the JWT login
as well as the form login.
"""
from __future__ import annotations

from flask import g, has_request_context
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_login import user_logged_in, user_logged_out

from app.security import sessions
from app.security.passwords import ensure_strong, user_words
from app.security.permissions import (
    ALL_ROLES,
    PLATFORM_ROLES,
    ROLE_OWNER,
    ROLE_PUBLIC,
    ROLE_STAFF,
)
from app.security.views import ResetMyPasswordView, ResetPasswordView, UserDBModelView

SEAT_ROLES = {"owner": ROLE_OWNER, "staff": ROLE_STAFF}


class CloserSecurityManager(SecurityManager):
    userdbmodelview = UserDBModelView
    resetmypasswordview = ResetMyPasswordView
    resetpasswordview = ResetPasswordView

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

    # -- rate limit -------------------------------------------------------------------------

    def register_views(self) -> None:
        """FAB limits POSTs to the form login's blueprint only; /api/v1/security (the JWT
        login and refresh) takes passwords too, so it gets the same AUTH_RATE_LIMIT."""
        super().register_views()
        if self.is_auth_limited:
            security_api = next(
                view for view in self.appbuilder.baseviews if isinstance(view, self.security_api)
            )
            self.limiter.limit(self.auth_rate_limit, methods=["POST"])(security_api.blueprint)

    # -- sessions ---------------------------------------------------------------------------

    def create_login_manager(self, app):
        login_manager = super().create_login_manager(app)
        login_manager.user_loader(self.load_session_user)
        # Every app: FAB passes current_app (a proxy) here, and the handlers act on the
        # request they run in anyway. Connecting the same function twice is a no-op.
        user_logged_in.connect(sessions.on_logged_in)
        user_logged_out.connect(sessions.on_logged_out)
        return login_manager

    def load_session_user(self, pk):
        """Flask-Login's loader for cookie sessions: the user, if the session is current.

        JWTs go through `load_user` (via load_user_jwt) and are not tied to a session.
        """
        user = self.load_user(pk)
        if user is None or not sessions.is_current(user.id):
            return None
        return user

    # -- passwords --------------------------------------------------------------------------

    def add_user(self, username, first_name, last_name, email, role=None, password="",
                 hashed_password="", **kwargs):
        """FAB's add_user (its CLI, our fixtures) with the password policy on a plain password."""
        if password and not hashed_password:
            ensure_strong(password, [username, email, first_name, last_name])
        return super().add_user(username, first_name, last_name, email, role=role,
                                password=password, hashed_password=hashed_password, **kwargs)

    def reset_password(self, userid, password) -> None:
        """Set a new password (policy checked) and end the user's other sessions.

        A person changing their own password stays signed in here; every other session of
        theirs (and every session of a user an admin resets) must log in again.
        """
        user = self.get_user_by_id(userid)
        ensure_strong(password, user_words(user))
        sessions.end_others(user.id)
        super().reset_password(userid, password)
