"""The normalized event every platform adapter parses into, and the adapter contract.

An adapter turns one platform's webhook payload into `InboundEvent`s (parse) and delivers one
stored outbound message (send). It never touches the database: ingest and outbound services do.
"""
from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from app.channels.fields import kind_of

log = logging.getLogger(__name__)


class EventKind(enum.StrEnum):
    MESSAGE = "message"        # a customer's message (text, attachment, quick reply, ...)
    ECHO = "echo"              # something the business sent (from us or from another app)
    EDIT = "edit"              # the customer edited a message
    DELETE = "delete"          # the customer unsent a message
    REACTION = "reaction"      # a reaction to a message
    DELIVERY = "delivery"      # our messages reached the customer's device
    READ = "read"              # the customer read our messages
    STATUS = "status"          # WhatsApp status of one of our messages (sent/delivered/read/failed)
    REFERRAL = "referral"      # the customer arrived from an ad / link (no message)
    OPTIN = "optin"
    PREFERENCE = "preference"  # WhatsApp: marketing messages stopped/resumed (status stop|resume)


@dataclass
class InboundEvent:
    """One thing that happened on a channel, in platform-neutral terms."""

    platform: str
    kind: EventKind
    account_id: str                      # page id / IG account id / WhatsApp phone_number_id
    customer_id: str | None = None       # PSID / IGSID / wa_id (or BSUID)
    timestamp: datetime | None = None
    message_id: str | None = None        # mid / wamid of the message this event is or concerns
    message_kind: str = "text"           # text|image|audio|video|file|location|sticker|...
    text: str | None = None
    payload: str | None = None           # quick reply / postback / button payload
    customer_name: str | None = None
    customer_phone: str | None = None
    status: str | None = None            # delivered|read|sent|failed (STATUS / DELIVERY / READ)
    watermark: datetime | None = None    # Messenger delivery/read watermark
    mids: list[str] = field(default_factory=list)
    error: str | None = None
    app_id: str | None = None            # echoes: which app sent it
    referral: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def graph_for(channel):
    """A Graph API client for this channel: base URL from settings, its decrypted token.

    An Instagram account connected through Instagram Login (no Page) talks to Instagram's own
    host with its own token, and its proof of the app secret uses Instagram Login's secret."""
    from flask import current_app

    from app.clients.graph import GraphClient

    config = current_app.config
    if getattr(channel, "connected_via", None) == "instagram_login":
        return GraphClient(config["INSTAGRAM_API_BASE"], channel.access_token,
                           app_secret=config.get("INSTAGRAM_APP_SECRET") or config.get("META_APP_SECRET"))
    return GraphClient(
        config["GRAPH_API_BASE"], channel.access_token,
        app_secret=config.get("META_APP_SECRET"),
    )


@dataclass
class Parsed:
    """What an adapter read from one delivery: its events, and the ones it had to skip, each
    as "where: why" (e.g. "entry[0].messaging[2]: sender is a list, not an object")."""

    events: list[InboundEvent] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def skip(self, where: str, why: str) -> None:
        self.skipped.append(f"{where}: {why}")

    def entries(self, body: dict[str, Any]) -> list[tuple[str, dict]]:
        """The delivery's `entry[]` objects, each with where it is; any other is skipped."""
        entries = body.get("entry")
        if entries is None:
            return []
        if not isinstance(entries, list):
            self.skip("delivery", f"entry is {kind_of(entries)}, not a list")
            return []
        found = []
        for i, entry in enumerate(entries):
            if isinstance(entry, dict):
                found.append((f"entry[{i}]", entry))
            else:
                self.skip(f"entry[{i}]", f"is {kind_of(entry)}, not an object")
        return found

    def logged(self, platform: str) -> "Parsed":
        if self.skipped:
            log.warning("%s: skipped %d unreadable events: %s", platform, len(self.skipped),
                        "; ".join(self.skipped[:5]))
        return self


@dataclass
class SendResult:
    external_id: str | None


class ChannelAdapter(Protocol):
    """What a platform adapter provides (one per platform, registered in app.channels)."""

    platform: str

    def parse(self, body: dict[str, Any], arrival: datetime) -> Parsed:
        """Every event in a webhook body, read event by event: one that can't be read is
        skipped with its reason and never stops the others. `arrival` dates events whose own
        time can't be read. Never raises."""

    def send(self, channel, recipient_id: str, message, *, tag: str | None = None) -> SendResult:
        """Deliver one stored outbound message; raises app.clients.graph errors."""
