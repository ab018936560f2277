"""Each role sees and may do what DESIGN.md's table says, and no more."""
from __future__ import annotations

import pytest

# path -> which personas may open it
PAGES = {
    "/conversationview/list/": {"admin", "agency", "owner_a", "staff_a"},
    "/customerview/list/": {"admin", "agency", "owner_a", "staff_a"},
    "/productview/list/": {"admin", "agency", "owner_a", "staff_a"},
    "/productview/add": {"admin", "agency", "owner_a", "staff_a"},
    "/categoryview/list/": {"admin", "agency", "owner_a", "staff_a"},
    "/orderview/list/": {"admin", "agency", "owner_a", "staff_a"},
    "/campaignview/list/": {"admin", "agency", "owner_a", "staff_a"},
    "/campaignview/add": {"admin", "agency", "owner_a", "staff_a"},
    "/channelview/list/": {"admin", "agency", "owner_a"},
    "/channelview/add": {"admin", "agency", "owner_a"},
    "/templateview/list/": {"admin", "agency", "owner_a"},
    "/automationruleview/list/": {"admin", "agency", "owner_a"},
    "/businessprofileview/list/": {"admin", "agency", "owner_a"},
    "/knowledgedocumentview/list/": {"admin", "agency", "owner_a"},
    "/teamview/list/": {"admin", "agency", "owner_a"},
    "/addteammemberview/form": {"admin", "agency", "owner_a"},
    "/tenantsettingsview/list/": {"admin", "agency", "owner_a"},
    "/tenantsview/list/": {"admin", "agency"},
    "/tenantsview/add": {"admin", "agency"},
    "/users/list/": {"admin"},
    "/roles/list/": {"admin"},
}
PERSONAS = ["admin", "agency", "owner_a", "staff_a"]


def refused(resp) -> bool:
    return resp.status_code == 403 or (
        resp.status_code == 302 and "/login" in resp.headers.get("Location", "")
    )


@pytest.mark.parametrize("persona", PERSONAS)
def test_role_page_access(world, browser, persona):
    client = browser(persona)
    for path, allowed in PAGES.items():
        resp = client.get(path)
        if persona in allowed:
            assert resp.status_code == 200, (persona, path, resp.status_code)
        else:
            assert refused(resp), (persona, path, resp.status_code)


def test_anonymous_sees_nothing(world, browser):
    client = browser(None)
    for path in PAGES:
        resp = client.get(path)
        assert refused(resp), (path, resp.status_code)
    home = client.get("/").get_data(as_text=True)
    assert "Sign in" in home and "Tenant A" not in home


@pytest.mark.parametrize("persona,menu,visible", [
    ("staff_a", "Channels", False), ("staff_a", "Team", False), ("staff_a", "Orders", True),
    ("owner_a", "Channels", True), ("owner_a", "Team", True), ("owner_a", "Tenants", False),
    ("agency", "Tenants", True), ("owner_a", "List Users", False), ("admin", "List Users", True),
])
def test_menu_follows_role(world, browser, persona, menu, visible):
    html = browser(persona).get("/").get_data(as_text=True)
    assert (f">{menu}<" in html or f"> {menu}<" in html or f"{menu}</a>" in html) == visible


def test_staff_cannot_write_owner_resources(world, browser, app):
    from app.extensions import db
    from app.models import Channel

    client = browser("staff_a")
    resp = client.post("/channelview/add", data={"name": "x", "platform": "messenger",
                                                 "external_id": "999"})
    assert refused(resp)
    with app.app_context():
        assert db.session.query(Channel).filter_by(external_id="999").count() == 0


def test_admin_can_switch_to_any_tenant(world, browser):
    client = browser("admin")
    for rows in (world.a, world.b, world.c):
        resp = client.post("/tenant/switch", data={"tenant_id": rows.tenant_id})
        assert resp.status_code == 302
        html = client.get("/productview/list/").get_data(as_text=True)
        assert f"Prod-{rows.tag}" in html
        assert {"A", "B", "C"} - {rows.tag} == {t for t in "ABC" if f"Prod-{t}" not in html}
