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


def test_cli_refuses_odd_input_with_a_message_and_leaves_nothing(app):
    """Each refusal is one line saying what to fix, a non-zero exit, no traceback, no rows."""
    from flask_appbuilder.security.sqla.models import User

    assert invoke(app, "agency", "create", "Bright Agency", "--admin", "bright",
                  "--email", "bright@example.test", "--password", PW).exit_code == 0
    refused = {
        "bad email": (["agency", "create", "Mail Agency", "--admin", "mail", "--email", "not-an-email",
                       "--password", PW], "email"),
        "bad owner email": (["tenant", "create", "Neem", "--owner", "neem", "--email", "neem@",
                             "--password", PW, "--agency", "Bright Agency"], "email"),
        "same name but case": (["agency", "create", "bright agency", "--admin", "bright2",
                                "--email", "b2@example.test", "--password", PW], "already exists"),
        "long agency name": (["agency", "create", "A" * 121, "--admin", "longname",
                              "--email", "long@example.test", "--password", PW], "120"),
        "long tenant name": (["tenant", "create", "T" * 121, "--owner", "longt",
                              "--email", "longt@example.test", "--password", PW], "120"),
        "long username": (["agency", "create", "Long User", "--admin", "u" * 65,
                           "--email", "lu@example.test", "--password", PW], "64"),
        "unknown agency": (["tenant", "create", "Lost Shop", "--owner", "lost",
                            "--email", "lost@example.test", "--password", PW,
                            "--agency", "Brigth Agency"], "agency create"),
    }
    for what, (args, hint) in refused.items():
        result = invoke(app, *args)
        assert result.exit_code not in (0, None), what
        assert result.exception is None or isinstance(result.exception, SystemExit), (what, result.exception)
        assert "Traceback" not in result.output and hint in result.output, (what, result.output)
    with app.app_context():
        assert db.session.scalars(select(Agency.name)).all() == ["Bright Agency"]
        assert db.session.scalars(select(Tenant.name)).all() == []
        assert db.session.scalars(select(User.username)).all() == ["bright"]


def test_tenant_create_refuses_a_name_the_agency_already_has(app):
    assert invoke(app, "agency", "create", "Bright Agency", "--admin", "bright",
                  "--email", "bright@example.test", "--password", PW).exit_code == 0
    assert invoke(app, "tenant", "create", "Lotus Lamps", "--owner", "lotus", "--email",
                  "lotus@example.test", "--password", PW, "--agency", "Bright Agency").exit_code == 0
    again = invoke(app, "tenant", "create", "lotus lamps", "--owner", "lotus2", "--email",
                   "lotus2@example.test", "--password", PW, "--agency", "Bright Agency")
    assert again.exit_code == 1 and "already has a business named 'Lotus Lamps'" in again.output
    elsewhere = invoke(app, "tenant", "create", "Lotus Lamps", "--owner", "lotus3", "--email",
                       "lotus3@example.test", "--password", PW)  # another business, no agency
    assert elsewhere.exit_code == 0, elsewhere.output
    with app.app_context():
        assert sorted(db.session.scalars(select(Tenant.slug))) == ["lotus-lamps", "lotus-lamps-2"]


def test_a_new_agency_admin_is_told_how_to_add_the_first_business(app):
    assert invoke(app, "agency", "create", "Bright Agency", "--admin", "bright",
                  "--email", "bright@example.test", "--password", PW).exit_code == 0
    client = Browser(app, None)
    client.login("bright", PW)
    home = client.get("/").get_data(as_text=True)
    assert 'id="agency-no-business"' in home and 'href="/tenantsview/add"' in home
    assert client.get("/tenantsview/add").status_code == 200
    assert 'id="agency-empty"' in client.get("/agency/").get_data(as_text=True)
