"""Money is an integer of minor units plus an ISO currency; this is where it becomes text."""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision

LOCALE = "en_IN"


def to_major(amount_minor: int, currency: str = "INR") -> Decimal:
    digits = get_currency_precision(currency)
    return Decimal(amount_minor or 0).scaleb(-digits)


def to_minor(amount_major: Decimal, currency: str = "INR") -> int:
    """Decimal major units typed by a person (799.50) as integer minor units (79950)."""
    digits = get_currency_precision(currency)
    return int(Decimal(amount_major).scaleb(digits).to_integral_value())


def format_money(amount_minor: int | None, currency: str = "INR") -> str:
    """₹1,23,456.00 style (Indian grouping for INR) via Babel's CLDR data."""
    if amount_minor is None:
        return ""
    return format_currency(to_major(amount_minor, currency), currency, locale=LOCALE)
