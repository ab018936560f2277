"""What a workflow rule does: its action and its further steps, recorded as one RuleRun.

Each action reads its parameters from the rule (or the RuleStep): the reply's text or
template, the tag (in `response`), the teammate to assign, the catalog's category, the
follow-up's delay. Actions that answer the customer end the rules' evaluation; those that
only tag or schedule don't. Everything is written in the caller's transaction (an order is
placed through the checkout path, which commits, exactly as the agent's own tool does).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from app.ai import tools
from app.ai.catalog import match_products
from app.ai.intents import quantity
from app.ai.reply import Reply
from app.extensions import db
from app.models import (
    Conversation,
    Order,
    OrderStatus,
    Product,
    RuleAction,
    RuleRun,
    TenantMembership,
)
from app.services import catalog_message, followups, optout, takeover

log = logging.getLogger(__name__)

HANDOFF_TEXT = "Connecting you with a person from our team. They'll reply here shortly."
ANSWERING = frozenset({RuleAction.REPLY, RuleAction.AI_REPLY, RuleAction.SEND_CATALOG,
                       RuleAction.ASSIGN, RuleAction.CREATE_ORDER, RuleAction.HANDOFF,
                       RuleAction.OPT_OUT})


@dataclass
class Outcome:
    """What the rules decided for a message: the reply to send, and whether the agent must
    stay silent (a rule answered, or handed the conversation to a person)."""

    reply: Reply | None = None
    stop: bool = False
    lead: list[str] = field(default_factory=list)  # a rule's own texts that open the agent's answer


def answers(action) -> bool:
    return action in ANSWERING


def active_products(tenant_id: int) -> list[Product]:
    return list(db.session.scalars(select(Product).where(
        Product.tenant_id == tenant_id, Product.active.is_(True)).order_by(Product.name)))


def text_of(spec) -> str | None:
    return (spec.response or (spec.template.body if spec.template else None) or "").strip() or None


def describe(spec, rule) -> str:
    """One line saying what an action would do (the try-it box, the run record)."""
    action = RuleAction(spec.action)
    text = text_of(spec)
    if action == RuleAction.REPLY:
        return f"reply: {text!r}" if text else "reply: (no text set)"
    if action == RuleAction.TAG:
        return f"tag: {(spec.response or rule.name).strip()}"
    if action == RuleAction.ASSIGN:
        return f"assign: user {spec.assignee_id} (human mode)"
    if action == RuleAction.SEND_CATALOG:
        return "send_catalog" + (f": category {spec.category_id}" if spec.category_id else "")
    if action == RuleAction.FOLLOW_UP:
        return f"follow_up: in {spec.delay_hours or 0:g} h" + (f": {text!r}" if text else "")
    if action == RuleAction.HANDOFF:
        return f"handoff: {text or HANDOFF_TEXT!r}"
    if action == RuleAction.OPT_OUT:
        return f"opt_out: {text or optout.OPT_OUT_TEXT!r}"
    return str(action)


@dataclass
class Run:
    """One evaluation of the rules for one event on one conversation."""

    conv: Conversation
    content: object
    facts: object = None
    incoming: list = field(default_factory=list)
    order_id: int | None = None  # the order in question (paid, shipped, or placed by a rule)
    texts: list[str] = field(default_factory=list)  # to send, in order
    catalog: dict | None = None
    ai: bool = False  # the agent writes the answer
    stop: bool = False  # nothing automated answers (handed to a person)
    notice: bool = False  # an opt-out confirmation (reaches an opted-out customer)
    calls: list[dict] = field(default_factory=list)  # tool calls (an order placed)
    names: list[str] = field(default_factory=list)
    runs: list[RuleRun] = field(default_factory=list)
    claim: object = None  # marks the burst handled (committed with a placed order)
    # the agent answered the burst and placed the order (order_intent rules run after it):
    # its answer and its order stand for the rule's ai_reply and create_order
    agent_answered: bool = False

    def apply(self, rule, *, event: str, message_id: int | None = None) -> bool:
        """Run the rule's action and steps once for this event; True if it answered."""
        if rule.id is not None:
            existing = db.session.scalar(select(RuleRun.id).where(
                RuleRun.rule_id == rule.id, RuleRun.conversation_id == self.conv.id, RuleRun.event == event))
            if existing is not None:
                return False
        record = RuleRun(tenant_id=self.conv.tenant_id, rule_id=rule.id, rule_name=rule.name,
                         conversation_id=self.conv.id, trigger=str(rule.trigger), event=event[:64],
                         message_id=message_id, order_id=self.order_id, actions=[])
        answered = False
        done = []
        for spec in (rule, *getattr(rule, "steps", ())):
            outcome = self._perform(spec, rule)
            done.append(outcome)
            answered = answered or (answers(spec.action) and not outcome.startswith("skipped"))
        record.actions = done
        record.order_id = self.order_id
        db.session.add(record)
        self.runs.append(record)
        self.names.append(rule.name)
        return answered

    # ------------------------------------------------------------------ actions
    def _perform(self, spec, rule) -> str:
        action = RuleAction(spec.action)
        handler = getattr(self, f"_{action.value}")
        return handler(spec, rule)

    def _reply(self, spec, rule) -> str:
        text = text_of(spec)
        if not text:
            return "skipped reply: no text or template"
        self.texts.append(text)
        return "reply"

    def _ai_reply(self, spec, rule) -> str:
        if self.agent_answered:
            return "ai_reply: the agent answered"
        self.ai = True
        return "ai_reply"

    def _send_catalog(self, spec, rule) -> str:
        built = catalog_message.build(self.conv, spec.category_id, intro=text_of(spec))
        if built is None:
            return "skipped send_catalog: no products for sale"
        self.catalog = built
        return f"send_catalog: {len(built['items'])} products"

    def _tag(self, spec, rule) -> str:
        tag = (spec.response or rule.name).strip()[:80]
        customer = self.conv.customer
        tags = {t.strip() for t in (customer.tags or "").split(",") if t.strip()}
        tags.add(tag)
        customer.tags = ", ".join(sorted(tags))[:500]
        return f"tag: {tag}"

    def _assign(self, spec, rule) -> str:
        member = db.session.scalar(select(TenantMembership.user_id).where(
            TenantMembership.tenant_id == self.conv.tenant_id,
            TenantMembership.user_id == spec.assignee_id)) if spec.assignee_id else None
        if member is None:
            return "skipped assign: the teammate is not a member of this business"
        self.conv.assignee_id = member
        takeover.hand_over(self.conv)
        self.stop = True
        return f"assign: user {member}"

    def _handoff(self, spec, rule) -> str:
        takeover.hand_over(self.conv)
        self.texts.append(text_of(spec) or HANDOFF_TEXT)
        self.stop = True
        return "handoff"

    def _opt_out(self, spec, rule) -> str:
        if optout.opt_out(self.conv.customer):
            self.texts.append(text_of(spec) or optout.OPT_OUT_TEXT)
            self.notice = True
        self.stop = True
        return "opt_out"

    def _follow_up(self, spec, rule) -> str:
        order_id = self.order_id or self._pending_order()
        row = followups.schedule(self.conv, rule_id=rule.id, hours=spec.delay_hours or 0,
                                 text=spec.response, template_id=spec.template_id, order_id=order_id)
        return f"follow_up #{row.id} due {row.due_at:%Y-%m-%d %H:%M} UTC"

    def _create_order(self, spec, rule) -> str:
        if self.order_id is not None:  # one order per event: never a second one
            number = db.session.scalar(select(Order.number).where(
                Order.id == self.order_id, Order.tenant_id == self.conv.tenant_id))
            by = "by the agent" if self.agent_answered else "already"
            return f"create_order: order {number} was placed {by}"
        wanted = self._wanted()
        if wanted is None:
            return "skipped create_order: no product recognized"
        product, count = wanted
        ctx = tools.ToolContext(tenant_id=self.conv.tenant_id, conversation_id=self.conv.id,
                                customer_id=self.conv.customer_id, currency=self.content.tenant.currency,
                                claim=self.claim)
        result = tools.call(ctx, "create_order", {"items": [{"product_id": product.id, "quantity": count}]})
        self.calls.extend(ctx.calls)
        if "error" in result:
            self.texts.append(f"Sorry, I couldn't place that order: {result['error']}.")
            return f"create_order refused: {result['error']}"
        self.order_id = db.session.scalar(select(Order.id).where(
            Order.tenant_id == self.conv.tenant_id, Order.number == result["number"]))
        if result.get("status") == "already_pending":  # tapped twice: the order stands, once
            self.texts.append(f"You already have this order: {count} × {product.name} — total "
                              f"{result['total']}, order {result['number']}, awaiting payment. "
                              "Here's its payment link again, right below.")
            return f"create_order: {result['number']} already awaits payment (link sent again)"
        self.texts.append(text_of(spec) or (
            f"Done! {count} × {product.name} — total {result['total']}. Your order is "
            f"{result['number']}; the payment link follows right here."))
        return f"create_order: {result['number']}"

    def _wanted(self) -> tuple[Product, int] | None:
        """The product and quantity asked for: a Buy button's SKU, else the words."""
        products = getattr(self.facts, "products", None) or active_products(self.conv.tenant_id)
        for payload in getattr(self.facts, "payloads", []):
            if payload.upper().startswith("BUY "):
                sku = payload[4:].strip()
                found = next((p for p in products if p.sku == sku), None)
                if found is not None:
                    return found, 1
        said = " ".join(getattr(self.facts, "texts", []))
        named = match_products(said, products)
        if not named:
            return None
        return named[0].product, quantity(said) or 1

    def _pending_order(self) -> int | None:
        return db.session.scalar(select(Order.id).where(
            Order.tenant_id == self.conv.tenant_id, Order.conversation_id == self.conv.id,
            Order.status == OrderStatus.PENDING_PAYMENT).order_by(Order.id.desc()).limit(1))

    # ------------------------------------------------------------------ result
    def reply(self) -> Reply | None:
        """The one message the run sends (None if it sends none)."""
        if not self.texts and self.catalog is None:
            return None
        meta: dict = {"rules": list(self.names)}
        if self.calls:
            meta["tools"] = self.calls
        if self.notice:
            meta[optout.NOTICE] = True
        text = "\n\n".join(self.texts)
        if self.catalog is not None:
            # the rule's other texts open the catalog's own (a list's body, the words sent just
            # before a carousel): the catalog is the one message, and they'd be lost beside it
            catalog = {**self.catalog, "intro": "\n\n".join([*self.texts, self.catalog["intro"]])}
            meta.update(kind="catalog", catalog=catalog)
            text = catalog_message.transcript(catalog)
        return Reply(text, agent="rule:" + ", ".join(self.names)[:100], meta=meta)

    def outcome(self) -> Outcome:
        if self.ai and not self.stop:
            # "reply" then "ai_reply" (a welcome, then the answer): the rule's texts open the
            # agent's answer, one message
            return Outcome(None, stop=False, lead=list(self.texts))
        reply = self.reply()
        if reply is not None or self.stop:
            return Outcome(reply, stop=True)
        return Outcome()

