"""Demo data for `flask seed-demo`: an agency, two stores and ten days of selling on chat.

The seed goes through the services the app itself uses (create_tenant, team.add_member,
next_order_number, rebuild_chunks) so the demo obeys the same invariants as real data. It runs
once: a tenant with the slug "demo-store" means it is done. create_tenant and rebuild_chunks
commit on their own, so a failure part-way is undone by deleting what this run created; a rerun
therefore never finds a half-written demo and skips it.

Data lives in the module-level tables below; the functions at the end only walk them. Prices in
chat text are `{p[SKU]}` placeholders filled from the catalog, so they can't drift from it.
"""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import delete, func, select

from app.extensions import appbuilder, db
from app.models import (
    Agency,
    AgencyMembership,
    AutomationRule,
    BusinessProfile,
    Campaign,
    CampaignStatus,
    Category,
    Channel,
    Conversation,
    ConversationMode,
    ConversationStatus,
    Customer,
    Direction,
    KnowledgeDocument,
    Message,
    MessageStatus,
    Order,
    OrderEvent,
    OrderItem,
    PAID_STATUSES,
    OrderStatus,
    Platform,
    Product,
    RuleTrigger,
    Sender,
    Template,
    Tenant,
    TenantMembership,
    utcnow,
)
from app.money import format_money
from app.security.passwords import check_password
from app.services import attribution, knowledge, promises, team, tenant_content
from app.services.demo_data import (
    AGENCY,
    DEMO_SLUG,
    EMAIL_DOMAIN,
    LOGINS,
    STORES,
    WHERE,
    WHO,
)
from app.services import stock
from app.services.orders import next_order_number, payment_ids
from app.services.tenants import create_tenant

log = logging.getLogger(__name__)

class DemoSeedError(ValueError):
    """The demo can't be seeded as configured (message says what to change)."""


@dataclass
class SeedReport:
    """What `flask seed-demo` prints: whether anything was created, and the login lines."""

    created: bool
    lines: list[str] = field(default_factory=list)


@dataclass
class _Created:
    """Rows committed by this run, deleted again if a later step fails."""

    tenant_ids: list[int] = field(default_factory=list)
    agency_id: int | None = None
    user_ids: list[int] = field(default_factory=list)

    def undo(self) -> None:
        db.session.rollback()
        try:  # tenants cascade to every business row; memberships go with users or tenants
            if self.tenant_ids:
                db.session.execute(delete(Tenant).where(Tenant.id.in_(self.tenant_ids)))
            if self.agency_id is not None:
                db.session.execute(delete(Agency).where(Agency.id == self.agency_id))
            for model in (TenantMembership, AgencyMembership):
                db.session.execute(delete(model).where(model.user_id.in_(self.user_ids)))
            for user in db.session.scalars(select(User).where(User.id.in_(self.user_ids))):
                db.session.delete(user)
            db.session.commit()
            db.session.expunge_all()  # deleted rows must not linger in the identity map
        except Exception:
            db.session.rollback()
            log.exception("demo seed: cleanup after a failure failed too")


def seed() -> SeedReport:
    """Create the demo once; later calls change nothing and list the logins without passwords."""
    header = [f"Admin: http://127.0.0.1:{os.environ.get('PORT', '5000')}/"]
    if db.session.scalar(select(Tenant.id).where(Tenant.slug == DEMO_SLUG)) is not None:
        return SeedReport(False, header + [
            "Logins (passwords were printed on first seed, or come from DEMO_PASSWORD*):",
            *(f"  {username} ({_describe(username)})" for username in LOGINS),
        ])
    passwords = _passwords()  # validated before anything is written
    appbuilder.sm.sync_roles()
    created = _Created()
    try:
        lines = _seed_all(passwords, created)
    except Exception:
        created.undo()
        raise
    return SeedReport(True, header + ["Logins:", *lines])


def _describe(username: str) -> str:
    role, store = LOGINS[username][2], LOGINS[username][3]
    return f"{role}, {WHERE.get(username) or store}"


