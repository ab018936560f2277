"""Team: the people of the active tenant (our own scoped screens, not FAB's global user views)."""
from flask import flash, redirect, url_for
from flask_appbuilder import SimpleFormView
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget, Select2Widget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import inspect
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from app.extensions import db
from app.models import Role, TenantMembership
from app.security import tenancy
from app.security.passwords import POLICY_HINT, StrongPassword, form_fields
from app.security.permissions import RESOURCE_TEAM
from app.services import team
from app.views.base import TenantModelView

ROLE_CHOICES = [(Role.OWNER.value, "Owner"), (Role.STAFF.value, "Staff")]


class TeamView(TenantModelView):
    datamodel = SQLAInterface(TenantMembership)
    class_permission_name = RESOURCE_TEAM
    include_route_methods = {"list", "show", "edit", "delete"}
    list_columns = ["user.username", "user.email", "user.first_name", "role", "created_at"]
    show_columns = ["user.username", "user.email", "user.first_name", "user.last_name", "role"]
    edit_columns = ["role"]
    search_columns = ["role"]
    label_columns = {"user.username": "Username", "user.email": "Email",
                     "user.first_name": "First name", "user.last_name": "Last name"}
    list_title = "Team"

    def before_save(self, item, created):
        history = inspect(item).attrs.role.history
        previous = history.deleted[0] if history.deleted else item.role
        team.change_role(item, item.role, Role(previous) if previous else None)

    def pre_delete(self, item):
        team.remove_member(item)


def _member_words(form) -> list[str | None]:
    """The new member's names and the active tenant's: none may be in the password."""
    words = form_fields("username", "email", "first_name", "last_name")(form)
    return words + team.business_names(tenancy.require_active_tenant())


class TeamMemberForm(DynamicForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)],
                           widget=BS3TextFieldWidget())
    email = StringField("Email", validators=[DataRequired(), Email()], widget=BS3TextFieldWidget())
    first_name = StringField("First name", validators=[Optional(), Length(max=64)],
                             widget=BS3TextFieldWidget())
    last_name = StringField("Last name", validators=[Optional(), Length(max=64)],
                            widget=BS3TextFieldWidget())
    password = PasswordField("Password", description=POLICY_HINT,
                             validators=[DataRequired(), StrongPassword(_member_words)],
                             widget=BS3PasswordFieldWidget())
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.STAFF.value, widget=Select2Widget())


class AddTeamMemberView(SimpleFormView):
    """Invite a person into the active tenant as Owner or Staff."""

    form = TeamMemberForm
    form_title = "Add a team member"
    class_permission_name = RESOURCE_TEAM
    method_permission_name = {"this_form_get": "write", "this_form_post": "write"}

    def form_post(self, form):
        tenant_id = tenancy.require_active_tenant()
        try:
            team.add_member(
                tenant_id, username=form.username.data, email=form.email.data,
                password=form.password.data, role=Role(form.role.data),
                first_name=form.first_name.data, last_name=form.last_name.data,
            )
        except team.TeamError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            # Show the form again with what was typed, rather than redirecting it away.
            return self.render_template(
                self.form_template, title=self.form_title, appbuilder=self.appbuilder,
                widgets=self._get_edit_widget(form=form),
            )
        flash(f"{form.username.data} added to the team", "success")
        return redirect(url_for("TeamView.list"))
