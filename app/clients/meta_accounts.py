"""Connecting accounts through Meta's APIs: Facebook Login, Instagram Login, WhatsApp numbers.

Thin, typed calls over GraphClient (errors are classified there): each function says which
host and token it uses and returns plain data. Base URLs, app ids and secrets are arguments,
so this module knows no Flask and no database. Tokens passed in never appear in what a
function raises or logs (GraphClient sends them as a header, never in the URL it reports).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.clients.graph import GraphClient, GraphError

# The webhook fields a connected Page (and its Instagram account) must be subscribed to.
PAGE_FIELDS = ("messages,message_echoes,message_deliveries,message_reads,message_reactions,"
               "messaging_postbacks,messaging_referrals,messaging_optins,messaging_handovers,standby")
INSTAGRAM_FIELDS = "messages,messaging_postbacks,messaging_seen,message_reactions"
INSTAGRAM_SCOPES = "instagram_business_basic,instagram_business_manage_messages"
MAX_TEMPLATE_PAGES = 20  # 100 templates a page; a WABA may hold at most a few hundred
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@dataclass(frozen=True)
class App:
    """Our app at Meta (or at Instagram Login): id and secret."""

    app_id: str
    secret: str


@dataclass
class PageInfo:
    """A Facebook Page the user manages, with its own token and linked Instagram account."""

    id: str
    name: str
    token: str = field(repr=False)
    instagram_id: str | None = None
    instagram_username: str | None = None


@dataclass
class PhoneInfo:
    display_number: str
    verified_name: str
    quality: str | None = None


@dataclass
class TemplateInfo:
    external_id: str | None
    name: str
    language: str
    category: str
    status: str
    body: str
    variable_count: int


def _text(value: Any, limit: int = 255) -> str:
    return value[:limit] if isinstance(value, str) else ""


# ------------------------------------------------------------------------------ Facebook Login


def exchange_code(graph_base: str, app: App, code: str, redirect_uri: str) -> str:
    """The short-lived user token for a Facebook Login code (a code works once, for minutes)."""
    data = GraphClient(graph_base, None).get("oauth/access_token", {
        "client_id": app.app_id, "client_secret": app.secret, "redirect_uri": redirect_uri,
        "code": code}, auth=False)
    return _token(data)


def long_lived_user_token(graph_base: str, app: App, short_token: str) -> tuple[str, int | None]:
    """(token, seconds it lasts): the ~60-day user token; Page tokens read with it don't expire."""
    data = GraphClient(graph_base, None).get("oauth/access_token", {
        "grant_type": "fb_exchange_token", "client_id": app.app_id, "client_secret": app.secret,
        "fb_exchange_token": short_token}, auth=False)
    expires = data.get("expires_in")
    return _token(data), expires if isinstance(expires, int) else None


def _token(data: dict) -> str:
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise GraphError("Meta answered without an access token")
    return token


def me(graph_base: str, token: str) -> dict[str, str]:
    """The token's own id and name (the user's app-scoped id, a Page's id)."""
    data = GraphClient(graph_base, token).get("me", {"fields": "id,name"})
    return {"id": _text(data.get("id"), 64), "name": _text(data.get("name"), 160)}


def declined_permissions(graph_base: str, user_token: str) -> set[str]:
    """Permissions the person unticked in the dialog (they can grant fewer than asked)."""
    data = GraphClient(graph_base, user_token).get("me/permissions")
    rows = data.get("data") if isinstance(data.get("data"), list) else []
    return {r["permission"] for r in rows if isinstance(r, dict) and isinstance(r.get("permission"), str)
            and r.get("status") != "granted"}


