"""Plotly figures built from the analytics rows (app.analytics interface), with no database.

Each function takes the rows exactly as the query functions return them and gives back a
`plotly.graph_objects.Figure`; the pages turn it into JSON that a static script draws. Money
arrives in minor units and is drawn in major units of the tenant's currency, so an axis reads
"₹1,250.50", not "125050". Figures use SVG traces only: WebGL traces need `unsafe-eval`, which
the admin's Content-Security-Policy refuses, and the rows are already aggregated per day or
bucket, so there are never enough points to need WebGL.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import plotly.graph_objects as go
from babel.numbers import get_currency_precision, get_currency_symbol

from app.money import LOCALE

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
HOURS = [f"{h:02d}:00" for h in range(24)]
PLATFORM_LABELS = {"messenger": "Messenger", "instagram": "Instagram", "whatsapp": "WhatsApp",
                   "playground": "Playground"}
COLORS = {"revenue": "#2e7d32", "received": "#1f77b4", "sent": "#ff7f0e",
          "conversations": "#6a51a3", "paid": "#2e7d32"}
# Template "none" and a few colours of our own rather than a named plotly template: building
# and validating "plotly_white" cost 25 ms per figure (half a second on the analytics page) and
# sent its 6 KB with every figure; plotly.js's own defaults are already white with light grids.
LAYOUT = {"margin": {"l": 56, "r": 16, "t": 40, "b": 40}, "height": 320,
          "legend": {"orientation": "h", "y": -0.2}, "template": "none",
          "paper_bgcolor": "white", "plot_bgcolor": "white", "font": {"color": "#2a3f5f"}}


def platform_label(key: str) -> str:
    return PLATFORM_LABELS.get(str(key), str(key))


def _major(amount_minor, currency: str) -> float:
    return round((amount_minor or 0) / 10 ** get_currency_precision(currency), 2)


def _money_axis(currency: str) -> dict:
    return {"tickprefix": get_currency_symbol(currency, locale=LOCALE), "tickformat": ",.2f",
            "rangemode": "tozero"}


def _count_axis(*series) -> dict:
    """Counts are whole: with few of them, a tick per unit instead of 0.2 steps."""
    top = max((v or 0 for values in series for v in values), default=0)
    axis = {"rangemode": "tozero", "tickformat": ",d"}
    if top <= 5:
        axis["dtick"] = 1
    return axis


def _figure(title: str, traces: list, **layout) -> go.Figure:
    """The layout goes in with the traces: the same figure as `update_layout` afterwards
    gives, at a sixth of the cost (update_layout's batch machinery took 9 ms a figure)."""
    return go.Figure(data=traces, layout={"title": {"text": title, "x": 0}, **LAYOUT, **layout})


def revenue_over_time(rows: Iterable[Mapping], currency: str) -> go.Figure:
    """Net revenue per day (paid orders less refunds, in major units)."""
    rows = list(rows)
    return _figure("Revenue", [go.Scatter(
        x=[r["day"].isoformat() for r in rows],
        y=[_major(r["revenue_minor"], currency) for r in rows],
        mode="lines+markers", name="Revenue", line={"color": COLORS["revenue"]},
        hovertemplate="%{x}<br>%{y:,.2f}<extra></extra>",
    )], yaxis=_money_axis(currency))


def messages_over_time(rows: Iterable[Mapping]) -> go.Figure:
    """Messages received from customers and sent to them, per day."""
    rows = list(rows)
    days = [r["day"].isoformat() for r in rows]
    received = [r["messages_received"] for r in rows]
    sent = [r["messages_sent"] for r in rows]
    return _figure("Messages", [
        go.Scatter(x=days, y=received, mode="lines", name="Received",
                   line={"color": COLORS["received"]}),
        go.Scatter(x=days, y=sent, mode="lines", name="Sent", line={"color": COLORS["sent"]}),
    ], yaxis=_count_axis(received, sent))


def conversations_over_time(rows: Iterable[Mapping]) -> go.Figure:
    """Conversations started and conversions (orders paid), per day."""
    rows = list(rows)
    days = [r["day"].isoformat() for r in rows]
    conversations = [r["conversations"] for r in rows]
    paid = [r["orders_paid"] for r in rows]
    return _figure("Conversations and conversions", [
        go.Scatter(x=days, y=conversations, mode="lines+markers", name="Conversations",
                   line={"color": COLORS["conversations"]}),
        go.Scatter(x=days, y=paid, mode="lines+markers", name="Orders paid",
                   line={"color": COLORS["paid"]}),
    ], yaxis=_count_axis(conversations, paid))


def campaign_comparison(rows: Iterable[Mapping], currency: str) -> go.Figure:
    """Revenue per campaign as bars, with each bar's conversion rate in its hover text."""
    rows = sorted(rows, key=lambda r: r["revenue_minor"] or 0, reverse=True)
    return _figure("Campaigns by revenue", [go.Bar(
        x=[r["label"] for r in rows],
        y=[_major(r["revenue_minor"], currency) for r in rows],
        customdata=[[r["conversations"], r["orders_paid"], round(100 * (r["conversion_rate"] or 0), 1)]
                    for r in rows],
        hovertemplate=("%{x}<br>%{y:,.2f}<br>%{customdata[0]} conversations, "
                       "%{customdata[1]} paid (%{customdata[2]}%)<extra></extra>"),
        marker={"color": COLORS["revenue"]}, name="Revenue",
    )], yaxis=_money_axis(currency))


def top_products(rows: Iterable[Mapping], currency: str, limit: int = 10) -> go.Figure:
    """The best-selling products by revenue, largest at the top (a product only ordered, never
    paid for in the period, sold nothing: it has no bar to show)."""
    rows = sorted((r for r in rows if r["revenue_minor"]), key=lambda r: r["revenue_minor"], reverse=True)[:limit]
    rows.reverse()  # horizontal bars are drawn bottom-up
    return _figure("Top products", [go.Bar(
        y=[r["label"] for r in rows],
        x=[_major(r["revenue_minor"], currency) for r in rows],
        customdata=[[r.get("quantity", 0)] for r in rows],
        orientation="h", marker={"color": COLORS["revenue"]}, name="Revenue",
        hovertemplate="%{y}<br>%{x:,.2f}<br>%{customdata[0]} sold<extra></extra>",
    )], xaxis=_money_axis(currency), yaxis={"automargin": True},  # a name is never cut off
        margin={**LAYOUT["margin"], "l": 140})


def platform_distribution(rows: Iterable[Mapping]) -> go.Figure:
    """Share of conversations per platform."""
    rows = [r for r in rows if r["conversations"]]
    return _figure("Conversations by platform", [go.Pie(
        labels=[platform_label(r["label"]) for r in rows], values=[r["conversations"] for r in rows],
        hole=0.4, sort=False, textinfo="label+percent",
    )])


def weekly_heatmap(rows: Iterable[Mapping], title: str) -> go.Figure:
    """A weekday × hour grid (Monday first, tenant-local hours); absent cells are zero."""
    grid = [[0] * 24 for _ in WEEKDAYS]
    for r in rows:
        weekday, hour = r["weekday"], r["hour"]
        if 0 <= weekday < 7 and 0 <= hour < 24:
            grid[weekday][hour] += r["count"] or 0
    return _figure(title, [go.Heatmap(
        z=grid, x=HOURS, y=WEEKDAYS, colorscale="Blues", hoverongaps=False,
        hovertemplate="%{y} %{x}<br>%{z}<extra></extra>",
    )], yaxis={"autorange": "reversed"}, xaxis={"tickvals": HOURS[::3]}, height=300)


def funnel(stages: Mapping) -> go.Figure:
    """Conversations → engaged → ordered → paid."""
    names = [("conversations", "Conversations"), ("engaged", "Engaged"), ("ordered", "Ordered"),
             ("paid", "Paid")]
    return _figure("Funnel", [go.Funnel(
        y=[label for _, label in names], x=[stages.get(key) or 0 for key, _ in names],
        textinfo="value+percent initial",
    )], yaxis={"automargin": True})  # "Conversations" fits beside its bar


def buckets(rows: Iterable[Mapping], title: str, color: str = "#1f77b4") -> go.Figure:
    """A distribution given as ordered buckets (first-response time, sentiment, lead score)."""
    rows = list(rows)
    counts = [r["count"] for r in rows]
    return _figure(title, [go.Bar(
        x=[str(r["bucket"]) for r in rows], y=counts, marker={"color": color}, name=title,
    )], yaxis=_count_axis(counts))
