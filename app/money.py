"""Money is an integer of minor units plus an ISO currency; this is where it becomes text."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision

LOCALE = "en_IN"


def to_major(amount_minor: int, currency: str = "INR") -> Decimal:
    digits = get_currency_precision(currency)
    return Decimal(amount_minor or 0).scaleb(-digits)


def format_money(amount_minor: int | None, currency: str = "INR") -> str:
    """₹1,23,456.00 style (Indian grouping for INR) via Babel's CLDR data."""
    if amount_minor is None:
        return ""
    return format_currency(to_major(amount_minor, currency), currency, locale=LOCALE)


def to_minor(amount_major, currency: str = "INR") -> int:
    """A typed amount in major units ("1,500.50", 1500) as minor units; ValueError if it is not
    a non-negative amount with at most the currency's decimals."""
    text = str(amount_major).strip().replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{amount_major!r} is not an amount") from None
    digits = get_currency_precision(currency)
    if not value.is_finite() or value < 0 or value.as_tuple().exponent < -digits:
        raise ValueError(f"{amount_major!r} is not an amount in {currency}")
    return int(value.scaleb(digits))
