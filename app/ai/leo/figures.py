"""Figures as Leo shows them: the numbers an answer used, labelled and formatted, plus the raw
values (so the panel and the API show exactly what the sentence says)."""
from __future__ import annotations

from datetime import date, datetime
from functools import partial

from app.analytics import formats

SUMMARY_FIGURES = [
    # (key in analytics.summary, label, kind)
    ("revenue_minor", "Revenue", "money"),
    ("orders_paid", "Paid orders", "count"),
    ("orders_placed", "Orders placed", "count"),
    ("average_order_minor", "Average order", "money"),
    ("refunds_minor", "Refunds", "money"),
    ("conversations", "Conversations", "count"),
    ("conversion_rate", "Conversion rate", "rate"),
    ("response_rate", "Response rate", "rate"),
    ("median_first_response_seconds", "Median first response", "duration"),
    ("messages_received", "Messages received", "count"),
    ("messages_sent", "Messages sent", "count"),
    ("ai_closed_sales", "Sales closed by the AI", "count"),
    ("human_closed_sales", "Sales closed by staff", "count"),
]


# In Leo's sentences a missing rate has always read as 0.0%, and a missing first-response time
# says why it is missing.
percent = partial(formats.percent, missing="0.0%")
duration = partial(formats.duration, missing="no replies yet")


def show(value, kind: str, currency: str) -> str:
    if kind == "money":
        return formats.money(value, currency)
    if kind == "rate":
        return percent(value)
    if kind == "duration":
        return duration(value)
    return formats.count(value)


def figure(label: str, value, kind: str, currency: str) -> dict:
    return {"label": label, "value": show(value, kind, currency), "raw": jsonable(value)}


def summary_figures(summary: dict, currency: str, keys: list[str] | None = None) -> list[dict]:
    wanted = [row for row in SUMMARY_FIGURES if keys is None or row[0] in keys]
    if keys is not None:
        wanted.sort(key=lambda row: keys.index(row[0]))
    return [figure(label, summary.get(key), kind, currency) for key, label, kind in wanted if key in summary]


def row_figures(rows: list[dict], currency: str, *, by: str) -> list[dict]:
    """One figure per breakdown row: revenue, with paid orders and conversion beside it."""
    out = []
    for row in rows:
        detail = f"{row.get('orders_paid', 0)} paid"
        if by == "product":
            detail = f"{row.get('quantity', 0)} sold"
        elif row.get("conversations"):
            detail += (f" of {row['conversations']} conversation{'' if row['conversations'] == 1 else 's'}"
                       f" ({percent(row.get('conversion_rate'))})")
        out.append({"label": str(row.get("label") or row.get("key")),
                    "value": f"{formats.money(row.get('revenue_minor'), currency)} · {detail}",
                    "raw": jsonable(row)})
    return out


def jsonable(value):
    """Analytics rows carry dates; the API speaks JSON."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "value") and isinstance(getattr(value, "value"), str):  # enums
        return value.value
    return value


HEADLINE = ["revenue_minor", "orders_paid", "conversations", "conversion_rate", "median_first_response_seconds"]


def values_for_calls(calls: list[dict], currency: str) -> list[dict]:
    """The figures a model's answer rests on: what each of its tool calls returned."""
    out: list[dict] = []
    for call in calls:
        result, name = call.get("result") or {}, call.get("tool")
        if "error" in result:
            continue
        label = (result.get("period") or {}).get("label", "")
        suffix = f" ({label})" if label else ""
        if name == "summary":
            rows = summary_figures(result, currency, HEADLINE)
        elif name == "compare_periods":
            rows = summary_figures(result["current"], currency, HEADLINE)
            rows += [{**row, "label": row["label"] + " (period before)"}
                     for row in summary_figures(result["previous"], currency, HEADLINE)]
        elif name == "breakdown":
            rows = row_figures(result.get("rows", [])[:5], currency, by=result.get("by", ""))
        elif name == "funnel":
            rows = [figure(k.capitalize(), result.get(k), "count", currency)
                    for k in ("conversations", "engaged", "ordered", "paid")]
        elif name == "ai_promises":
            rows = [figure("AI promises", result.get("promises"), "count", currency),
                    figure("Promises that don't match your records", result.get("mismatches"), "count", currency)]
        elif name == "heatmap":
            rows = [figure(f"Weekday {c['weekday']} {c['hour']:02d}:00", c["count"], "count", currency)
                    for c in result.get("busiest", [])[:3]]
        elif name == "timeseries":
            days = result.get("days", [])
            rows = [figure("Revenue", sum(d.get("revenue_minor", 0) for d in days), "money", currency),
                    figure("Paid orders", sum(d.get("orders_paid", 0) for d in days), "count", currency)]
        else:
            rows = []
        out += [{**row, "label": row["label"] + suffix} for row in rows]
    return out
