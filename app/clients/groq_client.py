"""The Groq client, configured in one place: base URL, model, and timeouts/retries sized so
a reply job always ends inside its job timeout (SDK defaults are 60 s x 3 attempts)."""
from __future__ import annotations

from functools import lru_cache

import httpx
from groq import DefaultHttpxClient, Groq
from groq.types.chat import ChatCompletion

DEFAULT_TIMEOUT = 20.0
DEFAULT_RETRIES = 1


@lru_cache(maxsize=8)
def make_client(api_key: str, base_url: str | None, *, timeout: float = DEFAULT_TIMEOUT,
                max_retries: int = DEFAULT_RETRIES) -> Groq:
    """One client per process and settings: it holds a connection pool (and TLS context).

    The pool keeps as many connections alive as a worker process has replies waiting on the
    model at once (dozens on a threaded worker); the SDK's default keeps 20, and every call
    beyond that would open, and pay a TLS handshake for, a new connection."""
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=128, keepalive_expiry=30)
    return Groq(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=max_retries,
                http_client=DefaultHttpxClient(limits=limits, timeout=timeout))


CHAT_COMPLETIONS = "/openai/v1/chat/completions"


def complete(client: Groq, *, timeout: float, **params) -> ChatCompletion:
    """`client.chat.completions.create(**params)`, minus the SDK's per-call walk of the
    request through its typed-dict annotations (`maybe_transform`).

    For plain JSON params like ours that walk changes nothing, yet over the tool schemas it
    costs more CPU than the rest of the call; `client.post` is the SDK's own documented way
    to send a body as is. Retries, timeouts, errors and the typed response are the SDK's.
    """
    return client.post(CHAT_COMPLETIONS, cast_to=ChatCompletion, body=params,
                       options={"timeout": timeout})
