"""Tenant user management, agency tenants and the active-tenant switcher."""
from __future__ import annotations

from flask_appbuilder.security.sqla.models import User

from app.extensions import db
from app.models import Channel, Platform, Role, Tenant, TenantMembership


def member(app, tenant_id, username):
    with app.app_context():
        m = (db.session.query(TenantMembership).join(User)
             .filter(TenantMembership.tenant_id == tenant_id, User.username == username)
             .one_or_none())
        out = (m.role, sorted(r.name for r in m.user.roles)) if m else None
        db.session.remove()
        return out


def test_owner_adds_staff_who_can_then_sign_in(world, browser, app):
    owner = browser("owner_a")
    resp = owner.post("/addteammemberview/form", token_from="/addteammemberview/form", data={
        "username": "newstaff", "email": "newstaff@example.com", "first_name": "New",
        "last_name": "Staff", "password": "Quill-Meadow-Copper-82", "role": "staff"})
    assert resp.status_code == 302
    assert member(app, world.a.tenant_id, "newstaff") == (Role.STAFF, ["Staff"])
    assert "newstaff" in owner.get("/teamview/list/").get_data(as_text=True)
    newbie = browser(None)
    newbie.login("newstaff", "Quill-Meadow-Copper-82")
    html = newbie.get("/productview/list/").get_data(as_text=True)
    assert "Prod-A" in html and "Prod-B" not in html


def test_add_member_rejects_duplicates_and_short_passwords(world, browser, app):
    owner = browser("owner_a")
    resp = owner.post("/addteammemberview/form", token_from="/addteammemberview/form", data={
        "username": "staff_a", "email": "x@example.com", "password": "Quill-Meadow-Copper-82",
        "role": "staff"})
    assert "already taken" in resp.get_data(as_text=True)
    resp = owner.post("/addteammemberview/form", token_from="/addteammemberview/form", data={
        "username": "shorty", "email": "s@example.com", "password": "short", "role": "staff"})
    assert resp.status_code == 200 and member(app, world.a.tenant_id, "shorty") is None


def test_owner_promotes_and_cannot_remove_last_owner(world, browser, app):
    owner = browser("owner_a")
    with app.app_context():
        staff_seat = (db.session.query(TenantMembership).join(User)
                      .filter(User.username == "staff_a").one().id)
        owner_seat = world.a["membership"]
    # the last owner can't be demoted or removed
    owner.post(f"/teamview/edit/{owner_seat}", token_from=f"/teamview/edit/{owner_seat}",
               data={"role": "staff"})
    assert member(app, world.a.tenant_id, "owner_a")[0] == Role.OWNER
    owner.post(f"/teamview/delete/{owner_seat}")
    assert member(app, world.a.tenant_id, "owner_a") is not None
    # promote staff, then the first owner may step down
    owner.post(f"/teamview/edit/{staff_seat}", token_from=f"/teamview/edit/{staff_seat}",
               data={"role": "owner"})
    assert member(app, world.a.tenant_id, "staff_a")[0] == Role.OWNER
    owner.post(f"/teamview/edit/{owner_seat}", token_from=f"/teamview/edit/{owner_seat}",
               data={"role": "staff"})
    assert member(app, world.a.tenant_id, "owner_a")[0] == Role.STAFF
    # what they may do follows the seat at once
    assert browser("staff_a").get("/channelview/list/").status_code == 200
    assert browser("owner_a").get("/channelview/list/").status_code in (302, 403)


def test_staff_cannot_manage_the_team(world, browser, app):
    staff = browser("staff_a")
    resp = staff.post("/addteammemberview/form", data={
        "username": "sneaky", "email": "sn@example.test", "password": "Quill-Meadow-Copper-82",
        "role": "owner"})
    assert resp.status_code in (302, 403)
    assert member(app, world.a.tenant_id, "sneaky") is None


def test_agency_admin_sees_its_tenants_only_and_switches(world, browser):
    agency = browser("agency")
    html = agency.get("/tenantsview/list/").get_data(as_text=True)
    assert "Tenant A" in html and "Tenant B" in html and "Tenant C" not in html
    home = agency.get("/").get_data(as_text=True)
    assert 'id="tenant-switcher"' in home and "Tenant C" not in home
    assert agency.post("/tenant/switch", data={"tenant_id": world.b.tenant_id}).status_code == 302
    products = agency.get("/productview/list/").get_data(as_text=True)
    assert "Prod-B" in products and "Prod-A" not in products
    assert agency.post("/tenant/switch", data={"tenant_id": world.c.tenant_id}).status_code == 404
    assert "Prod-B" in agency.get("/productview/list/").get_data(as_text=True)
    assert agency.get(f"/productview/show/{world.c['product']}").status_code == 404


def test_owner_cannot_switch_to_a_tenant_not_theirs(world, browser):
    owner = browser("owner_a")
    assert owner.post("/tenant/switch", data={"tenant_id": world.b.tenant_id}).status_code == 404
    assert "Prod-A" in owner.get("/productview/list/").get_data(as_text=True)


def test_switch_requires_csrf(world, browser):
    agency = browser("agency")
    resp = agency.client.post("/tenant/switch", data={"tenant_id": world.b.tenant_id})
    assert resp.status_code == 400


