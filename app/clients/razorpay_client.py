"""Razorpay through its official SDK: payment links, their cancellation, refunds.

The SDK's quirks are handled here, once: it has no default timeout (every call passes one),
its resources take mutable default dicts (we always pass a fresh dict), it maps errors on
`error.code` only and a non-JSON error page surfaces as a JSON decode error. Everything is
turned into two exceptions the caller can act on: `TransientPaymentError` (retry with backoff)
and `PaymentRefused` (don't retry; show why). No Flask and no database in this module.
"""
from __future__ import annotations

import logging
from typing import Any

import razorpay
import requests
from razorpay.errors import BadRequestError, GatewayError, ServerError

log = logging.getLogger(__name__)

TIMEOUT = (3.05, 15)


class PaymentError(Exception):
    retry = False


class TransientPaymentError(PaymentError):
    """Network trouble, throttling or a Razorpay-side error: try again later."""

    retry = True


class PaymentRefused(PaymentError):
    """Razorpay refused the request (bad input, auth): retrying the same call won't help."""


class RazorpayClient:
    """One SDK client (and so one requests.Session) per process and configuration."""

    def __init__(self, key_id: str, key_secret: str, base_url: str) -> None:
        self._client = razorpay.Client(auth=(key_id, key_secret), base_url=base_url.rstrip("/"))

    def _call(self, fn, *args, **kwargs) -> Any:
        try:
            return fn(*args, timeout=TIMEOUT, **kwargs)
        except BadRequestError as exc:  # 4xx, including auth failures (and 429: the SDK maps codes)
            if "too many requests" in str(exc).lower() or "throttl" in str(exc).lower():
                raise TransientPaymentError(str(exc)) from exc
            raise PaymentRefused(str(exc)) from exc
        except (GatewayError, ServerError) as exc:
            raise TransientPaymentError(str(exc)) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientPaymentError(f"Razorpay unreachable: {exc}") from exc
        except ValueError as exc:  # a non-JSON answer (an HTML 502 page) from the SDK's json()
            raise TransientPaymentError(f"Razorpay answered something that isn't JSON: {exc}") from exc

    def create_payment_link(self, data: dict) -> dict:
        """Create the link; if our reference was used already (a retried job whose first
        attempt reached Razorpay), return the link that attempt made."""
        try:
            return self._call(self._client.payment_link.create, dict(data))
        except PaymentRefused as exc:
            if "reference" not in str(exc).lower() or "already" not in str(exc).lower():
                raise
            found = self.find_payment_link(data["reference_id"])
            if found is None:
                raise TransientPaymentError(f"{exc}, and no link with that reference yet") from exc
            log.info("payment link for reference %s existed already: %s", data["reference_id"], found.get("id"))
            return found

    def find_payment_link(self, reference_id: str) -> dict | None:
        answer = self._call(self._client.payment_link.all, {"reference_id": reference_id})
        links = (answer or {}).get("payment_links") or []
        return links[0] if links else None

    def fetch_payment_link(self, link_id: str) -> dict:
        return self._call(self._client.payment_link.fetch, link_id)

    def cancel_payment_link(self, link_id: str) -> dict:
        return self._call(self._client.payment_link.cancel, link_id)

    def refund(self, payment_id: str, amount_minor: int, idempotency_key: str, notes: dict) -> dict:
        """A full refund; the idempotency header makes a retried call return the same refund."""
        return self._call(self._client.payment.refund, payment_id,
                          {"amount": amount_minor, "speed": "normal", "notes": dict(notes)},
                          headers={"X-Refund-Idempotency": idempotency_key})


_clients: dict[tuple, RazorpayClient] = {}


def client_for(key_id: str, key_secret: str, base_url: str) -> RazorpayClient:
    key = (key_id, key_secret, base_url)
    if key not in _clients:
        _clients[key] = RazorpayClient(key_id, key_secret, base_url)
    return _clients[key]
