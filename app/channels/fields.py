"""Reading the fields of a webhook event we do not trust for type, size or unit.

Meta's deliveries deviate from its documentation: ids come as numbers or strings, timestamps as
integer milliseconds, integer seconds or strings of seconds, optional objects as `null`, `[]` or
missing. A signed body can still be anything at all. The adapters read every field through
these functions, so what reaches the database has the type and size its column expects, and a
field that can't be read makes its one event `Malformed` (recorded with the reason and skipped)
instead of failing the whole delivery.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

# Column sizes these values are stored in (app.models): ids beyond them are not real ids.
MAX_ID = 128
MAX_NAME = 160
MAX_PHONE = 32
MAX_KIND = 32
MAX_TEXT = 20_000  # a chat message is at most a few thousand characters on every platform

# Plausible times: nothing these platforms send predates them, and a clock may run ahead of ours
# by a little, never by days. Outside this window a value is a misread unit or garbage.
EARLIEST = datetime(2004, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)


class Malformed(ValueError):
    """One event can't be read; the message says which field and why."""


def kind_of(value) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", float: "a number",
            int: "a number", str: "a string", type(None): "null"}.get(type(value), type(value).__name__)


# What reading one event may raise besides Malformed, for shapes nobody foresaw: an adapter
# catches these per event, so no shape of body can fail the whole delivery.
UNREADABLE = (Malformed, KeyError, TypeError, ValueError, AttributeError, RecursionError)


def reason(exc: BaseException) -> str:
    """What to record about an event that could not be read."""
    if isinstance(exc, Malformed):
        return str(exc)
    return f"unreadable ({type(exc).__name__}: {str(exc)[:200]})"


def clean(value: str, limit: int | None = None) -> str:
    """A string PostgreSQL and SQLite both store: no NUL characters, no lone surrogates
    (JSON can carry `\\u0000` and `\\ud800`; PostgreSQL text refuses the first, UTF-8 the
    second), at most `limit` characters."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value[:limit] if limit is not None else value


def obj(parent: dict, key: str, *, required: bool = False) -> dict:
    """`parent[key]` as an object; a missing or null optional one reads as empty."""
    value = parent.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise Malformed(f"{key} is {kind_of(value)}, not an object")
    return value


def optional_obj(parent: dict, key: str) -> dict:
    """An object nobody needs to answer the message (a quick reply, a referral, a caption's
    media): any other type reads as absent."""
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def required(value: str | None, name: str) -> str:
    if value is None:
        raise Malformed(f"{name} is missing")
    return value


def items(parent: dict, key: str) -> list:
    """`parent[key]` as a list; missing or null reads as empty."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{key} is {kind_of(value)}, not a list")
    return value


def ident(parent: dict, key: str, *, required: bool = False, limit: int = MAX_ID,
          name: str | None = None) -> str | None:
    """An id: a string or an integer (Meta sends both), as a string of at most `limit`
    characters with no spaces. `name` is how a reason calls it (e.g. "sender.id")."""
    name = name or key
    value = parent.get(key)
    if value is None or value == "":
        if required:
            raise Malformed(f"{name} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Malformed(f"{name} is {kind_of(value)}, not an id")
    text = clean(str(value).strip())
    if not text or len(text) > limit or any(c.isspace() for c in text):
        raise Malformed(f"{name} is not an id ({len(text)} characters)")
    return text


def text(parent: dict, key: str, *, limit: int = MAX_TEXT) -> str | None:
    """Free text: a string (numbers are written out), cleaned and cut to `limit`."""
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Malformed(f"{key} is {kind_of(value)}, not text")
    return clean(str(value), limit) or None


def label(parent: dict, key: str, *, limit: int) -> str | None:
    """A short optional value (a name, a title, a kind): unreadable reads as absent, since
    losing it costs nothing while dropping the message would."""
    try:
        return text(parent, key, limit=limit)
    except Malformed:
        return None


def to_datetime(value) -> datetime | None:
    """A Unix time in seconds, milliseconds, microseconds or nanoseconds, as a number or a
    string of one (or an ISO 8601 string), read by its magnitude; None if it is none of those
    or lands outside the plausible window.

    Messenger and Instagram send integer milliseconds on most events but seconds on some
    (lead-ad referrals), WhatsApp and the App Dashboard's test deliveries send strings of
    seconds: a unit is never assumed from the platform.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value or len(value) > 40:
            return None
        try:
            number = float(value)
        except ValueError:
            return _iso(value)
    elif isinstance(value, (int, float)):
        number = float(value)
    else:
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    for scale in (1, 1e3, 1e6, 1e9):  # seconds now ~1.8e9, ms ~1.8e12, µs ~1.8e15, ns ~1.8e18
        if number < 1e11 * scale:
            seconds = number / scale
            break
    else:
        return None
    try:
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment if _plausible(moment) else None


def _iso(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment if _plausible(moment) else None


def _plausible(moment: datetime) -> bool:
    return EARLIEST <= moment <= datetime.now(timezone.utc) + FUTURE_SLACK


def event_time(value, arrival: datetime, default: datetime | None = None) -> datetime:
    """When an event happened: its own timestamp read by magnitude, else `default` (the entry's
    time), else the delivery's arrival, so an event is never dropped for its clock. Never later
    than the arrival: a clock running ahead must not stretch the 24-hour reply window."""
    moment = to_datetime(value) or default or arrival
    return min(moment, arrival)