def _passwords() -> dict[str, tuple[str, str | None]]:
    """username -> (password, env var it came from or None when generated here)."""
    shared = os.environ.get("DEMO_PASSWORD") or None
    out = {}
    for username in LOGINS:
        name = f"DEMO_PASSWORD_{username.upper()}"
        value = os.environ.get(name) or shared
        source = name if os.environ.get(name) else ("DEMO_PASSWORD" if shared else None)
        if value is not None:
            problems = check_password(value, _login_words(username))
            if problems:
                raise DemoSeedError(f"{source} refused for {username}: " + "; ".join(problems))
        out[username] = (value or _generated_password(username), source)
    return out


def _login_words(username: str) -> list[str | None]:
    first, last, _role, store, _seat = LOGINS[username]
    return [username, f"{username}@{EMAIL_DOMAIN}", first, last, store, AGENCY]


def _generated_password(username: str) -> str:
    """16 random URL-safe characters, drawn again in the rare case the policy refuses them."""
    while True:
        password = secrets.token_urlsafe(12)
        if not check_password(password, _login_words(username)):
            return password


def _seed_all(passwords: dict[str, tuple[str, str | None]], created: _Created) -> list[str]:
    existing = {
        name: db.session.scalar(select(User).where(func.lower(User.username) == name))
        for name in LOGINS
    }
    agency_existed = db.session.scalar(select(Agency.id).where(Agency.name == AGENCY))
    tenants = {}
    for spec in STORES:  # create_tenant commits each one
        tenant = create_tenant(spec["name"], agency_name=AGENCY)
        created.tenant_ids.append(tenant.id)
        tenants[spec["name"]] = tenant
    if agency_existed is None:
        created.agency_id = tenants["Demo Store"].agency_id
    users = {name: _user(name, passwords[name][0], tenants, existing[name]) for name in LOGINS}
    created.user_ids = [u.id for name, u in users.items() if existing[name] is None]
    seat = {"agency_id": tenants["Demo Store"].agency_id, "user_id": users["agency"].id}
    if not db.session.scalar(select(AgencyMembership.id).filter_by(**seat)):  # reused agency
        db.session.add(AgencyMembership(**seat))
    now = utcnow().replace(second=0, microsecond=0)
    docs = []
    for spec in STORES:
        docs += _seed_store(spec, tenants[spec["name"]], users["staff"], now)
    db.session.commit()
    for tenant_id, doc_id in docs:
        knowledge.rebuild_chunks(tenant_id=tenant_id, document_id=doc_id)
    for tenant in tenants.values():
        _log_promises(tenant.id)
    db.session.commit()
    lines = []
    for name in LOGINS:
        password, source = passwords[name]
        if existing[name] is not None:
            password = "(existing user, password unchanged)"
        elif source:
            password = f"(password from {source})"
        lines.append(f"  {name} / {password} ({_describe(name)})")
    return lines


def _user(username: str, password: str, tenants: dict[str, Tenant], existing: User | None) -> User:
    """A demo login: platform roles via FAB directly, store seats via team.add_member."""
    first, last, role_name, store, seat = LOGINS[username]
    email = f"{username}@{EMAIL_DOMAIN}"
    if seat is not None:
        seat_row = team.add_member(
            tenants[store].id, username=username, email=email, password=password, role=seat,
            first_name=first, last_name=last, commit=False, allow_existing=True,
        )
        return seat_row.user
    if existing is not None:
        return existing
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise DemoSeedError(f"Email {email} is already used by another user")
    user = team.create_user(username, email, password, appbuilder.sm.find_role(role_name),
                            first, last)
    return user


