"""Channel health: is each channel still receiving and sending, and can it?

- last inbound message and last send error (recorded by app.services.outbound);
- token validity and webhook subscription, checked by a periodic job (`check_due`) every
  CHANNEL_CHECK_MINUTES: Meta unsubscribes a Page after an hour of failed deliveries, and a
  Page that lost its subscription goes silent rather than failing, so silence is watched too;
- the quiet alarm: the channel's inbound traffic by hour of day over the two weeks before its
  last message says how many messages its silence would usually have brought; when that is at
  least CHANNEL_QUIET_EXPECTED, the silence is unusual (at 5, an ordinary lull that long has
  under a 1% chance). A channel with too little history to say is never called quiet.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Integer, cast, extract, func, or_, select

from app.clients import meta_accounts as meta
from app.clients.graph import ChannelAuthError, GraphError, TransientGraphError
from app.extensions import db
from app.models import Channel, ChannelConnection, ChannelStatus, Direction, Message, Platform, utcnow, as_utc
from app.services.integrations.whatsapp import sync_templates

log = logging.getLogger(__name__)

BASELINE = timedelta(days=14)
MIN_HISTORY_MESSAGES = 20
MIN_HISTORY_DAYS = 2
MIN_SILENCE = timedelta(hours=1)
REFRESH_WHEN_LEFT = timedelta(days=10)  # Instagram Login tokens: refresh before they lapse
CHECK_BATCH = 200
REAUTH = "Reconnect needed: "


@dataclass
class Health:
    channel: Channel
    last_inbound_at: datetime | None
    state: str  # ok | quiet | error | none (never received anything) | disconnected
    problems: list[str] = field(default_factory=list)
    expected: float = 0.0


def last_inbound(tenant_id: int) -> dict[int, datetime]:
    rows = db.session.execute(
        select(Message.channel_id, func.max(Message.created_at))
        .where(Message.tenant_id == tenant_id, Message.direction == Direction.IN)
        .group_by(Message.channel_id)).all()
    return {channel_id: as_utc(at) for channel_id, at in rows}


def _hour_of_day(column):
    if db.engine.dialect.name == "postgresql":
        return cast(extract("hour", func.timezone("UTC", column)), Integer)
    return cast(func.strftime("%H", column), Integer)


def expected_messages(channel: Channel, last_in: datetime, now: datetime) -> float:
    """How many inbound messages the channel's usual traffic would have brought between its
    last message and now (0 when its history is too thin to say)."""
    start = last_in - BASELINE
    hour = _hour_of_day(Message.created_at)
    rows = db.session.execute(
        select(hour, func.count(), func.min(Message.created_at))
        .where(Message.channel_id == channel.id, Message.tenant_id == channel.tenant_id,
               Message.direction == Direction.IN, Message.created_at >= start,
               Message.created_at <= last_in)
        .group_by(hour)).all()
    total = sum(count for _, count, _ in rows)
    if total < MIN_HISTORY_MESSAGES:
        return 0.0
    first = min(as_utc(first) for _, _, first in rows)
    days = (last_in - first).total_seconds() / 86400
    if days < MIN_HISTORY_DAYS:
        return 0.0
    rate = {int(h): count / days for h, count, _ in rows if h is not None}  # per hour of day
    expected, cursor = 0.0, last_in
    while cursor < now:
        step_end = min(now, cursor.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        expected += rate.get(cursor.hour, 0.0) * (step_end - cursor).total_seconds() / 3600
        cursor = step_end
    return expected


def assess(channel: Channel, last_in: datetime | None, now: datetime | None = None) -> Health:
    now = now or utcnow()
    if channel.status == ChannelStatus.DISABLED:
        return Health(channel, last_in, "disconnected", [channel.last_error or "Disconnected"])
    problems = []
    if channel.status == ChannelStatus.ERROR:
        problems.append(channel.last_error or "The channel has an error")
    if channel.token_valid is False:
        problems.append("The access token no longer works: reconnect the channel")
    if channel.subscribed is False:
        problems.append("Meta is not sending this channel's messages to Closer: resubscribe")
    if problems:
        return Health(channel, last_in, "error", problems)
    if last_in is None:
        return Health(channel, None, "none")
    expected = 0.0
    if now - last_in >= MIN_SILENCE and channel.platform != Platform.PLAYGROUND:
        expected = expected_messages(channel, last_in, now)
    if expected >= current_app.config["CHANNEL_QUIET_EXPECTED"]:
        hours = (now - last_in).total_seconds() / 3600
        return Health(channel, last_in, "quiet", [
            f"No message for {hours:.0f} h, where about {expected:.0f} would usually have come: "
            "check that the channel is still subscribed"], expected)
    return Health(channel, last_in, "ok", expected=expected)


def overview(tenant_id: int) -> list[Health]:
    channels = db.session.scalars(select(Channel).where(Channel.tenant_id == tenant_id)
                                  .order_by(Channel.platform, Channel.name)).all()
    last = last_inbound(tenant_id)
    now = utcnow()
    return [assess(c, last.get(c.id), now) for c in channels]


def refresh_quiet(now: datetime | None = None) -> int:
    """Mark channels that have gone unusually quiet (and unmark those that have not), for the
    alarm every page shows. Channels Meta delivered anything for within the hour are skipped
    cheaply. Returns how many are quiet."""
    now = now or utcnow()
    rows = db.session.scalars(select(Channel).where(
        Channel.status != ChannelStatus.DISABLED, Channel.platform != Platform.PLAYGROUND)).all()
    quiet = 0
    for channel in rows:
        heard = as_utc(channel.last_webhook_at)
        state = None
        if heard is None or now - heard >= MIN_SILENCE:
            last_in = as_utc(db.session.scalar(select(func.max(Message.created_at)).where(
                Message.channel_id == channel.id, Message.tenant_id == channel.tenant_id,
                Message.direction == Direction.IN)))
            if last_in is not None:
                state = assess(channel, last_in, now).state
        if state == "quiet":
            channel.quiet_since = channel.quiet_since or now
            quiet += 1
        else:
            channel.quiet_since = None
    db.session.commit()
    return quiet


def alarm_count(tenant_id: int) -> int:
    """Channels of the tenant that need someone's attention: broken, unsubscribed or quiet."""
    return db.session.scalar(select(func.count()).select_from(Channel).where(
        Channel.tenant_id == tenant_id, Channel.status != ChannelStatus.DISABLED,
        Channel.platform != Platform.PLAYGROUND,
        or_(Channel.status == ChannelStatus.ERROR, Channel.token_valid.is_(False),
            Channel.subscribed.is_(False), Channel.quiet_since.is_not(None)))) or 0


