"""Time buckets that work on SQLite and PostgreSQL and in any timezone.

The database groups rows by UTC quarter-hour (every timezone offset in use, DST included, is a
multiple of 15 minutes, so a quarter-hour never straddles two local days or hours); Python then
reads each quarter-hour in the tenant's zone. Neither database has to know the zone, and
SQLite, which has no timezone support, gives the same answer as PostgreSQL.
"""
from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, cast, func

from app.extensions import db

QUARTER = 900  # seconds


def quarter_hour(column):
    """SQL: the UTC quarter-hour number (seconds since the epoch // 900) of a timestamp."""
    if db.engine.dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column) / QUARTER), BigInteger)
    return cast(func.strftime("%s", column), Integer) / QUARTER


def local(bucket: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(int(bucket) * QUARTER, tz=timezone.utc).astimezone(zone)


def local_day(bucket: int, zone: ZoneInfo) -> date:
    return local(bucket, zone).date()


class DayFinder:
    """Maps quarter-hours to the tenant's local days of a range by bisecting the UTC instants
    of its local midnights (exact across DST changes, and no timezone arithmetic per row)."""

    def __init__(self, start: date, end: date, zone: ZoneInfo):
        self.days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        self.edges = [datetime.combine(d, time.min, tzinfo=zone).timestamp() for d in self.days]
        self.edges.append(datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone).timestamp())

    def __call__(self, bucket: int) -> date | None:
        at = int(bucket) * QUARTER
        i = bisect_right(self.edges, at) - 1
        return self.days[i] if 0 <= i < len(self.days) else None
