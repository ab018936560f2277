"""Instagram professional accounts without a Facebook Page, through Instagram Login.

The account gets its own long-lived token (60 days; the health job refreshes it) and is keyed
by the `user_id` of `GET /me`, which is the id Instagram's webhooks carry as entry.id.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode

from flask import current_app

from app.clients import meta_accounts as meta
from app.clients.graph import GraphError
from app.extensions import db
from app.models import ChannelConnection, Platform, utcnow
from app.services.integrations import ConnectError, callback_url, instagram_app
from app.services.integrations.channels import claim, mark_connected, try_subscribe
from app.services.integrations.facebook import CODE_REFUSED, Outcome
from app.services.integrations.state import check_state, make_state

log = logging.getLogger(__name__)
PROVIDER = "instagram"


def begin(tenant_id: int, user_id: int) -> str:
    app = instagram_app()
    query = urlencode({
        "client_id": app.app_id, "redirect_uri": callback_url(PROVIDER), "response_type": "code",
        "scope": meta.INSTAGRAM_SCOPES, "state": make_state(tenant_id, user_id, PROVIDER),
    })
    return f"{current_app.config['INSTAGRAM_LOGIN_BASE'].rstrip('/')}/oauth/authorize?{query}"


def finish(args, user_id: int, allowed_tenants: list[int]) -> tuple[int, Outcome]:
    tenant_id = check_state(args.get("state"), user_id, PROVIDER)
    if tenant_id not in allowed_tenants:
        raise ConnectError("You no longer have access to that store: nothing was connected.")
    if args.get("error") or args.get("error_reason"):
        raise ConnectError("You did not allow Closer to manage your Instagram messages, so nothing "
                           "was connected. Connect again and allow it.")
    code = args.get("code")
    if not code:
        raise ConnectError(CODE_REFUSED)
    app, config = instagram_app(), current_app.config
    try:
        short, app_user_id = meta.instagram_exchange_code(config["INSTAGRAM_TOKEN_BASE"], app, code,
                                                callback_url(PROVIDER))
    except GraphError as exc:
        log.info("instagram connect: code refused: %s", exc.describe())
        raise ConnectError(CODE_REFUSED) from exc
    try:
        token, expires_in = meta.instagram_long_lived(config["INSTAGRAM_API_BASE"], app, short)
        account = meta.instagram_me(config["INSTAGRAM_API_BASE"], token)
    except GraphError as exc:
        raise ConnectError(f"Instagram refused to identify the account ({exc}). Connect again.") from exc
    if not account["user_id"]:
        raise ConnectError("Instagram did not say which account signed in. Connect again.")
    label = f"@{account['username']}" if account["username"] else account["name"] or account["user_id"]
    channel = claim(tenant_id, Platform.INSTAGRAM, account["user_id"], label)
    channel.name = label[:120]
    mark_connected(channel, token=token, via=ChannelConnection.INSTAGRAM_LOGIN, user_id=user_id,
                   display_name=label)
    channel.page_id = None
    # Instagram's deauthorize callback names the person by the id the code exchange returned.
    channel.connected_meta_user_id = app_user_id or None
    channel.token_expires_at = utcnow() + timedelta(seconds=expires_in) if expires_in else None
    db.session.flush()
    outcome = Outcome(connected=[channel.name])
    note = try_subscribe(channel)
    outcome.notes += [note] if note else []
    db.session.commit()
    return tenant_id, outcome
