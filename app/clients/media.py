"""Downloading a customer's media from Meta's CDN, for the inbox to show from our own origin.

Messenger and Instagram attachments carry a signed, expiring CDN url (lookaside.fbsbx.com,
*.fbcdn.net, *.cdninstagram.com) that needs no token. WhatsApp media carry only an id:
`GET {graph}/{media_id}` with the channel's token answers `{"url", "mime_type", "file_size",
...}`, a URL valid for about five minutes that must itself be fetched WITH the bearer token
(https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media).

What is downloaded is never trusted: only hosts on the allow-list are contacted (so a stored
URL can't make the server call anything else, and the channel's token goes to Meta alone),
redirects are followed by hand and re-checked, the body is read up to a size cap within a
deadline, and the type comes from the first bytes (JPEG, PNG, GIF, WebP), not from the
Content-Type the CDN sends. SVG and HTML never pass as images; `download` hands over other
bytes (WhatsApp files) under the same rules for the caller to serve as an attachment.
No Flask and no database in this module.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

from app.clients.graph import GraphClient, GraphError, TransientGraphError

# (connect, read) per request; DEADLINE bounds the whole download, however slowly it trickles
TIMEOUT = (3.05, 8)
DEADLINE = 15.0
MAX_REDIRECTS = 3
CHUNK = 64 * 1024

_session = requests.Session()
_session.trust_env = False  # proxies are passed explicitly (see _proxies)


class MediaError(Exception):
    """The image can't be shown; `reason` is a short word the page and the logs use."""

    reason = "unavailable"


class MediaGone(MediaError):
    """Expired or removed on Meta's side (403/404/410, an unknown media id): it won't come back."""

    reason = "expired"


class MediaTooLarge(MediaError):
    reason = "too_large"


class NotAnImage(MediaError):
    """The bytes are not JPEG, PNG, GIF or WebP (an SVG or HTML page among them)."""

    reason = "not_an_image"


class MediaUnavailable(MediaError):
    """Network trouble, a 5xx, a host off the allow-list: maybe later, not now."""

    reason = "unavailable"


@dataclass(frozen=True)
class Image:
    content: bytes
    content_type: str  # from the magic bytes


def sniff(head: bytes) -> str | None:
    """The image type the first bytes prove, or None (for SVG, HTML and everything else)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def allowed(url: str, sources: tuple[str, ...]) -> bool:
    """Whether `url` is on the allow-list. An entry like "fbcdn.net" admits https URLs on that
    host and its subdomains; an entry with a scheme ("http://127.0.0.1:8080") admits exactly
    that origin (local stand-ins for Meta in tests and staging)."""
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return False
    if not host or parts.username or parts.password:
        return False
    origin = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    for entry in sources:
        entry = entry.strip().lower().rstrip("/")
        if "://" in entry:
            if origin == entry:
                return True
        elif parts.scheme == "https" and port in (None, 443) and (
                host == entry or host.endswith("." + entry)):
            return True
    return False


def fetch_image(url: str, *, sources: tuple[str, ...], max_bytes: int,
                token: str | None = None) -> Image:
    """Download one image. `token`, when given, is sent as a bearer to the first host only.

    Raises:
        MediaGone, MediaTooLarge, NotAnImage, MediaUnavailable.
    """
    body, declared = download(url, sources=sources, max_bytes=max_bytes, token=token)
    kind = sniff(body[:16])
    if kind is None:
        raise NotAnImage(f"not an image (sent as {declared or 'nothing'!r})")
    return Image(body, kind)


def download(url: str, *, sources: tuple[str, ...], max_bytes: int,
             token: str | None = None) -> tuple[bytes, str]:
    """The bytes at `url` and the Content-Type the host declared (for messages only).

    Raises:
        MediaGone, MediaTooLarge, MediaUnavailable.
    """
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    first_host = urlsplit(url).hostname
    for _ in range(MAX_REDIRECTS + 1):
        if not allowed(url, sources):
            raise MediaUnavailable(f"host not allowed: {urlsplit(url).hostname}")
        sent = headers if urlsplit(url).hostname == first_host else {}
        try:
            resp = _session.get(url, headers=sent, timeout=TIMEOUT, stream=True,
                                allow_redirects=False, proxies=_proxies(url))
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise MediaUnavailable(f"CDN unreachable: {type(exc).__name__}") from exc
        with resp:
            if resp.is_redirect and resp.headers.get("Location"):
                url = urljoin(url, resp.headers["Location"])
                continue
            return _read(resp, max_bytes, started), resp.headers.get("Content-Type", "")
    raise MediaUnavailable("too many redirects")


def _read(resp: requests.Response, max_bytes: int, started: float) -> bytes:
    if resp.status_code in (400, 401, 403, 404, 410):
        raise MediaGone(f"CDN answered {resp.status_code}")
    if resp.status_code != 200:
        raise MediaUnavailable(f"CDN answered {resp.status_code}")
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise MediaTooLarge(f"{declared} bytes")
    body = bytearray()
    try:
        for chunk in resp.iter_content(CHUNK):
            body += chunk
            if len(body) > max_bytes:
                raise MediaTooLarge(f"over {max_bytes} bytes")
            if time.monotonic() - started > DEADLINE:
                raise MediaUnavailable("download too slow")
    except requests.RequestException as exc:
        raise MediaUnavailable(f"download broke off: {type(exc).__name__}") from exc
    return bytes(body)


def whatsapp_media_url(graph: GraphClient, media_id: str, phone_number_id: str,
                       max_bytes: int) -> str:
    """The short-lived download URL of a WhatsApp media id, checked to belong to this number.

    Raises:
        MediaGone (unknown or deleted id), MediaTooLarge (by its declared size),
        MediaUnavailable (Graph down, the channel's token refused).
    """
    try:
        data = graph.get(media_id, {"phone_number_id": phone_number_id})
    except TransientGraphError as exc:
        raise MediaUnavailable(f"Graph API: {exc.describe()}") from exc
    except GraphError as exc:
        if exc.status in (400, 404):  # code 100: the id does not exist (any more) for this number
            raise MediaGone(f"Graph API: {exc.describe()}") from exc
        raise MediaUnavailable(f"Graph API: {exc.describe()}") from exc
    url = data.get("url") if isinstance(data, dict) else None
    if not isinstance(url, str) or not url:
        raise MediaUnavailable("Graph API gave no media url")
    size = data.get("file_size")
    if isinstance(size, (int, str)) and str(size).isdigit() and int(size) > max_bytes:
        raise MediaTooLarge(f"{size} bytes")
    return url


def _proxies(url: str) -> dict[str, str]:
    return requests.utils.get_environ_proxies(url)
