"""Public pages: the sign-up form (the landing page is the index view's anonymous branch)."""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, session, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security.decorators import limit
from flask_login import login_user
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length

from app.security.passwords import POLICY_HINT, StrongPassword, form_fields
from app.security.tenancy import SESSION_KEY
from app.services import signup


def signup_enabled() -> bool:
    return bool(current_app.config.get("SIGNUP_ENABLED"))


def _signup_limit() -> str:
    return current_app.config["SIGNUP_RATE_LIMIT"]


class SignupForm(DynamicForm):
    business_name = StringField("Business name", validators=[
        DataRequired(), Length(max=signup.MAX_BUSINESS_NAME)], widget=BS3TextFieldWidget())
    email = StringField("Email", validators=[DataRequired(), Email(), Length(max=254)],
                        widget=BS3TextFieldWidget(), description="You sign in with it")
    password = PasswordField("Password", description=POLICY_HINT, validators=[
        DataRequired(), StrongPassword(form_fields("email", "business_name"))],
        widget=BS3PasswordFieldWidget())


class SignupView(BaseView):
    """GET/POST /signup: anyone may register a business unless SIGNUP_ENABLED is off."""

    route_base = "/signup"
    default_view = "signup"

    @expose("", methods=["GET", "POST"])
    @limit(_signup_limit, methods=["POST"])
    def signup(self):
        if not signup_enabled():
            abort(404)
        if g.user is not None and g.user.is_authenticated:
            return redirect(url_for("CloserIndexView.index"))
        form = SignupForm()
        error = None
        if form.validate_on_submit():
            try:
                user, tenant = signup.register(form.business_name.data, form.email.data,
                                               form.password.data)
            except signup.SignupError as exc:
                error = str(exc)
            else:
                self.appbuilder.sm.update_user_auth_stat(user)  # as FAB's own login does
                login_user(user)
                session[SESSION_KEY] = tenant.id
                flash(f"Welcome to Closer, {tenant.name}: let's set up your salesperson", "success")
                return redirect(url_for("OnboardingView.index"))
        status = 400 if form.is_submitted() else 200
        return self.render_template("closer/signup.html", form=form, error=error), status
