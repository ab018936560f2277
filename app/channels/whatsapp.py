"""WhatsApp Cloud API (`object: whatsapp_business_account`): messages and statuses.

Protocol facts: ../shared/notes/meta-protocol.md §5 and §7. Routing is by
`value.metadata.phone_number_id`; timestamps are Unix seconds as strings.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from app.channels.base import EventKind, InboundEvent, SendResult, graph_for

log = logging.getLogger(__name__)


def from_s(value) -> datetime | None:
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(int(value), tz=timezone.utc)


def _text(msg: dict) -> tuple[str, str | None, str | None]:
    """(kind, text, payload) for one inbound WhatsApp message."""
    kind = msg.get("type", "unsupported")
    body = msg.get(kind) or {}
    if kind == "text":
        return "text", body.get("body"), None
    if kind in ("image", "video", "document", "audio", "sticker"):
        caption = body.get("caption")
        return ("file" if kind == "document" else kind), caption or f"[{kind}]", None
    if kind == "location":
        label = body.get("name") or body.get("address") or ""
        return "location", f"[location {body.get('latitude')},{body.get('longitude')}] {label}".strip(), None
    if kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply") or {}
        return body.get("type", "interactive"), reply.get("title"), reply.get("id")
    if kind == "button":
        return "button", body.get("text"), body.get("payload")
    if kind == "order":
        items = ", ".join(f"{i.get('quantity')} x {i.get('product_retailer_id')}"
                          for i in body.get("product_items") or [])
        return "order", f"[order] {items}".strip(), None
    if kind == "contacts":
        return "contacts", "[contact card]", None
    return "unsupported", None, None


class WhatsAppAdapter:
    platform = "whatsapp"

    def parse(self, body: dict[str, Any]) -> list[InboundEvent]:
        events: list[InboundEvent] = []
        for entry in body.get("entry") or []:
            for change in entry.get("changes") or []:
                if change.get("field") != "messages":
                    log.info("whatsapp: ignoring change field %s", change.get("field"))
                    continue
                try:
                    events.extend(self._value(change.get("value") or {}))
                except (KeyError, TypeError, ValueError, AttributeError):
                    log.warning("whatsapp: malformed change skipped")
        return events

    def _value(self, value: dict) -> list[InboundEvent]:
        account = str((value.get("metadata") or {}).get("phone_number_id", ""))
        names = {}
        for contact in value.get("contacts") or []:
            key = contact.get("wa_id") or contact.get("user_id")
            names[key] = (contact.get("profile") or {}).get("name")
        events = []
        for msg in value.get("messages") or []:
            customer = msg.get("from") or msg.get("from_user_id")
            base = dict(platform=self.platform, account_id=account, customer_id=customer,
                        timestamp=from_s(msg.get("timestamp")), raw=msg,
                        customer_name=names.get(customer),
                        customer_phone=msg.get("from"))
            if msg.get("type") == "reaction":
                r = msg.get("reaction") or {}
                events.append(InboundEvent(kind=EventKind.REACTION, message_id=r.get("message_id"),
                                           text=r.get("emoji") or None, **base))
                continue
            kind, text, payload = _text(msg)
            events.append(InboundEvent(kind=EventKind.MESSAGE, message_id=msg.get("id"),
                                       message_kind=kind, text=text, payload=payload,
                                       referral=msg.get("referral"), **base))
        for status in value.get("statuses") or []:
            errors = status.get("errors") or []
            error = None
            if errors:
                e = errors[0]
                detail = (e.get("error_data") or {}).get("details") or e.get("message") or ""
                error = f"{e.get('code')} {e.get('title', '')}: {detail}".strip()
            events.append(InboundEvent(
                platform=self.platform, kind=EventKind.STATUS, account_id=account,
                customer_id=status.get("recipient_id"), message_id=status.get("id"),
                status=status.get("status"), timestamp=from_s(status.get("timestamp")),
                error=error, raw=status,
            ))
        for err in value.get("errors") or []:
            log.warning("whatsapp: system error on %s: %s %s", account, err.get("code"), err.get("title"))
        return events

    # ------------------------------------------------------------------ sending
    def send(self, channel, recipient_id: str, message, *, tag: str | None = None) -> SendResult:
        payload = message.payload or {}
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                                "to": recipient_id}
        if message.kind == "template":
            body.update(type="template", template=payload["template"])
        elif payload.get("image_url"):
            body.update(type="image", image={"link": payload["image_url"],
                                             "caption": (message.text or "")[:1024]})
        elif payload.get("quick_replies"):
            buttons = [{"type": "reply", "reply": {"id": o[:256], "title": o[:20]}}
                       for o in payload["quick_replies"][:3]]
            body.update(type="interactive", interactive={
                "type": "button", "body": {"text": (message.text or "")[:1024]},
                "action": {"buttons": buttons}})
        else:
            body.update(type="text", text={"preview_url": True, "body": (message.text or "")[:4096]})
        result = graph_for(channel).post(f"{channel.external_id}/messages", body)
        ids = [m.get("id") for m in result.get("messages") or []]
        return SendResult(external_id=ids[0] if ids else None)

    def mark_read(self, channel, message_id: str) -> None:
        graph_for(channel).post(
            f"{channel.external_id}/messages",
            {"messaging_product": "whatsapp", "status": "read", "message_id": message_id},
        )

    def profile_name(self, channel, customer_id: str) -> str | None:
        return None  # WhatsApp sends the profile name in `contacts` with every message
