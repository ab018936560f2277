"""Logging out, or changing the password, ends sessions on the server, not just in the browser."""
from __future__ import annotations

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.extensions import db

STRONG = "Quartz-Juniper-Falcon-63"
PAGE = "/productview/list/"


def session_cookie(person) -> str:
    cookie = person.client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def replay(app, cookie: str):
    """A different browser presenting a copied session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief.get(PAGE)


def signed_in(resp) -> bool:
    return resp.status_code == 200 and "Prod-A" in resp.get_data(as_text=True)


def test_a_copied_cookie_stops_working_after_logout(world, browser, app):
    owner = browser("owner_a")
    copied = session_cookie(owner)
    assert signed_in(replay(app, copied))
    assert owner.get("/logout/").status_code == 302
    resp = replay(app, copied)
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]


def test_logout_ends_the_users_other_sessions_too(world, browser, app):
    laptop, phone = browser("owner_a"), browser("owner_a")
    other_user = browser("owner_b")
    laptop.get("/logout/")
    assert not signed_in(phone.get(PAGE))
    assert other_user.get("/productview/list/").status_code == 200  # someone else's session
    browser(None).login("owner_a")  # logging in again works
    assert signed_in(browser("owner_a").get(PAGE))


def test_password_change_ends_other_sessions_but_keeps_this_one(world, browser, app):
    here, elsewhere = browser("owner_a"), browser("owner_a")
    copied = session_cookie(elsewhere)
    form = "/resetmypassword/form"
    resp = here.post(form, token_from=form, data={"password": STRONG, "conf_password": STRONG})
    assert resp.status_code == 302
    assert signed_in(here.get(PAGE))
    assert not signed_in(elsewhere.get(PAGE))
    assert not signed_in(replay(app, copied))


def test_admin_password_reset_ends_the_users_sessions(world, browser, app):
    staff = browser("staff_a")
    admin = browser("admin")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "staff_a"))
    form = f"/resetpassword/form?pk={user_id}"
    resp = admin.post(form, token_from=form, data={"password": STRONG, "conf_password": STRONG})
    assert resp.status_code == 302
    assert staff.get(PAGE).status_code == 302
    assert admin.get("/productview/list/").status_code == 200


def test_a_session_without_a_generation_is_refused(world, browser, app):
    """What a remember-me cookie would rebuild, or a session forged before this check existed."""
    owner = browser("owner_a")
    with owner.client.session_transaction() as sess:
        sess.pop("_login_generation")
    assert owner.get(PAGE).status_code == 302


def test_jwt_api_is_unaffected_by_cookie_logout(world, browser, api):
    client = api("owner_a")
    browser("owner_a").get("/logout/")
    assert client.get("/api/v1/products/").status_code == 200


def test_a_remember_me_cookie_cannot_bring_a_session_back(world, app):
    """FAB's login never sets one, but a forged or leftover remember cookie must not log in."""
    from flask_login.utils import encode_cookie

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "owner_a"))
    with app.test_request_context():
        token = encode_cookie(str(user_id))
    client = app.test_client()
    client.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), token)
    assert client.get(PAGE).status_code == 302
