"""Connect Facebook Pages (and the Instagram accounts linked to them) with Facebook Login.

begin() builds the dialog URL; finish() takes the callback: it checks the state, exchanges the
code for a user token and that for a long-lived one, refuses a sign-in that withheld the
messaging permissions, lists the Pages and connects the Page at once when there is one. With
several, they wait (encrypted, in Redis, for minutes) for the person to choose on the chooser
page; the session carries only a random key. Page tokens never reach a page, a log or a job.
"""
from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import current_app

from app.clients import meta_accounts as meta
from app.clients.graph import GraphError
from app.extensions import db
from app.models import ChannelConnection, Platform, utcnow
from app.security.crypto import current_fernet
from app.services.integrations import ConnectError, callback_url, meta_app
from app.services.integrations.channels import (
    ChannelTaken,
    claim,
    mark_connected,
    try_subscribe,
)
from app.services.integrations.state import check_state, make_state

log = logging.getLogger(__name__)

PROVIDER = "facebook"
REQUIRED = ("pages_show_list", "pages_messaging", "pages_manage_metadata")
PENDING_KEY = "connect-pending:{}"
PENDING_SECONDS = 900
DENIED = ("You did not allow Closer to manage your Pages' messages, so nothing was connected. "
          "Connect again and keep every permission ticked.")
CODE_REFUSED = ("Facebook did not accept the sign-in: its code expires after a few minutes and "
                "works only once. Please connect again.")


@dataclass
class Outcome:
    connected: list[str] = field(default_factory=list)  # names of the channels connected
    notes: list[str] = field(default_factory=list)       # what went wrong beside them
    pending: str | None = None                           # chooser key when several Pages


def begin(tenant_id: int, user_id: int) -> str:
    app = meta_app()
    query = urlencode({
        "client_id": app.app_id, "redirect_uri": callback_url(PROVIDER),
        "state": make_state(tenant_id, user_id, PROVIDER), "response_type": "code",
        "scope": current_app.config["META_LOGIN_SCOPES"],
    })
    return f"{current_app.config['META_DIALOG_BASE'].rstrip('/')}/dialog/oauth?{query}"


def finish(args, user_id: int, allowed_tenants: list[int]) -> tuple[int, Outcome]:
    """(tenant, outcome) for the dialog's callback query `args`; ConnectError says why not."""
    tenant_id = check_state(args.get("state"), user_id, PROVIDER)
    if tenant_id not in allowed_tenants:
        raise ConnectError("You no longer have access to that store: nothing was connected.")
    if args.get("error") or args.get("error_reason"):
        raise ConnectError(DENIED)
    code = args.get("code")
    if not code:
        raise ConnectError(CODE_REFUSED)
    app, base = meta_app(), current_app.config["GRAPH_API_BASE"]
    try:
        short = meta.exchange_code(base, app, code, callback_url(PROVIDER))
    except GraphError as exc:
        log.info("facebook connect: code refused: %s", exc.describe())
        raise ConnectError(CODE_REFUSED) from exc
    try:
        user_token, _ = meta.long_lived_user_token(base, app, short)
        declined = meta.declined_permissions(base, user_token) & set(REQUIRED)
        if declined:
            raise ConnectError(f"You declined {', '.join(sorted(declined))}, which Closer needs to "
                               "answer your Pages' messages. Connect again and allow it.")
        person = meta.me(base, user_token)
        pages = meta.list_pages(base, user_token)
    except GraphError as exc:
        log.info("facebook connect: Graph refused: %s", exc.describe())
        raise ConnectError(f"Facebook refused to list your Pages ({exc}). Please connect again.") from exc
    if not pages:
        raise ConnectError("No Page was shared with Closer. Connect again and choose the Page to "
                           "connect in Facebook's dialog.")
    if len(pages) == 1:
        return tenant_id, connect_page(tenant_id, user_id, person["id"], pages[0])
    return tenant_id, Outcome(pending=_stash(tenant_id, user_id, person["id"], pages))


