"""How the dashboard's and analytics page's figures read: money, rates, durations, changes."""
from __future__ import annotations

from app.analytics.charts import platform_label
from app.money import format_money


def money(amount_minor, currency: str) -> str:
    return format_money(int(amount_minor or 0), currency)


def rate(fraction) -> str:
    return "–" if fraction is None else f"{100 * fraction:.1f}%"


def seconds(value) -> str:
    """A duration as people say it: 45 s, 3 min 20 s, 2 h 05 min."""
    if value is None:
        return "–"
    value = int(round(value))
    if value < 60:
        return f"{value} s"
    if value < 3600:
        return f"{value // 60} min {value % 60:02d} s"
    return f"{value // 3600} h {(value % 3600) // 60:02d} min"


def count(value) -> str:
    return f"{int(value or 0):,}"


def figure(headline, currency: str) -> str:
    kind, value = headline.kind, headline.value
    if kind == "money":
        return money(value, currency)
    if kind == "rate":
        return rate(value)
    if kind == "seconds":
        return seconds(value)
    return count(value)


def change(headline) -> str:
    """"+12.5%" for amounts, "+3.1 pts" for rates, "no earlier data" without a base."""
    delta = headline.change
    if delta is None:
        return "no earlier data"
    if headline.kind == "rate":
        return f"{100 * delta:+.1f} pts"
    return f"{100 * delta:+.1f}%"


class Formats:
    """Handed to templates as `fmt`."""

    money = staticmethod(money)
    rate = staticmethod(rate)
    seconds = staticmethod(seconds)
    count = staticmethod(count)
    figure = staticmethod(figure)
    change = staticmethod(change)
    platform = staticmethod(platform_label)
