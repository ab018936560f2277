"""Builders for test data: a whole world of tenants with one row of every table each."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from app.extensions import appbuilder, db
from app.models import (
    AgencyMembership,
    AiPromise,
    AutomationRule,
    BusinessProfile,
    Campaign,
    CampaignStatus,
    Category,
    Channel,
    Conversation,
    Customer,
    Direction,
    KnowledgeChunk,
    KnowledgeDocument,
    Message,
    Order,
    OrderEvent,
    OrderItem,
    Platform,
    Product,
    PromiseKind,
    Role,
    RuleAction,
    Sender,
    TargetPlatform,
    Template,
    Tenant,
    TenantMembership,
    utcnow,
)
from app.models.inbox import CannedReply, ConversationNote
from app.security.permissions import ROLE_ADMIN, ROLE_AGENCY_ADMIN
from app.services import team
from app.services.orders import next_order_number
from app.services.tenants import create_tenant, get_or_create_agency

PASSWORD = "Kestrel-Harbor-Lantern-47"


@dataclass
class TenantRows:
    """Ids of one row of every table in a tenant (names carry the tenant's tag)."""

    tenant_id: int
    tag: str
    ids: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, key: str) -> int:
        return self.ids[key]


@dataclass
class World:
    a: TenantRows
    b: TenantRows
    c: TenantRows


def make_user(username: str, role_name: str):
    user = appbuilder.sm.add_user(
        username, username, "Test", f"{username}@example.test",
        role=appbuilder.sm.find_role(role_name), password=PASSWORD, commit=False,
    )
    db.session.flush()
    return user


def populate(tenant: Tenant, tag: str) -> TenantRows:
    """One row of every tenant table, named with `tag` so leaks are visible in HTML/JSON."""
    rows = TenantRows(tenant.id, tag)
    t = tenant.id
    cat = Category(tenant_id=t, name=f"Cat-{tag}")
    product = Product(tenant_id=t, sku=f"SKU-{tag}", name=f"Prod-{tag}", category=cat,
                      price_minor=79900, stock=10, reserved=1, currency="INR")  # its pending order
    campaign = Campaign(tenant_id=t, name=f"Camp-{tag}", target_platform=TargetPlatform.ALL,
                        status=CampaignStatus.ACTIVE, greeting=f"Hello from {tag}",
                        products=[product])
    channel = Channel(tenant_id=t, name=f"Chan-{tag}", platform=Platform.MESSENGER,
                      external_id=f"page-{tag}", access_token=f"secret-token-{tag}")
    customer = Customer(tenant_id=t, platform=Platform.MESSENGER, external_id=f"psid-{tag}",
                        name=f"Cust-{tag}")
    db.session.add_all([cat, product, campaign, channel, customer])
    db.session.flush()
    conv = Conversation(tenant_id=t, channel_id=channel.id, customer_id=customer.id,
                        campaign_id=campaign.id, last_message_at=utcnow())
    db.session.add(conv)
    db.session.flush()
    msg = Message(tenant_id=t, conversation_id=conv.id, channel_id=channel.id,
                  direction=Direction.IN, sender=Sender.CUSTOMER, text=f"Msg-{tag}",
                  external_id=f"mid-{tag}", created_at=utcnow() - timedelta(minutes=5),
                  handled_at=utcnow() - timedelta(minutes=5))
    order = Order(tenant_id=t, number=next_order_number(t), customer_id=customer.id,
                  conversation_id=conv.id, campaign_id=campaign.id, total_minor=79900,
                  notes=f"Note-{tag}")
    db.session.add_all([msg, order])
    db.session.flush()
    item = OrderItem(tenant_id=t, order_id=order.id, product_id=product.id, sku=product.sku,
                     name=product.name, unit_price_minor=79900, quantity=1)
    template = Template(tenant_id=t, name=f"tmpl-{tag}", body=f"Body-{tag}")
    order_event = OrderEvent(tenant_id=t, order_id=order.id, to_status="pending_payment",
                             source="admin", note=f"Note-{tag}")
    db.session.add_all([item, template, order_event])
    db.session.flush()
    rule = AutomationRule(tenant_id=t, name=f"Rule-{tag}", match="stop",
                          action=RuleAction.OPT_OUT, template_id=template.id)
    doc = KnowledgeDocument(tenant_id=t, title=f"Doc-{tag}", content=f"Knowledge-{tag}")
    db.session.add_all([rule, doc])
    db.session.flush()
    chunk = KnowledgeChunk(tenant_id=t, document_id=doc.id, position=0, content=f"Chunk-{tag}")
    note = ConversationNote(tenant_id=t, conversation_id=conv.id, body=f"Note-{tag} (private)")
    canned = CannedReply(tenant_id=t, shortcut=f"tmpl-{tag}", body=f"Body-{tag} canned")
    promise = AiPromise(tenant_id=t, conversation_id=conv.id, message_id=msg.id, kind=PromiseKind.PRICE,
                        text=f"Promise-{tag} costs ₹799.00", value="₹799.00", value_minor=79900,
                        catalog_value_minor=79900, product_id=product.id, matches=True)
    db.session.add_all([chunk, note, canned, promise])
    db.session.flush()
    profile = db.session.scalar(select(BusinessProfile).where(BusinessProfile.tenant_id == t))
    membership = db.session.scalar(select(TenantMembership).where(TenantMembership.tenant_id == t))
    rows.ids.update(
        category=cat.id, product=product.id, campaign=campaign.id, channel=channel.id,
        customer=customer.id, conversation=conv.id, message=msg.id, order=order.id,
        order_item=item.id, order_event=order_event.id, template=template.id, rule=rule.id, document=doc.id,
        chunk=chunk.id, note=note.id, canned_reply=canned.id, promise=promise.id, profile=profile.id,
        membership=membership.id, tenant=t,
    )
    return rows


def build_world() -> World:
    """admin; agency X (user `agency`) with tenants A (owner_a, staff_a) and B (owner_b);
    agency Y (user `agency_y`) with tenant C (owner_c)."""
    appbuilder.sm.sync_roles()
    a = create_tenant("Tenant A", owner_username="owner_a", owner_email="owner_a@example.test",
                      owner_password=PASSWORD, agency_name="Agency X")
    b = create_tenant("Tenant B", owner_username="owner_b", owner_email="owner_b@example.test",
                      owner_password=PASSWORD, agency_name="Agency X")
    c = create_tenant("Tenant C", owner_username="owner_c", owner_email="owner_c@example.test",
                      owner_password=PASSWORD, agency_name="Agency Y")
    team.add_member(a.id, username="staff_a", email="staff_a@example.test", password=PASSWORD,
                    role=Role.STAFF)
    make_user("admin", ROLE_ADMIN)
    for username, agency in (("agency", "Agency X"), ("agency_y", "Agency Y")):
        user = make_user(username, ROLE_AGENCY_ADMIN)
        db.session.add(AgencyMembership(user_id=user.id, agency_id=get_or_create_agency(agency).id))
    world = World(a=populate(a, "A"), b=populate(b, "B"), c=populate(c, "C"))
    db.session.commit()
    return world
