"""Analytics speed: a tenant with 1,000,000 messages, 100,000 conversations and 50,000 orders
over a year, among other tenants holding as many rows again, in PostgreSQL; then times

  * GET /api/v1/analytics/summary (30 days, JWT, in-process client)       target <= 200 ms
  * the dashboard's queries: summary of 30 days and of the 30 before,
    timeseries of 30 days                                                 target <= 500 ms total
  * the 90-day analytics page: summary, timeseries, 4 breakdowns,
    2 heatmaps, funnel, distributions                                     target <= 800 ms total

each as the median of --runs warm runs, and prints the EXPLAIN lines of every statement the
summary issues (index use, no scan of other tenants' rows).

    python bench/analytics.py [--database test_b] [--keep] [--runs 5]

--keep reuses the data already generated in that database. Needs PostgreSQL on loopback
(BENCH_PG); the rows are made by generate_series in the database itself.
"""
from __future__ import annotations

import argparse
import gc
import re
import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, event, text  # noqa: E402

from bench.common import PG_ROOT, ROOT, bench_env, machine_speed  # noqa: E402

PASSWORD = "Kestrel-Harbor-Lantern-47"
TARGET = "Bench Analytics Store"
OTHERS = 4
# (conversations, messages per conversation) for the target tenant and each other tenant
SHAPE_TARGET = (100_000, 10)
SHAPE_OTHER = (25_000, 10)
YEAR = 365
HTTPS = "https://localhost"  # production settings redirect plain HTTP


