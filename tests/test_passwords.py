"""The password policy, and every path that sets a password applying it."""
from __future__ import annotations

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.extensions import appbuilder, db
from app.security.passwords import (
    TOO_COMMON,
    TOO_PERSONAL,
    TOO_SHORT,
    WeakPasswordError,
    check_password,
    ensure_strong,
)
from tests.conftest import PASSWORD

STRONG = "Quartz-Juniper-Falcon-63"


@pytest.mark.parametrize("password, problem", [
    ("Zq8#vL2!", TOO_SHORT),                      # random but short
    ("password1234", TOO_COMMON),                 # long enough, on every list
    ("qwertyuiopasdf", TOO_COMMON),               # keyboard walk
    ("aaaaaaaaaaaaaaaa", TOO_COMMON),             # repeats
    ("Password2024!", TOO_COMMON),                # word + year
    ("kiran-Lotus-Ember-58", TOO_PERSONAL),       # the username inside
    ("Lotus-Ember-sarees-58", TOO_PERSONAL),      # the business name inside
])
def test_weak_passwords_are_refused_with_the_reason(password, problem):
    problems = check_password(password, ["kiran", "kiran@sarees.example", "Kiran Sarees"])
    assert any(p.startswith(problem) for p in problems), problems


def test_strong_passwords_pass():
    assert check_password(STRONG, ["kiran", "kiran@sarees.example", "Kiran Sarees"]) == []
    assert check_password(PASSWORD, ["owner_a", "owner_a@example.test", "Tenant A"]) == []
    assert check_password("correct horse battery staple") == []


def test_ensure_strong_names_every_problem():
    with pytest.raises(WeakPasswordError) as raised:
        ensure_strong("kiran123", ["kiran"])
    message = str(raised.value)
    assert TOO_SHORT in message and TOO_PERSONAL in message and TOO_COMMON in message


def password_of(username: str) -> str | None:
    return db.session.scalar(select(User.password).where(User.username == username))


# ---------------------------------------------------------------------------- team screen


def add_member(owner, username, password):
    return owner.post("/addteammemberview/form", token_from="/addteammemberview/form", data={
        "username": username, "email": f"{username}@shop.example", "first_name": "Meera",
        "password": password, "role": "staff"})


@pytest.mark.parametrize("password, reason", [
    ("password1234", "too common"),
    ("short-Pw1", "at least 12 characters"),
    ("Meera-Lotus-Ember-58", "your name"),       # first name
    ("Lotus-tenant-Ember-58", "your name"),      # the tenant is "Tenant A"
])
def test_team_add_refuses_weak_passwords(world, browser, app, password, reason):
    resp = add_member(browser("owner_a"), "meera", password)
    assert resp.status_code == 200 and reason in resp.get_data(as_text=True)
    with app.app_context():
        assert password_of("meera") is None


def test_team_add_accepts_a_strong_password(world, browser):
    assert add_member(browser("owner_a"), "meera", STRONG).status_code == 302
    browser(None).login("meera", STRONG)


def test_team_service_refuses_weak_passwords(world, ctx):
    from app.services import team

    with pytest.raises(team.TeamError, match="too common"):
        team.add_member(world.a.tenant_id, username="meera", email="m@shop.example",
                        password="password1234")


# ---------------------------------------------------------------------------- CLI


def test_cli_tenant_create_refuses_weak_and_personal_passwords(world, app):
    runner = app.test_cli_runner()
    for password, reason in [("password1234", "too common"), ("Kiran-Lotus-Ember-58", "your name"),
                             ("Lotus-Sarees-Ember-58", "your name")]:
        result = runner.invoke(args=["tenant", "create", "Kiran Sarees", "--owner", "kiran",
                                     "--email", "kiran@example.com", "--password", password])
        assert result.exit_code != 0 and reason in result.output, result.output
    with app.app_context():
        assert password_of("kiran") is None
    ok = runner.invoke(args=["tenant", "create", "Kiran Sarees", "--owner", "kiran",
                             "--email", "kiran@example.com", "--password", STRONG])
    assert ok.exit_code == 0, ok.output