def _seed_store(spec: dict, tenant: Tenant, staff: User, now) -> list[tuple[int, int]]:
    """Everything inside one store; returns (tenant_id, document_id) pairs to chunk."""
    t = tenant.id
    profile = db.session.scalar(select(BusinessProfile).where(BusinessProfile.tenant_id == t))
    for key, value in spec["profile"].items():
        setattr(profile, key, value)
    cats = {n: Category(tenant_id=t, name=n, description=d) for n, d in spec["categories"]}
    products = {
        sku: Product(tenant_id=t, sku=sku, name=name, category=cats[cat], price_minor=price,
                     currency=tenant.currency, stock=stock, reserved=0, active=active,
                     description=desc, features=feats)
        for sku, name, cat, price, stock, active, desc, feats in spec["products"]
    }
    campaigns = {
        c["name"]: Campaign(
            tenant_id=t, name=c["name"], target_platform=c["target"],
            status=CampaignStatus.ACTIVE, products=[products[s] for s in c["products"]],
            greeting=c["greeting"], qualification_questions="\n".join(c["questions"]),
            objection_handling=c["objections"], closing=c["closing"], audience=c["audience"],
            ad_ids=c.get("ad_ids"), starts_at=now - timedelta(days=12),
            ends_at=now + timedelta(days=c["ends_in_days"]) if c["ends_in_days"] else None,
        )
        for c in spec["campaigns"]
    }
    channels = {Platform.PLAYGROUND: db.session.scalar(
        select(Channel).where(Channel.tenant_id == t, Channel.platform == Platform.PLAYGROUND))}
    for platform, name, external_id, token in spec["channels"]:
        channels[platform] = Channel(tenant_id=t, name=name, platform=platform,
                                     external_id=external_id, access_token=token)
    customers = {
        key: Customer(tenant_id=t, platform=pf, external_id=ext, name=name, phone=phone,
                      email=email, tags=tags)
        for key, (pf, ext, name, phone, email, tags) in spec["customers"].items()
    }
    for name, platform, category, status, body in spec["templates"]:
        db.session.add(Template(tenant_id=t, name=name, platform=platform, category=category,
                                status=status, body=body, language="en"))
    for name, match, action, response, priority in spec["rules"]:
        db.session.add(AutomationRule(tenant_id=t, name=name, trigger=RuleTrigger.KEYWORD,
                                      match=match, action=action, response=response,
                                      priority=priority))
    docs = [KnowledgeDocument(tenant_id=t, title=title, content=body)
            for title, body in spec["documents"]]
    db.session.add_all([*cats.values(), *products.values(), *campaigns.values(),
                        *channels.values(), *customers.values(), *docs])
    db.session.flush()
    prices = {sku: format_money(p.price_minor, p.currency) for sku, p in products.items()}
    for chat in sorted(spec["chats"], key=lambda c: c["start"], reverse=True):  # oldest first
        start = now - timedelta(days=chat["start"][0], hours=chat["start"][1])
        _seed_chat(tenant, chat, start, customers[chat["customer"]], channels, campaigns,
                   products, prices, staff)
    return [(t, d.id) for d in docs]


def _seed_chat(tenant, chat, start, customer, channels, campaigns, products, prices, staff):
    """One conversation with its messages and (maybe) its order, timed from `start`."""
    human = chat.get("mode") == "human"
    conv = Conversation(
        tenant_id=tenant.id, channel=channels[customer.platform], customer=customer,
        campaign=campaigns.get(chat["campaign"]), status=ConversationStatus(chat["status"]),
        mode=ConversationMode.HUMAN if human else ConversationMode.AI,
        assignee=staff if human else None, lead_score=chat["lead"],
        sentiment=chat["sentiment"], created_at=start,
    )
    db.session.add(conv)
    db.session.flush()
    if chat.get("referral"):  # the ad or link the customer came from, as Meta's referral said
        attribution.record_referral(conv, str(conv.channel.platform), chat["referral"], start)
    fill = {"p": prices, "number": "", "total": "", "link": "", "tracking": ""}
    if "order" in chat:
        order = _order(tenant, chat["order"], start, conv, products)
        fill.update(number=order.number, total=order.total(), link=order.payment_link_url or "",
                    tracking=order.tracking_number or "")
    script = chat["messages"]
    for n, (minutes, who, text) in enumerate(script, 1):
        at = start + timedelta(minutes=minutes)
        direction, sender = WHO[who]
        answered = any(w == "c" for _, w, _ in script[n:])
        if direction == Direction.IN:
            status = MessageStatus.RECEIVED
        else:
            status = MessageStatus.READ if answered else MessageStatus.DELIVERED
        db.session.add(Message(
            tenant_id=tenant.id, conversation_id=conv.id, channel_id=conv.channel_id,
            direction=direction, sender=sender, text=text.format(**fill),
            external_id=f"demo-{conv.id}-{n}", status=status, created_at=at,
            sent_at=at if direction == Direction.OUT else None,
            handled_at=at + timedelta(seconds=2) if direction == Direction.IN else None,
            latency_ms=900 + 37 * n if sender == Sender.AI else None,
        ))
    times = [start + timedelta(minutes=m) for m, _, _ in script]
    inbound = [start + timedelta(minutes=m) for m, w, _ in script if w == "c"]
    conv.last_message_at = max(times)
    conv.last_inbound_at = max(inbound) if inbound else None
    customer.first_seen_at = min(times)
    customer.last_seen_at = max(inbound or times)
    customer.opted_out = chat.get("opted_out", False)


