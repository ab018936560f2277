"""How the dashboard's and analytics page's figures read: money, rates, durations, changes."""
from __future__ import annotations

from app.analytics.charts import platform_label
from app.analytics.formats import count, duration, money, percent


def figure(headline, currency: str) -> str:
    kind, value = headline.kind, headline.value
    if value is None:  # a ratio with nothing to divide by, a median of nothing
        return "–"
    if kind == "money":
        return money(value, currency)
    if kind == "rate":
        return percent(value)
    if kind == "seconds":
        return duration(value)
    return count(value)


def change(headline) -> str:
    """"+12.5%" for amounts, "+3.1 pts" for rates, "no earlier data" without a base, "no data
    in this period" without a figure."""
    delta = headline.change
    if headline.value is None:
        return "no data in this period"
    if delta is None:
        return "no earlier data"
    if headline.kind == "rate":
        return f"{100 * delta:+.1f} pts"
    return f"{100 * delta:+.1f}%"


class Formats:
    """Handed to templates as `fmt`."""

    money = staticmethod(money)
    rate = staticmethod(percent)
    seconds = staticmethod(duration)
    count = staticmethod(count)
    figure = staticmethod(figure)
    change = staticmethod(change)
    platform = staticmethod(platform_label)
