"""Claiming a channel for a tenant, disconnecting it, and subscribing it again.

An account (Page, Instagram account, WhatsApp number) belongs to at most one tenant: the
(platform, external_id) key is unique across tenants. Connecting an account another tenant has
is refused, without saying whose it is; connecting one's own again refreshes it (reconnect).
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select

from app.clients import meta_accounts as meta
from app.clients.graph import GraphError
from app.extensions import db
from app.models import Channel, ChannelConnection, ChannelStatus, Platform, utcnow
from app.security.tenancy import unguarded
from app.services.integrations import ConnectError

log = logging.getLogger(__name__)

LABELS = {"messenger": "Facebook Page", "instagram": "Instagram account",
          "whatsapp": "WhatsApp number"}


class ChannelTaken(ConnectError):
    """The account is connected to another tenant."""


def claim(tenant_id: int, platform: str, external_id: str, name: str) -> Channel:
    """This tenant's channel for the account (new, or its own from before)."""
    with unguarded():  # the account may be another tenant's: that must be seen to be refused
        channel = db.session.scalar(select(Channel).where(
            Channel.platform == platform, Channel.external_id == external_id))
    if channel is not None and channel.tenant_id != tenant_id:
        raise ChannelTaken(f"The {LABELS.get(platform, platform)} {name} is already connected "
                           "to another Closer store. Disconnect it there first.")
    if channel is None:
        channel = Channel(tenant_id=tenant_id, platform=platform, external_id=external_id,
                          name=name[:120])
        db.session.add(channel)
    return channel


def mark_connected(channel: Channel, *, token: str, via: ChannelConnection, user_id: int | None,
                   display_name: str | None = None) -> None:
    """A fresh token from a successful sign-in: the channel works again."""
    now = utcnow()
    channel.access_token = token
    channel.status = ChannelStatus.ACTIVE
    channel.last_error = None
    channel.connected_via = via.value
    channel.connected_by_id = user_id
    channel.display_name = (display_name or channel.display_name or "")[:160] or None
    channel.token_valid, channel.token_checked_at = True, now


def _graph_base(channel: Channel) -> str:
    if channel.connected_via == ChannelConnection.INSTAGRAM_LOGIN:
        return current_app.config["INSTAGRAM_API_BASE"]
    return current_app.config["GRAPH_API_BASE"]


def subscribe(channel: Channel) -> None:
    """(Re)subscribe our app to the account's webhooks; raises GraphError."""
    token = channel.access_token
    if channel.connected_via == ChannelConnection.INSTAGRAM_LOGIN:
        meta.instagram_subscribe(_graph_base(channel), token)
    elif channel.platform == Platform.WHATSAPP:
        if not channel.waba_id:
            raise ConnectError("This number has no WhatsApp Business Account id: connect it again.")
        meta.subscribe_waba(_graph_base(channel), channel.waba_id, token)
    else:
        meta.subscribe_page(_graph_base(channel), channel.page_id or channel.external_id, token)
    channel.subscribed = True


def try_subscribe(channel: Channel) -> str | None:
    """Subscribe, returning what went wrong (the channel stays connected, flagged unsubscribed)."""
    try:
        subscribe(channel)
        return None
    except (GraphError, ConnectError) as exc:
        channel.subscribed = False
        reason = exc.describe() if isinstance(exc, GraphError) else str(exc)
        log.warning("channel %s: subscribing failed: %s", channel.id, reason)
        return (f"{channel.name} is connected, but Meta refused to send us its messages "
                f"({reason}). Use Resubscribe on the integrations page.")


def resubscribe(channel: Channel) -> None:
    """One click: ask Meta again to deliver this account's messages (after Meta dropped us)."""
    if channel.status == ChannelStatus.DISABLED or not channel.access_token:
        raise ConnectError(f"{channel.name} is disconnected: connect it again instead.")
    try:
        subscribe(channel)
    except GraphError as exc:
        channel.subscribed = False
        db.session.commit()
        raise ConnectError(f"Meta refused to resubscribe {channel.name}: {exc.describe()}") from exc
    db.session.commit()


def _shares_subscription(channel: Channel) -> bool:
    """Another live channel of ours hangs on the same Page or WABA subscription."""
    node = channel.waba_id if channel.platform == Platform.WHATSAPP else (channel.page_id or channel.external_id)
    if not node:
        return False
    key = Channel.waba_id if channel.platform == Platform.WHATSAPP else Channel.page_id
    others = select(Channel.id).where(Channel.id != channel.id, Channel.status != ChannelStatus.DISABLED)
    if channel.platform == Platform.WHATSAPP:
        others = others.where(key == node)
    else:  # a Page's Messenger channel and the Instagram account reached through it
        others = others.where((Channel.page_id == node) | (Channel.external_id == node))
    with unguarded():
        return db.session.scalar(others.limit(1)) is not None


def disconnect(channel: Channel, user_name: str) -> str | None:
    """Stop the channel: unsubscribe (unless another live channel shares the subscription),
    forget its token, and refuse its webhooks and sends from now on. Returns a warning if Meta
    could not be told (the channel is disconnected on our side all the same)."""
    warning = None
    token = channel.access_token
    if token and not _shares_subscription(channel):
        try:
            if channel.platform == Platform.WHATSAPP and channel.waba_id:
                meta.unsubscribe_waba(_graph_base(channel), channel.waba_id, token)
            elif channel.platform in (Platform.MESSENGER, Platform.INSTAGRAM) and \
                    channel.connected_via != ChannelConnection.INSTAGRAM_LOGIN:
                meta.unsubscribe_page(_graph_base(channel), channel.page_id or channel.external_id, token)
        except GraphError as exc:
            warning = f"Meta could not be told to stop sending ({exc.describe()}); we ignore them anyway."
    channel.status = ChannelStatus.DISABLED
    channel.subscribed = False
    channel.access_token = None
    channel.token_valid = None
    channel.last_error = f"Disconnected by {user_name} on {utcnow():%Y-%m-%d %H:%M} UTC"
    db.session.commit()
    return warning
