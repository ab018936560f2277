"""Webhook bodies shaped like Meta's Messenger, Instagram and WhatsApp deliveries, and signing."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

APP_SECRET = "test_app_secret"


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: dict) -> bytes:
    # Meta sends escaped unicode; we sign exactly the bytes we post.
    return json.dumps(payload, ensure_ascii=True).encode()


def now_ms(offset_s: float = 0) -> int:
    return int((time.time() + offset_s) * 1000)


def messenger(page_id: str, *items: dict, obj: str = "page") -> dict:
    return {"object": obj, "entry": [{"id": page_id, "time": now_ms(), "messaging": list(items)}]}


def text(psid: str, page_id: str, mid: str, body: str, offset_s: float = 0, **extra) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": now_ms(offset_s),
            "message": {"mid": mid, "text": body, **extra}}


def attachment(psid, page_id, mid, kind, payload=None) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": now_ms(),
            "message": {"mid": mid, "attachments": [{"type": kind, "payload": payload or {"url": "https://x/a"}}]}}


def echo(psid, page_id, mid, body, app_id="999") -> dict:
    return {"sender": {"id": page_id}, "recipient": {"id": psid}, "timestamp": now_ms(),
            "message": {"mid": mid, "is_echo": True, "app_id": int(app_id), "text": body}}


def postback(psid, page_id, mid, title, payload) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": now_ms(),
            "postback": {"mid": mid, "title": title, "payload": payload}}


def delivery(psid, page_id, mids, watermark_ms) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": now_ms(),
            "delivery": {"mids": mids, "watermark": watermark_ms}}


def read(psid, page_id, watermark_ms) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": now_ms(),
            "read": {"watermark": watermark_ms}}


def reaction(psid, page_id, mid, emoji="\u2764\ufe0f", action="react") -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": now_ms(),
            "reaction": {"reaction": "love", "emoji": emoji, "action": action, "mid": mid}}


def whatsapp(phone_number_id: str, *, messages=(), statuses=(), contacts=()) -> dict:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "919820012345", "phone_number_id": phone_number_id}}
    if contacts:
        value["contacts"] = list(contacts)
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]}


def wa_contact(wa_id, name) -> dict:
    return {"profile": {"name": name}, "wa_id": wa_id}


def wa_text(wa_id, wamid, body, offset_s: float = 0) -> dict:
    return {"from": wa_id, "id": wamid, "timestamp": str(int(time.time() + offset_s)),
            "type": "text", "text": {"body": body}}


def wa_message(wa_id, wamid, kind, content) -> dict:
    return {"from": wa_id, "id": wamid, "timestamp": str(int(time.time())), "type": kind, kind: content}


def wa_status(wamid, status, recipient, errors=None) -> dict:
    s = {"id": wamid, "status": status, "timestamp": str(int(time.time())), "recipient_id": recipient}
    if errors:
        s["errors"] = errors
    return s
