"""Every table, on Flask-AppBuilder's `Model` base (one MetaData with FAB's own ab_* tables).

Rules kept here rather than in code that might forget them: every business row has
`tenant_id NOT NULL` with an index (TenantMixin), unique keys are per tenant, money is an integer
of minor units with a currency, stock can't go negative, and timestamps are UTC with callable
defaults (a value computed at import would stamp every row with the process start time).
"""
from __future__ import annotations

import enum
import secrets

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    select,
)
from sqlalchemy.orm import backref, column_property, relationship

from app.money import format_money
from app.security.crypto import EncryptedText
from app.models.base import *  # noqa: F401,F403  (the vocabularies, helpers and TenantMixin)
from app.models.base import TenantMixin, as_utc, enum_column, utcnow


# ---------------------------------------------------------------------------- tenancy


class Agency(Model):
    """An agency runs many tenants from one login."""

    __tablename__ = "agency"
    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False, unique=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __str__(self) -> str:
        return self.name


class Tenant(Model):
    """One business. Every business row points here through TenantMixin."""

    __tablename__ = "tenant"
    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    slug = Column(String(80), nullable=False, unique=True)
    agency_id = Column(Integer, ForeignKey("agency.id", ondelete="SET NULL"), index=True)
    agency = relationship(Agency, backref="tenants")
    currency = Column(String(3), nullable=False, default="INR")
    timezone = Column(String(64), nullable=False, default="Asia/Kolkata")
    active = Column(Boolean, nullable=False, default=True)
    # Last order number handed out; bumped atomically by app.services.orders.
    order_seq = Column(Integer, nullable=False, default=0)
    # Changes whenever the content replies read changes (app.services.tenant_content).
    content_stamp = Column(String(32), nullable=False, default=lambda: secrets.token_hex(8),
                           server_default="initial")
    # How long the agent stays quiet in a chat after a person wrote in it (app.services.takeover).
    human_pause_minutes = Column(Integer, nullable=False, default=30, server_default="30")
    # Whether the agent opens a conversation by saying it is automated (app.services.disclosure).
    ai_disclosure = Column(Boolean, nullable=False, default=False, server_default=false())
    ai_disclosure_text = Column(Text)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __str__(self) -> str:
        return self.name


class TenantMembership(TenantMixin, Model):
    """A user's seat in one tenant with its role there."""

    __tablename__ = "tenant_membership"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, index=True)
    user = relationship(User, backref="tenant_memberships")
    role = enum_column(Role, "membership_role", default=Role.STAFF)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __str__(self) -> str:
        return f"{self.user.username if self.user else self.user_id} ({self.role})"


class AgencyMembership(Model):
    """An agency admin's seat: grants every tenant of the agency, present and future."""

    __tablename__ = "agency_membership"
    __table_args__ = (UniqueConstraint("agency_id", "user_id"),)
    id = Column(Integer, primary_key=True)
    agency_id = Column(Integer, ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    agency = relationship(Agency, backref="memberships")
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, index=True)
    user = relationship(User, backref="agency_memberships")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class SessionGeneration(Model):
    """A user's login generation: session cookies carrying an older one are refused.

    Bumped on logout and on a password change (app.security.sessions); users without a row
    are at generation 0.
    """

    __tablename__ = "session_generation"
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    generation = Column(Integer, nullable=False, default=0)


# ---------------------------------------------------------------------------- business profile


class BusinessProfile(TenantMixin, Model):
    """What the agent knows about the business itself (one per tenant)."""

    __tablename__ = "business_profile"
    __table_args__ = (UniqueConstraint("tenant_id"),)
    id = Column(Integer, primary_key=True)
    business_name = Column(String(160), nullable=False)
    owner_name = Column(String(120))
    industry = Column(String(120))
    description = Column(Text)
    website = Column(String(255))
    phone = Column(String(32))
    goals = Column(Text)
    audience = Column(Text)
    tone = Column(String(255))
    policies = Column(Text)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    def __str__(self) -> str:
        return self.business_name


class KnowledgeDocument(TenantMixin, Model):
    __tablename__ = "knowledge_document"
    id = Column(Integer, primary_key=True)
    title = Column(String(200), nullable=False)
    content = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)
    chunked_at = Column(DateTime(timezone=True))

    def __str__(self) -> str:
        return self.title


