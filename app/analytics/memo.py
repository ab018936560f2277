"""Results shared within one request: a page asks the summary, the time series and the
heatmaps of the same filters, which read the same rows. Outside a request (jobs, scripts,
tests that change rows between calls) every call reads afresh."""
from __future__ import annotations

from flask import g, has_request_context


def per_request(key, compute):
    if not has_request_context():
        return compute()
    memo = g.setdefault("analytics_memo", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def peek(key):
    """What this request has already computed for `key`, else None (nothing is computed)."""
    if not has_request_context():
        return None
    return g.get("analytics_memo", {}).get(key)
