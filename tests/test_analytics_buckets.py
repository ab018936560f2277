"""The shortcuts of the analytics' Python side read the same as the slow, obvious way: the
local day and hour of every quarter-hour (DST days included, and zones off the hour); and the
database's bucket counts and median read as counting every conversation by hand would."""
from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.analytics import buckets
from app.analytics.cohort import LEAD_BUCKETS, RESPONSE_BUCKETS, SENTIMENT_BUCKETS


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


START = datetime(2026, 11, 10, 6, 0, tzinfo=timezone.utc)
EDGES = {
    "lead": [0, 19, 20, 39, 40, 59, 60, 79, 80, 100],  # the column holds 0-100
    "mood": [-1.0, -0.5, -0.05, 0.0, 0.049, 0.05, 0.5, 1.0, None, -1.02, 1.01],
    "wait": [0, 59, 60, 299, 300, 899, 900, 3599, 3600, 14399, 14400, 10**6, -30, None],
}


def _conversations(draw_count):
    return st.lists(st.tuples(st.one_of(st.sampled_from(EDGES["lead"]), st.integers(0, 100)),
                              st.one_of(st.sampled_from(EDGES["mood"]), st.floats(-1.2, 1.2)),
                              st.one_of(st.sampled_from(EDGES["wait"]), st.integers(-100, 10**5)),
                              st.booleans()), max_size=draw_count)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_conversations(12))
def test_distributions_and_median_match_counting_every_conversation(app, world, rows):
    """The database's bucket counts and median (percentile on PostgreSQL, the middle rows on
    SQLite) against the obvious count: bounds on both sides, a negative wait (a reply stamped
    before its question) as no wait, no reply as no first response, a score missing as 0."""
    from app import analytics
    from app.analytics.queries import ratio
    from app.extensions import db
    from app.models import Channel, Conversation, Customer

    with app.app_context():
        tenant = world.a.tenant_id
        channel = db.session.get(Channel, world.a["channel"])
        made = []
        for n, (lead, mood, wait, engaged) in enumerate(rows):
            customer = Customer(tenant_id=tenant, platform=channel.platform, external_id=f"bucket-{n}")
            db.session.add(customer)
            db.session.flush()
            when = START + timedelta(minutes=n)
            conv = Conversation(tenant_id=tenant, channel_id=channel.id, customer_id=customer.id,
                                lead_score=lead, sentiment=mood, created_at=when, first_inbound_at=when,
                                first_reply_at=None if wait is None else when + timedelta(seconds=wait),
                                engaged_at=when + timedelta(hours=5) if engaged and wait is not None else None)
            db.session.add(conv)
            made += [conv, customer]
        db.session.commit()
        try:
            flt = analytics.Filters(tenant_id=tenant, start=date(2026, 11, 10), end=date(2026, 11, 10))
            d = analytics.distributions(flt)
            waits = [max(w, 0) for _, _, w, _ in rows if w is not None]
            assert d["lead_score"] == _slow([lead for lead, *_ in rows], LEAD_BUCKETS)
            assert d["sentiment"] == _slow([m for _, m, _, _ in rows], SENTIMENT_BUCKETS, "unknown")
            assert d["first_response"] == _slow(waits, RESPONSE_BUCKETS)
            s = analytics.summary(flt)
            assert s["conversations"] == len(rows)
            assert s["median_first_response_seconds"] == (round(statistics.median(waits), 1) if waits else None)
            engaged = sum(1 for *_, w, e in rows if e and w is not None)
            assert s["response_rate"] == ratio(engaged, len(waits))
        finally:
            db.session.rollback()
            for row in made:
                db.session.delete(row)
            db.session.commit()
