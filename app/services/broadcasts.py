"""Broadcasts: one approved WhatsApp template to every customer of a segment, throttled.

WhatsApp lets a business start a conversation only with an approved template, so a broadcast
is always one, on a WhatsApp channel. Recipients are frozen when it starts (one row each);
opted-out customers are recorded as skipped then, and checked again just before their message
is made (someone who writes STOP while a broadcast is going out gets nothing more). Each
recipient is claimed with a compare-and-set, so a batch job run twice never sends twice.
Batches of `per_second` recipients go out a second apart on the low-priority queue: a broadcast
never holds up a customer waiting for a reply, and stays under the number's throughput limit.
"""
from __future__ import annotations

import logging
import re

from sqlalchemy import func, or_, select, update

from app.extensions import db
from app.jobs.queueing import queue_broadcast
from app.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    Channel,
    ChannelStatus,
    Conversation,
    Customer,
    Platform,
    RecipientStatus,
    Sender,
    Template,
    TemplateStatus,
    utcnow,
)
from app.services import outbound, segments, templates, tenants

log = logging.getLogger(__name__)

MAX_PER_SECOND = 80  # the Cloud API's default throughput per business phone number
DEFAULT_PER_SECOND = 20
FIELDS = re.compile(r"\{(\w*)\}")
KNOWN_FIELDS = {"name", "first_name", "phone", "business"}
# Why a recipient was skipped, shown per recipient on the broadcast's page
OPTED_OUT = "opted out of automated messages"
NO_MARKETING = "stopped marketing messages in WhatsApp's settings"


class BroadcastError(ValueError):
    """A broadcast that can't be made or changed; the message says why."""


def get(tenant_id: int, broadcast_id: int) -> Broadcast | None:
    return db.session.scalar(select(Broadcast).where(
        Broadcast.id == broadcast_id, Broadcast.tenant_id == tenant_id))


def list_all(tenant_id: int) -> list[Broadcast]:
    return list(db.session.scalars(select(Broadcast).where(Broadcast.tenant_id == tenant_id)
                                   .order_by(Broadcast.created_at.desc(), Broadcast.id.desc())))


def channels(tenant_id: int) -> list[Channel]:
    return list(db.session.scalars(select(Channel).where(
        Channel.tenant_id == tenant_id, Channel.platform == Platform.WHATSAPP).order_by(Channel.name)))


def usable_templates(tenant_id: int) -> list[Template]:
    return list(db.session.scalars(select(Template).where(
        Template.tenant_id == tenant_id, Template.status == TemplateStatus.APPROVED,
        Template.platform.in_(["whatsapp", "all"])).order_by(Template.name)))


def _int(raw, what: str) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise BroadcastError(f"choose a {what}") from None


def _check_variables(template: Template, variables) -> list[str]:
    if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
        raise BroadcastError("variables must be a list of texts")
    needed = templates.placeholder_count(template.body)
    if (template.variable_count or 0) > needed:
        raise BroadcastError(f"template {template.name} has variables outside its body (a header's): "
                             "broadcasts fill body variables only")
    variables = [v.strip()[:1024] for v in variables[:needed]] + [""] * max(0, needed - len(variables))
    for n, text in enumerate(variables, 1):
        if not text:
            raise BroadcastError(f"the template's variable {n} has no value: give it one")
        unknown = {f for f in FIELDS.findall(text)} - KNOWN_FIELDS
        if unknown:
            raise BroadcastError(f"unknown field {{{sorted(unknown)[0]}}} in variable {n}: use "
                                 + ", ".join("{" + f + "}" for f in sorted(KNOWN_FIELDS)))
    return variables


