"""The figure builders (app.analytics.charts): interface rows in, the data Plotly draws out."""
from __future__ import annotations

from datetime import date

from app.analytics import charts

DAYS = [
    {"day": date(2026, 11, 1), "messages_received": 5, "messages_sent": 7, "conversations": 2,
     "orders_paid": 1, "revenue_minor": 125050},
    {"day": date(2026, 11, 2), "messages_received": 0, "messages_sent": 0, "conversations": 0,
     "orders_paid": 0, "revenue_minor": 0},
    {"day": date(2026, 11, 3), "messages_received": 3, "messages_sent": 4, "conversations": 1,
     "orders_paid": 2, "revenue_minor": -5000},
]


def data(fig):
    return fig.to_dict()["data"]


def test_revenue_over_time_is_in_major_units_for_every_day():
    trace, = data(charts.revenue_over_time(DAYS, "INR"))
    assert trace["type"] == "scatter"
    assert list(trace["x"]) == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert list(trace["y"]) == [1250.50, 0.0, -50.0]  # a refund larger than the day's sales shows
    layout = charts.revenue_over_time(DAYS, "INR").to_dict()["layout"]
    assert layout["yaxis"]["tickprefix"] == "₹"


def test_currency_precision_comes_from_the_currency():
    trace, = data(charts.revenue_over_time(DAYS[:1], "JPY"))  # no minor unit
    assert list(trace["y"]) == [125050.0]


def test_messages_and_conversations_over_time():
    received, sent = data(charts.messages_over_time(DAYS))
    assert (received["name"], list(received["y"])) == ("Received", [5, 0, 3])
    assert (sent["name"], list(sent["y"])) == ("Sent", [7, 0, 4])
    convs, paid = data(charts.conversations_over_time(DAYS))
    assert list(convs["y"]) == [2, 0, 1] and list(paid["y"]) == [1, 0, 2]


def test_campaign_comparison_orders_by_revenue_and_keeps_the_figures_in_hover():
    rows = [
        {"key": 1, "label": "Diwali", "conversations": 10, "orders_paid": 2, "revenue_minor": 50000,
         "conversion_rate": 0.2},
        {"key": 2, "label": "Monsoon", "conversations": 4, "orders_paid": 3, "revenue_minor": 90000,
         "conversion_rate": 0.75},
    ]
    trace, = data(charts.campaign_comparison(rows, "INR"))
    assert trace["type"] == "bar"
    assert list(trace["x"]) == ["Monsoon", "Diwali"]
    assert list(trace["y"]) == [900.0, 500.0]
    assert [list(c) for c in trace["customdata"]] == [[4, 3, 75.0], [10, 2, 20.0]]


def test_top_products_keeps_the_best_ten_largest_on_top():
    rows = [{"key": i, "label": f"P{i}", "conversations": 0, "orders_paid": 1, "revenue_minor": i * 100,
             "conversion_rate": 0, "quantity": i} for i in range(1, 13)]
    trace, = data(charts.top_products(rows, "INR"))
    assert trace["orientation"] == "h"
    assert list(trace["y"]) == [f"P{i}" for i in range(3, 13)]  # bottom-up: P12 drawn on top
    assert list(trace["x"])[-1] == 12.0
    assert [list(c) for c in trace["customdata"]][-1] == [12]
    unsold = {"key": 99, "label": "Only ordered", "revenue_minor": 0, "quantity": 0}
    trace, = data(charts.top_products([*rows[:3], unsold], "INR"))
    assert list(trace["y"]) == ["P1", "P2", "P3"]  # no empty bar for what sold nothing
    # a long product name pushes the bars right rather than losing its first letters
    assert charts.top_products(rows, "INR").layout.yaxis.automargin is True


def test_platform_pie_leaves_out_platforms_without_conversations():
    rows = [{"key": "whatsapp", "label": "whatsapp", "conversations": 6},
            {"key": "instagram", "label": "instagram", "conversations": 0},
            {"key": "messenger", "label": "Messenger", "conversations": 2}]
    trace, = data(charts.platform_distribution(rows))
    assert trace["type"] == "pie"
    assert list(trace["labels"]) == ["WhatsApp", "Messenger"] and list(trace["values"]) == [6, 2]


def test_heatmap_is_a_full_week_grid_with_zeros():
    rows = [{"weekday": 0, "hour": 9, "count": 4}, {"weekday": 6, "hour": 23, "count": 1},
            {"weekday": 9, "hour": 1, "count": 50}]  # out of range: ignored, never an error
    trace, = data(charts.weekly_heatmap(rows, "Inbound"))
    z = [list(row) for row in trace["z"]]
    assert len(z) == 7 and all(len(row) == 24 for row in z)
    assert z[0][9] == 4 and z[6][23] == 1 and sum(map(sum, z)) == 5
    assert list(trace["y"])[0] == "Mon" and list(trace["x"])[9] == "09:00"


def test_funnel_stages_in_order():
    trace, = data(charts.funnel({"conversations": 100, "engaged": 60, "ordered": 20, "paid": 12}))
    assert trace["type"] == "funnel"
    assert list(trace["y"]) == ["Conversations", "Engaged", "Ordered", "Paid"]
    assert list(trace["x"]) == [100, 60, 20, 12]
    assert charts.funnel({}).layout.yaxis.automargin is True  # "Conversations" not cut to "versations"


def test_buckets_keep_their_order():
    rows = [{"bucket": "< 1 min", "count": 8}, {"bucket": "1-5 min", "count": 3},
            {"bucket": "> 1 h", "count": 0}]
    trace, = data(charts.buckets(rows, "First response time"))
    assert list(trace["x"]) == ["< 1 min", "1-5 min", "> 1 h"] and list(trace["y"]) == [8, 3, 0]


def test_no_figure_uses_webgl():
    """WebGL traces need 'unsafe-eval', which the admin's CSP refuses."""
    figs = [charts.revenue_over_time(DAYS, "INR"), charts.messages_over_time(DAYS),
            charts.conversations_over_time(DAYS), charts.weekly_heatmap([], "x"),
            charts.funnel({}), charts.buckets([], "x")]
    for fig in figs:
        assert not any(t["type"].endswith("gl") for t in data(fig))


def test_count_axes_tick_by_whole_units_when_counts_are_small():
    small = charts.conversations_over_time(DAYS).to_dict()["layout"]["yaxis"]
    assert small["dtick"] == 1 and small["tickformat"] == ",d"
    big = charts.buckets([{"bucket": "a", "count": 400}], "x").to_dict()["layout"]["yaxis"]
    assert "dtick" not in big