def reset(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def create_schema_and_tenants(app) -> list[int]:
    from flask_migrate import upgrade

    from app.extensions import appbuilder, db
    from app.models import Campaign, CampaignStatus, Channel, Platform, Product
    from app.services.tenants import create_tenant

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        appbuilder.sm.sync_roles()
        ids = []
        for n in range(OTHERS + 1):
            name = TARGET if n == 0 else f"Other Store {n}"
            tenant = create_tenant(name, owner_username=f"bench-owner-{n}",
                                   owner_email=f"bench-owner-{n}@example.test", owner_password=PASSWORD,
                                   agency_name="Bench Agency")
            for platform in (Platform.MESSENGER, Platform.INSTAGRAM, Platform.WHATSAPP):
                db.session.add(Channel(tenant_id=tenant.id, name=f"{platform} {n}", platform=platform,
                                       external_id=f"bench-{platform}-{n}", access_token="t"))
            for k in range(10):
                db.session.add(Campaign(tenant_id=tenant.id, name=f"Campaign {k}", status=CampaignStatus.ACTIVE,
                                        ad_ids=f"ad-{n}-{k}"))
            for k in range(50):
                db.session.add(Product(tenant_id=tenant.id, sku=f"SKU-{k}", name=f"Product {k}",
                                       price_minor=10_000 + 1_000 * k, stock=1_000_000))
            db.session.commit()
            ids.append(tenant.id)
        return ids


GENERATE = """
INSERT INTO customer (tenant_id, platform, external_id, name, opted_out, first_seen_at, last_seen_at)
SELECT :t, (ARRAY['messenger','instagram','whatsapp'])[1 + g % 3], 'cust-' || :t || '-' || g,
       'Customer ' || g, false, now(), now()
FROM generate_series(1, :convs) g;

INSERT INTO conversation (tenant_id, channel_id, customer_id, campaign_id, status, mode, lead_score,
                          sentiment, created_at, last_message_at, last_inbound_at, ad_id, referral_source)
SELECT cu.tenant_id, ch.id, cu.id,
       CASE WHEN cu.id % 4 = 0 THEN NULL ELSE camp.ids[1 + cu.id % 10] END,
       'open', 'ai', (cu.id * 37) % 101, ((cu.id * 13) % 200 - 100) / 100.0, s.at, s.at, s.at,
       CASE WHEN cu.id % 3 = 0 THEN 'ad-' || :n || '-' || (cu.id % 10) END,
       CASE WHEN cu.id % 3 = 0 THEN 'ADS' END
FROM customer cu
JOIN channel ch ON ch.tenant_id = cu.tenant_id AND ch.platform = cu.platform
CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM campaign WHERE tenant_id = :t) camp
CROSS JOIN LATERAL (SELECT now() - (((cu.id * 7919) % (:days * 86400)) * interval '1 second') AS at) s
WHERE cu.tenant_id = :t;

INSERT INTO message (tenant_id, conversation_id, channel_id, direction, sender, kind, text, external_id,
                     status, created_at)
SELECT c.tenant_id, c.id, c.channel_id,
       CASE WHEN k % 2 = 0 THEN 'in' ELSE 'out' END,
       CASE WHEN k % 2 = 0 THEN 'customer' WHEN k % 7 = 3 THEN 'agent' ELSE 'ai' END,
       'text', 'message ' || k, 'mid-' || c.id || '-' || k,
       CASE WHEN k % 2 = 0 THEN 'received' WHEN (c.id + k) % 50 = 1 THEN 'failed' ELSE 'sent' END,
       c.created_at + k * interval '3 minutes' + (c.id % 60) * interval '1 second'
FROM conversation c CROSS JOIN generate_series(0, :per - 1) k
WHERE c.tenant_id = :t;

INSERT INTO orders (tenant_id, number, customer_id, conversation_id, campaign_id, status, currency,
                    total_minor, created_at, updated_at, paid_at, closed_at, closed_by_sender)
SELECT c.tenant_id, 'B' || c.id, c.customer_id, c.id, c.campaign_id,
       st.status, 'INR', 10000 + (c.id % 50) * 1000, c.created_at + interval '20 minutes', now(),
       CASE WHEN st.status IN ('paid', 'refunded', 'shipped')
            THEN c.created_at + interval '20 minutes' + (c.id % 72) * interval '1 hour' END,
       CASE WHEN st.status IN ('refunded', 'cancelled') THEN c.created_at + interval '5 days' END,
       CASE WHEN c.id % 5 = 0 THEN 'agent' ELSE 'ai' END
FROM conversation c
CROSS JOIN LATERAL (SELECT CASE WHEN c.id % 20 < 13 THEN 'paid' WHEN c.id % 20 < 15 THEN 'shipped'
                                WHEN c.id % 20 = 15 THEN 'refunded' WHEN c.id % 20 < 18 THEN 'pending_payment'
                                ELSE 'cancelled' END AS status) st
WHERE c.tenant_id = :t AND c.id % 2 = 0;

INSERT INTO order_item (tenant_id, order_id, product_id, sku, name, unit_price_minor, quantity)
SELECT o.tenant_id, o.id, p.ids[1 + o.id % 50], 'SKU-' || (o.id % 50), 'Product ' || (o.id % 50),
       o.total_minor, 1
FROM orders o CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM product WHERE tenant_id = :t) p
WHERE o.tenant_id = :t;
"""


def generate(url: str, tenant_ids: list[int]) -> None:
    from app.services.conversation_facts import refresh_all

    engine = create_engine(url)
    for n, tenant_id in enumerate(tenant_ids):
        convs, per = SHAPE_TARGET if n == 0 else SHAPE_OTHER
        started = time.perf_counter()
        with engine.begin() as conn:
            for statement in GENERATE.split(";\n"):
                if statement.strip():
                    conn.execute(text(statement), {"t": tenant_id, "n": n, "convs": convs, "per": per,
                                                   "days": YEAR})
            # The rows went in by SQL, past the flush that keeps the conversations' facts;
            # statistics first, or the planner takes the fresh tables for empty ones.
            conn.execute(text("ANALYZE message, conversation"))
            refresh_all(conn, tenant_id)
        print(f"  tenant {tenant_id}: {convs:,} conversations, {convs * per:,} messages, "
              f"{convs // 2:,} orders in {time.perf_counter() - started:.1f} s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def counts(url: str, tenant_id: int) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT (SELECT count(*) FROM message WHERE tenant_id = :t), (SELECT count(*) FROM message),"
            " (SELECT count(*) FROM conversation WHERE tenant_id = :t), (SELECT count(*) FROM conversation),"
            " (SELECT count(*) FROM orders WHERE tenant_id = :t), (SELECT count(*) FROM orders)"),
            {"t": tenant_id}).one()
    engine.dispose()
    return (f"tenant {tenant_id}: {row[0]:,} of {row[1]:,} messages, {row[2]:,} of {row[3]:,} conversations, "
            f"{row[4]:,} of {row[5]:,} orders")