def list_pages(graph_base: str, user_token: str) -> list[PageInfo]:
    """The Pages the user granted, each with its token and linked Instagram account."""
    client = GraphClient(graph_base, user_token)
    params = {"fields": "id,name,access_token,instagram_business_account{id,username}", "limit": 100}
    pages: list[PageInfo] = []
    for _ in range(10):
        data = client.get("me/accounts", params)
        for row in data.get("data") if isinstance(data.get("data"), list) else []:
            if not isinstance(row, dict):
                continue
            page_id, token = _text(row.get("id"), 64), _text(row.get("access_token"), 1024)
            if not page_id.isdigit() or not token:
                continue
            ig = row.get("instagram_business_account")
            ig = ig if isinstance(ig, dict) else {}
            ig_id = _text(ig.get("id"), 64)
            pages.append(PageInfo(id=page_id, name=_text(row.get("name"), 160) or page_id,
                                  token=token, instagram_id=ig_id if ig_id.isdigit() else None,
                                  instagram_username=_text(ig.get("username"), 64) or None))
        after = ((data.get("paging") or {}).get("cursors") or {}).get("after")
        if not (isinstance(data.get("paging"), dict) and data["paging"].get("next") and after):
            break
        params = {**params, "after": after}
    return pages


def subscribe_page(graph_base: str, page_id: str, page_token: str) -> None:
    """Deliver this Page's messaging webhooks to our app (needs pages_manage_metadata)."""
    GraphClient(graph_base, page_token).post(f"{page_id}/subscribed_apps",
                                             params={"subscribed_fields": PAGE_FIELDS})


def unsubscribe_page(graph_base: str, page_id: str, page_token: str) -> None:
    GraphClient(graph_base, page_token).delete(f"{page_id}/subscribed_apps")


def subscribed_app_ids(graph_base: str, node: str, token: str) -> set[str]:
    """Ids of the apps subscribed to a Page's or a WABA's webhooks (WhatsApp nests them)."""
    data = GraphClient(graph_base, token).get(f"{node}/subscribed_apps")
    ids = set()
    for row in data.get("data") if isinstance(data.get("data"), list) else []:
        if not isinstance(row, dict):
            continue
        nested = row.get("whatsapp_business_api_data")
        source = nested if isinstance(nested, dict) else row
        if source.get("id") is not None:
            ids.add(str(source["id"]))
    return ids


def ids_for_pages(graph_base: str, app: App, app_scoped_id: str) -> list[str]:
    """The Page-scoped ids (PSIDs) of a Facebook user known to us by app-scoped id, for the
    Pages of the business that owns our app (the ID Matching API, with the app token)."""
    client = GraphClient(graph_base, f"{app.app_id}|{app.secret}")
    data = client.get(f"{app_scoped_id}/ids_for_pages")
    rows = data.get("data") if isinstance(data.get("data"), list) else []
    return [_text(r.get("id"), 64) for r in rows if isinstance(r, dict) and _text(r.get("id"), 64)]


# ------------------------------------------------------------------------------ Instagram Login


def instagram_exchange_code(token_base: str, app: App, code: str, redirect_uri: str) -> tuple[str, str]:
    """(short-lived token, Instagram user id) for an Instagram Login code."""
    data = GraphClient(token_base, None).post("oauth/access_token", form={
        "client_id": app.app_id, "client_secret": app.secret, "grant_type": "authorization_code",
        "redirect_uri": redirect_uri, "code": code}, auth=False)
    if isinstance(data.get("data"), list) and data["data"] and isinstance(data["data"][0], dict):
        data = data["data"][0]  # newer answers wrap the token in a list
    return _token(data), _text(str(data.get("user_id") or ""), 64)


def instagram_long_lived(api_base: str, app: App, short_token: str) -> tuple[str, int | None]:
    data = GraphClient(api_base, None).get("access_token", {
        "grant_type": "ig_exchange_token", "client_secret": app.secret,
        "access_token": short_token}, auth=False)
    expires = data.get("expires_in")
    return _token(data), expires if isinstance(expires, int) else None


