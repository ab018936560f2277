"""The public landing page and self-registration at /signup."""
from __future__ import annotations

import re

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select

from app.extensions import db
from app.models import BusinessProfile, Channel, Platform, Role, Tenant, TenantMembership
from tests.conftest import Browser, make_config

GOOD_PASSWORD = "Marigold-Tandoor-Quartz-81"


def signup_form(person: Browser, **fields) -> dict:
    data = {"business_name": "Meera Handlooms", "email": "Meera@Handlooms.in",
            "password": GOOD_PASSWORD, "csrf_token": person.csrf("/signup")}
    data.update(fields)
    return data


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_visitor_gets_the_landing_page_with_a_call_to_action(app):
    html = app.test_client().get("/").get_data(as_text=True)
    assert 'id="landing"' in html
    assert "AI salesperson" in html
    assert re.search(r'<a id="get-started"[^>]*href="/signup"', html)


def test_signed_in_user_keeps_the_dashboard(world, browser):
    html = browser("owner_a").get("/").get_data(as_text=True)
    assert 'id="landing"' not in html and "Tenant A" in html


def test_signup_creates_tenant_owner_and_profile_then_opens_the_wizard(app):
    person = Browser(app, None)
    resp = person.client.post("/signup", data=signup_form(person))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/onboarding/")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "meera@handlooms.in"))
        assert user.email == "meera@handlooms.in" and user.active and user.login_count == 1
        seat = db.session.scalar(select(TenantMembership).where(TenantMembership.user_id == user.id))
        assert seat.role == Role.OWNER
        tenant = db.session.get(Tenant, seat.tenant_id)
        assert tenant.name == "Meera Handlooms" and tenant.slug == "meera-handlooms"
        profile = db.session.scalar(select(BusinessProfile).where(BusinessProfile.tenant_id == tenant.id))
        assert profile.business_name == "Meera Handlooms"
        assert count(Channel, Channel.tenant_id == tenant.id, Channel.platform == Platform.PLAYGROUND) == 1
    # signed in, in the new tenant, and the wizard starts at the profile
    wizard = person.client.get("/onboarding/")
    assert wizard.status_code == 302 and wizard.headers["Location"].endswith("/onboarding/profile")
    page = person.client.get("/onboarding/profile").get_data(as_text=True)
    assert 'value="Meera Handlooms"' in page
    # and can sign in again later with the email as the username
    again = Browser(app, None)
    again.login("meera@handlooms.in", GOOD_PASSWORD)
    assert again.get("/onboarding/profile").status_code == 200


@pytest.mark.parametrize("password, reason", [
    ("short1!", "at least 12 characters"),
    ("password123456", "too common"),
    ("MeeraHandlooms2026!", "business name"),
])
def test_weak_password_is_refused_and_nothing_is_created(app, password, reason):
    person = Browser(app, None)
    resp = person.client.post("/signup", data=signup_form(person, password=password))
    assert resp.status_code == 400
    assert reason in resp.get_data(as_text=True).replace("&#39;", "'").lower()
    with app.app_context():
        assert count(Tenant) == 0 and count(User) == 0


def test_duplicate_email_is_refused_whatever_its_case(app):
    first = Browser(app, None)
    assert first.client.post("/signup", data=signup_form(first)).status_code == 302
    person = Browser(app, None)
    resp = person.client.post("/signup", data=signup_form(
        person, email="MEERA@handlooms.in", business_name="Another Store"))
    assert resp.status_code == 400
    assert "already exists" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Tenant) == 1 and count(Tenant, Tenant.name == "Another Store") == 0
        assert count(User, func.lower(User.email) == "meera@handlooms.in") == 1


def test_username_of_an_existing_account_is_not_captured(app, world):
    """An email equal to an existing username never attaches that account to a new tenant."""
    from app.services import team

    with app.app_context():
        team.add_member(world.a.tenant_id, username="sam@shop.in", email="sam.other@shop.in",
                        password=GOOD_PASSWORD + "x", role=Role.STAFF)
    person = Browser(app, None)
    resp = person.client.post("/signup", data=signup_form(person, email="sam@shop.in"))
    assert resp.status_code == 400 and "already exists" in resp.get_data(as_text=True)
    assert person.client.get("/onboarding/").status_code == 302  # not signed in as sam
    assert "/login" in person.client.get("/onboarding/").headers["Location"]


def test_missing_csrf_token_is_refused(app):
    person = Browser(app, None)
    data = signup_form(person)
    del data["csrf_token"]
    resp = person.client.post("/signup", data=data)
    assert resp.status_code == 400
    with app.app_context():
        assert count(Tenant) == 0 and count(User) == 0


def test_bad_email_and_missing_business_are_refused(app):
    person = Browser(app, None)
    resp = person.client.post("/signup", data=signup_form(person, email="not-an-email",
                                                          business_name="  "))
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "Invalid email address" in html and "This field is required" in html
    with app.app_context():
        assert count(Tenant) == 0


def test_signed_in_user_is_sent_home_from_signup(world, browser):
    resp = browser("owner_a").get("/signup")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/")


def _app_with(**settings):
    from app import create_app

    return create_app(make_config(**settings))


def test_switched_off_signup_is_404_and_the_landing_has_no_call_to_action():
    app = _app_with(SIGNUP_ENABLED=False)
    client = app.test_client()
    assert client.get("/signup").status_code == 404
    assert client.post("/signup", data={"business_name": "X"}).status_code in (400, 404)
    html = client.get("/").get_data(as_text=True)
    assert 'id="landing"' in html and "get-started" not in html and "/signup" not in html


def test_signup_is_rate_limited_per_client():
    app = _app_with(RATELIMIT_ENABLED=True, SIGNUP_RATE_LIMIT="3 per minute")
    person = Browser(app, None)
    statuses = [person.client.post("/signup", data=signup_form(
        person, password="weak")).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    # a correct sign-up from the same address is refused too until the window passes
    resp = person.client.post("/signup", data=signup_form(person))
    assert resp.status_code == 429
    with app.app_context():
        assert count(Tenant) == 0
    assert person.client.get("/signup").status_code == 200  # reading the form is not limited
