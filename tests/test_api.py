"""REST API: JWT login, rows land in the caller's active tenant, agency admins name the tenant,
bad input is refused with the field named and nothing written."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Channel, Product


def count(app, model, **filters):
    with app.app_context():
        n = db.session.query(model).filter_by(**filters).count()
        db.session.remove()
        return n


NEW_PRODUCT = {"sku": "NEW-1", "name": "New kurta", "price_minor": 129900, "stock": 5}


def test_login_required(world, app):
    resp = app.test_client().get("/api/v1/products/")
    assert resp.status_code == 401


def test_owner_creates_in_own_tenant(world, api, app):
    resp = api("owner_a").post("/api/v1/products/", json=NEW_PRODUCT)
    assert resp.status_code == 201, resp.json
    with app.app_context():
        product = db.session.get(Product, resp.json["id"])
        assert product.tenant_id == world.a.tenant_id
        assert product.currency == "INR"


def test_owner_cannot_name_another_tenant(world, api, app):
    client = api("owner_a")
    resp = client.post("/api/v1/products/", json={**NEW_PRODUCT, "tenant_id": world.b.tenant_id})
    assert resp.status_code == 403
    resp = client.get("/api/v1/products/", tenant_id=world.b.tenant_id)
    assert resp.status_code == 403
    assert count(app, Product, sku="NEW-1") == 0


def test_agency_admin_names_the_tenant(world, api, app):
    client = api("agency")
    resp = client.post("/api/v1/products/", json={**NEW_PRODUCT, "tenant_id": world.b.tenant_id})
    assert resp.status_code == 201, resp.json
    with app.app_context():
        assert db.session.get(Product, resp.json["id"]).tenant_id == world.b.tenant_id
    listed = client.get("/api/v1/products/", tenant_id=world.b.tenant_id).json
    assert resp.json["id"] in listed["ids"] and world.b["product"] in listed["ids"]
    assert world.a["product"] not in listed["ids"]
    # the header works too, and another agency's tenant is refused with nothing written
    assert client.get(f"/api/v1/products/{world.a['product']}", tenant_id=world.a.tenant_id).status_code == 200
    resp = client.post("/api/v1/products/", json={**NEW_PRODUCT, "sku": "NEW-C",
                                                  "tenant_id": world.c.tenant_id})
    assert resp.status_code == 403
    assert count(app, Product, sku="NEW-C") == 0
    assert client.get(f"/api/v1/products/{world.c['product']}", tenant_id=world.c.tenant_id).status_code == 403


@pytest.mark.parametrize("named", [True, 1.5, 1.0, "1.0", "\u0661", " 1e0", [1]])
def test_a_tenant_id_that_is_not_an_integer_is_400_and_nothing_written(world, api, app, named):
    """JSON true is not tenant 1, nor 1.5 (or an Arabic-Indic digit) tenant 1: the caller is
    told instead of being handed whichever tenant the number rounds to."""
    client = api("agency")
    resp = client.post("/api/v1/products/", json={**NEW_PRODUCT, "tenant_id": named})
    assert resp.status_code == 400 and "tenant_id must be an integer" in resp.json["message"]
    assert count(app, Product, sku="NEW-1") == 0
    resp = client.post("/api/v1/leo/ask", json={"question": "how are sales?", "tenant_id": named})
    assert resp.status_code == 400
    if isinstance(named, str):
        assert client.get(f"/api/v1/analytics/summary?tenant_id={named}").status_code == 400
        assert client.get("/api/v1/analytics/summary", tenant_id=named).status_code == 400


def test_tenant_id_in_body_is_never_trusted_on_update(world, api, app):
    client = api("owner_a")
    resp = client.put(f"/api/v1/products/{world.a['product']}", json={"name": "Renamed"})
    assert resp.status_code == 200
    with app.app_context():
        p = db.session.get(Product, world.a["product"])
        assert p.name == "Renamed" and p.tenant_id == world.a.tenant_id


def test_missing_field_is_named_and_nothing_written(world, api, app):
    resp = api("owner_a").post("/api/v1/products/", json={"sku": "NO-NAME", "price_minor": 100})
    assert resp.status_code == 422
    assert "name" in resp.json["message"]
    assert count(app, Product, sku="NO-NAME") == 0


def test_malformed_field_is_named_and_nothing_written(world, api, app):
    client = api("owner_a")
    resp = client.post("/api/v1/products/", json={**NEW_PRODUCT, "price_minor": "cheap"})
    assert resp.status_code == 422 and "price_minor" in resp.json["message"]
    resp = client.post("/api/v1/products/", json={**NEW_PRODUCT, "unknown_field": 1})
    assert resp.status_code == 422 and "unknown_field" in resp.json["message"]
    resp = client.post("/api/v1/campaigns/", json={"name": "X", "target_platform": "fax"})
    assert resp.status_code == 422 and "target_platform" in resp.json["message"]
    assert count(app, Product, sku="NEW-1") == 0


def test_non_json_body_is_a_400(world, api, app):
    client = api("owner_a")
    resp = client.client.post("/api/v1/products/", data="sku=1", headers=client.headers)
    assert resp.status_code == 400


def test_constraint_violation_is_422_not_500(world, api, app):
    client = api("owner_a")
    resp = client.post("/api/v1/products/", json={**NEW_PRODUCT, "sku": "SKU-A"})  # duplicate SKU
    assert resp.status_code == 422
    resp = client.post("/api/v1/products/", json={**NEW_PRODUCT, "sku": "NEG", "stock": -1})
    assert resp.status_code == 422
    assert count(app, Product, sku="NEG") == 0


def test_many_to_many_related_ids_are_scoped(world, api, app):
    client = api("owner_a")
    ok = client.post("/api/v1/campaigns/", json={"name": "Mine", "products": [world.a["product"]]})
    assert ok.status_code == 201, ok.json
    bad = client.post("/api/v1/campaigns/", json={"name": "Theirs",
                                                  "products": [world.a["product"], world.b["product"]]})
    assert bad.status_code == 422 and "products" in bad.json["message"]


def test_channel_token_is_write_only(world, api, app):
    client = api("owner_a")
    resp = client.post("/api/v1/channels/", json={
        "name": "WA", "platform": "whatsapp", "external_id": "106540352242922",
        "access_token": "EAAG-super-secret"})
    assert resp.status_code == 201, resp.json
    assert "EAAG-super-secret" not in resp.get_data(as_text=True)
    got = client.get(f"/api/v1/channels/{resp.json['id']}")
    assert "access_token" not in got.json["result"] and "EAAG" not in got.get_data(as_text=True)
    assert "EAAG" not in client.get("/api/v1/channels/").get_data(as_text=True)
    with app.app_context():
        from sqlalchemy import text

        raw = db.session.execute(text("SELECT access_token FROM channel WHERE id = :i"),
                                 {"i": resp.json["id"]}).scalar()
        assert raw and "EAAG" not in raw  # encrypted at rest
        assert db.session.get(Channel, resp.json["id"]).access_token == "EAAG-super-secret"


def test_channel_put_without_token_keeps_it(world, api, app):
    client = api("owner_a")
    resp = client.put(f"/api/v1/channels/{world.a['channel']}", json={"name": "Renamed"})
    assert resp.status_code == 200, resp.json
    assert "secret-token" not in resp.get_data(as_text=True)
    with app.app_context():
        ch = db.session.get(Channel, world.a["channel"])
        assert ch.name == "Renamed" and ch.access_token == "secret-token-A"


def test_channel_already_connected_elsewhere_does_not_say_where(world, api, app):
    resp = api("owner_a").post("/api/v1/channels/", json={
        "name": "Steal", "platform": "messenger", "external_id": "page-B", "access_token": "x"})
    assert resp.status_code == 422
    assert resp.json["message"] == {"external_id": ["This account is already connected to a Closer store"]}
    assert "Tenant B" not in resp.get_data(as_text=True)


def test_domain_and_range_errors_name_the_field(world, api, app):
    from app.models import OrderItem

    client = api("owner_a")
    resp = client.post("/api/v1/order_items/", json={"order": world.a["order"],
                                                     "product": world.a["product"], "quantity": 0})
    assert resp.status_code == 422 and "quantity" in resp.json["message"]
    resp = client.post("/api/v1/products/", json={**NEW_PRODUCT, "sku": "NEGP", "price_minor": -5})
    assert resp.status_code == 422 and "price_minor" in resp.json["message"]
    resp = client.post("/api/v1/products/", json={**NEW_PRODUCT, "sku": "NEGS", "stock": -1})
    assert resp.status_code == 422 and "stock" in resp.json["message"]
    resp = client.post("/api/v1/products/", json={**NEW_PRODUCT, "sku": "SKU-A"})
    assert resp.status_code == 422 and resp.json["message"] == {"sku": ["This value already exists"]}
    with app.app_context():
        from app.models import Order, OrderStatus

        db.session.get(Order, world.a["order"]).status = OrderStatus.PAID
        db.session.commit()
    resp = client.post("/api/v1/order_items/", json={"order": world.a["order"],
                                                     "product": world.a["product"], "quantity": 1})
    assert resp.status_code == 422 and "can't change" in str(resp.json["message"])
    with app.app_context():
        assert db.session.query(OrderItem).filter_by(order_id=world.a["order"]).count() == 1
    assert count(app, Product, sku="NEGP") + count(app, Product, sku="NEGS") == 0


def test_download_route_is_not_exposed(world, browser):
    client = browser("owner_a")
    assert client.get("/productview/download/config.py").status_code == 404


@pytest.mark.parametrize("pk", ["2147483648", "99999999999999999999"])
def test_an_id_no_row_can_have_is_not_found_not_a_database_error(world, api, browser, pk):
    """Past the 32-bit id columns PostgreSQL refuses the comparison itself: every route that
    takes an id answers 404, as for any id that is not the caller's."""
    client = api("owner_a")
    for method, path, body in (
            ("get", f"/api/v1/products/{pk}", None), ("put", f"/api/v1/products/{pk}", {"name": "x"}),
            ("delete", f"/api/v1/orders/{pk}", None), ("post", f"/api/v1/conversations/{pk}/takeover", {}),
            ("post", f"/api/v1/orders/{pk}/refund", {}), ("get", f"/api/v1/segments/{pk}/members", None)):
        resp = getattr(client, method)(path, **({"json": body} if body is not None else {}))
        assert resp.status_code == 404, (method, path, resp.status_code)
    owner = browser("owner_a")
    for path in (f"/inbox/c/{pk}", f"/inbox/c/{pk}/messages.json", f"/productview/show/{pk}", f"/segments/{pk}"):
        assert owner.get(path).status_code == 404, path
