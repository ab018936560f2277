"""An order's conversation is its customer's: the payment link, the confirmation and the
tracking number go to that conversation, so naming someone else's is refused wherever an order
is made or changed (admin, API, checkout)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Conversation, Customer, Order, Platform, Product, utcnow
from app.services import checkout
from app.services.orders import OrderError


@pytest.fixture
def other(app, world):
    """A second customer of tenant A with a conversation of their own: (customer, conversation)."""
    with app.app_context():
        customer = Customer(tenant_id=world.a.tenant_id, platform=Platform.MESSENGER,
                            external_id="psid-A2", name="Other-A2")
        db.session.add(customer)
        db.session.flush()
        conv = Conversation(tenant_id=world.a.tenant_id, channel_id=world.a["channel"],
                            customer_id=customer.id, last_message_at=utcnow())
        db.session.add(conv)
        db.session.commit()
        ids = customer.id, conv.id
        db.session.remove()
    return ids


def orders(app):
    with app.app_context():
        out = db.session.execute(select(Order.id, Order.customer_id, Order.conversation_id)
                                 .order_by(Order.id)).all()
        db.session.remove()
    return [tuple(row) for row in out]


# -------------------------------------------------------------------------- API


def test_api_create_refuses_another_customers_conversation(app, world, api, other):
    before = orders(app)
    resp = api("owner_a").post("/api/v1/orders/", json={"customer": world.a["customer"],
                                                        "conversation": other[1], "notes": "mixed"})
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert "belongs to another customer" in resp.get_data(as_text=True)
    assert orders(app) == before


def test_api_create_with_the_customers_own_conversation(app, world, api, other):
    client = api("owner_a")
    mine = client.post("/api/v1/orders/", json={"customer": other[0], "conversation": other[1]})
    assert mine.status_code == 201, mine.get_data(as_text=True)
    alone = client.post("/api/v1/orders/", json={"conversation": other[1]})  # the customer follows
    assert alone.status_code == 201, alone.get_data(as_text=True)
    rows = {row[0]: row[1:] for row in orders(app)}
    assert rows[mine.json["id"]] == (other[0], other[1])
    assert rows[alone.json["id"]] == (other[0], other[1])


def test_api_update_can_not_move_an_order_to_another_customers_conversation(app, world, api, other):
    before = orders(app)
    client = api("owner_a")
    for body in ({"conversation": other[1]}, {"customer": other[0]},
                 {"conversation": other[1], "notes": "moved"}):
        resp = client.put(f"/api/v1/orders/{world.a['order']}", json=body)
        assert resp.status_code in (400, 422), (body, resp.status_code)
    assert orders(app) == before


def test_api_refuses_another_tenants_conversation(app, world, api):
    before = orders(app)
    client = api("owner_a")
    for body in ({"customer": world.a["customer"], "conversation": world.b["conversation"]},
                 {"conversation": world.b["conversation"]}):
        resp = client.post("/api/v1/orders/", json=body)
        assert resp.status_code in (404, 422), resp.status_code
        assert "conversation" in resp.get_data(as_text=True)
    assert orders(app) == before


# -------------------------------------------------------------------------- admin


def test_admin_add_refuses_another_customers_conversation(app, world, browser, other):
    before = orders(app)
    client = browser("owner_a")
    resp = client.post("/orderview/add", token_from="/orderview/add", follow_redirects=True, data={
        "customer": str(world.a["customer"]), "conversation": str(other[1]), "notes": "mixed"})
    assert "belongs to another customer" in resp.get_data(as_text=True)
    assert orders(app) == before


def test_admin_add_with_the_customers_own_conversation(app, world, browser, other):
    client = browser("owner_a")
    resp = client.post("/orderview/add", token_from="/orderview/add", data={
        "customer": str(other[0]), "conversation": str(other[1]), "notes": "own chat"})
    assert resp.status_code == 302
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.notes == "own chat"))
        assert (order.customer_id, order.conversation_id) == other
        db.session.remove()


def test_admin_add_refuses_another_tenants_conversation(app, world, browser):
    before = orders(app)
    resp = browser("owner_a").post("/orderview/add", token_from="/orderview/add", data={
        "customer": str(world.a["customer"]), "conversation": str(world.b["conversation"])})
    assert resp.status_code == 200 and "Not a valid choice" in resp.get_data(as_text=True)
    assert orders(app) == before


def test_admin_edit_can_not_move_an_order_to_another_customers_conversation(app, world, browser, other):
    before = orders(app)
    client = browser("owner_a")
    path = f"/orderview/edit/{world.a['order']}"
    client.post(path, token_from=path, data={"conversation": str(other[1]), "customer": str(other[0]),
                                             "notes": "edited", "tracking_number": ""})
    assert orders(app) == before
    with app.app_context():
        assert db.session.get(Order, world.a["order"]).notes == "edited"  # the form itself worked
        db.session.remove()


def test_a_service_change_of_conversation_is_checked_on_save(app, world, other):
    """The rule lives in the service both the admin and the API call, not in a form."""
    from app.services.orders import check_parties

    with app.app_context():
        order = db.session.get(Order, world.a["order"])
        check_parties(order, created=False)  # unchanged: nothing to check
        order.conversation_id = other[1]
        with pytest.raises(OrderError, match="another customer"):
            check_parties(order, created=False)
        db.session.rollback()
        order.customer_id, order.conversation_id = other
        check_parties(order, created=False)
        db.session.rollback()
        db.session.remove()


# -------------------------------------------------------------------------- checkout


def test_checkout_refuses_another_customers_conversation(app, world, other):
    with app.app_context():
        with pytest.raises(OrderError, match="another customer"):
            checkout.place_order(world.a.tenant_id, world.a["customer"], other[1],
                                 [(world.a["product"], 1)], source="admin")
        assert db.session.get(Product, world.a["product"]).reserved == 1  # nothing held
        assert db.session.scalar(select(func.count()).select_from(Order)) == 3  # the world's own
        order = checkout.place_order(world.a.tenant_id, other[0], other[1], [(world.a["product"], 1)],
                                     source="admin")
        assert (order.customer_id, order.conversation_id) == other
        db.session.remove()
