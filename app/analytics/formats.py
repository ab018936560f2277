"""How a figure reads to people, wherever it is shown: the dashboard, the analytics and agency
pages, and Leo's answers. One set of functions, so the owner sees the same "3 min 20 s" or
"12.5%" for the same number in Leo's sentence and on the page beside it.

What a missing value reads as depends on where it stands (a dash in a table cell, words in a
sentence), so callers may say it with `missing`.
"""
from __future__ import annotations

from app.money import format_money


def money(amount_minor, currency: str) -> str:
    return format_money(int(amount_minor or 0), currency)


def percent(fraction, *, missing: str = "–") -> str:
    """A 0-1 fraction as a percentage with one decimal: 0.125 -> 12.5%."""
    return missing if fraction is None else f"{100 * fraction:.1f}%"


def duration(seconds, *, missing: str = "–") -> str:
    """A duration as people say it: 45 s, 3 min, 3 min 20 s, 2 h 5 min."""
    if seconds is None:
        return missing
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s" if seconds % 60 else f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def count(value) -> str:
    return f"{int(value or 0):,}"
