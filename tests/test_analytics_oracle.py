"""Every analytics figure checked against an independent oracle, as an outside checker would.

Hypothesis builds small random shops: conversations on Messenger, Instagram and WhatsApp, with
and without campaigns, messages in and out (AI, staff, system; sent, delivered, read, failed,
still queued), orders placed, paid (sometimes days after the conversation), partially and fully
refunded, cancelled; times crowded around the tenant's local midnights, in Asia/Kolkata and in
America/New_York across its DST changes. A second business of the same agency gets rows at the
same moments (it must never count for the first, and the agency overview must show its own
figures), and a third in another agency must not appear at all.

The oracle below computes each figure in plain Python from the rows as they were inserted,
following the README's "Metric definitions", and compares it with what
GET /api/v1/analytics/summary, /timeseries, /breakdown, /heatmap, /funnel, /distributions and
/agency answer for the same range and filters. It shares no code with app/analytics.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

PASSWORD = "Kestrel-Harbor-Lantern-47"
PLATFORMS = ("messenger", "instagram", "whatsapp")
PAID = {"paid", "fulfilled", "shipped", "delivered"}
SENT = {"sent", "delivered", "read"}
# (anchor day, zone): a plain week in Kolkata; New York's spring-forward and fall-back weeks.
ANCHORS = [(date(2026, 11, 10), "Asia/Kolkata"), (date(2026, 3, 8), "America/New_York"),
           (date(2026, 11, 1), "America/New_York"), (date(2026, 3, 8), "Asia/Kolkata")]


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc)


def local_day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


# ---------------------------------------------------------------------------- the generated shop

# Seconds after a local midnight: the last minutes before it, the first after it, and anywhere.
NEAR_MIDNIGHT = st.one_of(st.sampled_from([-600, -60, -1, 0, 1, 59, 600, 3600, 5400, 9000]),
                          st.integers(-86400, 86399))
DELAY = st.one_of(st.sampled_from([0, 1, 30, 90, 600, 4000]), st.integers(0, 4 * 86400))
MESSAGE_KINDS = [("in", "customer", "received"), ("out", "ai", "sent"), ("out", "ai", "delivered"),
                 ("out", "agent", "read"), ("out", "agent", "sent"), ("out", "ai", "failed"),
                 ("out", "ai", "queued"), ("out", "system", "sent")]
ORDER_STATUSES = ["pending_payment", "paid", "fulfilled", "shipped", "delivered", "cancelled",
                  "expired", "refunded"]

# A message may be stamped before its conversation began (Meta redelivers a late one with its
# original time), so delays go a little negative too.
message_st = st.tuples(st.sampled_from(MESSAGE_KINDS), st.one_of(DELAY, st.integers(-3600, -1)))
order_st = st.fixed_dictionaries({
    "placed": DELAY,
    "status": st.sampled_from(ORDER_STATUSES),
    "paid_after": DELAY,                                   # payment days after placing, sometimes
    "refund_share": st.sampled_from([0, 0, 0, 0.25, 0.5, 1.0]),   # of a still-paid order
    "lines": st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=2),
    "closed_by": st.sampled_from(["ai", "agent", None]),
    "other_campaign": st.booleans(),                       # credited to another campaign than its chat's
})
conversation_st = st.fixed_dictionaries({
    "day": st.integers(-2, 6),                             # local day relative to the range's start
    "second": NEAR_MIDNIGHT,
    "platform": st.sampled_from(PLATFORMS),
    "campaign": st.sampled_from([None, 0, 1]),
    "lead": st.one_of(st.sampled_from([0, 19, 20, 59, 60, 80, 100]), st.integers(0, 100)),
    "sentiment": st.one_of(st.none(), st.sampled_from([-1.0, -0.5, -0.05, 0.0, 0.05, 0.5, 1.0]),
                           st.floats(-1, 1)),
    "first_inbound": st.booleans(),                        # most chats open with the customer
    "messages": st.lists(message_st, max_size=5),
    "orders": st.lists(order_st, max_size=2),
})
shop_st = st.fixed_dictionaries({
    "conversations": st.lists(conversation_st, max_size=7),
    "loose_orders": st.lists(st.tuples(st.integers(-2, 6), NEAR_MIDNIGHT, order_st), max_size=2),
    "broken_channel": st.sampled_from([None, "error", "token", "unsubscribed", "quiet", "disabled"]),
})


@dataclass
class Rows:
    """What was inserted for one tenant, as plain values (UTC instants)."""

    tenant_id: int
    name: str
    zone: ZoneInfo
    channels: dict = field(default_factory=dict)        # platform -> health-relevant state
    campaigns: list = field(default_factory=list)       # ids
    products: list = field(default_factory=list)        # (id, name, price)
    conversations: list = field(default_factory=list)   # dicts
    messages: list = field(default_factory=list)        # dicts
    orders: list = field(default_factory=list)          # dicts with "lines"


def insert_shop(tenant, shop: dict, start: date, tag: str) -> Rows:
    from app.extensions import db
    from app.models import (Campaign, Channel, Conversation, Customer, Message, Order, OrderItem,
                            Product)

    zone = ZoneInfo(tenant.timezone)
    rows = Rows(tenant.id, tenant.name, zone)
    t = tenant.id

    def add(obj):
        db.session.add(obj)
        db.session.flush()
        return obj

    channel_of = {}
    for n, platform in enumerate(PLATFORMS):
        ch = Channel(tenant_id=t, name=f"{tag} {platform}", platform=platform, external_id=f"{tag}-{platform}")
        broken = shop["broken_channel"] if n == 0 else None
        if broken == "error":
            ch.status = "error"
        elif broken == "disabled":
            ch.status = "disabled"
        elif broken == "token":
            ch.token_valid = False
        elif broken == "unsubscribed":
            ch.subscribed = False
        elif broken == "quiet":
            ch.quiet_since = datetime(2026, 1, 1, tzinfo=timezone.utc)
        add(ch)
        channel_of[platform] = ch
        rows.channels[platform] = broken
    for n in range(2):
        rows.campaigns.append(add(Campaign(tenant_id=t, name=f"{tag} campaign {n}")).id)
    for n, price in enumerate((49900, 120000, 333)):
        p = add(Product(tenant_id=t, sku=f"{tag}-P{n}", name=f"{tag} product {n}", price_minor=price, stock=99))
        rows.products.append((p.id, p.name, price))

    counter = iter(range(1, 10**6))

    def at(day: int, second: int) -> datetime:
        return local_midnight(start + timedelta(days=day), zone) + timedelta(seconds=second)

    def make_order(spec, placed: datetime, conv: dict | None):
        n = next(counter)
        lines = [(rows.products[i], q) for i, q in spec["lines"]]
        total = sum(p[2] * q for p, q in lines)
        status = spec["status"]
        paid_at = placed + timedelta(seconds=spec["paid_after"]) if status in PAID | {"refunded"} else None
        refunded = total if status == "refunded" else (
            int(total * spec["refund_share"]) if status in PAID else 0)
        refunded = min(refunded, total - 1) if status in PAID and total else refunded
        campaign = conv["campaign_id"] if conv else None
        if spec["other_campaign"]:
            campaign = rows.campaigns[1] if campaign != rows.campaigns[1] else None
        order = add(Order(tenant_id=t, number=f"{tag}-{n}", conversation_id=conv["id"] if conv else None,
                          customer_id=conv["customer_id"] if conv else None, campaign_id=campaign,
                          status=status, total_minor=total, refunded_minor=max(refunded, 0),
                          created_at=placed, paid_at=paid_at, closed_by_sender=spec["closed_by"]))
        for (pid, name, price), qty in lines:
            add(OrderItem(tenant_id=t, order_id=order.id, product_id=pid, sku=f"sku{pid}", name=name,
                          unit_price_minor=price, quantity=qty))
        rows.orders.append({"id": order.id, "conversation": conv, "campaign_id": campaign, "status": status,
                            "total": total, "refunded": max(refunded, 0), "created_at": placed,
                            "paid_at": paid_at, "closed_by": spec["closed_by"],
                            "lines": [(pid, qty, price) for (pid, _, price), qty in lines]})

    for spec in shop["conversations"]:
        n = next(counter)
        started = at(spec["day"], spec["second"])
        ch = channel_of[spec["platform"]]
        customer = add(Customer(tenant_id=t, platform=spec["platform"], external_id=f"{tag}-c{n}", name=f"C{n}"))
        campaign = None if spec["campaign"] is None else rows.campaigns[spec["campaign"]]
        conv = add(Conversation(tenant_id=t, channel_id=ch.id, customer_id=customer.id, campaign_id=campaign,
                                lead_score=spec["lead"], sentiment=spec["sentiment"], created_at=started))
        c = {"id": conv.id, "customer_id": customer.id, "platform": spec["platform"], "campaign_id": campaign,
             "created_at": started, "lead": spec["lead"], "sentiment": spec["sentiment"]}
        rows.conversations.append(c)
        messages = list(spec["messages"])
        if spec["first_inbound"]:
            messages.insert(0, (MESSAGE_KINDS[0], 0))
        for (direction, sender, status), delay in messages:
            when = started + timedelta(seconds=delay)
            m = next(counter)
            add(Message(tenant_id=t, conversation_id=conv.id, channel_id=ch.id, direction=direction,
                        sender=sender, status=status, text=f"m{m}", external_id=f"{tag}-m{m}", created_at=when))
            rows.messages.append({"conversation": c, "direction": direction, "sender": sender,
                                  "status": status, "created_at": when})
        for order_spec in spec["orders"]:
            make_order(order_spec, started + timedelta(seconds=order_spec["placed"]), c)
    for day, second, order_spec in shop["loose_orders"]:
        make_order(order_spec, at(day, second), None)
    db.session.commit()
    return rows


# ---------------------------------------------------------------------------- the oracle


class Oracle:
    """The README's definitions over one tenant's rows, for start..end and the filters."""

    def __init__(self, rows: Rows, start: date, end: date, platform=None, campaign_id=None):
        self.rows, self.zone = rows, rows.zone
        self.start, self.end = start, end
        self.lo = local_midnight(start, self.zone)
        self.hi = local_midnight(end + timedelta(days=1), self.zone)
        self.platform, self.campaign_id = platform, campaign_id

    def in_range(self, at) -> bool:
        return at is not None and self.lo <= at < self.hi

    def conv_ok(self, c) -> bool:
        return ((self.platform is None or c["platform"] == self.platform)
                and (self.campaign_id is None or c["campaign_id"] == self.campaign_id))

    def order_ok(self, o) -> bool:
        """Platform: the channel its conversation came in on; campaign: the one credited on it."""
        if self.platform is not None and (o["conversation"] is None or o["conversation"]["platform"] != self.platform):
            return False
        return self.campaign_id is None or o["campaign_id"] == self.campaign_id

    # -- rows in scope
    def messages(self):
        return [m for m in self.rows.messages if self.conv_ok(m["conversation"]) and self.in_range(m["created_at"])]

    def cohort(self):
        return [c for c in self.rows.conversations if self.conv_ok(c) and self.in_range(c["created_at"])]

    def paid_orders(self):
        return [o for o in self.rows.orders if self.order_ok(o) and o["status"] in PAID and self.in_range(o["paid_at"])]

    def orders_of(self, c):
        return [o for o in self.rows.orders if o["conversation"] is c]

    def first_response(self, c):
        """(first reply - first inbound) in seconds, and whether the customer wrote again."""
        mine = sorted((m for m in self.rows.messages if m["conversation"] is c), key=lambda m: m["created_at"])
        inbound = [m["created_at"] for m in mine if m["direction"] == "in"]
        if not inbound:
            return None, False
        replies = [m["created_at"] for m in mine if m["direction"] == "out" and m["sender"] in ("ai", "agent")
                   and m["status"] in SENT and m["created_at"] >= inbound[0]]
        if not replies:
            return None, False
        return (replies[0] - inbound[0]).total_seconds(), any(t > replies[0] for t in inbound)

    @staticmethod
    def rate(part, whole):
        return round(part / whole, 4) if whole else 0.0

    def summary(self) -> dict:
        msgs = self.messages()
        sent = [m for m in msgs if m["direction"] == "out" and m["status"] in SENT]
        cohort = self.cohort()
        waits, engaged = [], 0
        for c in cohort:
            wait, again = self.first_response(c)
            if wait is not None:
                waits.append(wait)
                engaged += again
        converted = sum(1 for c in cohort if any(o["status"] in PAID for o in self.orders_of(c)))
        paid = self.paid_orders()
        revenue = sum(o["total"] - o["refunded"] for o in paid)
        refunds = sum(o["refunded"] for o in paid) + sum(
            o["total"] for o in self.rows.orders
            if self.order_ok(o) and o["status"] == "refunded" and self.in_range(o["paid_at"]))
        ai = [o for o in paid if o["closed_by"] == "ai"]
        human = [o for o in paid if o["closed_by"] == "agent"]
        return {
            "messages_received": sum(1 for m in msgs if m["direction"] == "in"),
            "messages_sent": len(sent),
            "messages_sent_ai": sum(1 for m in sent if m["sender"] == "ai"),
            "messages_sent_staff": sum(1 for m in sent if m["sender"] == "agent"),
            "conversations": len(cohort),
            "response_rate": self.rate(engaged, len(waits)),
            "median_first_response_seconds": round(statistics.median(waits), 1) if waits else None,
            "orders_placed": sum(1 for o in self.rows.orders if self.order_ok(o) and self.in_range(o["created_at"])),
            "orders_paid": len(paid),
            "revenue_minor": revenue,
            "refunds_minor": refunds,
            "average_order_minor": (2 * revenue + len(paid)) // (2 * len(paid)) if paid else 0,
            "conversion_rate": self.rate(converted, len(cohort)),
            "ai_closed_sales": len(ai),
            "human_closed_sales": len(human),
            "ai_share": self.rate(len(ai), len(ai) + len(human)),
            "ai_closed_revenue_minor": sum(o["total"] - o["refunded"] for o in ai),
            "human_closed_revenue_minor": sum(o["total"] - o["refunded"] for o in human),
        }

    def funnel(self) -> dict:
        cohort = self.cohort()
        return {"conversations": len(cohort),
                "engaged": sum(1 for c in cohort if self.first_response(c)[1]),
                "ordered": sum(1 for c in cohort if self.orders_of(c)),
                "paid": sum(1 for c in cohort if any(o["status"] in PAID for o in self.orders_of(c)))}

    def days(self):
        d = self.start
        while d <= self.end:
            yield d
            d += timedelta(days=1)

    def timeseries(self) -> list[dict]:
        out = {d: {"day": d.isoformat(), "messages_received": 0, "messages_sent": 0, "conversations": 0,
                   "orders_paid": 0, "revenue_minor": 0} for d in self.days()}
        for m in self.messages():
            row = out[local_day(m["created_at"], self.zone)]
            if m["direction"] == "in":
                row["messages_received"] += 1
            elif m["status"] in SENT:
                row["messages_sent"] += 1
        for c in self.cohort():
            out[local_day(c["created_at"], self.zone)]["conversations"] += 1
        for o in self.paid_orders():
            row = out[local_day(o["paid_at"], self.zone)]
            row["orders_paid"] += 1
            row["revenue_minor"] += o["total"] - o["refunded"]
        return list(out.values())

    def heatmap(self, kind: str) -> list[dict]:
        cells: dict = {}
        times = ([m["created_at"] for m in self.messages() if m["direction"] == "in"] if kind == "inbound"
                 else [o["paid_at"] for o in self.paid_orders()])
        for at in times:
            local = at.astimezone(self.zone)
            key = (local.weekday(), local.hour)
            cells[key] = cells.get(key, 0) + 1
        return [{"weekday": wd, "hour": h, "count": cells.get((wd, h), 0)} for wd in range(7) for h in range(24)]

    def breakdown(self, by: str) -> dict:
        """{key: figures}: conversations and conversion by the conversation's campaign or platform,
        paid orders and revenue by the order's campaign or its conversation's platform."""
        out: dict = {}

        def slot(key):
            return out.setdefault(key, {"conversations": 0, "converted": 0, "orders_paid": 0, "revenue_minor": 0})

        for c in self.cohort():
            s = slot(c["campaign_id"] if by == "campaign" else c["platform"])
            s["conversations"] += 1
            s["converted"] += any(o["status"] in PAID for o in self.orders_of(c))
        for o in self.paid_orders():
            key = o["campaign_id"] if by == "campaign" else (o["conversation"] or {}).get("platform")
            s = slot(key)
            s["orders_paid"] += 1
            s["revenue_minor"] += o["total"] - o["refunded"]
        return {k: {"conversations": v["conversations"], "orders_paid": v["orders_paid"],
                    "revenue_minor": v["revenue_minor"], "conversion_rate": self.rate(v["converted"], v["conversations"])}
                for k, v in out.items()}

    def products(self) -> dict:
        out: dict = {}

        def slot(pid):
            return out.setdefault(pid, {"quantity": 0, "orders": set(), "revenue_minor": 0,
                                        "convs": set(), "converted": set()})

        for o in self.paid_orders():
            for pid, qty, price in o["lines"]:
                s = slot(pid)
                s["quantity"] += qty
                s["orders"].add(o["id"])
                s["revenue_minor"] += qty * price
        for c in self.cohort():
            for o in self.orders_of(c):
                for pid, _, _ in o["lines"]:
                    s = slot(pid)
                    s["convs"].add(c["id"])
                    if o["status"] in PAID:
                        s["converted"].add(c["id"])
        return {pid: {"quantity": s["quantity"], "orders_paid": len(s["orders"]), "revenue_minor": s["revenue_minor"],
                      "conversations": len(s["convs"]), "conversion_rate": self.rate(len(s["converted"]), len(s["convs"]))}
                for pid, s in out.items()}

    def distributions(self) -> dict:
        def buckets(values, bounds):
            return [sum(1 for v in values if lo <= v < hi) for lo, hi in bounds]

        cohort = self.cohort()
        waits = [w for w in (self.first_response(c)[0] for c in cohort) if w is not None]
        moods = [c["sentiment"] for c in cohort if c["sentiment"] is not None]
        return {
            "lead_score": buckets([c["lead"] for c in cohort], [(0, 20), (20, 40), (40, 60), (60, 80), (80, 101)]),
            "sentiment": buckets(moods, [(-1.01, -0.5), (-0.5, -0.05), (-0.05, 0.05), (0.05, 0.5), (0.5, 1.01)])
            + [sum(1 for c in cohort if c["sentiment"] is None)],
            "first_response": buckets(waits, [(0, 60), (60, 300), (300, 900), (900, 3600), (3600, 14400),
                                              (14400, float("inf"))]),
        }

    def channel_health(self) -> str:
        states = [s for s in self.rows.channels.values() if s != "disabled"]
        if not states:
            return "none"
        if any(s in ("error", "token", "unsubscribed") for s in states):
            return "error"
        return "quiet" if "quiet" in states else "ok"


# ---------------------------------------------------------------------------- the comparison


@pytest.fixture
def people(app):
    """Two businesses of one agency (each with its owner), a third in another agency, and the
    first agency's admin."""
    from app.extensions import appbuilder, db
    from app.models import AgencyMembership
    from app.security.permissions import ROLE_AGENCY_ADMIN
    from app.services.tenants import create_tenant, get_or_create_agency

    with app.app_context():
        appbuilder.sm.sync_roles()
        main = create_tenant("Mango Shop", owner_username="oracle_owner", owner_email="oo@example.test",
                             owner_password=PASSWORD, agency_name="Oracle Agency")
        other = create_tenant("banyan Boutique", owner_username="oracle_other", owner_email="ob@example.test",
                              owner_password=PASSWORD, agency_name="Oracle Agency")
        stranger = create_tenant("Stranger Store", owner_username="oracle_stranger", owner_email="os@example.test",
                                 owner_password=PASSWORD, agency_name="Another Agency")
        user = appbuilder.sm.add_user("oracle_agency", "Oracle", "Agency", "oa@example.test",
                                      role=appbuilder.sm.find_role(ROLE_AGENCY_ADMIN), password=PASSWORD)
        db.session.add(AgencyMembership(user_id=user.id, agency_id=get_or_create_agency("Oracle Agency").id))
        db.session.commit()
        return {"main": main.id, "other": other.id, "stranger": stranger.id}