def _log_promises(tenant_id: int) -> None:
    """The promise log of the seeded AI replies, as a real reply writes it (checked against the
    catalog, the campaign, the policies and knowledge, the customer's orders), at each reply's time."""
    content = tenant_content.get(tenant_id)
    replies = db.session.execute(
        select(Message, Conversation).join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.tenant_id == tenant_id, Message.sender == Sender.AI)
        .order_by(Message.created_at, Message.id)).all()
    for message, conv in replies:
        for row in promises.record(conv, message, content):
            row.created_at = message.created_at


def _order(tenant, spec, start, conv, products) -> Order:
    """An order as the checkout would have left it: snapshots, totals, stock and payment."""
    status = OrderStatus(spec["status"])
    lines = [(products[sku], qty) for sku, qty in spec["items"]]
    created_at = start + timedelta(minutes=spec["at"])
    paid_at = start + timedelta(minutes=spec["paid"]) if status in PAID_STATUSES else None
    number = next_order_number(tenant.id)
    ids = payment_ids(number)
    reference, token = ids["payment_reference"], ids["payment_token"]
    pending = status == OrderStatus.PENDING_PAYMENT
    # A pending order's link is payable in the demo: the test-mode page (no Razorpay keys).
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    # who closed the sale, as the checkout records it: the turn before the order was placed
    db.session.flush()
    closed_by, closer_id = attribution.closing_turn(conv.id, tenant.id, source="agent", actor_id=None)
    order = Order(
        tenant_id=tenant.id, number=number, customer_id=conv.customer_id, conversation=conv,
        campaign_id=conv.campaign_id, status=status, currency=tenant.currency,
        total_minor=sum(p.price_minor * q for p, q in lines), tracking_number=spec.get("tracking"),
        paid_at=paid_at, created_at=created_at, updated_at=paid_at or created_at,
        payment_reference=reference, payment_token=token,
        payment_link_id=None if status == OrderStatus.CANCELLED else f"plink_test_{reference}",
        payment_link_url=None if status == OrderStatus.CANCELLED else f"{base}/pay/test/{token}",
        payment_link_expires_at=created_at + timedelta(days=30) if pending else None,
        payment_link_sent_at=None if status == OrderStatus.CANCELLED else created_at,
        shipped_at=paid_at + timedelta(days=1) if paid_at and spec.get("tracking") else None,
        closed_at=created_at + timedelta(hours=1) if status == OrderStatus.CANCELLED else None,
        closed_by_sender=closed_by, closed_by_user_id=closer_id,
    )
    order.items = [
        OrderItem(tenant_id=tenant.id, product=p, sku=p.sku, name=p.name,
                  unit_price_minor=p.price_minor, quantity=q)
        for p, q in lines
    ]
    history = [OrderEvent(tenant_id=tenant.id, to_status=str(OrderStatus.PENDING_PAYMENT),
                          source="agent", note="Placed in the chat", created_at=created_at)]
    if status != OrderStatus.PENDING_PAYMENT:
        history.append(OrderEvent(tenant_id=tenant.id, from_status=str(OrderStatus.PENDING_PAYMENT),
                                  to_status=str(status), source="razorpay" if paid_at else "admin",
                                  created_at=paid_at or created_at + timedelta(hours=1)))
    order.events = history
    db.session.add(order)
    if pending:  # held until paid or expired
        for product, qty in lines:
            if not stock.reserve(tenant.id, product.id, qty):
                raise DemoSeedError(f"the demo's pending order wants more {product.sku} than its shelf")
            db.session.expire(product, ["reserved"])  # the UPDATE bypassed the loaded row
    return order
