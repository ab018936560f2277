"""Drawing a catalog message (app.services.catalog_message) for each platform: a Messenger
or Instagram generic-template carousel, a WhatsApp interactive list. No database here."""
from __future__ import annotations


def buy_payload(item: dict) -> str:
    return f"BUY {item['sku']}"


def messenger_template(catalog: dict) -> dict:
    """A generic-template carousel (Messenger and Instagram): image, name, price, Buy."""
    elements = []
    for item in catalog["items"]:
        element = {"title": item["name"][:80],
                   "subtitle": (item["price"] + ("" if item["in_stock"] else " · sold out"))[:80],
                   "buttons": [{"type": "postback", "title": "Buy", "payload": buy_payload(item)}]}
        if item.get("image_url"):
            element["image_url"] = item["image_url"]
        elements.append(element)
    return {"attachment": {"type": "template",
                           "payload": {"template_type": "generic", "elements": elements}}}


def whatsapp_list(catalog: dict) -> dict:
    """A WhatsApp interactive list message: one row per product, its id the Buy payload."""
    rows = [{"id": buy_payload(item)[:200], "title": item["name"][:24],
             "description": (item["price"] + (f" · {item['name']}" if len(item["name"]) > 24 else ""))[:72]}
            for item in catalog["items"]]
    return {"type": "list",
            "header": {"type": "text", "text": catalog["title"][:60]},
            "body": {"text": catalog["intro"][:1024]},
            "action": {"button": "View products", "sections": [{"title": catalog["title"][:24], "rows": rows}]}}
