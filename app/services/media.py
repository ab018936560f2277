"""Customers' images in the inbox, shown from our own origin (and WhatsApp files, downloaded).

The admin's Content-Security-Policy loads images from this origin only, and Meta's media are
not ours to embed anyway: Messenger/Instagram CDN URLs are signed and expire, WhatsApp media
need the channel's token. So the page asks `/inbox/media/<message_id>/<n>` and this service
decides: the message must be in the active tenant, its n-th attachment an image with a source
we can fetch (a CDN URL on the allow-list, or a WhatsApp media id), and the bytes must prove
to be an image (app/clients/media.py). Results, good or bad, are kept for a while in a small
per-process cache: a thread re-rendered, or re-polled, doesn't fetch again, and an image
fetched once still shows after its CDN URL has expired.

WhatsApp videos, voice notes and documents have no URL staff could open at all (their media
need the token too), so the same route hands them over as downloads: octet-stream and
`Content-Disposition: attachment`, never rendered on our origin. Messenger/Instagram ones
stay links to their CDN URL.
"""
from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from app.channels.base import graph_for
from app.clients import media as client
from app.extensions import db
from app.models import Channel, Message, Platform

INLINE_KINDS = ("image", "sticker")
# WhatsApp media have no URL a browser could open: these are offered as downloads instead
DOWNLOAD_KINDS = ("video", "audio", "document")
WHATSAPP_MEDIA = ("image", "video", "audio", "document", "sticker")
MAX_ATTACHMENTS = 10
KEEP_IMAGE_SECONDS = 7 * 24 * 3600
# a failure is remembered so a reload doesn't ask Meta again at once; "unavailable" may pass
KEEP_FAILURE_SECONDS = {"unavailable": 60}
KEEP_OTHER_FAILURE_SECONDS = 3600


MediaError = client.MediaError  # what a caller catches: `reason` says why it can't be shown


class NotFound(Exception):
    """No such message in this tenant, or nothing we serve at that position: a 404."""


@dataclass(frozen=True)
class Attachment:
    type: str
    url: str | None = None        # a CDN URL (Messenger, Instagram) or a product image we sent
    media_id: str | None = None   # a WhatsApp media id (fetched with the channel's token)
    filename: str | None = None   # what a WhatsApp document was called, made safe


@dataclass(frozen=True)
class File:
    """A WhatsApp video, voice note or document, handed over as a download, never rendered."""

    content: bytes
    filename: str


@dataclass(frozen=True)
class Failure:
    """A remembered failed fetch (its error class and detail)."""

    kind: type[client.MediaError]
    detail: str


def attachments(m: Message) -> list[Attachment]:
    """Media a message carries, from its stored payload (never trusted for type)."""
    payload = m.payload if isinstance(m.payload, dict) else {}
    found = []
    image = payload.get("image_url")
    if isinstance(image, str) and image.startswith(("https://", "http://")):
        found.append(Attachment("image", url=image))
    raw = payload.get("raw") if isinstance(payload.get("raw"), dict) else {}
    message = raw.get("message") if isinstance(raw.get("message"), dict) else {}
    items = message.get("attachments") if isinstance(message.get("attachments"), list) else []
    for att in items[:MAX_ATTACHMENTS]:
        if not isinstance(att, dict):
            continue
        kind = att.get("type") if isinstance(att.get("type"), str) else "file"
        inner = att.get("payload") if isinstance(att.get("payload"), dict) else {}
        url = inner.get("url")
        found.append(Attachment(kind[:32], url=url if isinstance(url, str)
                                and url.startswith("https://") and len(url) < 2000 else None))
    kind = raw.get("type") if isinstance(raw.get("type"), str) else None
    if kind in WHATSAPP_MEDIA and isinstance(raw.get(kind), dict):
        media_id = raw[kind].get("id")
        found.append(Attachment(kind, media_id=media_id if isinstance(media_id, str)
                                and media_id.isdigit() and len(media_id) <= 40 else None,
                                filename=_safe_name(raw[kind].get("filename"))))
    return found


def _safe_name(name) -> str | None:
    if not isinstance(name, str):
        return None
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:80]
    return safe or None


