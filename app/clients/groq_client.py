"""The Groq client, configured in one place: base URL, model, and timeouts/retries sized so
a reply job always ends inside its job timeout (SDK defaults are 60 s x 3 attempts)."""
from __future__ import annotations

import functools
import threading

import httpx
from groq import APIError, DefaultHttpxClient, Groq
from groq.types.chat import ChatCompletion

DEFAULT_TIMEOUT = 20.0
DEFAULT_RETRIES = 1


_local = threading.local()


@functools.cache
def _tls_context():
    """The process's one TLS context for the model's HTTPS. Building one loads the CA bundle,
    about 20 ms of CPU: per thread's client that was over a second and a half of CPU when a
    new 40-thread worker process took its first jobs."""
    import ssl

    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def make_client(api_key: str, base_url: str | None, *, timeout: float = DEFAULT_TIMEOUT,
                max_retries: int = DEFAULT_RETRIES) -> Groq:
    """One client per thread and settings: it holds a connection kept alive (and TLS context).

    Per thread, not per process: a thread makes one call at a time, so its own client needs
    one connection. A client shared by the dozens of threads of a worker process kept dozens
    of connections in one httpcore pool, which on every request and every response takes the
    pool's lock and polls each idle connection's socket to see whether it expired: with 40
    threads that was a third of the CPU a model call cost."""
    clients = _local.__dict__.setdefault("clients", {})
    key = (api_key, base_url, timeout, max_retries)
    if key not in clients:
        limits = httpx.Limits(max_connections=8, max_keepalive_connections=2, keepalive_expiry=30)
        clients[key] = Groq(api_key=api_key, base_url=base_url or None, timeout=timeout,
                            max_retries=max_retries,
                            http_client=DefaultHttpxClient(limits=limits, timeout=timeout,
                                                           verify=_tls_context()))
    return clients[key]


CHAT_COMPLETIONS = "/openai/v1/chat/completions"


class MalformedCompletion(APIError):
    """A 200 from the model's endpoint that is not a chat completion with a message: the SDK
    hands such a body back as it is (a string, a list, a completion with no choices), so it is
    raised here as the APIError every caller already answers without the model."""


def complete(client: Groq, *, timeout: float, **params) -> ChatCompletion:
    """`client.chat.completions.create(**params)`, minus the SDK's per-call walk of the
    request through its typed-dict annotations (`maybe_transform`).

    For plain JSON params like ours that walk changes nothing, yet over the tool schemas it
    costs more CPU than the rest of the call; `client.post` is the SDK's own documented way
    to send a body as is. Retries, timeouts, errors and the typed response are the SDK's.
    """
    resp = client.post(CHAT_COMPLETIONS, cast_to=ChatCompletion, body=params,
                       options={"timeout": timeout})
    choices = getattr(resp, "choices", None) if isinstance(resp, ChatCompletion) else None
    if not choices or getattr(choices[0], "message", None) is None:
        raise MalformedCompletion("the model's response had no message",
                                  httpx.Request("POST", str(client.base_url).rstrip("/") + CHAT_COMPLETIONS),
                                  body=resp if isinstance(resp, (str, list)) else None)
    return resp