BACKENDS: set[int] = set()


def track_backends(engine) -> None:
    """Remember the PostgreSQL backend process of every connection the app opens."""
    @event.listens_for(engine, "connect")
    def _remember(dbapi_conn, record):
        BACKENDS.add(dbapi_conn.info.backend_pid)  # psycopg 3: no query, no transaction


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_now() -> float:
    """CPU seconds of this process and of its PostgreSQL backends (not other helpers' load)."""
    return time.process_time() + sum(_cpu_seconds(pid) for pid in BACKENDS)


def timed(fn, runs: int) -> tuple[float, float, float]:
    """(median wall ms, max wall ms, median CPU ms). On a shared, busy machine wall time
    waits for the CPU; the CPU time (this process + its database backends; parallel query
    workers not counted) is what the work costs, about its latency on a quiet machine."""
    fn()  # warm: first-use imports and plans
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu = time.perf_counter(), cpu_now()
        fn()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((cpu_now() - cpu) * 1000)
    return statistics.median(walls), max(walls), statistics.median(cpus)


def explain_summary(app, f) -> None:
    from app import analytics
    from app.extensions import db

    captured = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", grab)
        try:
            analytics.summary(f)
        finally:
            event.remove(engine, "before_cursor_execute", grab)
        with engine.connect() as conn:
            conn.exec_driver_sql("SET jit = off")  # as the analytics functions run them
            for i, (statement, parameters) in enumerate(captured, 1):
                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) " + statement,
                                            parameters).scalars().all()
                keys = [line.strip() for line in plan if any(
                    word in line for word in ("Scan", "Execution Time", "Index Cond", "JIT", "Timing"))]
                print(f"  statement {i}:")
                for line in keys[:14] + [k for k in keys[14:] if "Execution" in k or "Timing" in k]:
                    print(f"    {line}")
                seq = [line for line in plan if "Seq Scan on" in line and any(
                    f" {t} " in line + " " for t in ("message", "orders", "conversation"))]
                if seq:
                    print("    !! sequential scan of a big table: " + seq[0].strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="test_b")
    parser.add_argument("--keep", action="store_true", help="reuse the rows already generated")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    url = f"{PG_ROOT}/{args.database}"
    env = bench_env(url, REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2"),
                    AUTH_RATE_LIMITED="false", RATELIMIT_ENABLED="false")
    os.environ.update(env)
    from app import create_app

    print(f"machine speed {machine_speed():.0f} ms (smaller is faster)")
    if not args.keep:
        reset(url)
        app = create_app()
        started = time.perf_counter()
        tenant_ids = create_schema_and_tenants(app)
        generate(url, tenant_ids)
        print(f"generated in {time.perf_counter() - started:.0f} s")
    else:
        app = create_app()
    # As run.py serves it (gunicorn run:app): the app's own objects frozen out of the garbage
    # collector's full collections, which otherwise walk them all (200+ ms with the GIL held)
    # whenever a page's tens of thousands of rows trip one.
    gc.collect()
    gc.freeze()
    from sqlalchemy import select

    from app import analytics
    from app.extensions import db
    from app.models import Tenant

    with app.app_context():
        tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.name == TARGET))
        zone = analytics.filters.zone_of(db.session.get(Tenant, tenant_id).timezone)
    print(counts(url, tenant_id))
    today = datetime.now(timezone.utc).astimezone(zone).date()
    month = analytics.Filters(tenant_id=tenant_id, start=today - timedelta(days=29), end=today)
    quarter = analytics.Filters(tenant_id=tenant_id, start=today - timedelta(days=89), end=today)

    with app.app_context():
        track_backends(db.engine)
        db.engine.dispose()  # reconnect, so every connection is tracked
    client = app.test_client()
    login = client.post("/api/v1/security/login", json={
        "username": "bench-owner-0", "password": PASSWORD, "provider": "db"}, base_url=HTTPS)
    assert login.status_code == 200, f"login: {login.status_code} {login.get_data(as_text=True)[:300]}"
    token = login.json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    url_summary = f"/api/v1/analytics/summary?start={month.start}&end={month.end}"

    def api_summary():
        resp = client.get(url_summary, headers=headers, base_url=HTTPS)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]

    def dashboard():
        with app.test_request_context("/"):
            analytics.summary(month)
            analytics.summary(analytics.previous_period(month))
            analytics.timeseries(month)
            db.session.remove()

    def analytics_page():
        with app.test_request_context("/analytics/"):
            analytics.summary(quarter)
            analytics.timeseries(quarter)
            for by in analytics.BREAKDOWNS:
                analytics.breakdown(quarter, by)
            analytics.heatmap(quarter, "inbound")
            analytics.heatmap(quarter, "paid")
            analytics.funnel(quarter)
            analytics.distributions(quarter)
            db.session.remove()

    # The pages as a signed-in owner gets them: queries, plot JSON and HTML, one request each.
    browser = app.test_client()
    form = browser.get("/login/", base_url=HTTPS).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    signed_in = browser.post("/login/", base_url=HTTPS, headers={"Referer": f"{HTTPS}/login/"}, data={
        "username": "bench-owner-0", "password": PASSWORD, **({"csrf_token": csrf.group(1)} if csrf else {})})
    assert signed_in.status_code == 302, f"sign-in: {signed_in.status_code}"

    def page(path: str):
        def get():
            resp = browser.get(path, base_url=HTTPS)
            assert resp.status_code == 200 and b"plot" in resp.data, (path, resp.status_code)
        return get

    with app.app_context():
        figures = analytics.summary(month)
    print(f"30-day summary: {figures['messages_received']:,} received, {figures['conversations']:,} "
          f"conversations, {figures['orders_paid']:,} paid, revenue {figures['revenue_minor']:,}")
    rows = [("summary API (30 days)", api_summary, 200), ("dashboard queries (30 days)", dashboard, 500),
            ("analytics page queries (90 days)", analytics_page, 800),
            ("dashboard page / (30 days)", page("/?days=30"), 500),
            ("analytics page (90 days)", page(f"/analytics/?start={quarter.start}&end={quarter.end}"), 800)]
    for name, fn, target in rows:
        median, worst, cpu = timed(fn, args.runs)
        verdict = "ok" if median <= target else "OVER"
        print(f"{name:34s} wall median {median:7.1f} ms  max {worst:7.1f} ms  cpu {cpu:7.1f} ms  "
              f"target {target} ms  {verdict} (wall)", flush=True)
    if args.runs:
        for name, compute in (("summary", lambda: analytics.summary(quarter)),
                              ("timeseries", lambda: analytics.timeseries(quarter)),
                              *((f"breakdown {by}", (lambda b=by: analytics.breakdown(quarter, b)))
                                for by in analytics.BREAKDOWNS),
                              ("heatmap inbound", lambda: analytics.heatmap(quarter, "inbound")),
                              ("heatmap paid", lambda: analytics.heatmap(quarter, "paid")),
                              ("funnel", lambda: analytics.funnel(quarter)),
                              ("distributions", lambda: analytics.distributions(quarter))):
            with app.app_context():
                median, _, cpu = timed(compute, 3)
            print(f"  90 days {name:20s} wall {median:7.1f} ms  cpu {cpu:7.1f} ms")
    print("EXPLAIN of the 30-day summary's statements:")
    explain_summary(app, month)
    print(f"machine speed {machine_speed():.0f} ms")


if __name__ == "__main__":
    main()
