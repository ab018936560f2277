"""FAB's own user screens with Closer's password policy on every password field.

The classes keep FAB's names on purpose: permissions (app.security.permissions) and FAB's own
links (`resetmypasswordview.__name__ + ".this_form_get"`) refer to the views by class name.
"""
from __future__ import annotations

from flask import current_app, g, request
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.security import views as fab_views
from flask_appbuilder.security.forms import ResetPasswordForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from app.security.passwords import POLICY_HINT, StrongPassword, form_fields, user_words


def _password_field(user_inputs) -> PasswordField:
    return PasswordField(
        "Password", description=POLICY_HINT,
        validators=[DataRequired(), StrongPassword(user_inputs)], widget=BS3PasswordFieldWidget(),
    )


def _signed_in_user(_form) -> list[str | None]:
    return user_words(g.user)


def _user_from_pk(_form) -> list[str | None]:
    """ResetPasswordView names the user whose password the admin is setting in ?pk=."""
    pk = request.args.get("pk", type=int)
    user = current_app.appbuilder.sm.get_user_by_id(pk) if pk is not None else None
    return user_words(user)


class ResetMyPasswordForm(ResetPasswordForm):
    password = _password_field(_signed_in_user)


class ResetUserPasswordForm(ResetPasswordForm):
    password = _password_field(_user_from_pk)


class ResetMyPasswordView(fab_views.ResetMyPasswordView):
    form = ResetMyPasswordForm


class ResetPasswordView(fab_views.ResetPasswordView):
    form = ResetUserPasswordForm


class UserDBModelView(fab_views.UserDBModelView):
    add_form_extra_fields = {
        **fab_views.UserDBModelView.add_form_extra_fields,
        "password": _password_field(form_fields("username", "email", "first_name", "last_name")),
        "conf_password": PasswordField(
            "Confirm Password", description="Type the password again",
            validators=[DataRequired(), EqualTo("password", message="Passwords must match")],
            widget=BS3PasswordFieldWidget(),
        ),
    }