def _wipe(tenant_ids):
    from app.extensions import db
    from app.models import Campaign, Channel, Conversation, Customer, Message, Order, OrderItem, Product

    for model in (OrderItem, Order, Message, Conversation, Customer, Product, Campaign):
        db.session.execute(delete(model).where(model.tenant_id.in_(tenant_ids)))
    db.session.execute(delete(Channel).where(Channel.tenant_id.in_(tenant_ids), Channel.platform != "playground"))
    db.session.commit()


def _check_summary_shape(s: dict):
    for key in ("messages_received", "messages_sent", "conversations", "response_rate", "orders_paid",
                "revenue_minor", "conversion_rate", "average_order_minor", "median_first_response_seconds"):
        assert key in s, key
    for key in ("messages_received", "messages_sent", "conversations", "orders_paid", "revenue_minor",
                "average_order_minor", "refunds_minor"):
        assert isinstance(s[key], int) and not isinstance(s[key], bool), (key, s[key])
    for key in ("conversion_rate", "response_rate", "ai_share"):
        assert isinstance(s[key], (int, float)) and 0 <= s[key] <= 1, (key, s[key])
    assert s["median_first_response_seconds"] is None or s["median_first_response_seconds"] >= 0


def _by_key(rows: list[dict], fields) -> dict:
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys)), rows
    return {r["key"]: {k: r[k] for k in fields} for r in rows}


