"""HMAC checks over the raw request body, in constant time."""
from __future__ import annotations

import hashlib
import hmac


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _same(expected_hex: str, given: str) -> bool:
    """Constant-time comparison that any header value can go through: `compare_digest` raises
    on a str with non-ASCII characters, so both sides are compared as bytes."""
    return hmac.compare_digest(expected_hex.encode(), given.encode("utf-8", "surrogateescape"))


def meta_signature_valid(secret: str | None, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex>` = HMAC-SHA256(app secret, raw body)."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    return _same(hmac_sha256_hex(secret, body), header.removeprefix("sha256="))


def razorpay_signature_valid(secret: str | None, body: bytes, header: str | None) -> bool:
    """`X-Razorpay-Signature: <hex>` = HMAC-SHA256(webhook secret, raw body)."""
    if not secret or not header:
        return False
    return _same(hmac_sha256_hex(secret, body), header)
