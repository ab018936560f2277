"""Meta's account APIs faked at the HTTP boundary (`responses`): Facebook Login's token
endpoints, /me, /me/permissions, /me/accounts, subscribed_apps, Instagram Login, and WhatsApp's
phone numbers and templates. It answers like the real endpoints (including their error bodies)
and records every request, so tests can check what we asked for and with which token."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import responses

GRAPH = "http://graph.test/v25.0"
IG_API = "http://graph.instagram.test/v25.0"
IG_TOKEN = "http://api.instagram.test"
APP_ID = "1234567890"
APP_SECRET = "test_app_secret"


def error(status: int, code: int, message: str, subcode: int | None = None):
    body = {"error": {"message": message, "type": "OAuthException", "code": code,
                      "fbtrace_id": "Atrace"}}
    if subcode:
        body["error"]["error_subcode"] = subcode
    return status, {}, json.dumps(body)


def ok(body) -> tuple:
    return 200, {}, json.dumps(body)


@dataclass
class FakePage:
    id: str
    name: str
    token: str
    instagram_id: str | None = None
    instagram_username: str | None = None


@dataclass
class FakeMeta:
    rsps: responses.RequestsMock
    codes: dict[str, str] = field(default_factory=lambda: {"good-code": "short-user-token"})
    long_token: str = "long-user-token"
    user_id: str = "5550001"
    declined: set[str] = field(default_factory=set)
    pages: list[FakePage] = field(default_factory=list)
    subscriptions: dict[str, set[str]] = field(default_factory=dict)  # node -> app ids
    refuse_subscribe: bool = False
    bad_tokens: set[str] = field(default_factory=set)
    # WhatsApp
    phones: dict[str, dict] = field(default_factory=dict)  # phone id -> {display, name, waba}
    wa_token: str = "wa-permanent-token"
    templates: list[dict] = field(default_factory=list)
    # Instagram Login
    ig_codes: dict[str, str] = field(default_factory=lambda: {"ig-code": "ig-short"})
    ig_long: str = "ig-long-token"
    ig_user: dict = field(default_factory=lambda: {"user_id": "17841400000000001", "username": "shop_ig",
                                                   "id": "9990001"})
    ids_for_pages: dict[str, list[str]] = field(default_factory=dict)

    # ------------------------------------------------------------------ helpers
    def requests(self, contains: str = "") -> list:
        return [c.request for c in self.rsps.calls if contains in c.request.url]

    def tokens_used(self, contains: str) -> list[str]:
        out = []
        for r in self.requests(contains):
            auth = r.headers.get("Authorization", "")
            out.append(auth.removeprefix("Bearer ") if auth else _query(r).get("access_token", ""))
        return out

    def _token(self, request) -> str:
        return (request.headers.get("Authorization") or "").removeprefix("Bearer ")

    def _authorized(self, request, allowed: set[str]):
        token = self._token(request)
        if token in self.bad_tokens or token not in allowed:
            return error(400, 190, "Error validating access token: The session has been invalidated")
        return None

    def page_tokens(self) -> set[str]:
        return {p.token for p in self.pages}

    # ------------------------------------------------------------------ Facebook Login
    def oauth_access_token(self, request):
        q = _query(request)
        if q.get("client_id") != APP_ID or q.get("client_secret") != APP_SECRET:
            return error(400, 101, "Error validating application")
        if q.get("grant_type") == "fb_exchange_token":
            if q.get("fb_exchange_token") not in self.codes.values():
                return error(400, 190, "Invalid OAuth access token")
            return ok({"access_token": self.long_token, "token_type": "bearer", "expires_in": 5183944})
        code = q.get("code")
        if code not in self.codes:
            return error(400, 100, "This authorization code has expired.", subcode=36007)
        return ok({"access_token": self.codes[code], "token_type": "bearer", "expires_in": 5000})

    def me(self, request):
        token = self._token(request)
        if token == self.long_token:
            return ok({"id": self.user_id, "name": "Owner Person"})
        page = next((p for p in self.pages if p.token == token), None)
        if page is not None and token not in self.bad_tokens:
            return ok({"id": page.id, "name": page.name})
        return error(400, 190, "Error validating access token: The session has been invalidated")

    def permissions(self, request):
        refused = self._authorized(request, {self.long_token})
        if refused:
            return refused
        names = ["pages_show_list", "pages_messaging", "pages_manage_metadata", "instagram_basic",
                 "instagram_manage_messages", "business_management"]
        return ok({"data": [{"permission": n, "status": "declined" if n in self.declined else "granted"}
                            for n in names]})

    def accounts(self, request):
        refused = self._authorized(request, {self.long_token})
        if refused:
            return refused
        data = []
        for p in self.pages:
            row = {"id": p.id, "name": p.name, "access_token": p.token, "tasks": ["MESSAGING"]}
            if p.instagram_id:
                row["instagram_business_account"] = {"id": p.instagram_id, "username": p.instagram_username}
            data.append(row)
        return ok({"data": data, "paging": {"cursors": {"before": "b", "after": "a"}}})

    def subscribed_apps(self, request):
        node = urlparse(request.url).path.split("/")[-2]
        allowed = self.page_tokens() | {self.wa_token}
        refused = self._authorized(request, allowed)
        if refused:
            return refused
        if request.method == "POST":
            if self.refuse_subscribe:
                return error(403, 200, "(#200) Permissions error")
            self.subscriptions.setdefault(node, set()).add(APP_ID)
            return ok({"success": True})
        if request.method == "DELETE":
            self.subscriptions.get(node, set()).discard(APP_ID)
            return ok({"success": True})
        apps = self.subscriptions.get(node, set())
        if node in {p["waba"] for p in self.phones.values()}:
            return ok({"data": [{"whatsapp_business_api_data": {"id": a, "name": "Closer"}} for a in apps]})
        return ok({"data": [{"id": a, "name": "Closer", "subscribed_fields": ["messages"]} for a in apps]})

    def id_matching(self, request):
        if self._token(request) != f"{APP_ID}|{APP_SECRET}":
            return error(400, 190, "Invalid OAuth access token")
        asid = urlparse(request.url).path.split("/")[-2]
        return ok({"data": [{"id": psid, "page": {"id": "p", "name": "Page"}}
                            for psid in self.ids_for_pages.get(asid, [])]})

    # ------------------------------------------------------------------ WhatsApp
    def phone(self, request):
        refused = self._authorized(request, {self.wa_token})
        if refused:
            return refused
        phone_id = urlparse(request.url).path.split("/")[-1]
        info = self.phones.get(phone_id)
        if info is None:
            return error(400, 100, f"Unsupported get request. Object with ID '{phone_id}' does not exist")
        return ok({"id": phone_id, "display_phone_number": info["display"],
                   "verified_name": info["name"], "quality_rating": "GREEN"})

    def phone_numbers(self, request):
        refused = self._authorized(request, {self.wa_token})
        if refused:
            return refused
        waba = urlparse(request.url).path.split("/")[-2]
        return ok({"data": [{"id": pid} for pid, p in self.phones.items() if p["waba"] == waba]})

    def message_templates(self, request):
        refused = self._authorized(request, {self.wa_token})
        if refused:
            return refused
        q = _query(request)
        first = q.get("after") != "page2"
        rows = self.templates[:2] if first else self.templates[2:]
        paging = {"cursors": {"before": "x", "after": "page2"}, "next": f"{GRAPH}/next"} \
            if first and len(self.templates) > 2 else {"cursors": {"before": "x", "after": "end"}}
        return ok({"data": rows, "paging": paging})

    # ------------------------------------------------------------------ Instagram Login
    def ig_exchange(self, request):
        form = parse_qs(request.body if isinstance(request.body, str) else request.body.decode())
        code = (form.get("code") or [""])[0]
        if code not in self.ig_codes:
            return error(400, 100, "Invalid authorization code")
        return ok({"data": [{"access_token": self.ig_codes[code], "user_id": self.ig_user["id"],
                             "permissions": "instagram_business_basic,instagram_business_manage_messages"}]})

    def ig_access_token(self, request):
        q = _query(request)
        if q.get("access_token") not in self.ig_codes.values():
            return error(400, 190, "Invalid OAuth access token")
        return ok({"access_token": self.ig_long, "token_type": "bearer", "expires_in": 5183944})

    def ig_me(self, request):
        refused = self._authorized(request, {self.ig_long})
        if refused:
            return refused
        return ok(self.ig_user)

    def ig_subscribe(self, request):
        refused = self._authorized(request, {self.ig_long})
        if refused:
            return refused
        self.subscriptions.setdefault("ig:" + self.ig_user["user_id"], set()).add(APP_ID)
        return ok({"success": True})


def _query(request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}


def install(rsps: responses.RequestsMock) -> FakeMeta:
    fake = FakeMeta(rsps)
    g = re.escape(GRAPH)
    cb = rsps.add_callback
    cb(responses.GET, re.compile(rf"{g}/oauth/access_token"), callback=fake.oauth_access_token)
    cb(responses.GET, re.compile(rf"{g}/me/permissions"), callback=fake.permissions)
    cb(responses.GET, re.compile(rf"{g}/me/accounts"), callback=fake.accounts)
    cb(responses.GET, re.compile(rf"{g}/me(\?.*)?$"), callback=fake.me)
    for method in (responses.GET, responses.POST, responses.DELETE):
        cb(method, re.compile(rf"{g}/\d+/subscribed_apps"), callback=fake.subscribed_apps)
    cb(responses.GET, re.compile(rf"{g}/\d+/ids_for_pages"), callback=fake.id_matching)
    cb(responses.GET, re.compile(rf"{g}/\d+/phone_numbers"), callback=fake.phone_numbers)
    cb(responses.GET, re.compile(rf"{g}/\d+/message_templates"), callback=fake.message_templates)
    cb(responses.GET, re.compile(rf"{g}/\d+(\?.*)?$"), callback=fake.phone)
    i = re.escape(IG_API)
    cb(responses.POST, re.compile(rf"{re.escape(IG_TOKEN)}/oauth/access_token"), callback=fake.ig_exchange)
    cb(responses.GET, re.compile(rf"{i}/access_token"), callback=fake.ig_access_token)
    cb(responses.GET, re.compile(rf"{i}/me(\?.*)?$"), callback=fake.ig_me)
    cb(responses.POST, re.compile(rf"{i}/me/subscribed_apps"), callback=fake.ig_subscribe)
    return fake