def instagram_refresh(api_base: str, token: str) -> tuple[str, int | None]:
    """A fresh 60 days for a long-lived Instagram token at least a day old."""
    data = GraphClient(api_base, None).get("refresh_access_token", {
        "grant_type": "ig_refresh_token", "access_token": token}, auth=False)
    expires = data.get("expires_in")
    return _token(data), expires if isinstance(expires, int) else None


def instagram_me(api_base: str, token: str) -> dict[str, str]:
    """`user_id` is the id Instagram's webhooks carry as entry.id (not the token's `id`)."""
    data = GraphClient(api_base, token).get("me", {"fields": "user_id,username,name"})
    return {"user_id": _text(str(data.get("user_id") or ""), 64),
            "username": _text(data.get("username"), 64), "name": _text(data.get("name"), 160)}


def instagram_subscribe(api_base: str, token: str) -> None:
    GraphClient(api_base, token).post("me/subscribed_apps",
                                      params={"subscribed_fields": INSTAGRAM_FIELDS})


# ------------------------------------------------------------------------------ WhatsApp


def phone_number(graph_base: str, phone_number_id: str, token: str) -> PhoneInfo:
    data = GraphClient(graph_base, token).get(phone_number_id, {
        "fields": "display_phone_number,verified_name,quality_rating"})
    return PhoneInfo(display_number=_text(data.get("display_phone_number"), 32),
                     verified_name=_text(data.get("verified_name"), 120),
                     quality=_text(data.get("quality_rating"), 16) or None)


def waba_phone_ids(graph_base: str, waba_id: str, token: str) -> set[str]:
    data = GraphClient(graph_base, token).get(f"{waba_id}/phone_numbers", {"fields": "id", "limit": 100})
    rows = data.get("data") if isinstance(data.get("data"), list) else []
    return {str(r.get("id")) for r in rows if isinstance(r, dict) and r.get("id") is not None}


def subscribe_waba(graph_base: str, waba_id: str, token: str) -> None:
    GraphClient(graph_base, token).post(f"{waba_id}/subscribed_apps")


def unsubscribe_waba(graph_base: str, waba_id: str, token: str) -> None:
    GraphClient(graph_base, token).delete(f"{waba_id}/subscribed_apps")


def message_templates(graph_base: str, waba_id: str, token: str) -> list[TemplateInfo]:
    """Every message template of the WABA (all statuses), following the pages."""
    client = GraphClient(graph_base, token)
    params: dict[str, Any] = {"fields": "id,name,language,status,category,components", "limit": 100}
    found: list[TemplateInfo] = []
    for _ in range(MAX_TEMPLATE_PAGES):
        data = client.get(f"{waba_id}/message_templates", params)
        for row in data.get("data") if isinstance(data.get("data"), list) else []:
            template = _template(row)
            if template is not None:
                found.append(template)
        paging = data.get("paging") if isinstance(data.get("paging"), dict) else {}
        after = (paging.get("cursors") or {}).get("after") if isinstance(paging.get("cursors"), dict) else None
        if not (paging.get("next") and after):
            break
        params = {**params, "after": after}
    return found


def _template(row: Any) -> TemplateInfo | None:
    if not isinstance(row, dict) or not _text(row.get("name"), 120):
        return None
    components = row.get("components") if isinstance(row.get("components"), list) else []
    texts = {str(c.get("type", "")).upper(): _text(c.get("text"), 4096)
             for c in components if isinstance(c, dict)}
    body = texts.get("BODY") or ""
    # Variables the sender must fill: the body's and a text header's placeholders.
    names = set(_PLACEHOLDER.findall(body)) | {f"header:{n}" for n in _PLACEHOLDER.findall(texts.get("HEADER") or "")}
    return TemplateInfo(external_id=_text(str(row.get("id") or ""), 64) or None,
                        name=_text(row.get("name"), 120), language=_text(row.get("language"), 16) or "en",
                        category=(_text(row.get("category"), 32) or "utility").lower(),
                        status=(_text(row.get("status"), 32) or "").lower(), body=body,
                        variable_count=len(names))