class KnowledgeChunk(TenantMixin, Model):
    """A retrievable slice of a KnowledgeDocument (rebuilt whenever the document changes)."""

    __tablename__ = "knowledge_chunk"
    __table_args__ = (UniqueConstraint("document_id", "position"),)
    id = Column(Integer, primary_key=True)
    document_id = Column(
        Integer, ForeignKey("knowledge_document.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Deleting a document deletes its chunks (the database cascades; the ORM must not null them).
    document = relationship(
        KnowledgeDocument, backref=backref("chunks", cascade="all, delete-orphan", passive_deletes=True)
    )
    position = Column(Integer, nullable=False)
    content = Column(Text, nullable=False)

    def __str__(self) -> str:
        return f"{self.document_id}#{self.position}"


# ---------------------------------------------------------------------------- catalog


class Category(TenantMixin, Model):
    __tablename__ = "category"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    description = Column(Text)

    def __str__(self) -> str:
        return self.name


class Product(TenantMixin, Model):
    __tablename__ = "product"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        CheckConstraint("price_minor >= 0", name="price_nonnegative"),
        CheckConstraint("stock >= 0", name="stock_nonnegative"),
        CheckConstraint("reserved >= 0 AND reserved <= stock", name="reserved_within_stock"),
    )
    id = Column(Integer, primary_key=True)
    category_id = Column(Integer, ForeignKey("category.id", ondelete="SET NULL"), index=True)
    category = relationship(Category, backref="products")
    sku = Column(String(64), nullable=False)
    name = Column(String(200), nullable=False)
    description = Column(Text)
    features = Column(Text)
    price_minor = Column(Integer, nullable=False)
    currency = Column(String(3), nullable=False, default="INR")
    stock = Column(Integer, nullable=False, default=0)
    reserved = Column(Integer, nullable=False, default=0)
    active = Column(Boolean, nullable=False, default=True)
    image_url = Column(String(500))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    def price(self) -> str:
        """Formatted price for lists (FAB calls model methods named in list_columns)."""
        return format_money(self.price_minor, self.currency)

    @property
    def available(self) -> int:
        return (self.stock or 0) - (self.reserved or 0)

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


campaign_product = Table(
    "campaign_product",
    Model.metadata,
    Column("campaign_id", Integer, ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", Integer, ForeignKey("product.id", ondelete="CASCADE"), primary_key=True),
)


class Campaign(TenantMixin, Model):
    """A product (or a few) to sell with a chat flow on one platform or all of them."""

    __tablename__ = "campaign"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id = Column(Integer, primary_key=True)
    name = Column(String(160), nullable=False)
    target_platform = enum_column(TargetPlatform, "target_platform", default=TargetPlatform.ALL)
    status = enum_column(CampaignStatus, "campaign_status", default=CampaignStatus.DRAFT)
    products = relationship(Product, secondary=campaign_product, backref="campaigns")
    greeting = Column(Text)
    qualification_questions = Column(Text)
    objection_handling = Column(Text)
    closing = Column(Text)
    audience = Column(Text)
    starts_at = Column(DateTime(timezone=True))
    ends_at = Column(DateTime(timezone=True))
    # Ads and links that credit this campaign: conversations that arrive through one of these
    # Meta ad ids (comma-separated) or with this m.me / ig.me `ref` are attributed to it.
    ad_ids = Column(String(500))
    ref = Column(String(120))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __str__(self) -> str:
        return self.name


# ---------------------------------------------------------------------------- messaging


class Channel(TenantMixin, Model):
    """A connected Page / IG account / WhatsApp number (or the in-app Playground)."""

    __tablename__ = "channel"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)
    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    platform = enum_column(Platform, "channel_platform")
    external_id = Column(String(64), nullable=False)
    access_token = Column(EncryptedText)
    status = enum_column(ChannelStatus, "channel_status", default=ChannelStatus.ACTIVE)
    last_error = Column(Text)
    last_webhook_at = Column(DateTime(timezone=True))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    # How it was connected (ChannelConnection) and by whom: the deauthorize callback names the
    # Facebook user (app-scoped id), whose channels then stop.
    connected_via = Column(String(32))
    connected_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    connected_by = relationship(User)
    connected_meta_user_id = Column(String(64), index=True)
    page_id = Column(String(64))  # an Instagram account reached through its Facebook Page
    waba_id = Column(String(64))  # a WhatsApp number's business account
    display_name = Column(String(160))  # verified name and number, Page or account name
    # Health (app.services.integrations.health): None = not checked yet.
    token_valid = Column(Boolean)
    token_checked_at = Column(DateTime(timezone=True))
    token_expires_at = Column(DateTime(timezone=True))
    subscribed = Column(Boolean)
    last_send_error = Column(Text)
    last_send_error_at = Column(DateTime(timezone=True))
    # Set by the periodic check while the channel is unusually quiet (the navbar's alarm).
    quiet_since = Column(DateTime(timezone=True))

    def __str__(self) -> str:
        return f"{self.name} ({self.platform})"


class Customer(TenantMixin, Model):
    __tablename__ = "customer"
    __table_args__ = (UniqueConstraint("tenant_id", "platform", "external_id"),)
    id = Column(Integer, primary_key=True)
    platform = enum_column(Platform, "customer_platform")
    external_id = Column(String(128), nullable=False)
    name = Column(String(160))
    phone = Column(String(32))
    email = Column(String(200))
    tags = Column(String(500))
    opted_out = Column(Boolean, nullable=False, default=False)
    # Marketing messages stopped by the customer in WhatsApp's own settings (its
    # user_preferences webhook): broadcasts of marketing templates skip them; the AI and
    # replies are unaffected. `marketing_pref_at` is when the latest stop/resume was made, so
    # one delivered late never undoes a newer one.
    marketing_opted_out = Column(Boolean, nullable=False, default=False, server_default=false())
    marketing_pref_at = Column(DateTime(timezone=True))
    # When we last asked the platform for the person's name (asked once, not per message).
    profile_checked_at = Column(DateTime(timezone=True))
    first_seen_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_seen_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __str__(self) -> str:
        return self.name or f"{self.platform}:{self.external_id}"


class Conversation(TenantMixin, Model):
    """The "chat": one customer on one channel, optionally attributed to a campaign."""

    __tablename__ = "conversation"
    __table_args__ = (
        CheckConstraint("lead_score >= 0 AND lead_score <= 100", name="lead_score_range"),
        # Newest first per tenant (dashboard's recent conversations, the inbox's default order)
        # is a short backward index scan instead of sorting all of a tenant's conversations.
        Index("ix_conversation_tenant_last_message", "tenant_id", "last_message_at", "id"),
        # the sweep's pauses ended in the last day with a customer still waiting
        Index("ix_conversation_paused_until", "paused_until"),
    )
    id = Column(Integer, primary_key=True)
    channel_id = Column(Integer, ForeignKey("channel.id", ondelete="CASCADE"), nullable=False, index=True)
    channel = relationship(Channel)
    customer_id = Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), nullable=False, index=True)
    customer = relationship(Customer, backref="conversations")
    campaign_id = Column(Integer, ForeignKey("campaign.id", ondelete="SET NULL"), index=True)
    campaign = relationship(Campaign)
    status = enum_column(ConversationStatus, "conversation_status", default=ConversationStatus.OPEN)
    mode = enum_column(ConversationMode, "conversation_mode", default=ConversationMode.AI)
    assignee_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    assignee = relationship(User, foreign_keys=[assignee_id])
    lead_score = Column(Integer, nullable=False, default=0)
    sentiment = Column(Float)
    last_inbound_at = Column(DateTime(timezone=True))
    last_message_at = Column(DateTime(timezone=True))
    # First touch: the ad or link the customer came from (every later one is a Referral row).
    referral_source = Column(String(32))
    ad_id = Column(String(64))
    referral_ref = Column(String(255))
    # A person spoke here (inbox reply, or an echo from another app): the agent waits until then.
    paused_until = Column(DateTime(timezone=True))
    taken_over_at = Column(DateTime(timezone=True))
    # Who did (took over, paused, or replied from the inbox or API); NULL for an echo of a
    # message sent from the platform's own app, whose author we can't know.
    taken_over_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    taken_over_by = relationship(User, foreign_keys=[taken_over_by_id])
    # Bumped each time a person takes over: the reply job's compare-and-set reads it.
    takeover_seq = Column(Integer, nullable=False, default=0, server_default="0")
    last_staff_at = Column(DateTime(timezone=True))  # a person's last message (inbox or echo)
    agent_last_seen_at = Column(DateTime(timezone=True))  # staff last opened it: unread counts
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    # Derived from the messages on every flush that can move them (app.services.
    # conversation_facts), never set by hand: the customer's first message, the first reply
    # sent after it, the customer's first message after that reply. The analytics cohort reads
    # them here instead of looking each one up in the conversation's messages.
    first_inbound_at = Column(DateTime(timezone=True))
    first_reply_at = Column(DateTime(timezone=True))
    engaged_at = Column(DateTime(timezone=True))

    def __str__(self) -> str:
        return f"#{self.id} {self.customer}"