def test_fab_cli_create_user_and_reset_password_apply_the_policy(world, app):
    """`flask fab create-admin / reset-password` (FAB's commands) go through the manager."""
    from flask_appbuilder.cli import fab

    runner = app.test_cli_runner()
    weak = runner.invoke(fab, args=["create-admin", "--username", "root2", "--firstname", "R",
                               "--lastname", "T", "--email", "root2@example.test",
                               "--password", "password1234"])
    assert weak.exit_code != 0
    with app.app_context():
        assert password_of("root2") is None
        before = password_of("owner_a")
    reset = runner.invoke(fab, args=["reset-password", "--username", "owner_a",
                                "--password", "password1234"])
    assert reset.exit_code != 0
    with app.app_context():
        assert password_of("owner_a") == before
    ok = runner.invoke(fab, args=["reset-password", "--username", "owner_a",
                             "--password", STRONG])
    assert ok.exit_code == 0, ok.output


# ---------------------------------------------------------------------------- FAB's screens


def test_reset_my_password_refuses_weak_and_accepts_strong(world, browser, app):
    owner = browser("owner_a")
    form = "/resetmypassword/form"
    with app.app_context():
        before = password_of("owner_a")
    for weak, reason in [("password1234", "too common"), ("owner_a-Lotus-Ember", "your name")]:
        resp = owner.post(form, token_from=form, data={"password": weak, "conf_password": weak})
        assert resp.status_code == 200 and reason in resp.get_data(as_text=True)
        with app.app_context():
            assert password_of("owner_a") == before
    resp = owner.post(form, token_from=form, data={"password": STRONG, "conf_password": STRONG})
    assert resp.status_code == 302
    browser(None).login("owner_a", STRONG)


def test_admin_reset_password_refuses_weak_and_accepts_strong(world, browser, app):
    admin = browser("admin")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "staff_a"))
        before = password_of("staff_a")
    form = f"/resetpassword/form?pk={user_id}"
    for weak, reason in [("password1234", "too common"), ("Lotus-staff-Ember-58", "your name")]:
        resp = admin.post(form, token_from=form, data={"password": weak, "conf_password": weak})
        assert resp.status_code == 200 and reason in resp.get_data(as_text=True)
        with app.app_context():
            assert password_of("staff_a") == before
    resp = admin.post(form, token_from=form, data={"password": STRONG, "conf_password": STRONG})
    assert resp.status_code == 302
    browser(None).login("staff_a", STRONG)


def user_form(username, password, role_id):
    return {"first_name": "Nia", "last_name": "Rao", "username": username,
            "email": f"{username}@example.test", "active": "y", "password": password,
            "conf_password": password, "roles": str(role_id)}


def test_admin_user_add_refuses_weak_and_accepts_strong(world, browser, app):
    admin = browser("admin")
    with app.app_context():
        admin_role = appbuilder.sm.find_role("Admin").id
    form = "/users/add"
    for weak, reason in [("password1234", "too common"), ("Lotus-Nia-Rao-niarao", "your name")]:
        resp = admin.post(form, token_from=form, data=user_form("niarao", weak, admin_role))
        assert resp.status_code == 200 and reason in resp.get_data(as_text=True)
        with app.app_context():
            assert password_of("niarao") is None
    resp = admin.post(form, token_from=form, data=user_form("niarao", STRONG, admin_role))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    browser(None).login("niarao", STRONG)


def test_demo_seed_refuses_a_weak_env_password_before_writing(ctx, monkeypatch):
    from app.models import Tenant
    from app.services import demo

    monkeypatch.setenv("DEMO_PASSWORD", "password1234")
    with pytest.raises(demo.DemoSeedError, match="too common"):
        demo.seed()
    assert db.session.scalar(select(Tenant.id)) is None


def test_fab_forms_we_do_not_replace_use_the_policy_too(app):
    """FAB's complexity hook (its user API, self-registration) runs the same check."""
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    validator = app.config["FAB_PASSWORD_COMPLEXITY_VALIDATOR"]
    assert app.config["FAB_PASSWORD_COMPLEXITY_ENABLED"]
    with pytest.raises(PasswordComplexityValidationError, match="too common"):
        validator("password1234")
    validator(STRONG)
