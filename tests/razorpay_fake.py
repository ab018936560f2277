"""Razorpay faked at the HTTP boundary (the official SDK talks to it through `requests`),
plus signed webhook deliveries shaped like Razorpay's (its Payment Links and Webhooks API docs)."""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
from urllib.parse import parse_qs, urlparse

import responses

BASE = "http://razorpay.test"
WEBHOOK_SECRET = "test_webhook_secret"


class FakeRazorpay:
    """Payment links keyed by reference_id, as Razorpay enforces; refunds and cancels."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.links: dict[str, dict] = {}
        self.creates: list[dict] = []
        self.refunds: list[tuple[str, dict, str | None]] = []
        self.cancels: list[str] = []
        self.fail_next_create_after_storing = False
        self.refuse_creates: str | None = None  # answer every create with this 400 description
        self.refuse_refunds: str | None = None
        self._ids = itertools.count(1)
        rsps.add_callback(responses.POST, f"{BASE}/v1/payment_links", callback=self._create,
                          content_type="application/json")
        rsps.add_callback(responses.GET, re.compile(rf"{BASE}/v1/payment_links\?.*"), callback=self._list,
                          content_type="application/json")
        rsps.add_callback(responses.GET, re.compile(rf"{BASE}/v1/payment_links/plink_[^/?]+$"),
                          callback=self._fetch, content_type="application/json")
        rsps.add_callback(responses.POST, re.compile(rf"{BASE}/v1/payment_links/[^/]+/cancel"),
                          callback=self._cancel, content_type="application/json")
        rsps.add_callback(responses.POST, re.compile(rf"{BASE}/v1/payments/[^/]+/refund"),
                          callback=self._refund, content_type="application/json")

    @staticmethod
    def _error(description: str, status: int = 400):
        return status, {}, json.dumps({"error": {"code": "BAD_REQUEST_ERROR", "description": description,
                                                 "source": "business", "step": "payment_initiation",
                                                 "reason": "input_validation_failed", "metadata": {}}})

    def _create(self, request):
        body = json.loads(request.body)
        self.creates.append(body)
        if self.refuse_creates:
            return self._error(self.refuse_creates)
        ref = body.get("reference_id")
        if ref in self.links:
            return self._error("payment link creation with reference ID already attempted")
        n = next(self._ids)
        link = {"id": f"plink_Fake{n:06d}", "short_url": f"https://rzp.io/rzp/fake{n}", "status": "created",
                "amount": body["amount"], "amount_paid": 0, "currency": body.get("currency", "INR"),
                "reference_id": ref, "expire_by": body.get("expire_by", 0), "expired_at": 0,
                "payments": None, "notes": body.get("notes") or [], "created_at": int(time.time())}
        self.links[ref] = link
        if self.fail_next_create_after_storing:  # Razorpay made it, but the answer was lost
            self.fail_next_create_after_storing = False
            return 504, {}, "<html>Gateway Timeout</html>"
        return 200, {}, json.dumps(link)

    def _list(self, request):
        ref = parse_qs(urlparse(request.url).query).get("reference_id", [None])[0]
        found = [link for r, link in self.links.items() if r == ref]
        return 200, {}, json.dumps({"payment_links": found, "count": len(found)})

    def _fetch(self, request):
        link_id = request.url.split("?")[0].rstrip("/").split("/")[-1]
        for link in self.links.values():
            if link["id"] == link_id:
                return 200, {}, json.dumps(link)
        return self._error("The id provided does not exist")

    def _cancel(self, request):
        link_id = request.url.rstrip("/").split("/")[-2]
        self.cancels.append(link_id)
        for link in self.links.values():
            if link["id"] == link_id:
                link["status"] = "cancelled"
                return 200, {}, json.dumps(link)
        return self._error("The id provided does not exist")

    def _refund(self, request):
        payment_id = request.url.rstrip("/").split("/")[-2]
        body = json.loads(request.body)
        if self.refuse_refunds:
            return self._error(self.refuse_refunds)
        self.refunds.append((payment_id, body, request.headers.get("X-Refund-Idempotency")))
        return 200, {}, json.dumps({"id": f"rfnd_Fake{len(self.refunds)}", "entity": "refund",
                                    "amount": body.get("amount"), "payment_id": payment_id,
                                    "status": "pending", "speed_requested": "normal"})


# ---------------------------------------------------------------------------------- webhooks


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event(name: str, *, link: dict | None = None, payment: dict | None = None,
          order: dict | None = None, refund: dict | None = None) -> dict:
    payload, contains = {}, []
    for key, entity in (("payment_link", link), ("order", order), ("payment", payment), ("refund", refund)):
        if entity is not None:
            payload[key] = {"entity": entity}
            contains.append(key)
    return {"entity": "event", "account_id": "acc_OU2H3nkLn9jDVo", "event": name,
            "contains": contains, "payload": payload, "created_at": int(time.time())}


def paid_events(link_id: str, reference: str, amount: int, rzp_order: str = "order_Fake1",
                payment_id: str = "pay_Fake1") -> dict[str, dict]:
    """The events one paid link raises (each may come in any order, more than once)."""
    payment = {"id": payment_id, "entity": "payment", "amount": amount, "currency": "INR",
               "status": "captured", "captured": True, "method": "upi", "order_id": rzp_order,
               "description": "#" + link_id.removeprefix("plink_"), "notes": []}
    return {
        "payment.authorized": event("payment.authorized", payment={**payment, "status": "authorized",
                                                                   "captured": False}),
        "payment.captured": event("payment.captured", payment=payment),
        # Razorpay's own sample lacks the order_ prefix here: we match on receipt and payment
        "order.paid": event("order.paid", payment=payment,
                            order={"id": rzp_order.removeprefix("order_"), "entity": "order",
                                   "amount": amount, "amount_paid": amount, "amount_due": 0,
                                   "receipt": reference, "status": "paid"}),
        "payment_link.paid": event("payment_link.paid", payment=payment,
                                   order={"id": rzp_order, "status": "paid", "amount_due": 0},
                                   link={"id": link_id, "status": "paid", "amount": amount,
                                         "amount_paid": amount, "reference_id": reference,
                                         "order_id": rzp_order}),
    }