# ------------------------------------------------------------------------------ the periodic check


def check_due(now: datetime | None = None) -> int:
    """Check every connected channel not checked for CHANNEL_CHECK_MINUTES. Returns how many.
    Each channel is loaded and saved around its own Graph calls: no transaction stays open
    while Meta answers."""
    now = now or utcnow()
    due = now - timedelta(minutes=current_app.config["CHANNEL_CHECK_MINUTES"])
    ids = db.session.scalars(
        select(Channel.id).where(Channel.status != ChannelStatus.DISABLED,
                                 Channel.platform != Platform.PLAYGROUND,
                                 Channel.access_token.is_not(None),
                                 or_(Channel.token_checked_at.is_(None), Channel.token_checked_at < due))
        .order_by(Channel.token_checked_at.is_not(None), Channel.token_checked_at).limit(CHECK_BATCH)).all()
    db.session.commit()
    for channel_id in ids:
        check(channel_id)
    return len(ids)


def check(channel_id: int) -> None:
    """Check one channel's token and subscription now and record what was found."""
    channel = db.session.get(Channel, channel_id)
    if channel is None or not channel.access_token:
        return
    db.session.commit()
    try:
        _check_token(channel)
    except TransientGraphError as exc:
        db.session.rollback()
        log.info("channel %s: health check postponed (%s)", channel_id, exc)
        return
    except ChannelAuthError as exc:
        channel.token_valid = False
        channel.status, channel.last_error = ChannelStatus.ERROR, REAUTH + exc.describe()
    except GraphError as exc:
        channel.last_error = f"Health check: {exc.describe()}"
    else:
        channel.token_valid = True
        if channel.status == ChannelStatus.ERROR and (channel.last_error or "").startswith(REAUTH):
            channel.status, channel.last_error = ChannelStatus.ACTIVE, None
        _check_subscription(channel)
        _sync_templates(channel)
    channel.token_checked_at = utcnow()
    db.session.commit()


def _sync_templates(channel: Channel) -> None:
    """A WhatsApp number's templates approved since the last check become usable."""
    if channel.platform != Platform.WHATSAPP or not channel.waba_id:
        return
    try:
        sync_templates(channel)
    except GraphError as exc:
        log.info("channel %s: templates not fetched (%s)", channel.id, exc.describe())


def _check_token(channel: Channel) -> None:
    config = current_app.config
    if channel.connected_via == ChannelConnection.INSTAGRAM_LOGIN:
        meta.instagram_me(config["INSTAGRAM_API_BASE"], channel.access_token)
        expires = as_utc(channel.token_expires_at)
        if expires is not None and expires - utcnow() < REFRESH_WHEN_LEFT:
            token, seconds = meta.instagram_refresh(config["INSTAGRAM_API_BASE"], channel.access_token)
            channel.access_token = token
            channel.token_expires_at = utcnow() + timedelta(seconds=seconds) if seconds else None
    elif channel.platform == Platform.WHATSAPP:
        meta.phone_number(config["GRAPH_API_BASE"], channel.external_id, channel.access_token)
    else:
        meta.me(config["GRAPH_API_BASE"], channel.access_token)


def _check_subscription(channel: Channel) -> None:
    """Whether our app is still among the account's subscribed apps (unknowable without our
    app id, and for Instagram Login, which has no such list)."""
    app_id = str(current_app.config.get("META_APP_ID") or "")
    if not app_id or channel.connected_via == ChannelConnection.INSTAGRAM_LOGIN:
        return
    node = channel.waba_id if channel.platform == Platform.WHATSAPP else (channel.page_id or channel.external_id)
    if not node:
        return
    try:
        apps = meta.subscribed_app_ids(current_app.config["GRAPH_API_BASE"], node, channel.access_token)
    except GraphError as exc:
        log.info("channel %s: subscription not readable (%s)", channel.id, exc.describe())
        return
    channel.subscribed = app_id in apps
