"""The analytics page as CSV: every figure the page shows, one figure per row.

One long table (section, key, label, metric, value) rather than several tables glued together,
so a spreadsheet pivot or any CSV reader takes it as it is. Money stays in integer minor units
(the column name says so) and rates are fractions, exactly as the API gives them. Labels come
from tenants' own data (campaign and product names, ad ids from webhooks), so they are written
as OWASP's CSV-injection guidance says: a text starting with what a spreadsheet would run as a
formula (=, +, -, @, tab, CR, LF, NUL; also behind spaces an import may trim) gets a leading
apostrophe, and every cell is quoted, so a ';' in a name opens no new cell where the
spreadsheet's list separator is ';'.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from app.analytics import previous_period
from app.services.reporting import AnalyticsPage

HEADER = ["section", "key", "label", "metric", "value"]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
DAILY_METRICS = ["messages_received", "messages_sent", "conversations", "orders_paid", "revenue_minor"]
BREAKDOWN_METRICS = ["conversations", "orders_paid", "revenue_minor", "conversion_rate", "quantity"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    if isinstance(value, str) and (text.startswith(FORMULA_START)
                                   or text.lstrip(" ").startswith(FORMULA_START)):
        return "'" + text
    return text


def rows(page: AnalyticsPage) -> Iterator[list]:
    f = page.filters
    yield ["filters", "", "", "start", f.start.isoformat()]
    yield ["filters", "", "", "end", f.end.isoformat()]
    yield ["filters", "", "", "platform", f.platform or "all"]
    yield ["filters", "", "", "campaign_id", f.campaign_id or "all"]
    for metric in sorted(page.summary):
        value = page.summary[metric]
        if isinstance(value, (int, float, str)) or value is None:
            yield ["summary", "", "", metric, value]
    # the period each headline is compared with, as the page's cards show it: empty when that
    # period had no activity at all (the card's "no earlier data")
    before = previous_period(f)
    yield ["previous", "", "", "start", before.start.isoformat()]
    yield ["previous", "", "", "end", before.end.isoformat()]
    for h in page.headlines:
        yield ["previous", "", h.label, h.key, h.previous if h.has_base else None]
    for row in page.daily:
        for metric in DAILY_METRICS:
            yield ["daily", row["day"].isoformat(), "", metric, row.get(metric)]
    for section, items in (("campaign", page.campaigns), ("product", page.products),
                           ("platform", page.platforms), ("ad", page.ads)):
        for row in items:
            for metric in BREAKDOWN_METRICS:
                if metric in row:
                    yield [section, row["key"], row["label"], metric, row[metric]]
    for stage in ("conversations", "engaged", "ordered", "paid"):
        yield ["funnel", stage, "", "count", page.funnel.get(stage, 0)]
    for section, cells in (("heatmap_inbound", page.inbound_heatmap),
                           ("heatmap_paid", page.paid_heatmap)):
        for cell in sorted(cells, key=lambda c: (c["weekday"], c["hour"])):
            if cell["count"]:
                key = f"{WEEKDAYS[cell['weekday']]} {cell['hour']:02d}:00"
                yield [section, key, "", "count", cell["count"]]
    for name in ("first_response", "sentiment", "lead_score"):
        for bucket in page.distributions.get(name, []):
            yield [f"distribution_{name}", bucket["bucket"], "", "count", bucket["count"]]


def to_csv(page: AnalyticsPage) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(HEADER)
    for row in rows(page):
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def filename(page: AnalyticsPage, slug: str) -> str:
    return f"analytics-{slug}-{page.filters.start.isoformat()}-to-{page.filters.end.isoformat()}.csv"
