"""The per-process cache of a tenant's reply content: reused while unchanged, replaced by the
very next reply after any edit (however it is made), untouched by stock and orders, and
never mixing tenants."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select, update

from app.extensions import db
from app.models import (
    AutomationRule,
    BusinessProfile,
    Campaign,
    Category,
    KnowledgeChunk,
    KnowledgeDocument,
    Product,
    Template,
    Tenant,
)
from app.services import tenant_content


def says(app, world, text: str) -> str:
    """A customer message through the real answer path; the text of the reply sent."""
    from flask_appbuilder.security.sqla.models import User

    from app.models import Direction, Message
    from app.services import replies
    from app.services.playground import customer_says

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "staff_a"))
        for message_id, tenant_id in customer_says(world.a.tenant_id, user, text):
            replies.answer(message_id, tenant_id)
        reply = db.session.scalars(select(Message).where(
            Message.direction == Direction.OUT, Message.tenant_id == world.a.tenant_id)
            .order_by(Message.id.desc())).first()
        text = reply.text
        db.session.remove()
        return text


def stamp(tenant_id: int) -> str:
    db.session.rollback()  # read what is committed now
    return db.session.scalar(select(Tenant.content_stamp).where(Tenant.id == tenant_id))


def _clear_products(campaign: Campaign) -> Campaign:
    campaign.products.clear()
    return campaign  # held by the test: a collection change needs its parent alive


EDITS = {
    "profile": lambda w: setattr(db.session.scalar(select(BusinessProfile).where(
        BusinessProfile.tenant_id == w.a.tenant_id)), "tone", "playful"),
    "campaign greeting": lambda w: setattr(db.session.get(Campaign, w.a["campaign"]), "greeting", "Hi!"),
    "campaign products": lambda w: _clear_products(db.session.get(Campaign, w.a["campaign"])),
    "new campaign": lambda w: db.session.add(Campaign(tenant_id=w.a.tenant_id, name="Diwali")),
    "rule": lambda w: setattr(db.session.get(AutomationRule, w.a["rule"]), "match", "unsubscribe"),
    "rule deleted": lambda w: db.session.delete(db.session.get(AutomationRule, w.a["rule"])),
    "template": lambda w: setattr(db.session.get(Template, w.a["template"]), "body", "New body"),
    "product name": lambda w: setattr(db.session.get(Product, w.a["product"]), "name", "Renamed"),
    "product hidden": lambda w: setattr(db.session.get(Product, w.a["product"]), "active", False),
    "category": lambda w: setattr(db.session.get(Category, w.a["category"]), "name", "Sarees"),
    "document deleted": lambda w: db.session.delete(db.session.get(KnowledgeDocument, w.a["document"])),
    "chunk": lambda w: setattr(db.session.get(KnowledgeChunk, w.a["chunk"]), "content", "New text"),
    "tenant timezone": lambda w: setattr(db.session.get(Tenant, w.a.tenant_id), "timezone", "UTC"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_every_kind_of_content_edit_gives_the_tenant_a_new_stamp(app, world, edit):
    with app.app_context():
        before_a, before_b = stamp(world.a.tenant_id), stamp(world.b.tenant_id)
        changed = EDITS[edit](world)
        db.session.commit()
        del changed
        assert stamp(world.a.tenant_id) != before_a
        assert stamp(world.b.tenant_id) == before_b  # another tenant's cache stays valid


def test_stock_prices_orders_and_rollbacks_leave_the_stamp_alone(app, world):
    with app.app_context():
        before = stamp(world.a.tenant_id)
        product = db.session.get(Product, world.a["product"])
        product.stock, product.price_minor = 50, 99900  # prices reach the model only through tools
        db.session.commit()
        db.session.execute(update(Product).where(Product.id == world.a["product"]).values(reserved=2))
        db.session.get(Tenant, world.a.tenant_id).order_seq += 1
        db.session.commit()
        db.session.get(Campaign, world.a["campaign"]).greeting = "never committed"
        db.session.flush()
        db.session.rollback()  # the stamp written by that flush goes with it
        assert stamp(world.a.tenant_id) == before


def test_cached_content_is_reused_until_the_stamp_changes(app, world):
    with app.app_context():
        first = tenant_content.get(world.a.tenant_id)
        statements = []
        listener = lambda *a: statements.append(a[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            again = tenant_content.get(world.a.tenant_id, first.stamp)
            assert again is first and statements == []  # no query at all on a hit
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        db.session.get(Product, world.a["product"]).name = "Silk Saree"
        db.session.commit()
        fresh = tenant_content.get(world.a.tenant_id)
        assert fresh is not first and "Silk Saree" in fresh.names and "Prod-A" not in fresh.names


def test_content_holds_only_its_own_tenants_rows(app, world):
    with app.app_context():
        a = tenant_content.get(world.a.tenant_id)
        assert {"Prod-A", "Cat-A", "Camp-A"} <= set(a.names)
        assert not any(name.endswith("-B") or name.endswith("-C") for name in a.names)
        assert [c.id for c in a.campaigns] == [world.a["campaign"]]
        assert a.campaign(world.b["campaign"]) is None  # B's campaign id means nothing to A
        assert [r.id for r in a.rules] == [world.a["rule"]] and a.rules[0].template.body == "Body-A"
        assert a.knowledge.retrieve("Chunk-A") == ["Chunk-A"] and a.knowledge.chunks == ("Chunk-A",)


def test_an_edit_through_the_api_reaches_the_very_next_reply(app, world, api):
    """A rule edited by staff (another request, the way a second process would) changes the
    reply that follows, although the content was cached a moment before."""
    from app.services.automation import OPT_OUT_TEXT

    assert says(app, world, "stop") == "Body-A" != OPT_OUT_TEXT  # the rule's template; now cached
    resp = api("owner_a").put(f"/api/v1/automation_rules/{world.a['rule']}",
                              json={"match": "halt", "action": "reply", "response": "Rule says hi"},
                              tenant_id=world.a.tenant_id)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    with app.app_context():  # the customer opted out above; let them back in
        from app.models import Customer

        for c in db.session.scalars(select(Customer).where(Customer.tenant_id == world.a.tenant_id)):
            c.opted_out = False
        db.session.commit()
    assert says(app, world, "halt please") == "Rule says hi"