@settings(max_examples=25, deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(anchor=st.sampled_from(ANCHORS), other_zone=st.sampled_from(["Asia/Kolkata", "America/New_York"]),
       offset=st.integers(-3, 0), length=st.integers(1, 4), main=shop_st, noise=shop_st,
       platform=st.sampled_from([None, *PLATFORMS]), campaign=st.sampled_from([None, 0, 1]))
def test_every_figure_matches_the_readme_definitions(app, people, api, anchor, other_zone, offset, length,
                                                     main, noise, platform, campaign):
    from app.extensions import db
    from app.models import Tenant

    day, zone = anchor
    start = day + timedelta(days=offset)
    end = start + timedelta(days=length - 1)
    with app.app_context():
        _wipe([people["main"], people["other"], people["stranger"]])
        tenants = {key: db.session.get(Tenant, people[key]) for key in ("main", "other", "stranger")}
        tenants["main"].timezone, tenants["other"].timezone = zone, other_zone
        db.session.commit()
        mine = insert_shop(tenants["main"], main, start, "M")
        theirs = insert_shop(tenants["other"], noise, start, "O")
        insert_shop(tenants["stranger"], noise, start, "S")
        db.session.remove()

    owner = api("oracle_owner")
    rng = f"start={start.isoformat()}&end={end.isoformat()}"
    combos = [(None, None), (platform, campaign)]
    for plat, camp in combos:
        campaign_id = None if camp is None else mine.campaigns[camp]
        query = rng + (f"&platform={plat}" if plat else "") + (f"&campaign_id={campaign_id}" if campaign_id else "")
        oracle = Oracle(mine, start, end, plat, campaign_id)
        where = f"{zone} {start}..{end} platform={plat} campaign={camp}"

        def get(path):
            sep = "&" if "?" in path else "?"
            resp = owner.get(f"/api/v1/analytics/{path}{sep}{query}")
            assert resp.status_code == 200, (path, resp.get_data(as_text=True)[:300])
            assert resp.json["start"] == start.isoformat() and resp.json["end"] == end.isoformat()
            return resp.json["result"]

        s = get("summary")
        _check_summary_shape(s)
        expected = oracle.summary()
        assert {k: s[k] for k in expected} == expected, where

        assert get("funnel") == oracle.funnel(), where
        assert get("timeseries") == oracle.timeseries(), where
        for kind in ("inbound", "paid"):
            assert get(f"heatmap?kind={kind}") == oracle.heatmap(kind), (where, kind)

        d = get("distributions")
        assert {"lead_score": [r["count"] for r in d["lead_score"]],
                "sentiment": [r["count"] for r in d["sentiment"]],
                "first_response": [r["count"] for r in d["first_response"]]} == oracle.distributions(), where

        fields = ("conversations", "orders_paid", "revenue_minor", "conversion_rate")
        for by in ("campaign", "platform"):
            rows = get(f"breakdown?by={by}")
            assert _by_key(rows, fields) == oracle.breakdown(by), (where, by)
            assert [r["revenue_minor"] for r in rows] == sorted((r["revenue_minor"] for r in rows), reverse=True)
        rows = get("breakdown?by=product")
        assert _by_key(rows, ("quantity",) + fields) == oracle.products(), where
        names = {pid: name for pid, name, _ in mine.products}
        assert all(r["label"] == names[r["key"]] for r in rows), rows
        # Totals the owner would add up: campaign rows (with "No campaign") give the summary's.
        if plat is None and campaign_id is None:
            by_campaign = get("breakdown?by=campaign")
            assert sum(r["revenue_minor"] for r in by_campaign) == s["revenue_minor"]
            assert sum(r["conversations"] for r in by_campaign) == s["conversations"]

    # The agency overview: each business of the agency on its own days, the other agency's absent.
    resp = api("oracle_agency").get(f"/api/v1/analytics/agency?{rng}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    got = {r["tenant_id"]: r for r in resp.json["result"]}
    assert set(got) == {mine.tenant_id, theirs.tenant_id}
    assert [r["name"] for r in resp.json["result"]] == sorted((mine.name, theirs.name), key=str.lower)
    for rows in (mine, theirs):
        expected = Oracle(rows, start, end).summary()
        row = got[rows.tenant_id]
        assert row["name"] == rows.name
        assert {k: row[k] for k in ("revenue_minor", "orders_paid", "conversations", "conversion_rate",
                                    "median_first_response_seconds")} == {
            k: expected[k] for k in ("revenue_minor", "orders_paid", "conversations", "conversion_rate",
                                     "median_first_response_seconds")}, rows.name
        assert row["channel_health"] == Oracle(rows, start, end).channel_health(), rows.name
    assert owner.get(f"/api/v1/analytics/agency?{rng}").status_code in (403, 404)
