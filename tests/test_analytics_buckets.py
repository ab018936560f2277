"""The shortcuts of the analytics' Python side read the same as the slow, obvious way: the
local day and hour of every quarter-hour (DST days included, and zones off the hour), and the
bucket counts of the distributions."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from app.analytics import buckets
from app.analytics.queries import LEAD_BUCKETS, RESPONSE_BUCKETS, SENTIMENT_BUCKETS, _bucketed


@pytest.mark.parametrize("zone_name, start, end", [
    ("America/New_York", date(2026, 3, 1), date(2026, 3, 31)),   # spring forward, 8 Mar
    ("Europe/London", date(2026, 10, 20), date(2026, 11, 5)),     # fall back, 25 Oct
    ("Asia/Kolkata", date(2026, 11, 1), date(2026, 11, 30)),      # +05:30
    ("Australia/Lord_Howe", date(2026, 4, 1), date(2026, 4, 10)),  # a half-hour DST change
])
def test_weekday_and_hour_of_every_quarter_hour_match_the_zone(zone_name, start, end):
    zone = ZoneInfo(zone_name)
    clock = buckets.DayFinder(start, end, zone)
    table = clock.quarters(zone)
    first = clock.first
    last = int(clock.edges[-1]) // buckets.QUARTER
    assert len(table) == last - first
    for bucket in range(first, last):
        moment = datetime.fromtimestamp(bucket * buckets.QUARTER, tz=timezone.utc).astimezone(zone)
        day, hour = table[bucket - first]
        assert (clock.days[day], hour) == (moment.date(), moment.hour), (zone_name, moment)
        assert clock(bucket) == moment.date()
    # just outside the range: no day of it
    assert clock(first - 1) is None and clock(last) is None


def _slow(values, bounds, none_label=None):
    counts = {label: 0 for _, _, label in bounds}
    missing = 0
    for v in values:
        if v is None:
            missing += 1
            continue
        for low, high, label in bounds:
            if low <= v < high:
                counts[label] += 1
                break
    rows = [{"bucket": label, "count": counts[label]} for _, _, label in bounds]
    return rows + ([{"bucket": none_label, "count": missing}] if none_label else [])


def test_bucket_counts_match_checking_every_bound():
    leads = [0, 19, 20, 39, 40, 59, 60, 79, 80, 100, 100, 101, -1, 55]
    moods = [-1.0, -0.5, -0.05, 0.0, 0.049, 0.05, 0.5, 1.0, None, None, -1.02, 1.01]
    seconds = [0.0, 59.9, 60.0, 299.0, 300.0, 899.9, 900.0, 3599.0, 3600.0, 14399.0, 14400.0, 1e9]
    assert _bucketed(leads, LEAD_BUCKETS) == _slow(leads, LEAD_BUCKETS)
    assert _bucketed(moods, SENTIMENT_BUCKETS, "unknown") == _slow(moods, SENTIMENT_BUCKETS, "unknown")
    assert _bucketed(seconds, RESPONSE_BUCKETS) == _slow(seconds, RESPONSE_BUCKETS)
    assert [r["count"] for r in _bucketed(moods, SENTIMENT_BUCKETS, "unknown")] == [1, 1, 3, 1, 2, 2]