class Message(TenantMixin, Model):
    """One message in or out. Inbound rows wait with handled_at NULL until a job answers them;
    outbound rows are written QUEUED before the platform is called, then SENT with its id."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        # At most one automated reply per inbound message, however often its job runs.
        UniqueConstraint("reply_to_id"),
        Index("ix_message_pending", "handled_at", "direction"),
        # the sweep's replies still QUEUED, looked for every few seconds
        Index("ix_message_unsent", "status", "created_at"),
        # ix_message_conversation_created: with the analytics indexes below (it carries columns)
    )
    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        Integer, ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False, index=True
    )
    conversation = relationship(Conversation, backref="messages")
    channel_id = Column(Integer, ForeignKey("channel.id", ondelete="CASCADE"), nullable=False, index=True)
    direction = enum_column(Direction, "message_direction")
    sender = enum_column(Sender, "message_sender")
    kind = Column(String(32), nullable=False, default="text")
    text = Column(Text)
    payload = Column(JSON)
    external_id = Column(String(255))
    status = enum_column(MessageStatus, "message_status", default=MessageStatus.RECEIVED)
    error = Column(Text)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    sent_at = Column(DateTime(timezone=True))
    handled_at = Column(DateTime(timezone=True))
    reply_to_id = Column(Integer, ForeignKey("message.id", ondelete="SET NULL"))
    author_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    author = relationship(User)
    edited_at = Column(DateTime(timezone=True))
    deleted_at = Column(DateTime(timezone=True))
    latency_ms = Column(Integer)
    prompt_tokens = Column(Integer)
    completion_tokens = Column(Integer)

    def __str__(self) -> str:
        return f"{self.direction} {self.kind}: {(self.text or '')[:40]}"


# ---------------------------------------------------------------------------- orders


class Order(TenantMixin, Model):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint("total_minor >= 0", name="total_nonnegative"),
    )
    id = Column(Integer, primary_key=True)
    number = Column(String(32), nullable=False)
    customer_id = Column(Integer, ForeignKey("customer.id", ondelete="SET NULL"), index=True)
    customer = relationship(Customer, backref="orders")
    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="SET NULL"), index=True)
    conversation = relationship(Conversation, backref="orders")
    campaign_id = Column(Integer, ForeignKey("campaign.id", ondelete="SET NULL"), index=True)
    campaign = relationship(Campaign)
    status = enum_column(OrderStatus, "order_status", default=OrderStatus.PENDING_PAYMENT)
    currency = Column(String(3), nullable=False, default="INR")
    total_minor = Column(Integer, nullable=False, default=0)
    payment_link_id = Column(String(64), index=True)
    payment_link_url = Column(String(500))
    # Our reference at Razorpay (the link's reference_id, unique per account, <= 40 chars):
    # a retried link job presents the same one, so it can never make a second link.
    payment_reference = Column(String(40), unique=True)
    # The unguessable part of the test-mode payment page's URL (only without Razorpay keys).
    payment_token = Column(String(64), unique=True)
    payment_link_expires_at = Column(DateTime(timezone=True))
    payment_link_sent_at = Column(DateTime(timezone=True))
    # Razorpay's ids, learnt from the link and its events (refunds need the payment id).
    razorpay_order_id = Column(String(64), index=True)
    razorpay_payment_id = Column(String(64), index=True)
    payment_error = Column(Text)
    refund_id = Column(String(64))
    # Money refunded so far (Razorpay refunds in parts): a still-paid order's revenue is its
    # total less this; a refunded order has had all of its total back.
    refunded_minor = Column(Integer, nullable=False, default=0, server_default="0")
    # Staff may not refund; they ask, and an owner (or an admin) decides and executes it.
    refund_requested_at = Column(DateTime(timezone=True))
    refund_requested_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    refund_requested_by = relationship(User, foreign_keys=[refund_requested_by_id])
    refund_request_reason = Column(Text)
    tracking_number = Column(String(120))
    notes = Column(Text)
    paid_at = Column(DateTime(timezone=True))
    fulfilled_at = Column(DateTime(timezone=True))
    shipped_at = Column(DateTime(timezone=True))
    delivered_at = Column(DateTime(timezone=True))
    closed_at = Column(DateTime(timezone=True))  # cancelled, expired or refunded
    # The turn that closed the sale: who wrote the last message we sent before the order was
    # placed ("ai" or "agent", the Message.sender values), and which person when it was staff.
    closed_by_sender = Column(String(16))
    closed_by_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    closed_by_user = relationship(User, foreign_keys=[closed_by_user_id])
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    def total(self) -> str:
        return format_money(self.total_minor, self.currency)

    def refunded(self) -> str:
        return format_money(self.refunded_minor or 0, self.currency)

    def refund_request(self) -> str:
        """A refund asked for and not executed yet (what an owner acts on), for lists."""
        if self.refund_requested_at is None or self.refund_id or self.status == OrderStatus.REFUNDED:
            return ""
        who = self.refund_requested_by.username if self.refund_requested_by else "a former member"
        return f"Requested by {who}" + (f": {self.refund_request_reason}" if self.refund_request_reason else "")

    def __str__(self) -> str:
        return self.number


# Orders whose money is with the business: what lifetime spend and revenue count.
PAID_STATUSES = (OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
# Ids are 32-bit integer columns: a number outside 1..MAX_ID names no row (and PostgreSQL
# refuses to compare one past the range: "integer out of range").
MAX_ID = 2**31 - 1
MAX_QUANTITY = 100  # units of one product on one order line, whoever writes the line

# Derived, never stored: a customer's spend and orders are whatever their paid orders say now
# (a full refund takes the order out of both at once; a partial one comes off the spend, as it
# comes off revenue). Loaded with the customer in one query.
Customer.spend_minor = column_property(
    select(func.coalesce(func.sum(Order.total_minor - Order.refunded_minor), 0))
    .where(Order.customer_id == Customer.id, Order.status.in_(PAID_STATUSES))
    .correlate_except(Order).scalar_subquery(), deferred=False)
Customer.orders_paid = column_property(
    select(func.count(Order.id))
    .where(Order.customer_id == Customer.id, Order.status.in_(PAID_STATUSES))
    .correlate_except(Order).scalar_subquery(), deferred=False)


def _lifetime_spend(self) -> str:
    return format_money(self.spend_minor or 0, self.tenant.currency if self.tenant else "INR")


# Methods (not attributes) so FAB's views and API render them as read-only values.
Customer.lifetime_spend = _lifetime_spend
Customer.lifetime_spend_minor = lambda self: int(self.spend_minor or 0)
Customer.paid_order_count = lambda self: int(self.orders_paid or 0)


class OrderItem(TenantMixin, Model):
    """A line with the product's name and price as they were when ordered."""

    __tablename__ = "order_item"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="unit_price_nonnegative"),
    )
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    order = relationship(Order, backref=backref("items", cascade="all, delete-orphan", passive_deletes=True))
    product_id = Column(Integer, ForeignKey("product.id", ondelete="SET NULL"), index=True)
    product = relationship(Product)
    sku = Column(String(64), nullable=False)
    name = Column(String(200), nullable=False)
    unit_price_minor = Column(Integer, nullable=False)
    quantity = Column(Integer, nullable=False)

    @property
    def line_total_minor(self) -> int:
        return (self.unit_price_minor or 0) * (self.quantity or 0)

    def unit_price(self) -> str:
        return format_money(self.unit_price_minor, self.order.currency if self.order else "INR")

    def line_total(self) -> str:
        return format_money(self.line_total_minor, self.order.currency if self.order else "INR")

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class OrderEvent(TenantMixin, Model):
    """The order's history: every transition and payment fact, with who and when."""

    __tablename__ = "order_event"
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    order = relationship(Order, backref=backref("events", order_by="OrderEvent.id",
                                                cascade="all, delete-orphan", passive_deletes=True))
    from_status = Column(String(32))
    to_status = Column(String(32))
    source = Column(String(32), nullable=False)  # admin, api, agent, razorpay, test-mode, system
    actor_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    actor = relationship(User)
    note = Column(Text)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status or '-'}"


