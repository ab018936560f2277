"""WhatsApp Cloud API (`object: whatsapp_business_account`): messages and statuses.

`entry[].id` is the WhatsApp Business Account; routing is by `value.metadata.phone_number_id`.
Timestamps are strings of Unix seconds and a customer may come with no phone number (only a
business-scoped `user_id`). Every field is read through app.channels.fields.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from app.channels import catalog as catalog_message
from app.channels import fields as f
from app.channels.base import EventKind, InboundEvent, Parsed, SendResult, graph_for
from app.channels.referrals import whatsapp_referral

log = logging.getLogger(__name__)
MEDIA = ("image", "video", "document", "audio", "sticker")


def _value_and_account(change: dict) -> tuple[dict, str]:
    """A change's `value` and the phone number id it is for: every field names its number in
    `value.metadata.phone_number_id` (raises f.UNREADABLE when either is missing or malformed)."""
    value = f.obj(change, "value", required=True)
    return value, f.ident(f.obj(value, "metadata", required=True), "phone_number_id",
                          required=True, name="metadata.phone_number_id")


def _text(msg: dict) -> tuple[str, str | None, str | None]:
    """(kind, text, payload) for one inbound WhatsApp message."""
    kind = f.label(msg, "type", limit=f.MAX_KIND) or "unsupported"
    body = f.optional_obj(msg, kind)
    if kind == "text":
        return "text", f.text(body, "body"), None
    if kind in MEDIA:
        caption = f.label(body, "caption", limit=f.MAX_TEXT)
        return ("file" if kind == "document" else kind), caption or f"[{kind}]", None
    if kind == "location":
        where = (f.label(body, "name", limit=200) or f.label(body, "address", limit=200) or "")
        lat, long = f.label(body, "latitude", limit=32), f.label(body, "longitude", limit=32)
        return "location", f"[location {lat},{long}] {where}".strip(), None
    if kind == "interactive":
        reply = f.optional_obj(body, "button_reply") or f.optional_obj(body, "list_reply")
        return (f.label(body, "type", limit=f.MAX_KIND) or "interactive",
                f.label(reply, "title", limit=f.MAX_TEXT), f.label(reply, "id", limit=f.MAX_TEXT))
    if kind == "button":
        return "button", f.label(body, "text", limit=f.MAX_TEXT), f.label(body, "payload", limit=f.MAX_TEXT)
    if kind == "order":
        lines = [item for item in f.items(body, "product_items") if isinstance(item, dict)]
        listed = ", ".join(f"{f.label(i, 'quantity', limit=12)} x {f.label(i, 'product_retailer_id', limit=f.MAX_ID)}"
                           for i in lines[:50])
        return "order", f"[order] {listed}".strip(), None
    if kind == "contacts":
        return "contacts", "[contact card]", None
    return "unsupported", None, None


class WhatsAppAdapter:
    platform = "whatsapp"

    def parse(self, body: dict[str, Any], arrival: datetime) -> Parsed:
        parsed = Parsed()
        for where, entry in parsed.entries(body):
            try:
                changes = f.items(entry, "changes")
            except f.UNREADABLE as exc:
                parsed.skip(where, f.reason(exc))
                continue
            for j, change in enumerate(changes):
                if not isinstance(change, dict):
                    parsed.skip(f"{where}.changes[{j}]", f"is {f.kind_of(change)}, not an object")
                    continue
                if change.get("field") == "smb_message_echoes":
                    self._echoes(change, f"{where}.changes[{j}]", arrival, parsed)
                    continue
                if change.get("field") == "user_preferences":
                    self._preferences(change, f"{where}.changes[{j}]", arrival, parsed)
                    continue
                if change.get("field") != "messages":
                    log.info("whatsapp: ignoring change field %r", f.label(change, "field", limit=64))
                    continue
                self._value(change, f"{where}.changes[{j}]", arrival, parsed)
        return parsed.logged(self.platform)

    def _value(self, change: dict, where: str, arrival: datetime, parsed: Parsed) -> None:
        try:
            value, account = _value_and_account(change)
            messages, statuses = f.items(value, "messages"), f.items(value, "statuses")
            names = self._names(f.items(value, "contacts"))
        except f.UNREADABLE as exc:
            parsed.skip(where, f.reason(exc))
            return
        for k, msg in enumerate(messages):
            try:
                if not isinstance(msg, dict):
                    raise f.Malformed(f"is {f.kind_of(msg)}, not an object")
                parsed.events.append(self._message(account, msg, names, arrival))
            except f.UNREADABLE as exc:
                parsed.skip(f"{where}.value.messages[{k}]", f.reason(exc))
        for k, status in enumerate(statuses):
            try:
                if not isinstance(status, dict):
                    raise f.Malformed(f"is {f.kind_of(status)}, not an object")
                parsed.events.append(self._status(account, status, arrival))
            except f.UNREADABLE as exc:
                parsed.skip(f"{where}.value.statuses[{k}]", f.reason(exc))
        for err in f.items(value, "errors") if isinstance(value.get("errors"), list) else []:
            if isinstance(err, dict):
                log.warning("whatsapp: system error on %s: %s %s", account,
                            f.label(err, "code", limit=16), f.label(err, "title", limit=200))

    def _echoes(self, change: dict, where: str, arrival: datetime, parsed: Parsed) -> None:
        """Messages a person sent from the WhatsApp Business app on a number shared with the
        Cloud API (coexistence): `value.message_echoes[]`, business in `from`, customer in
        `to`. They come from no app of ours, so the agent steps back (app.services.takeover)."""
        try:
            value, account = _value_and_account(change)
            echoes = f.items(value, "message_echoes")
        except f.UNREADABLE as exc:
            parsed.skip(where, f.reason(exc))
            return
        for k, echo in enumerate(echoes):
            try:
                if not isinstance(echo, dict):
                    raise f.Malformed(f"is {f.kind_of(echo)}, not an object")
                customer = f.ident(echo, "to", limit=f.MAX_PHONE) or f.required(
                    f.ident(echo, "to_user_id"), "to")
                kind, text, _ = _text(echo)
                parsed.events.append(InboundEvent(
                    platform=self.platform, kind=EventKind.ECHO, account_id=account,
                    customer_id=customer, message_id=f.ident(echo, "id", limit=255),
                    timestamp=f.event_time(echo.get("timestamp"), arrival), message_kind=kind,
                    text=text, app_id="", raw=echo))
            except f.UNREADABLE as exc:
                parsed.skip(f"{where}.value.message_echoes[{k}]", f.reason(exc))

    def _preferences(self, change: dict, where: str, arrival: datetime, parsed: Parsed) -> None:
        """The customer stopped or resumed marketing messages in WhatsApp's own settings
        (`value.user_preferences[]`: wa_id, category marketing_messages, value stop|resume,
        timestamp). Any other category or value is skipped: we know of no other."""
        try:
            value, account = _value_and_account(change)
            prefs = f.items(value, "user_preferences")
        except f.UNREADABLE as exc:
            parsed.skip(where, f.reason(exc))
            return
        for k, pref in enumerate(prefs):
            try:
                if not isinstance(pref, dict):
                    raise f.Malformed(f"is {f.kind_of(pref)}, not an object")
                if pref.get("category") != "marketing_messages":
                    raise f.Malformed(f"category {f.label(pref, 'category', limit=64)!r} is not marketing_messages")
                parsed.events.append(self._preference(
                    account, f.required(f.ident(pref, "wa_id", limit=f.MAX_PHONE), "wa_id"),
                    pref.get("value"), pref.get("timestamp"), arrival, pref))
            except f.UNREADABLE as exc:
                parsed.skip(f"{where}.value.user_preferences[{k}]", f.reason(exc))

    def _preference(self, account: str, customer: str, choice, timestamp, arrival: datetime,
                    raw: dict) -> InboundEvent:
        if choice not in ("stop", "resume"):
            raise f.Malformed("the marketing preference (value) is neither stop nor resume")
        return InboundEvent(platform=self.platform, kind=EventKind.PREFERENCE, account_id=account,
                            customer_id=customer, status=choice,
                            timestamp=f.event_time(timestamp, arrival), raw=raw)

    @staticmethod
    def _names(contacts: list) -> dict[str, str]:
        names = {}
        for contact in contacts:
            if not isinstance(contact, dict):
                continue
            name = f.label(f.optional_obj(contact, "profile"), "name", limit=f.MAX_NAME)
            for key in ("wa_id", "user_id"):
                try:
                    who = f.ident(contact, key)
                except f.Malformed:
                    continue
                if who and name:
                    names[who] = name
        return names

    def _message(self, account: str, msg: dict, names: dict[str, str], arrival: datetime) -> InboundEvent:
        # A customer with a username may come with no phone number, only the business-scoped id.
        phone = f.ident(msg, "from", limit=f.MAX_PHONE)
        customer = phone or f.required(f.ident(msg, "from_user_id"), "from")
        base = dict(platform=self.platform, account_id=account, customer_id=customer,
                    timestamp=f.event_time(msg.get("timestamp"), arrival), raw=msg,
                    customer_name=names.get(customer), customer_phone=phone)
        if msg.get("type") == "system" and f.optional_obj(msg, "system").get("type") == "user_preference_changed":
            # the same stop/resume as the user_preferences field, as a system message
            return self._preference(account, customer, f.optional_obj(msg, "system").get("marketing"),
                                    msg.get("timestamp"), arrival, msg)
        if msg.get("type") == "reaction":
            r = f.obj(msg, "reaction", required=True)
            return InboundEvent(kind=EventKind.REACTION, message_id=f.ident(r, "message_id", limit=255),
                                text=f.label(r, "emoji", limit=64), **base)
        kind, text, payload = _text(msg)
        return InboundEvent(kind=EventKind.MESSAGE, message_id=f.ident(msg, "id", limit=255),
                            message_kind=kind, text=text, payload=payload,
                            referral=whatsapp_referral(msg.get("referral")), **base)

    def _status(self, account: str, status: dict, arrival: datetime) -> InboundEvent:
        error = None
        errors = [e for e in f.items(status, "errors") if isinstance(e, dict)]
        if errors:
            e = errors[0]
            detail = (f.label(f.optional_obj(e, "error_data"), "details", limit=500)
                      or f.label(e, "message", limit=500) or "")
            error = f"{f.label(e, 'code', limit=16)} {f.label(e, 'title', limit=200) or ''}: {detail}".strip()
        return InboundEvent(
            platform=self.platform, kind=EventKind.STATUS, account_id=account,
            customer_id=f.ident(status, "recipient_id"),
            message_id=f.required(f.ident(status, "id", limit=255), "id"),
            status=f.label(status, "status", limit=16),
            timestamp=f.event_time(status.get("timestamp"), arrival), error=error, raw=status,
        )

    # ------------------------------------------------------------------ sending
    def send(self, channel, recipient_id: str, message, *, tag: str | None = None) -> SendResult:
        payload = message.payload or {}
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                                "to": recipient_id}
        if message.kind == "template":
            body.update(type="template", template=payload["template"])
        elif message.kind == "catalog" and payload.get("catalog"):
            body.update(type="interactive", interactive=catalog_message.whatsapp_list(payload["catalog"]))
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

    def profile_name(self, channel, customer_id: str) -> str | None:
        return None  # WhatsApp sends the profile name in `contacts` with every message