def connect_page(tenant_id: int, user_id: int, meta_user_id: str, page: meta.PageInfo) -> Outcome:
    """Create or refresh the Page's Messenger channel and its Instagram channel, subscribed."""
    outcome = Outcome()
    try:
        channel = claim(tenant_id, Platform.MESSENGER, page.id, page.name)
    except ChannelTaken:
        db.session.rollback()
        raise
    channel.name = page.name[:120]
    mark_connected(channel, token=page.token, via=ChannelConnection.FACEBOOK_LOGIN, user_id=user_id,
                   display_name=page.name)
    channel.connected_meta_user_id = meta_user_id or None
    channel.page_id = page.id
    db.session.flush()
    note = try_subscribe(channel)
    outcome.connected.append(channel.name)
    outcome.notes += [note] if note else []
    if page.instagram_id:
        label = f"@{page.instagram_username}" if page.instagram_username else f"{page.name} (Instagram)"
        try:
            ig = claim(tenant_id, Platform.INSTAGRAM, page.instagram_id, label)
        except ChannelTaken as exc:
            outcome.notes.append(str(exc))
        else:
            ig.name = label[:120]
            mark_connected(ig, token=page.token, via=ChannelConnection.FACEBOOK_LOGIN,
                           user_id=user_id, display_name=f"{label} via {page.name}")
            ig.connected_meta_user_id = meta_user_id or None
            ig.page_id = page.id
            ig.subscribed = channel.subscribed  # the Page's subscription carries its Instagram
            outcome.connected.append(ig.name)
    db.session.commit()
    return outcome


# ------------------------------------------------------------------------------ chooser


def _stash(tenant_id: int, user_id: int, meta_user_id: str, pages: list[meta.PageInfo]) -> str:
    key = secrets.token_urlsafe(16)
    blob = json.dumps({"t": tenant_id, "u": user_id, "m": meta_user_id, "at": utcnow().isoformat(),
                       "pages": [vars(p) for p in pages]})
    current_app.extensions["redis"].set(PENDING_KEY.format(key),
                                        current_fernet().encrypt(blob.encode()), ex=PENDING_SECONDS)
    return key


def _pending(key: str | None, tenant_id: int, user_id: int) -> dict:
    raw = current_app.extensions["redis"].get(PENDING_KEY.format(key)) if key else None
    if raw is None:
        raise ConnectError("The list of Pages expired: please connect again.")
    data = json.loads(current_fernet().decrypt(raw))
    if data["t"] != tenant_id or data["u"] != user_id:
        raise ConnectError("That list of Pages belongs to another sign-in: please connect again.")
    return data


def pending_tenant(key: str | None, user_id: int) -> int:
    """The tenant a chooser key was made for (its owner checked: the user must match)."""
    raw = current_app.extensions["redis"].get(PENDING_KEY.format(key)) if key else None
    if raw is None:
        raise ConnectError("The list of Pages expired: please connect again.")
    data = json.loads(current_fernet().decrypt(raw))
    if data["u"] != user_id:
        raise ConnectError("That list of Pages belongs to another sign-in: please connect again.")
    return data["t"]


def pending_pages(key: str | None, tenant_id: int, user_id: int) -> list[dict]:
    """What the chooser shows: ids and names only, never the tokens."""
    return [{"id": p["id"], "name": p["name"], "instagram": p.get("instagram_username") or
             (p["instagram_id"] and "linked Instagram account")}
            for p in _pending(key, tenant_id, user_id)["pages"]]


def choose(key: str | None, page_id: str, tenant_id: int, user_id: int) -> Outcome:
    data = _pending(key, tenant_id, user_id)
    page = next((meta.PageInfo(**p) for p in data["pages"] if p["id"] == page_id), None)
    if page is None:
        raise ConnectError("That Page was not in the list Facebook gave us.")
    outcome = connect_page(tenant_id, user_id, data["m"], page)
    current_app.extensions["redis"].delete(PENDING_KEY.format(key))
    return outcome