def inline(att: Attachment) -> bool:
    """Whether the page shows this attachment as an image through our proxy."""
    if att.type not in INLINE_KINDS:
        return False
    if att.media_id:
        return True
    return bool(att.url) and client.allowed(att.url, _sources())


def downloadable(att: Attachment) -> bool:
    """Whether the page offers this attachment as a download through our proxy."""
    return att.type in DOWNLOAD_KINDS and att.media_id is not None


def get(tenant_id: int, message_id: int, n: int) -> client.Image | File:
    """The n-th attachment of a message of this tenant: checked image bytes for an image,
    a File for a WhatsApp video, voice note or document.

    Raises:
        NotFound: not this tenant's message, or nothing we serve at n.
        MediaError: it can't be fetched (expired, too large, not an image, Meta down).
    """
    msg = db.session.scalar(select(Message).where(Message.id == message_id,
                                                  Message.tenant_id == tenant_id))
    found = attachments(msg) if msg is not None else []
    if not 0 <= n < len(found) or not (inline(found[n]) or downloadable(found[n])):
        raise NotFound()
    att = found[n]
    # files are not kept (large, rarely opened twice, and their media id outlives the URL);
    # what failed is, either way
    key = (tenant_id, message_id, n, att.url or att.media_id)
    cache = _cache()
    hit = cache.get(key)
    if hit is None:
        try:
            hit = _fetch(msg, att)
        except client.MediaError as exc:
            current_app.logger.info("inbox media %s/%s: %s (%s)", message_id, n, exc.reason, exc)
            hit = Failure(type(exc), str(exc))
        if not isinstance(hit, File):
            cache.put(key, hit)
    if isinstance(hit, Failure):
        raise hit.kind(hit.detail)  # a fresh exception each time: no traceback piles up
    return hit


def _fetch(msg: Message, att: Attachment) -> client.Image | File:
    config = current_app.config
    limit, sources = config["MEDIA_MAX_BYTES"], _sources()
    if att.media_id is None:
        return client.fetch_image(att.url, sources=sources, max_bytes=limit)
    channel = db.session.scalar(select(Channel).where(Channel.id == msg.channel_id,
                                                      Channel.tenant_id == msg.tenant_id))
    if channel is None or channel.platform != Platform.WHATSAPP:
        raise client.MediaUnavailable("no WhatsApp channel for this message")
    graph = graph_for(channel)
    url = client.whatsapp_media_url(graph, att.media_id, channel.external_id, limit)
    if att.type in INLINE_KINDS:
        return client.fetch_image(url, sources=sources, max_bytes=limit, token=graph.token)
    body, _ = client.download(url, sources=sources, max_bytes=limit, token=graph.token)
    return File(body, att.filename or f"{att.type}-{msg.id}")


def _sources() -> tuple[str, ...]:
    return tuple(current_app.config.get("META_MEDIA_SOURCES") or ())


def _cache() -> "ImageCache":
    return current_app.extensions.setdefault(
        "media_cache", ImageCache(current_app.config["MEDIA_CACHE_BYTES"]))


class ImageCache:
    """Least-recently-used images (and recent failures) up to a byte budget, thread-safe."""

    def __init__(self, budget: int):
        self.budget, self.size = budget, 0
        self._items: OrderedDict = OrderedDict()  # key -> (expires, value, bytes)
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] < time.monotonic():
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key, value) -> None:
        if isinstance(value, Failure):
            ttl = KEEP_FAILURE_SECONDS.get(value.kind.reason, KEEP_OTHER_FAILURE_SECONDS)
            cost = 0
        else:
            ttl, cost = KEEP_IMAGE_SECONDS, len(value.content)
        if cost > self.budget:
            return
        with self._lock:
            if key in self._items:
                self._drop(key)
            self._items[key] = (time.monotonic() + ttl, value, cost)
            self.size += cost
            while self.size > self.budget or len(self._items) > 10_000:
                self._drop(next(iter(self._items)))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.size = 0

    def _drop(self, key) -> None:
        self.size -= self._items.pop(key)[2]
