"""The admin as a person uses it: forms with CSRF, write-only tokens, orders with items."""
from __future__ import annotations

import re

from app.extensions import db
from app.models import Channel, Order, OrderItem, Product


def test_csrf_is_enforced_on_forms(world, browser, app):
    client = browser("owner_a")
    resp = client.client.post("/categoryview/add", data={"name": "No token"})
    assert resp.status_code == 400
    with app.app_context():
        from app.models import Category

        assert db.session.query(Category).filter_by(name="No token").count() == 0


def test_add_product_through_the_form(world, browser, app):
    client = browser("owner_a")
    resp = client.post("/productview/add", token_from="/productview/add", data={
        "sku": "KURTA-9", "name": "Indigo kurta", "price_minor": "89900", "currency": "INR",
        "stock": "4", "active": "y", "category": str(world.a["category"]),
    })
    assert resp.status_code == 302
    with app.app_context():
        p = db.session.query(Product).filter_by(sku="KURTA-9").one()
        assert (p.tenant_id, p.category_id, p.price_minor) == (world.a.tenant_id, world.a["category"], 89900)
    listing = client.get("/productview/list/").get_data(as_text=True)
    assert "₹899.00" in listing


def test_add_form_refuses_foreign_category(world, browser, app):
    client = browser("owner_a")
    resp = client.post("/productview/add", token_from="/productview/add", data={
        "sku": "KURTA-X", "name": "X", "price_minor": "100", "currency": "INR", "stock": "1",
        "category": str(world.b["category"]),
    })
    assert resp.status_code == 200 and "Not a valid choice" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Product).filter_by(sku="KURTA-X").count() == 0


def test_channel_token_never_shown_and_blank_keeps_it(world, browser, app):
    client = browser("owner_a")
    cid = world.a["channel"]
    for page in (f"/channelview/show/{cid}", f"/channelview/edit/{cid}", "/channelview/list/"):
        assert "secret-token-A" not in client.get(page).get_data(as_text=True)
    resp = client.post(f"/channelview/edit/{cid}", token_from=f"/channelview/edit/{cid}", data={
        "name": "Renamed page", "external_id": "page-A", "status": "active", "access_token": "",
    })
    assert resp.status_code == 302
    with app.app_context():
        ch = db.session.get(Channel, cid)
        assert ch.name == "Renamed page" and ch.access_token == "secret-token-A"
    client.post(f"/channelview/edit/{cid}", token_from=f"/channelview/edit/{cid}", data={
        "name": "Renamed page", "external_id": "page-A", "status": "active",
        "access_token": "rotated-token",
    })
    with app.app_context():
        assert db.session.get(Channel, cid).access_token == "rotated-token"


def test_conversation_shows_messages_newest_last(world, browser, app):
    from datetime import timedelta

    from app.models import Direction, Message, Sender, utcnow

    with app.app_context():
        conv_id, chan_id = world.a["conversation"], world.a["channel"]
        db.session.add(Message(tenant_id=world.a.tenant_id, conversation_id=conv_id,
                               channel_id=chan_id, direction=Direction.OUT, sender=Sender.AI,
                               text="Reply-newest", created_at=utcnow() + timedelta(minutes=1)))
        db.session.commit()
    html = browser("owner_a").get(f"/conversationview/show/{conv_id}").get_data(as_text=True)
    assert html.index("Msg-A") < html.index("Reply-newest")


def test_order_items_snapshot_price_and_total(world, browser, app):
    client = browser("owner_a")
    resp = client.post("/orderview/add", token_from="/orderview/add", data={
        "customer": str(world.a["customer"]), "notes": "phone order"})
    assert resp.status_code == 302
    with app.app_context():
        order = db.session.query(Order).filter_by(notes="phone order").one()
        assert re.fullmatch(r"ORD-\d+", order.number) and order.status == "pending_payment"
        order_id = order.id
    resp = client.post("/orderitemview/add", token_from="/orderitemview/add", data={
        "order": str(order_id), "product": str(world.a["product"]), "quantity": "3"})
    assert resp.status_code == 302
    with app.app_context():
        item = db.session.query(OrderItem).filter_by(order_id=order_id).one()
        assert (item.sku, item.unit_price_minor) == ("SKU-A", 79900)
        assert db.session.get(Order, order_id).total_minor == 3 * 79900
    html = client.get(f"/orderview/show/{order_id}").get_data(as_text=True)
    assert "₹2,397.00" in html


def test_order_numbers_are_per_tenant_and_unique(world, app):
    from app.services.orders import next_order_number

    with app.app_context():
        a1 = next_order_number(world.a.tenant_id)
        a2 = next_order_number(world.a.tenant_id)
        b1 = next_order_number(world.b.tenant_id)
        db.session.commit()
    assert a1 != a2 and int(a2.split("-")[1]) == int(a1.split("-")[1]) + 1
    assert b1 == a1  # each tenant counts its own orders


def test_mass_actions_change_own_rows(world, browser, app):
    from app.models import Conversation

    client = browser("owner_a")
    resp = client.post("/productview/action_post", token_from="/productview/list/",
                       data={"action": "deactivate", "rowid": [world.a["product"]]})
    assert resp.status_code == 302
    resp = client.post(f"/conversationview/action/to_human/{world.a['conversation']}",
                       token_from="/conversationview/list/")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Product, world.a["product"]).active is False
        assert db.session.get(Conversation, world.a["conversation"]).mode == "human"


def test_mass_action_with_one_foreign_id_changes_nothing(world, browser, app):
    client = browser("owner_a")
    resp = client.post("/productview/action_post", token_from="/productview/list/",
                       data={"action": "deactivate",
                             "rowid": [world.a["product"], world.b["product"]]})
    assert resp.status_code == 404
    with app.app_context():
        assert db.session.get(Product, world.a["product"]).active is True
        assert db.session.get(Product, world.b["product"]).active is True
