"""Headline changes and the filters of the analytics pages (app.services.reporting)."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services.reporting import FilterError, Headline, headlines, parse_range
from app.views.report_format import Formats

TODAY = date(2026, 12, 2)


def test_changes_are_relative_for_amounts_and_points_for_rates():
    up = Headline("revenue_minor", "Revenue", "money", 15000, 10000, True)
    assert up.change == pytest.approx(0.5) and up.trend == "good"
    rate = Headline("conversion_rate", "Conversion", "rate", 0.30, 0.25, True)
    assert rate.change == pytest.approx(0.05) and rate.trend == "good"
    slower = Headline("median_first_response_seconds", "Median", "seconds", 90, 60, False)
    assert slower.change == pytest.approx(0.5) and slower.trend == "bad"
    assert Headline("orders_paid", "Orders", "count", 3, 3, True).trend == "flat"
    assert Headline("orders_paid", "Orders", "count", 3, 0, True).change is None  # no base
    assert Headline("median", "Median", "seconds", 30, None, False).change is None


def test_a_quiet_previous_period_is_no_base():
    current = {"conversations": 4, "conversion_rate": 0.5, "revenue_minor": 100}
    quiet = {"conversations": 0, "conversion_rate": 0.0, "revenue_minor": 0, "messages_received": 0}
    assert all(h.change is None for h in headlines(current, quiet))
    busy = {**quiet, "messages_received": 3, "conversations": 2, "conversion_rate": 0.25}
    by_key = {h.key: h for h in headlines(current, busy)}
    assert by_key["conversion_rate"].change == pytest.approx(0.25)
    assert by_key["conversations"].change == pytest.approx(1.0)


def test_a_ratio_with_nothing_to_divide_by_is_no_figure_not_zero():
    """No conversations: no conversion rate; no closed sales: no AI share; no paid orders: no
    average order. Shown as a dash, never compared; plain counts stay 0."""
    empty = {"conversations": 0, "conversion_rate": 0.0, "ai_share": 0.0, "ai_closed_sales": 0,
             "human_closed_sales": 0, "average_order_minor": 0, "orders_paid": 0, "revenue_minor": 0,
             "median_first_response_seconds": None}
    busy = {"conversations": 4, "conversion_rate": 0.5, "ai_share": 1.0, "ai_closed_sales": 2,
            "human_closed_sales": 0, "average_order_minor": 500, "orders_paid": 2, "revenue_minor": 1000,
            "messages_received": 5}
    now = {h.key: h for h in headlines(empty, busy)}
    for key in ("conversion_rate", "ai_share", "average_order_minor", "median_first_response_seconds"):
        assert now[key].value is None and now[key].change is None, key
        assert Formats.figure(now[key], "INR") == "–" and Formats.change(now[key]) == "no data in this period"
    assert now["orders_paid"].value == 0 and Formats.figure(now["orders_paid"], "INR") == "0"
    before = {h.key: h for h in headlines(busy, {**empty, "messages_received": 3})}
    assert before["conversion_rate"].value == 0.5 and before["conversion_rate"].change is None
    assert Formats.change(before["conversion_rate"]) == "no earlier data"


def test_range_defaults_to_the_last_thirty_days_including_today():
    assert parse_range({}, TODAY) == (date(2026, 11, 3), TODAY)
    assert parse_range({"end": "2026-01-31"}, TODAY) == (date(2026, 1, 2), date(2026, 1, 31))
    assert parse_range({"start": "2026-12-01", "end": "2026-12-01"}, TODAY) == (
        date(2026, 12, 1), date(2026, 12, 1))


@given(st.dictionaries(st.sampled_from(["start", "end"]), st.text(max_size=30)))
def test_any_text_is_a_range_or_a_clear_error(args):
    try:
        start, end = parse_range(args, TODAY)
    except FilterError as exc:
        assert str(exc)
    else:
        assert start <= end and (end - start).days < 366