def create(tenant_id: int, user_id: int | None, *, name, segment_id, channel_id, template_id,
           variables, per_second=DEFAULT_PER_SECOND) -> Broadcast:
    """Check everything, freeze the recipients and start sending."""
    if not isinstance(name, str) or not name.strip():
        raise BroadcastError("give the broadcast a name")
    segment = segments.get(tenant_id, _int(segment_id, "segment"))
    if segment is None:
        raise BroadcastError("no such segment")
    channel = db.session.scalar(select(Channel).where(
        Channel.id == _int(channel_id, "WhatsApp number"), Channel.tenant_id == tenant_id))
    if channel is None:
        raise BroadcastError("no such channel")
    if channel.platform != Platform.WHATSAPP:
        raise BroadcastError("broadcasts go out on WhatsApp only: Messenger and Instagram allow "
                             "no promotional messages outside the 24-hour window")
    if channel.status != ChannelStatus.ACTIVE:
        raise BroadcastError(f"{channel.name} is {channel.status}: reconnect it first")
    template = db.session.scalar(select(Template).where(
        Template.id == _int(template_id, "template"), Template.tenant_id == tenant_id))
    if template is None:
        raise BroadcastError("no such template")
    if template.status != TemplateStatus.APPROVED or template.platform not in ("whatsapp", "all"):
        raise BroadcastError(f"template {template.name} is not an approved WhatsApp template")
    per_second = _int(per_second, "sending rate")
    if not 1 <= per_second <= MAX_PER_SECOND:
        raise BroadcastError(f"the sending rate must be 1 to {MAX_PER_SECOND} messages a second")
    broadcast = Broadcast(tenant_id=tenant_id, name=name.strip()[:120], segment_id=segment.id,
                          channel_id=channel.id, template_id=template.id,
                          variables=_check_variables(template, variables), per_second=per_second,
                          status=BroadcastStatus.SENDING, created_by_id=user_id)
    db.session.add(broadcast)
    db.session.flush()
    marketing = templates.is_marketing(template)
    for customer in db.session.scalars(segments.members_query(tenant_id, segments.filters_of(segment))):
        status, reason = RecipientStatus.PENDING, None
        if customer.platform != Platform.WHATSAPP:
            status, reason = RecipientStatus.SKIPPED, f"not a WhatsApp customer ({customer.platform})"
        elif customer.opted_out:
            status, reason = RecipientStatus.SKIPPED, OPTED_OUT
        elif marketing and customer.marketing_opted_out:
            status, reason = RecipientStatus.SKIPPED, NO_MARKETING
        db.session.add(BroadcastRecipient(tenant_id=tenant_id, broadcast_id=broadcast.id,
                                          customer_id=customer.id, status=status, reason=reason))
    db.session.commit()
    queue_broadcast(broadcast.id, tenant_id)
    return broadcast


def cancel(tenant_id: int, broadcast_id: int) -> bool:
    """Stop a broadcast that is going out: who has not been sent to yet gets nothing."""
    changed = db.session.execute(update(Broadcast).where(
        Broadcast.id == broadcast_id, Broadcast.tenant_id == tenant_id,
        Broadcast.status == BroadcastStatus.SENDING).values(
        status=BroadcastStatus.CANCELLED, finished_at=utcnow())).rowcount
    if changed:
        db.session.execute(update(BroadcastRecipient).where(
            BroadcastRecipient.broadcast_id == broadcast_id,
            BroadcastRecipient.status == RecipientStatus.PENDING).values(
            status=RecipientStatus.SKIPPED, reason="broadcast cancelled"))
    db.session.commit()
    return bool(changed)


def _values(broadcast: Broadcast, customer: Customer, business: str) -> list[str]:
    name = (customer.name or "").strip()
    fields = {"name": name or "there", "first_name": (name.split() or ["there"])[0],
              "phone": customer.phone or customer.external_id, "business": business}
    return [FIELDS.sub(lambda m: fields.get(m.group(1), m.group(0)), v) for v in broadcast.variables or []]


def _conversation(broadcast: Broadcast, customer: Customer) -> Conversation:
    conv = db.session.scalar(select(Conversation).where(
        Conversation.tenant_id == broadcast.tenant_id, Conversation.customer_id == customer.id,
        Conversation.channel_id == broadcast.channel_id).order_by(Conversation.id.desc()).limit(1))
    if conv is None:
        conv = Conversation(tenant_id=broadcast.tenant_id, channel_id=broadcast.channel_id,
                            customer_id=customer.id)
        db.session.add(conv)
        db.session.flush()
    return conv


