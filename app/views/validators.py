"""Form validators shared by the tenant settings screens."""
from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

from babel.numbers import is_currency
from wtforms.validators import ValidationError


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone_name(form, field) -> None:
    if field.data not in _zones():
        raise ValidationError("Use an IANA timezone name, e.g. Asia/Kolkata")


def currency_code(form, field) -> None:
    if not field.data or not is_currency(field.data.upper()):
        raise ValidationError("Use an ISO 4217 currency code, e.g. INR")
    field.data = field.data.upper()


TENANT_VALIDATORS = {"timezone": [timezone_name], "currency": [currency_code]}