class PaymentEvent(Model):
    """The payment idempotency log: one row per provider event id.

    tenant_id is nullable on purpose: an event for an order we don't know is still recorded
    (and acknowledged) before any tenant can be resolved. Views only ever show rows whose
    tenant is resolved, through the same tenant filter as every other table.
    """

    __tablename__ = "payment_event"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(Integer, ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    provider = Column(String(32), nullable=False, default="razorpay")
    event_id = Column(String(128), nullable=False)
    event_type = Column(String(64), nullable=False)
    order_id = Column(Integer, ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    payload = Column(JSON, nullable=False)
    received_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    processed_at = Column(DateTime(timezone=True))
    attempts = Column(Integer, nullable=False, default=0, server_default="0")
    error = Column(Text)


class DeliveryStatus(str, enum.Enum):
    """What became of a stored webhook delivery."""

    PENDING = "pending"              # stored, its job not yet done (the sweep re-queues it)
    PROCESSED = "processed"          # parsed and ingested (events it had to skip are in `error`)
    UNPROCESSABLE = "unprocessable"  # can never be parsed (not JSON, not an object): kept, never retried
    PARKED = "parked"                # failed MAX_DELIVERY_ATTEMPTS times: kept with the reason, not retried


# A delivery whose processing failed this many times is parked instead of being retried again,
# so rows nothing can process never crowd out the newer ones behind them.
MAX_DELIVERY_ATTEMPTS = 5


class WebhookEvent(Model):
    """A signed webhook delivery, stored raw before it is acknowledged, processed by a job.

    No tenant_id: which tenant it concerns is known only once a job has parsed it (the
    channel named inside decides), so only Admins see these rows (app.views.deliveries).
    `processed_at` is set once nothing more will be tried, whatever the outcome in `status`.
    """

    __tablename__ = "webhook_event"
    __table_args__ = (Index("ix_webhook_event_pending", "processed_at", "received_at"),)
    id = Column(Integer, primary_key=True)
    source = Column(String(32), nullable=False)
    body = Column(Text, nullable=False)
    received_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    processed_at = Column(DateTime(timezone=True))
    status = Column(String(16), nullable=False, default=DeliveryStatus.PENDING.value,
                    server_default=DeliveryStatus.PENDING.value)
    attempts = Column(Integer, nullable=False, default=0, server_default="0")
    error = Column(Text)


# ---------------------------------------------------------------------------- automation


class Template(TenantMixin, Model):
    """A reusable message (WhatsApp: an approved template usable outside the 24-hour window)."""

    __tablename__ = "template"
    # WhatsApp keeps one template name in several languages: each is a row of its own.
    __table_args__ = (UniqueConstraint("tenant_id", "platform", "name", "language"),)
    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    platform = enum_column(TargetPlatform, "template_platform", default=TargetPlatform.ALL)
    language = Column(String(16), nullable=False, default="en")
    category = Column(String(32), nullable=False, default="utility")
    body = Column(Text, nullable=False)
    status = enum_column(TemplateStatus, "template_status", default=TemplateStatus.DRAFT)
    # Placeholders ({{1}}, {{name}}) its body needs filled; Meta's id for fetched templates.
    variable_count = Column(Integer, nullable=False, default=0, server_default="0")
    external_id = Column(String(64))

    def __str__(self) -> str:
        return self.name


class AutomationRule(TenantMixin, Model):
    """A workflow rule: a trigger, optional conditions, an action (and further steps).

    `match` carries the trigger's parameter: comma-separated words or phrases (keyword),
    hours of quiet (no_reply), opening hours "09:00-21:00" (outside_hours). The action's own
    parameters sit beside it (response or template, tag text in `response`, assignee,
    category, delay); further actions are RuleStep rows (app.models.workflows).
    """

    __tablename__ = "automation_rule"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    trigger = enum_column(RuleTrigger, "rule_trigger", default=RuleTrigger.KEYWORD)
    match = Column(String(255))
    action = enum_column(RuleAction, "rule_action", default=RuleAction.REPLY)
    response = Column(Text)
    template_id = Column(Integer, ForeignKey("template.id", ondelete="SET NULL"), index=True)
    template = relationship(Template)
    assignee_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    assignee = relationship(User)
    category_id = Column(Integer, ForeignKey("category.id", ondelete="SET NULL"), index=True)
    category = relationship(Category)
    delay_hours = Column(Float)
    # Conditions (all optional; every one given must hold).
    platform = enum_column(TargetPlatform, "rule_platform", nullable=True)
    campaign_id = Column(Integer, ForeignKey("campaign.id", ondelete="SET NULL"), index=True)
    campaign = relationship(Campaign)
    customer_tag = Column(String(80))
    hours = Column(String(16))  # local time of day when the rule applies, "09:00-18:00"
    priority = Column(Integer, nullable=False, default=100)
    active = Column(Boolean, nullable=False, default=True)
    # The sweep makes up lost no_reply checks only for quiet spells begun since (the migration
    # stamped the rules made before it with its own time).
    created_at = Column(DateTime(timezone=True), default=utcnow)

    def __str__(self) -> str:
        return self.name


def tenant_models() -> list[type]:
    """Every tenant-owned table's class, the submodules' included (read when asked, not at
    import, so a domain module imported later is not missed)."""
    return [
        cls
        for cls in Model.registry._class_registry.values()
        if isinstance(cls, type) and issubclass(cls, TenantMixin)
    ]


# ---------------------------------------------------------------------------- analytics indexes
# Every analytics query starts with "this tenant, this time range": composite indexes with
# tenant_id first keep it to the tenant's own rows, whatever the other tenants hold. On
# PostgreSQL the message indexes also carry the columns the aggregates read, so counting a
# quarter's messages or finding each conversation's first reply never visits the table.
MESSAGE_FACTS = ["direction", "sender", "status"]
Index("ix_message_tenant_created", Message.tenant_id, Message.created_at,
      postgresql_include=[*MESSAGE_FACTS, "conversation_id", "channel_id"])
Index("ix_message_conversation_created", Message.conversation_id, Message.created_at,
      postgresql_include=[*MESSAGE_FACTS, "tenant_id"])
Index("ix_conversation_tenant_created", Conversation.tenant_id, Conversation.created_at,
      postgresql_include=["channel_id", "campaign_id", "lead_score", "sentiment", "ad_id",
                          "first_inbound_at", "first_reply_at", "engaged_at", "id"])
Index("ix_orders_tenant_paid", Order.tenant_id, Order.paid_at,
      postgresql_include=["status", "total_minor", "closed_by_sender", "campaign_id", "conversation_id",
                         "refunded_minor"])
Index("ix_orders_tenant_created", Order.tenant_id, Order.created_at,
      postgresql_include=["conversation_id", "status"])
Index("ix_conversation_tenant_ad", Conversation.tenant_id, Conversation.ad_id)


# ---------------------------------------------------------------------------- later domains
# Tables of newer domains live in submodules named by domain; importing them here puts them on
# the one MetaData (Alembic's autogenerate and create_all see every table through `app.models`).
from app.models.onboarding import (  # noqa: E402,F401
    ONBOARDING_STEPS,
    DocumentKind,
    DocumentUpload,
    OnboardingProgress,
    StepStatus,
    UploadStatus,
)
from app.models.audience import (  # noqa: E402,F401
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientStatus,
    Segment,
)
from app.models.attribution import *  # noqa: E402,F401,F403
from app.models.inbox import CannedReply, ConversationNote  # noqa: E402,F401
from app.models.integrations import *  # noqa: E402,F401,F403
from app.models.promises import AiPromise, PromiseKind  # noqa: E402,F401
from app.models.workflows import FollowUp, FollowUpStatus, RuleRun, RuleStep  # noqa: E402,F401
