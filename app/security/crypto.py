"""Encrypted column type for channel access tokens.

MultiFernet (authenticated, rotatable) over keys from TOKEN_ENCRYPTION_KEYS, which live outside
the database and apart from SECRET_KEY. sqlalchemy-utils' default AesEngine is deterministic and
unauthenticated (CBC with an IV derived from the key), so we don't use it.
"""
from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy.types import Text, TypeDecorator


class TokenKeyError(RuntimeError):
    """Raised when no key is configured or a stored value can't be decrypted with any key."""


@lru_cache(maxsize=8)
def _fernet(keys: str) -> MultiFernet:
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    if not parts:
        raise TokenKeyError("TOKEN_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(k.encode()) for k in parts])


def current_fernet() -> MultiFernet:
    keys = current_app.config.get("TOKEN_ENCRYPTION_KEYS")
    if not keys:
        raise TokenKeyError("TOKEN_ENCRYPTION_KEYS is not configured")
    return _fernet(keys)


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key (used by the key-rotation command)."""
    return current_fernet().rotate(ciphertext.encode()).decode()


class EncryptedText(TypeDecorator):
    """Text column stored as a Fernet token; Python sees the plaintext."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or value == "":
            return None
        return current_fernet().encrypt(value.encode()).decode()

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        try:
            return current_fernet().decrypt(value.encode()).decode()
        except InvalidToken as exc:
            raise TokenKeyError("stored token can't be decrypted with the configured keys") from exc
