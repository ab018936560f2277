"""Reading where a customer came from: the `referral` Meta attaches to a message, a postback or
a bare referral event (Messenger / Instagram: an ad, an m.me / ig.me link, the chat plugin) and
the `referral` of a WhatsApp message sent from a click-to-WhatsApp ad or post.

Every value is read through app.channels.fields: an id that is a list, a headline that is an
object or a ref of a megabyte reads as absent rather than failing the message it came with
(losing an attribution costs less than losing the customer's message).
"""
from __future__ import annotations

from app.channels import fields as f

MAX_SOURCE = 32
MAX_REF = 255
MAX_URL = 500


def _id(parent: dict, key: str, limit: int = 64) -> str | None:
    try:
        return f.ident(parent, key, limit=limit)
    except f.Malformed:
        return None


def _short(parent: dict, key: str, limit: int) -> str | None:
    value = f.label(parent, key, limit=limit + 1)
    if value is None:
        return None
    value = " ".join(value.split())
    return value[:limit] or None


def _url(parent: dict, key: str) -> str | None:
    """A web address, or nothing: the page links it, so only http(s) is kept."""
    value = _short(parent, key, MAX_URL)
    if value and value.lower().startswith(("https://", "http://")) and " " not in value:
        return value
    return None


def meta_referral(raw) -> dict | None:
    """Messenger / Instagram: {ref, ad_id, source, type, ads_context_data{ad_title, ...},
    referer_uri}; None when it names nothing we can attribute."""
    if not isinstance(raw, dict):
        return None
    context = f.optional_obj(raw, "ads_context_data")
    found = {
        "source": _short(raw, "source", MAX_SOURCE),
        "type": _short(raw, "type", MAX_SOURCE),
        "ad_id": _id(raw, "ad_id"),
        "ref": _short(raw, "ref", MAX_REF),
        "headline": _short(context, "ad_title", MAX_REF),
        "source_url": _url(raw, "referer_uri") or _url(context, "photo_url"),
        "ctwa_clid": None,
    }
    return found if (found["ad_id"] or found["ref"] or found["source"]) else None


def whatsapp_referral(raw) -> dict | None:
    """WhatsApp click-to-WhatsApp: {source_url, source_id, source_type ("ad"|"post"), headline,
    body, media_type, ctwa_clid}; the ad (or post) id is `source_id`."""
    if not isinstance(raw, dict):
        return None
    found = {
        "source": _short(raw, "source_type", MAX_SOURCE),
        "type": _short(raw, "media_type", MAX_SOURCE),
        "ad_id": _id(raw, "source_id"),
        "ref": None,
        "headline": _short(raw, "headline", MAX_REF) or _short(raw, "body", MAX_REF),
        "source_url": _url(raw, "source_url"),
        "ctwa_clid": _id(raw, "ctwa_clid", limit=255),
    }
    return found if (found["ad_id"] or found["source_url"] or found["ctwa_clid"]) else None