def test_agency_admin_creates_tenant_in_its_agency(world, browser, app):
    agency = browser("agency")
    resp = agency.post("/tenantsview/add", token_from="/tenantsview/add",
                       data={"name": "Third Store", "currency": "INR", "timezone": "Asia/Kolkata"})
    assert resp.status_code == 302
    with app.app_context():
        t = db.session.query(Tenant).filter_by(name="Third Store").one()
        assert t.agency.name == "Agency X" and t.slug == "third-store"
        assert db.session.query(Channel).filter_by(tenant_id=t.id, platform=Platform.PLAYGROUND).count() == 1
        new_id = t.id
    assert agency.post("/tenant/switch", data={"tenant_id": new_id}).status_code == 302
    # another agency's admin can't see it
    other = browser("agency_y")
    assert "Third Store" not in other.get("/tenantsview/list/").get_data(as_text=True)
    assert other.post("/tenant/switch", data={"tenant_id": new_id}).status_code == 404


def test_owner_edits_own_store_settings_only(world, browser, app):
    owner = browser("owner_a")
    tid = world.a.tenant_id
    resp = owner.post(f"/tenantsettingsview/edit/{tid}", token_from=f"/tenantsettingsview/edit/{tid}",
                      data={"name": "Tenant A Renamed", "currency": "INR", "timezone": "Asia/Kolkata"})
    assert resp.status_code == 302
    assert owner.get(f"/tenantsettingsview/edit/{world.b.tenant_id}").status_code == 404
    with app.app_context():
        assert db.session.get(Tenant, tid).name == "Tenant A Renamed"


def test_store_settings_validate_timezone_and_currency(world, browser, app):
    owner = browser("owner_a")
    tid = world.a.tenant_id
    resp = owner.post(f"/tenantsettingsview/edit/{tid}", token_from=f"/tenantsettingsview/edit/{tid}",
                      data={"name": "A", "currency": "RUPEES", "timezone": "Mars/Olympus"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "IANA timezone" in html and "ISO 4217" in html
    with app.app_context():
        assert db.session.get(Tenant, tid).timezone == "Asia/Kolkata"
    owner.post(f"/tenantsettingsview/edit/{tid}", token_from=f"/tenantsettingsview/edit/{tid}",
               data={"name": "A", "currency": "usd", "timezone": "America/New_York"})
    with app.app_context():
        t = db.session.get(Tenant, tid)
        assert (t.currency, t.timezone) == ("USD", "America/New_York")


def test_times_are_shown_in_the_tenant_timezone(world, browser, app):
    from datetime import datetime, timezone

    from app.models import Conversation

    with app.app_context():
        conv = db.session.get(Conversation, world.a["conversation"])
        conv.last_message_at = datetime(2026, 11, 20, 6, 0, tzinfo=timezone.utc)
        db.session.commit()
    html = browser("owner_a").get(f"/conversationview/show/{world.a['conversation']}").get_data(as_text=True)
    assert "20 Nov 2026, 11:30 IST" in html



def test_owner_cannot_capture_another_tenants_user(world, browser, app):
    """Attaching an existing account would let one business change another's people."""
    owner_c = browser("owner_c")
    for username in ("staff_a", "owner_a", "agency_y"):
        resp = owner_c.post("/addteammemberview/form", token_from="/addteammemberview/form", data={
            "username": username, "email": f"{username}-x@example.com", "password": "Quill-Meadow-Copper-82",
            "role": "owner"})
        assert "already taken" in resp.get_data(as_text=True)
        assert member(app, world.c.tenant_id, username) is None
    assert browser("staff_a").get("/channelview/list/").status_code in (302, 403)


def test_permissions_follow_the_seat_in_the_active_tenant(world, browser, app):
    """Owner in A, staff in B (an operator attached the account): staff rules apply in B."""
    from app.services import team

    with app.app_context():
        team.add_member(world.b.tenant_id, username="owner_a", email=None, password=None,
                        role=Role.STAFF, allow_existing=True)
    user = browser("owner_a")
    assert "Chan-A" in user.get("/channelview/list/").get_data(as_text=True)
    assert user.post("/tenant/switch", data={"tenant_id": world.b.tenant_id}).status_code == 302
    assert "Prod-B" in user.get("/productview/list/").get_data(as_text=True)
    assert user.get("/channelview/list/").status_code in (302, 403)
    with app.app_context():
        seat = db.session.query(TenantMembership).join(User).filter(
            TenantMembership.tenant_id == world.b.tenant_id, User.username == "owner_a").one().id
    resp = user.post(f"/teamview/edit/{seat}", data={"role": "owner"})
    assert resp.status_code in (302, 403) and member(app, world.b.tenant_id, "owner_a")[0] == Role.STAFF


def test_paused_tenant_is_out_of_reach_for_its_members(world, browser, app):
    with app.app_context():
        db.session.get(Tenant, world.a.tenant_id).active = False
        db.session.commit()
    html = browser("owner_a").get("/").get_data(as_text=True)
    assert "No business yet" in html
    assert browser("owner_a").get("/productview/list/").status_code in (302, 403)
    agency = browser("agency")  # the agency can still reach it to reactivate it
    assert agency.post("/tenant/switch", data={"tenant_id": world.a.tenant_id}).status_code == 302
