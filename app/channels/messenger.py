"""Messenger (`object: page`) and Instagram (`object: instagram`): same `messaging[]` shape.

`entry[].id` is the Page id (Messenger) or the Instagram professional account id; each
`messaging[]` (or `standby[]`, when another app owns the thread) item is one event keyed by
which of `message`, `postback`, `reaction`, `delivery`, `read`, `referral`, `optin` it carries.
Every field is read through app.channels.fields: nothing here trusts a type or a unit.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from app.channels import catalog as catalog_message
from app.channels import fields as f
from app.channels.base import EventKind, InboundEvent, Parsed, SendResult, graph_for
from app.channels.referrals import meta_referral

log = logging.getLogger(__name__)

ATTACHMENT_KINDS = {"image", "audio", "video", "file", "sticker", "location", "fallback",
                    "reel", "ig_reel", "post", "ig_post", "share", "story_mention"}


class MessengerAdapter:
    platform = "messenger"

    def parse(self, body: dict[str, Any], arrival: datetime) -> Parsed:
        parsed = Parsed()
        for where, entry in parsed.entries(body):
            try:
                account = f.ident(entry, "id", required=True, name="entry.id")
                entry_time = f.event_time(entry.get("time"), arrival)
                lists = [(key, f.items(entry, key)) for key in ("messaging", "standby")]
            except f.UNREADABLE as exc:
                parsed.skip(where, f.reason(exc))
                continue
            if account == "0":  # the App Dashboard's "Test" button: fake ids, nothing to store
                continue
            for key, events in lists:
                for j, item in enumerate(events):
                    try:
                        if not isinstance(item, dict):
                            raise f.Malformed(f"is {f.kind_of(item)}, not an object")
                        event = self._event(account, item, f.event_time(item.get("timestamp"),
                                                                        arrival, entry_time))
                    except f.UNREADABLE as exc:
                        parsed.skip(f"{where}.{key}[{j}]", f.reason(exc))
                        continue
                    if event is not None:
                        parsed.events.append(event)
        return parsed.logged(self.platform)

    def _event(self, account: str, item: dict, at: datetime) -> InboundEvent | None:
        sender = f.ident(f.obj(item, "sender"), "id", name="sender.id")
        recipient = f.ident(f.obj(item, "recipient"), "id", name="recipient.id")
        base = dict(platform=self.platform, account_id=account, timestamp=at, raw=item)
        if "message" in item:
            msg = f.obj(item, "message", required=True)
            if msg.get("is_echo") is True or msg.get("is_self") is True:
                return InboundEvent(kind=EventKind.ECHO, customer_id=f.required(recipient, "recipient.id"),
                                    message_id=f.ident(msg, "mid", limit=255), text=f.text(msg, "text"),
                                    message_kind=self._kind(msg),
                                    app_id=f.label(msg, "app_id", limit=f.MAX_ID) or "", **base)
            if msg.get("is_deleted") is True:
                return InboundEvent(kind=EventKind.DELETE, customer_id=sender,
                                    message_id=f.ident(msg, "mid", limit=255), **base)
            return InboundEvent(kind=EventKind.MESSAGE, customer_id=f.required(sender, "sender.id"),
                                message_id=f.ident(msg, "mid", limit=255), text=self._text(msg),
                                message_kind=self._kind(msg),
                                payload=f.label(f.optional_obj(msg, "quick_reply"), "payload",
                                                limit=f.MAX_TEXT),
                                referral=meta_referral(msg.get("referral")), **base)
        if "message_edit" in item:
            edit = f.obj(item, "message_edit", required=True)
            return InboundEvent(kind=EventKind.EDIT, customer_id=sender,
                                message_id=f.ident(edit, "mid", limit=255), text=f.text(edit, "text"),
                                **base)
        if "postback" in item:
            pb = f.obj(item, "postback", required=True)
            customer = f.required(sender, "sender.id")
            # Old-style postbacks carry no mid: their time keys them, so a repeat is one message.
            mid = f.ident(pb, "mid", limit=255) or f"postback-{customer}-{int(at.timestamp() * 1000)}"
            return InboundEvent(kind=EventKind.MESSAGE, customer_id=customer, message_id=mid,
                                text=f.label(pb, "title", limit=f.MAX_TEXT),
                                payload=f.label(pb, "payload", limit=f.MAX_TEXT),
                                message_kind="postback", referral=meta_referral(pb.get("referral")),
                                **base)
        if "reaction" in item:
            r = f.obj(item, "reaction", required=True)
            return InboundEvent(kind=EventKind.REACTION, customer_id=sender,
                                message_id=f.ident(r, "mid", limit=255),
                                text=f.label(r, "emoji", limit=64) if r.get("action") != "unreact" else None,
                                payload=f.label(r, "reaction", limit=64), **base)
        if "delivery" in item:
            d = f.obj(item, "delivery", required=True)
            return InboundEvent(kind=EventKind.DELIVERY, customer_id=sender, status="delivered",
                                mids=_mids(f.items(d, "mids")), watermark=f.to_datetime(d.get("watermark")),
                                **base)
        if "read" in item:
            r = f.obj(item, "read", required=True)
            mid = f.ident(r, "mid", limit=255)
            return InboundEvent(kind=EventKind.READ, customer_id=sender, status="read",
                                mids=[mid] if mid else [], watermark=f.to_datetime(r.get("watermark")),
                                **base)
        if "referral" in item:
            referral = meta_referral(f.obj(item, "referral", required=True))
            if referral is None:
                raise f.Malformed("referral names no ad, ref or source")
            return InboundEvent(kind=EventKind.REFERRAL, customer_id=sender, referral=referral, **base)
        if "optin" in item:
            return InboundEvent(kind=EventKind.OPTIN, customer_id=sender,
                                payload=f.label(f.obj(item, "optin", required=True), "payload",
                                                limit=f.MAX_TEXT), **base)
        log.info("%s: unhandled messaging event with keys %s", self.platform, sorted(item)[:10])
        return None

    @staticmethod
    def _kind(msg: dict) -> str:
        attachments = [a for a in f.items(msg, "attachments") if isinstance(a, dict)]
        if attachments:
            kind = f.label(attachments[0], "type", limit=f.MAX_KIND) or "file"
            return kind if kind in ATTACHMENT_KINDS else "file"
        if f.optional_obj(msg, "reply_to").get("story"):
            return "story_reply"
        if msg.get("quick_reply"):
            return "quick_reply"
        if msg.get("is_unsupported"):
            return "unsupported"
        return "text"

    @staticmethod
    def _text(msg: dict) -> str | None:
        said = f.text(msg, "text")
        if said:
            return said
        for att in f.items(msg, "attachments"):
            if not isinstance(att, dict):
                continue
            payload = f.optional_obj(att, "payload")
            kind = f.label(att, "type", limit=f.MAX_KIND) or "attachment"
            coordinates = f.optional_obj(payload, "coordinates")
            if kind == "location" and coordinates:
                lat = f.label(coordinates, "lat", limit=32)
                long = f.label(coordinates, "long", limit=32)
                return f"[location {lat},{long}]"
            return f"[{kind}]"
        return None

    # ------------------------------------------------------------------ sending
    def send(self, channel, recipient_id: str, message, *, tag: str | None = None) -> SendResult:
        body: dict[str, Any] = {"recipient": {"id": recipient_id}}
        if tag:
            body.update(messaging_type="MESSAGE_TAG", tag=tag)
        else:
            body["messaging_type"] = "RESPONSE"
        options = (message.payload or {}).get("quick_replies") if message.payload else None
        image = (message.payload or {}).get("image_url") if message.payload else None
        catalog = (message.payload or {}).get("catalog") if message.kind == "catalog" else None
        if catalog:
            body["message"] = catalog_message.messenger_template(catalog)
            intro = (catalog.get("intro") or "").strip()
            if intro:  # a carousel has no text of its own: the rule's words go just before it
                graph_for(channel).post(self.send_path(channel),
                                        {**body, "message": {"text": intro[:2000]}})
        elif image:
            body["message"] = {"attachment": {"type": "image",
                                              "payload": {"url": image, "is_reusable": True}}}
        else:
            body["message"] = {"text": (message.text or "")[:2000]}
            if options:
                body["message"]["quick_replies"] = [
                    {"content_type": "text", "title": o[:20], "payload": o} for o in options[:13]
                ]
        result = graph_for(channel).post(self.send_path(channel), body)
        return SendResult(external_id=result.get("message_id"))

    def send_path(self, channel) -> str:
        return f"{channel.external_id}/messages"

    def profile_name(self, channel, customer_id: str) -> str | None:
        data = graph_for(channel).get(customer_id, {"fields": "first_name,last_name"})
        name = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
        return name or None


class InstagramAdapter(MessengerAdapter):
    """Instagram DMs via the Page (Facebook Login) route: same Send API, IGSID recipients.

    The webhook's entry id is the IG account id; sending goes through `me/messages` with the
    Page token, which resolves to the Page the IG account is linked to.
    """

    platform = "instagram"

    def send_path(self, channel) -> str:
        return "me/messages"

    def profile_name(self, channel, customer_id: str) -> str | None:
        data = graph_for(channel).get(customer_id, {"fields": "name,username"})
        return data.get("name") or data.get("username")



def _mids(values: list) -> list[str]:
    return [f.clean(v, 255) for v in values if isinstance(v, str) and v and len(v) <= 255]
