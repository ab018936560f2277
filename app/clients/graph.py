"""Graph API client for the Messenger/Instagram Send API and the WhatsApp Cloud API.

Errors are classified once, here, by the Graph API's error codes and subcodes into what the
caller should do: retry later, re-authorize the channel, stop writing to this person, or give
up on this one message. No Flask and no database in this module.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from typing import Any

import requests
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.05, 10)

_session = requests.Session()
# Without this, every call re-reads the environment for proxies, no_proxy and .netrc, which
# costs more CPU than the call itself; `_proxies_for` reads the proxies once per base URL.
_session.trust_env = False
# one kept connection per concurrent send: a threaded worker runs dozens of replies at once
_session.mount("https://", HTTPAdapter(pool_connections=8, pool_maxsize=128))
_session.mount("http://", HTTPAdapter(pool_connections=8, pool_maxsize=128))


@functools.lru_cache(maxsize=16)
def _proxies_for(base_url: str) -> dict[str, str]:
    """The environment's proxies for this base URL (HTTPS_PROXY, NO_PROXY, ...), read once."""
    return requests.utils.get_environ_proxies(base_url)


class GraphError(Exception):
    """A Graph API failure; subclasses say what to do about it."""

    retry = False

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None,
                 subcode: int | None = None, trace: str | None = None):
        super().__init__(message)
        self.status, self.code, self.subcode, self.trace = status, code, subcode, trace

    def describe(self) -> str:
        code = f" (code {self.code}{'/' + str(self.subcode) if self.subcode else ''})" if self.code else ""
        return f"{self}{code}"


class TransientGraphError(GraphError):
    """Network trouble or a 5xx: try again with backoff."""

    retry = True


class RateLimited(TransientGraphError):
    """Throttled (app, page, WABA or pair rate): back off and retry."""


class ChannelAuthError(GraphError):
    """The token is invalid/expired or lacks permission: the channel needs re-authorizing."""


class WindowClosed(GraphError):
    """Outside the messaging window: only a template (WhatsApp) or a tagged human reply."""


class RecipientUnavailable(GraphError):
    """The person can't be reached (blocked us, deleted, undeliverable): stop writing."""


class MessageRejected(GraphError):
    """This one message was refused (bad parameters, spam limits, template problems)."""


RATE_LIMIT_CODES = {4, 17, 32, 613, 80007, 130429, 131056}
WINDOW_CODES = {131047}
UNREACHABLE_CODES = {551, 131026}


def classify(status: int, error: dict[str, Any]) -> GraphError:
    code, subcode = error.get("code"), error.get("error_subcode")
    message = error.get("message") or error.get("error_user_msg") or f"HTTP {status}"
    kw = dict(status=status, code=code, subcode=subcode, trace=error.get("fbtrace_id"))
    if code == 10 and subcode == 2018278:
        return WindowClosed(message, **kw)
    if code in RATE_LIMIT_CODES or status == 429:
        return RateLimited(message, **kw)
    if code == 190 or code == 10 or (isinstance(code, int) and 200 <= code <= 299):
        return ChannelAuthError(message, **kw)
    if code in WINDOW_CODES:
        return WindowClosed(message, **kw)
    if code in UNREACHABLE_CODES:
        return RecipientUnavailable(message, **kw)
    if status >= 500 or code in (1, 2):
        return TransientGraphError(message, **kw)
    return MessageRejected(message, **kw)


class GraphClient:
    """One channel's view of the Graph API (base URL includes the version)."""

    def __init__(self, base_url: str, token: str | None, *, app_secret: str | None = None,
                 timeout=DEFAULT_TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.app_secret = app_secret
        self.timeout = timeout

    def _auth(self, required: bool = True) -> tuple[dict, dict]:
        if not required:  # OAuth code exchanges authenticate with the app's id and secret
            return {}, {}
        if not self.token:
            raise ChannelAuthError("The channel has no access token", code=190)
        params = {}
        if self.app_secret:  # appsecret_proof: a stolen token alone can't call the API
            params["appsecret_proof"] = hmac.new(
                self.app_secret.encode(), self.token.encode(), hashlib.sha256
            ).hexdigest()
        return {"Authorization": f"Bearer {self.token}"}, params

    def post(self, path: str, body: dict[str, Any] | None = None, *,
             params: dict[str, Any] | None = None, form: dict[str, Any] | None = None,
             auth: bool = True) -> dict[str, Any]:
        extra = {"json": body} if body is not None else {"data": form} if form is not None else {}
        return self._call("POST", path, params=params or {}, auth=auth, **extra)

    def get(self, path: str, params: dict[str, Any] | None = None, *,
            auth: bool = True) -> dict[str, Any]:
        return self._call("GET", path, params=params or {}, auth=auth)

    def delete(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("DELETE", path, params=params or {})

    def _call(self, method: str, path: str, *, auth: bool = True, **kwargs) -> dict[str, Any]:
        headers, params = self._auth(auth)
        kwargs["params"] = {**kwargs.get("params", {}), **params}
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            resp = _session.request(method, url, headers=headers, timeout=self.timeout,
                                    proxies=_proxies_for(self.base_url), **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientGraphError(f"Graph API unreachable: {type(exc).__name__}") from exc
        try:
            data = resp.json()
        except ValueError:
            data = {}
        if resp.status_code >= 400 or "error" in data:
            raise classify(resp.status_code, data.get("error") or {})
        return data