def send_batch(broadcast_id: int, tenant_id: int) -> int:
    """Send the next `per_second` recipients, then queue the next batch a second later.
    Returns how many messages this batch made."""
    broadcast = get(tenant_id, broadcast_id)
    if broadcast is None or broadcast.status != BroadcastStatus.SENDING:
        return 0
    template = broadcast.template
    if template is None or template.status != TemplateStatus.APPROVED:
        cancel(tenant_id, broadcast_id)
        log.warning("broadcast %s stopped: its template was deleted or is no longer approved", broadcast_id)
        return 0
    business = tenants.business_name(tenant_id)
    marketing = templates.is_marketing(template)
    pending = db.session.scalars(select(BroadcastRecipient).where(
        BroadcastRecipient.broadcast_id == broadcast_id,
        BroadcastRecipient.status == RecipientStatus.PENDING)
        .order_by(BroadcastRecipient.id).limit(broadcast.per_second)).all()
    made: list[int] = []
    for recipient in pending:
        # The opt-out is read in the same statement that claims the recipient: a STOP (or a
        # stop of marketing messages) that committed a moment ago is seen, whatever this
        # session loaded earlier.
        refused = Customer.opted_out.is_(True)
        if marketing:
            refused = or_(refused, Customer.marketing_opted_out.is_(True))
        stopped = select(Customer.id).where(Customer.id == recipient.customer_id, refused).exists()
        claimed = db.session.execute(update(BroadcastRecipient).where(
            BroadcastRecipient.id == recipient.id, BroadcastRecipient.status == RecipientStatus.PENDING,
            ~stopped).values(status=RecipientStatus.QUEUED)).rowcount
        if not claimed:
            opted_out = db.session.scalar(select(Customer.opted_out).where(Customer.id == recipient.customer_id))
            db.session.execute(update(BroadcastRecipient).where(
                BroadcastRecipient.id == recipient.id, BroadcastRecipient.status == RecipientStatus.PENDING
            ).values(status=RecipientStatus.SKIPPED, reason=OPTED_OUT if opted_out else NO_MARKETING))
            db.session.commit()
            continue
        customer = recipient.customer
        values = _values(broadcast, customer, business)
        msg = outbound.queue_message(
            _conversation(broadcast, customer), templates.render(template.body, values),
            sender=Sender.SYSTEM, kind="template",
            payload={"template": templates.whatsapp_template(template.name, template.language, values,
                                                     template.body),
                     "broadcast_id": broadcast.id})
        db.session.flush()
        db.session.execute(update(BroadcastRecipient).where(BroadcastRecipient.id == recipient.id)
                           .values(message_id=msg.id))
        db.session.commit()
        made.append(msg.id)
    outbound.send_or_retry_later(made, tenant_id)
    left = db.session.scalar(select(func.count()).select_from(BroadcastRecipient).where(
        BroadcastRecipient.broadcast_id == broadcast_id,
        BroadcastRecipient.status == RecipientStatus.PENDING))
    if left:
        queue_broadcast(broadcast_id, tenant_id, delay=1)
    else:
        db.session.execute(update(Broadcast).where(
            Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SENDING).values(
            status=BroadcastStatus.DONE, finished_at=utcnow()))
        db.session.commit()
    return len(made)


def counts(broadcast: Broadcast) -> dict[str, int]:
    """Recipients by outcome: skipped/pending before a message exists, then the message's status."""
    out: dict[str, int] = {}
    for r in db.session.scalars(select(BroadcastRecipient).where(
            BroadcastRecipient.broadcast_id == broadcast.id)):
        key = r.outcome()
        out[key] = out.get(key, 0) + 1
    return out


def recipients(broadcast: Broadcast, limit: int = 500) -> list[BroadcastRecipient]:
    return list(db.session.scalars(select(BroadcastRecipient).where(
        BroadcastRecipient.broadcast_id == broadcast.id).order_by(BroadcastRecipient.id).limit(limit)))
