"""Messenger (`object: page`) and Instagram (`object: instagram`): same `messaging[]` shape.

Protocol facts: ../shared/notes/meta-protocol.md §3-4 and §7.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from app.channels.base import EventKind, InboundEvent, SendResult, graph_for

log = logging.getLogger(__name__)

ATTACHMENT_KINDS = {"image", "audio", "video", "file", "sticker", "location", "fallback",
                    "reel", "ig_reel", "post", "ig_post", "share", "story_mention"}


def from_ms(value) -> datetime | None:
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)


class MessengerAdapter:
    platform = "messenger"

    def parse(self, body: dict[str, Any]) -> list[InboundEvent]:
        events: list[InboundEvent] = []
        for entry in body.get("entry") or []:
            account = str(entry.get("id", ""))
            if account in ("", "0"):  # the dashboard's "Test" button for Instagram Login
                continue
            for item in (entry.get("messaging") or []) + (entry.get("standby") or []):
                try:
                    event = self._event(account, item)
                except (KeyError, TypeError, ValueError, AttributeError):
                    log.warning("%s: malformed messaging item skipped", self.platform)
                    continue
                if event is not None:
                    events.append(event)
        return events

    def _event(self, account: str, item: dict) -> InboundEvent | None:
        sender = str((item.get("sender") or {}).get("id", ""))
        recipient = str((item.get("recipient") or {}).get("id", ""))
        ts = from_ms(item.get("timestamp"))
        base = dict(platform=self.platform, account_id=account, timestamp=ts, raw=item)
        if "message" in item:
            msg = item["message"]
            if msg.get("is_echo"):
                return InboundEvent(kind=EventKind.ECHO, customer_id=recipient,
                                    message_id=msg.get("mid"), text=msg.get("text"),
                                    message_kind=self._kind(msg), app_id=str(msg.get("app_id") or ""),
                                    **base)
            if msg.get("is_deleted"):
                return InboundEvent(kind=EventKind.DELETE, customer_id=sender,
                                    message_id=msg.get("mid"), **base)
            return InboundEvent(kind=EventKind.MESSAGE, customer_id=sender,
                                message_id=msg.get("mid"), text=self._text(msg),
                                message_kind=self._kind(msg),
                                payload=(msg.get("quick_reply") or {}).get("payload"),
                                referral=msg.get("referral"), **base)
        if "message_edit" in item:
            edit = item["message_edit"]
            return InboundEvent(kind=EventKind.EDIT, customer_id=sender, message_id=edit.get("mid"),
                                text=edit.get("text"), **base)
        if "postback" in item:
            pb = item["postback"]
            mid = pb.get("mid") or f"postback-{sender}-{item.get('timestamp')}"
            return InboundEvent(kind=EventKind.MESSAGE, customer_id=sender, message_id=mid,
                                text=pb.get("title"), payload=pb.get("payload"),
                                message_kind="postback", referral=pb.get("referral"), **base)
        if "reaction" in item:
            r = item["reaction"]
            return InboundEvent(kind=EventKind.REACTION, customer_id=sender,
                                message_id=r.get("mid"),
                                text=r.get("emoji") if r.get("action") != "unreact" else None,
                                payload=r.get("reaction"), **base)
        if "delivery" in item:
            d = item["delivery"]
            return InboundEvent(kind=EventKind.DELIVERY, customer_id=sender, status="delivered",
                                mids=list(d.get("mids") or []), watermark=from_ms(d.get("watermark")),
                                **base)
        if "read" in item:
            r = item["read"]
            return InboundEvent(kind=EventKind.READ, customer_id=sender, status="read",
                                mids=[r["mid"]] if r.get("mid") else [],
                                watermark=from_ms(r.get("watermark")), **base)
        if "referral" in item:
            return InboundEvent(kind=EventKind.REFERRAL, customer_id=sender,
                                referral=item["referral"], **base)
        if "optin" in item:
            return InboundEvent(kind=EventKind.OPTIN, customer_id=sender,
                                payload=item["optin"].get("payload"), **base)
        log.info("%s: unhandled messaging event with keys %s", self.platform, sorted(item))
        return None

    @staticmethod
    def _kind(msg: dict) -> str:
        attachments = msg.get("attachments") or []
        if attachments:
            kind = attachments[0].get("type") or "file"
            return kind if kind in ATTACHMENT_KINDS else "file"
        if (msg.get("reply_to") or {}).get("story"):
            return "story_reply"
        if msg.get("quick_reply"):
            return "quick_reply"
        if msg.get("is_unsupported"):
            return "unsupported"
        return "text"

    @staticmethod
    def _text(msg: dict) -> str | None:
        if msg.get("text"):
            return msg["text"]
        for att in msg.get("attachments") or []:
            payload = att.get("payload") or {}
            if att.get("type") == "location" and payload.get("coordinates"):
                c = payload["coordinates"]
                return f"[location {c.get('lat')},{c.get('long')}]"
            return f"[{att.get('type', 'attachment')}]"
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
        if image:
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

    def sender_action(self, channel, recipient_id: str, action: str) -> None:
        """typing_on / typing_off / mark_seen (best effort)."""
        graph_for(channel).post(
            self.send_path(channel), {"recipient": {"id": recipient_id}, "sender_action": action}
        )

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
