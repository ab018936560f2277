"""The Groq client, configured in one place: base URL, model, and timeouts/retries sized so
a reply job always ends inside its job timeout (SDK defaults are 60 s x 3 attempts)."""
from __future__ import annotations

from functools import lru_cache

from groq import Groq

DEFAULT_TIMEOUT = 20.0
DEFAULT_RETRIES = 1


@lru_cache(maxsize=8)
def make_client(api_key: str, base_url: str | None, *, timeout: float = DEFAULT_TIMEOUT,
                max_retries: int = DEFAULT_RETRIES) -> Groq:
    """One client per process and settings: it holds a connection pool (and TLS context)."""
    return Groq(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=max_retries)
