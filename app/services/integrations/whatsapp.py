"""Connect a WhatsApp number: ids and a permanent token, verified with Meta before saving.

The phone number must answer with its display number and verified name and belong to the
WhatsApp Business Account given; only then is the channel saved, the app subscribed to the
WABA, and the WABA's approved templates fetched (the only messages WhatsApp lets a business
start outside the 24-hour window).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from app.clients import meta_accounts as meta
from app.clients.graph import ChannelAuthError, GraphError, TransientGraphError
from app.extensions import db
from app.models import Channel, ChannelConnection, Platform, TargetPlatform, Template, TemplateStatus
from app.services.integrations import ConnectError
from app.services.integrations.channels import claim, mark_connected, try_subscribe

log = logging.getLogger(__name__)
_ID = re.compile(r"^[0-9]{5,32}$")
META_STATUSES = {"approved": TemplateStatus.APPROVED, "pending": TemplateStatus.PENDING,
                 "in_appeal": TemplateStatus.PENDING}


@dataclass
class Connected:
    channel: Channel
    templates: int
    notes: list[str] = field(default_factory=list)


def _clean(value, name: str) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if not _ID.match(text):
        raise ConnectError(f"{name} must be the number Meta shows (digits only).")
    return text


def connect(tenant_id: int, user_id: int, waba_id, phone_number_id, token) -> Connected:
    waba_id = _clean(waba_id, "The WhatsApp Business Account id")
    phone_number_id = _clean(phone_number_id, "The phone number id")
    token = token.strip() if isinstance(token, str) else ""
    if not token or len(token) > 1024 or any(c.isspace() for c in token):
        raise ConnectError("Paste the permanent access token (a System User token) as one line.")
    base = current_app.config["GRAPH_API_BASE"]
    try:
        phone = meta.phone_number(base, phone_number_id, token)
        numbers = meta.waba_phone_ids(base, waba_id, token)
    except ChannelAuthError as exc:
        raise ConnectError(f"Meta refused the token ({exc}). Use a permanent System User token "
                           "with whatsapp_business_messaging and whatsapp_business_management.") from exc
    except TransientGraphError as exc:
        raise ConnectError(f"Meta could not be reached ({exc}); nothing was saved. Try again.") from exc
    except GraphError as exc:
        raise ConnectError(f"Meta did not recognise these ids ({exc}); nothing was saved.") from exc
    if phone_number_id not in numbers:
        raise ConnectError(f"Phone number {phone_number_id} does not belong to WhatsApp Business "
                           f"Account {waba_id}; nothing was saved.")
    name = phone.verified_name or phone.display_number or phone_number_id
    channel = claim(tenant_id, Platform.WHATSAPP, phone_number_id, name)
    channel.name = name[:120]
    mark_connected(channel, token=token, via=ChannelConnection.WHATSAPP, user_id=user_id,
                   display_name=f"{phone.verified_name} ({phone.display_number})".strip())
    channel.waba_id = waba_id
    db.session.flush()
    notes = [n for n in [try_subscribe(channel)] if n]
    try:
        count = sync_templates(channel)
    except GraphError as exc:
        count = 0
        notes.append(f"The approved templates could not be fetched ({exc}); they will be on the next check.")
    db.session.commit()
    return Connected(channel=channel, templates=count, notes=notes)


def sync_templates(channel: Channel) -> int:
    """Store the WABA's approved templates as this tenant's WhatsApp templates (one row per
    name and language); ones Meta no longer approves stop being usable. Returns how many are
    approved. The caller commits."""
    fetched = meta.message_templates(current_app.config["GRAPH_API_BASE"], channel.waba_id,
                                     channel.access_token)
    existing = {(t.name, t.language): t for t in db.session.scalars(select(Template).where(
        Template.tenant_id == channel.tenant_id, Template.platform == TargetPlatform.WHATSAPP))}
    approved = 0
    for info in fetched:
        status = META_STATUSES.get(info.status, TemplateStatus.REJECTED)
        row = existing.get((info.name, info.language))
        if row is None:
            if status != TemplateStatus.APPROVED:
                continue  # only approved templates are of use; the others stay at Meta
            row = Template(tenant_id=channel.tenant_id, platform=TargetPlatform.WHATSAPP,
                           name=info.name, language=info.language)
            db.session.add(row)
        row.status = status
        row.category = info.category[:32]
        row.body = info.body or f"[{info.name}]"
        row.variable_count = info.variable_count
        row.external_id = info.external_id
        approved += status == TemplateStatus.APPROVED
    return approved
