"""The `state` of a Login dialog: signed, expiring, single use, bound to tenant and user.

A callback whose state is missing, altered, expired, already used, or issued to someone else
connects nothing: otherwise an attacker could hand a victim a link that connects the
attacker's Page to the victim's store (or the victim's Page to the attacker's).
"""
from __future__ import annotations

import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.services.integrations import ConnectError

SALT = "closer-channel-connect"
USED_KEY = "connect-state-used:{}"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_state(tenant_id: int, user_id: int, provider: str) -> str:
    return _serializer().dumps({"t": tenant_id, "u": user_id, "p": provider,
                                "n": secrets.token_urlsafe(12)})


def check_state(raw: str | None, user_id: int, provider: str) -> int:
    """The tenant the state was issued for; ConnectError if it can't be trusted or was used."""
    if not raw:
        raise ConnectError("The sign-in came back without its security code: please connect again.")
    max_age = current_app.config["CONNECT_STATE_MAX_AGE"]
    try:
        data = _serializer().loads(raw, max_age=max_age)
    except SignatureExpired:
        raise ConnectError("The sign-in took too long and expired: please connect again.") from None
    except BadSignature:
        raise ConnectError("The sign-in came back with an invalid security code: nothing was "
                           "connected.") from None
    if (not isinstance(data, dict) or data.get("p") != provider or data.get("u") != user_id
            or not isinstance(data.get("t"), int) or not isinstance(data.get("n"), str)):
        raise ConnectError("This sign-in was started by someone else or for something else: "
                           "nothing was connected.")
    redis = current_app.extensions["redis"]
    if not redis.set(USED_KEY.format(data["n"]), 1, nx=True, ex=max_age + 60):
        raise ConnectError("This sign-in was already used: please connect again.")
    return data["t"]
