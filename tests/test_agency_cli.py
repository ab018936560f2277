"""`flask agency create` and attaching tenants to an agency from the command line; the new
agency admin then sees exactly that agency's tenants."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Agency, AgencyMembership, Tenant
from app.security.permissions import ROLE_AGENCY_ADMIN
from tests.conftest import Browser

PW = "Quill-Meadow-Copper-82"


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_agency_create_makes_the_agency_and_its_admin(app):
    result = invoke(app, "agency", "create", "Bright Agency", "--admin", "bright",
                    "--email", "bright@example.test", "--password", PW)
    assert result.exit_code == 0, result.output
    agency_id = int(result.output.strip().splitlines()[-1])
    with app.app_context():
        agency = db.session.get(Agency, agency_id)
        assert agency.name == "Bright Agency"
        membership = db.session.scalar(select(AgencyMembership).where(
            AgencyMembership.agency_id == agency_id))
        from app.extensions import appbuilder

        user = appbuilder.sm.find_user(username="bright")
        assert membership.user_id == user.id and user.email == "bright@example.test"
        assert [r.name for r in user.roles] == [ROLE_AGENCY_ADMIN]
        assert user.password != PW and user.active


def test_agency_create_refuses_weak_passwords_and_duplicates(app):
    weak = invoke(app, "agency", "create", "Weak Agency", "--admin", "weak",
                  "--email", "weak@example.test", "--password", "password123")
    assert weak.exit_code != 0 and "--password" in weak.output
    named = invoke(app, "agency", "create", "Sunflower Marketing", "--admin", "sun",
                   "--email", "sun@example.test", "--password", "SunflowerMarketing1!")
    assert named.exit_code != 0  # the agency's own name is a guessable password
    with app.app_context():
        assert db.session.scalars(select(Agency.name)).all() == []
    assert invoke(app, "agency", "create", "Dup", "--admin", "dup1", "--email", "d1@example.test",
                  "--password", PW).exit_code == 0
    again = invoke(app, "agency", "create", "Dup", "--admin", "dup2", "--email", "d2@example.test",
                   "--password", PW)
    assert again.exit_code != 0 and "already exists" in again.output
    taken = invoke(app, "agency", "create", "Other", "--admin", "dup1", "--email", "d3@example.test",
                   "--password", PW)
    assert taken.exit_code != 0 and "is taken" in taken.output
    with app.app_context():  # nothing half-made by the refused attempts
        assert db.session.scalars(select(Agency.name)).all() == ["Dup"]


def test_tenants_created_or_attached_under_the_agency_are_its_admins(app):
    assert invoke(app, "agency", "create", "Bright Agency", "--admin", "bright",
                  "--email", "bright@example.test", "--password", PW).exit_code == 0
    made = invoke(app, "tenant", "create", "Lotus Lamps", "--owner", "lotus",
                  "--email", "lotus@example.test", "--password", PW, "--agency", "Bright Agency")
    assert made.exit_code == 0, made.output
    alone = invoke(app, "tenant", "create", "Neem Naturals", "--owner", "neem",
                   "--email", "neem@example.test", "--password", PW)
    assert alone.exit_code == 0, alone.output
    attached = invoke(app, "tenant", "attach", "neem-naturals", "--agency", "Bright Agency")
    assert attached.exit_code == 0 and "Neem Naturals is now in Bright Agency" in attached.output
    assert invoke(app, "tenant", "attach", "neem-naturals", "--agency", "Nobody").exit_code != 0
    assert invoke(app, "tenant", "attach", "no-such-shop", "--agency", "Bright Agency").exit_code != 0
    with app.app_context():
        agency_id = db.session.scalar(select(Agency.id).where(Agency.name == "Bright Agency"))
        names = db.session.scalars(select(Tenant.name).where(Tenant.agency_id == agency_id)
                                   .order_by(Tenant.name)).all()
        assert names == ["Lotus Lamps", "Neem Naturals"]
    html = Browser(app, None)
    html.login("bright", PW)
    page = html.get("/agency/").get_data(as_text=True)
    rows = re.findall(r'<tr data-tenant-id="\d+">\s*<td>([^<]+)</td>', page)
    assert sorted(rows) == ["Lotus Lamps", "Neem Naturals"]
