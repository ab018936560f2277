"""The promise log: what each automated reply stated, checked against what the business has.

`record()` runs inside the reply's own transaction (the reply job calls it after writing the
reply, before committing it), so the rows exist exactly when the reply does. Catalog prices
and orders are read live; campaign offers, policies and knowledge come from the tenant's
cached content, so a reply without claims costs nothing and one with claims two small reads.
"""
from __future__ import annotations

import re
from datetime import datetime

from rapidfuzz import fuzz
from rapidfuzz.utils import default_process
from sqlalchemy import case, func, select

from app.ai import promises as reading
from app.extensions import db
from app.models import AiPromise, Conversation, Message, Order, OrderStatus, Product, PromiseKind
from app.money import format_money

NAME_SCORE = 90  # how closely a sentence must spell a product's name to credit the price to it
# How closely a name the sentence gives (that is no catalog name) must spell one to be read as
# that product misspelt ("Silk Scraf"): closer than two products of one range usually are.
MISSPELT_SCORE = 85
# Words before an amount that name no product: "It's ₹799", "Sure, the price is ₹799".
_NOT_NAMES = frozenset(
    "it it's its this that these those the a an our your my price prices total mrp cost costs now only just "
    "yes sure great ok okay hi hello so and is are was were be at for of to from starts start starting "
    "each piece one all today offer deal special delivery shipping cod charge charges fee extra "
    "selling sale priced comes come with you we i order orders totals".split())
_LINK_WORDS = re.compile(r"(?:\s|[:=\-–—]|\b(?:is|are|was|costs?|priced|at|for|only|just|now|of|"
                         r"comes?|to|starts?|from)\b)*$", re.I)
_CLAUSE = re.compile(r"[,;:(]|\b(?:and|but|while|whereas)\b|[.!?]\s", re.I)
MAX_EXAMPLES = 5
KINDS = ("price", "discount", "delivery", "order_number")


def record(conv: Conversation, message: Message, content) -> list[AiPromise]:
    """Add one AiPromise per claim in `message.text` to the session (the caller commits)."""
    found = reading.claims(message.text or "")
    if not found:
        return []
    currency = content.tenant.currency if content is not None else "INR"
    with db.session.no_autoflush:  # the reply is not written until the caller commits it
        products = _products(conv.tenant_id) if any(c.kind == "price" for c in found) else []
        orders = _orders(conv) if any(c.kind in ("price", "order_number") or c.free for c in found) else []
    offers = _offer_text(conv, content)
    policies = _policy_text(conv, content)
    rows = []
    for claim in found:
        row = AiPromise(tenant_id=conv.tenant_id, conversation_id=conv.id, message=message,
                        kind=PromiseKind(claim.kind), text=claim.sentence[:2000], value=claim.value[:64],
                        value_minor=claim.value_minor)
        if claim.kind == "price":
            _check_price(row, claim, products, orders, currency)
        elif claim.kind == "discount":
            _check_discount(row, claim, offers)
        elif claim.kind == "delivery":
            _check_delivery(row, claim, policies, orders, currency)
        else:
            _check_order(row, claim, orders, conv)
        row.checked_against = (row.checked_against or "")[:255] or None
        db.session.add(row)
        rows.append(row)
    return rows


def _products(tenant_id: int) -> list:
    return db.session.execute(select(Product.id, Product.name, Product.price_minor).where(
        Product.tenant_id == tenant_id, Product.active.is_(True))).all()


def _orders(conv: Conversation) -> list:
    """Every order of this tenant a reply could be talking about: the customer's."""
    return db.session.execute(select(
        Order.number, Order.total_minor, Order.status, Order.customer_id, Order.conversation_id,
    ).where(Order.tenant_id == conv.tenant_id, Order.customer_id == conv.customer_id)
        .order_by(Order.id.desc())).all()


def _named_product(sentence: str, position: int, products: list):
    """The product the sentence names closest before the amount (else anywhere in it)."""
    for text in (sentence[:position], sentence):
        best, best_end = None, -1
        for p in products:
            hit = fuzz.partial_ratio_alignment(p.name.lower(), text.lower())
            # a window cut short at the text's edge is no spelling of the name ("Prod-" of "Prod-Z")
            whole = hit is not None and hit.dest_end - hit.dest_start >= len(p.name)
            if whole and hit.score >= NAME_SCORE and hit.dest_end > best_end:
                best, best_end = p, hit.dest_end
        if best is not None:
            return best
    return None


def _name_stated(sentence: str, position: int) -> str | None:
    """The name a sentence gives what it prices, when it gives one: "Wool Shawl is ₹1,499"
    names "Wool Shawl"; "It's ₹799" and "Sure, the price is ₹799" name nothing."""
    before = _CLAUSE.split(sentence[:position])[-1]
    before = reading.ORDER_REF.sub(" ", reading.ORDER_NO.sub(" ", before))
    before = before[:_LINK_WORDS.search(before).start()].strip()
    words = re.findall(r"[A-Za-z][\w'-]*", before)
    named = [w for w in words if w.lower() not in _NOT_NAMES]
    if not any(w[0].isupper() for w in named):
        return None
    return before[before.index(named[0]):]


def _misspelt_product(name: str, products: list):
    scored = [(fuzz.ratio(name, p.name, processor=default_process), p) for p in products]
    score, product = max(scored, key=lambda sp: sp[0], default=(0, None))
    return product if score >= MISSPELT_SCORE else None


def _check_price(row: AiPromise, claim, products: list, orders: list, currency: str) -> None:
    value = claim.value_minor
    if claim.malformed:
        row.matches = False
        row.checked_against = f"not an amount in {currency}: {claim.value}"
        return
    if claim.total and orders:
        same = next((o for o in orders if o.total_minor == value), None)
        latest = same or orders[0]
        row.catalog_value_minor, row.matches = latest.total_minor, same is not None
        row.checked_against = f"total of {latest.number}"
        return
    product = _named_product(claim.sentence, claim.position, products)
    name = _name_stated(claim.sentence, claim.position) if product is None else None
    if name is not None:
        product = _misspelt_product(name, products)
        if product is None:
            row.matches = False
            row.checked_against = f"no product named {name} in the catalog"
            return
    if product is None:
        product = next((p for p in products if p.price_minor == value), None)
        if product is None:
            same = next((o for o in orders if o.total_minor == value), None)
            if same is not None:
                row.catalog_value_minor, row.matches = same.total_minor, True
                row.checked_against = f"total of {same.number}"
                return
            row.matches = False
            row.checked_against = "no product in the catalog has this price"
            return
    row.product_id, row.catalog_value_minor = product.id, product.price_minor
    price = product.price_minor
    row.matches = value == price
    row.checked_against = f"catalog price of {product.name}"
    if not row.matches and price and value % price == 0:
        quantity = value // price
        if re.search(rf"\b{quantity}\b", claim.sentence) or claim.total:
            row.matches = True
            row.checked_against = f"{quantity} × catalog price of {product.name} ({format_money(price, currency)})"


def _offer_text(conv: Conversation, content) -> str:
    campaign = content.campaign(conv.campaign_id) if content is not None else None
    if campaign is None:
        return ""
    return " ".join(filter(None, (campaign.greeting, campaign.objection_handling, campaign.closing)))


def _check_discount(row: AiPromise, claim, offers: str) -> None:
    offered = reading.percents_offered(offers)
    if claim.value.startswith("code "):
        code = claim.value.removeprefix("code ")
        row.matches = code in reading.codes(offers)
        row.checked_against = ("the campaign's offer" if row.matches
                               else f"the campaign offers no code {code}")
    elif claim.value.startswith("buy "):
        offered_kind = {reading.buy_get(m) for m in reading.BUY_GET.finditer(offers)}
        row.matches = claim.value in offered_kind
        row.checked_against = ("the campaign's offer" if row.matches else
                               f"the campaign offers {', '.join(sorted(offered_kind))}" if offered_kind
                               else "the campaign offers no buy-and-get deal")
    elif claim.percent is not None:
        row.matches = claim.percent in offered
        row.checked_against = (f"the campaign offers {', '.join(f'{p}%' for p in sorted(offered))}"
                               if offered else "the campaign offers no discount")
    elif claim.value_minor is not None:
        stated = {c.value_minor for c in reading.claims(offers) if c.kind == "discount" and c.value_minor}
        row.matches = claim.value_minor in stated
        row.checked_against = "the campaign's offer" if stated else "the campaign offers no discount"
    else:
        row.matches = bool(reading.DISCOUNT_WORD.search(offers) or offered)
        row.checked_against = "the campaign's offer" if row.matches else "the campaign offers no discount"


def _policy_text(conv: Conversation, content) -> str:
    if content is None:
        return ""
    profile = content.profile
    campaign = content.campaign(conv.campaign_id)
    parts = [profile.policies if profile else None,
             campaign.objection_handling if campaign else None,
             *content.knowledge.chunks]
    return "\n".join(p for p in parts if p)


def _hours(h: int) -> str:
    return f"{h // 24} days" if h % 24 == 0 and h >= 48 else ("1 day" if h == 24 else f"{h} hours")


def _check_delivery(row: AiPromise, claim, policies: str, orders: list, currency: str) -> None:
    if claim.free:
        stated = reading.free_delivery_stated(policies)
        row.matches = stated
        row.checked_against = {True: "the policy offers free delivery",
                               False: "the policy charges for delivery",
                               None: "no delivery charges on record"}[stated]
        above = reading.free_delivery_above(policies) if stated else None
        if above is not None:
            _check_free_above(row, claim, above, orders, currency)
        return
    hours = reading.policy_hours(policies)
    if not hours or claim.within_hours is None:
        row.matches = None
        row.checked_against = "no delivery time on record"
        return
    fastest = min(hours)  # the quickest the business ever says it delivers
    row.matches = claim.within_hours >= fastest
    row.checked_against = f"the policy: delivery in up to {_hours(fastest)}"


_GONE = (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REFUNDED)


def _check_free_above(row: AiPromise, claim, above: int, orders: list, currency: str) -> None:
    """Free delivery the policy gives only from an order value: the promise holds if the
    reply says the same condition, or if the customer's latest order reaches it; promised
    outright to an order below it (or with no order to judge), it is flagged."""
    limit = f"the policy: free delivery from {format_money(above, currency)}"
    said = reading.free_delivery_above(claim.sentence)
    if said is not None:
        row.matches = said >= above
    else:
        latest = next((o for o in orders if o.status not in _GONE), None)
        row.matches = latest is not None and latest.total_minor >= above
        if latest is not None:
            limit += f"; order {latest.number} is {format_money(latest.total_minor, currency)}"
    row.checked_against = limit


def _check_order(row: AiPromise, claim, orders: list, conv: Conversation) -> None:
    said = reading.order_digits(claim.value)
    order = next((o for o in orders if o.number.upper() == claim.value.upper()), None) or next(
        (o for o in orders if claim.value.startswith("#") and reading.order_digits(o.number) == said), None)
    if order is None:
        row.matches = False
        row.checked_against = "not an order of this customer"
        return
    row.matches = True
    row.catalog_value_minor = order.total_minor
    row.checked_against = f"order {order.number} of this customer ({order.status})"


def summary(tenant_id: int, start: datetime, end: datetime) -> dict:
    """What automated replies promised between `start` and `end` (UTC, end exclusive):
    counts per kind, how many contradict the records, and the latest contradictions."""
    window = (AiPromise.tenant_id == tenant_id, AiPromise.created_at >= start, AiPromise.created_at < end)
    rows = db.session.execute(select(
        AiPromise.kind, func.count(),
        func.sum(case((AiPromise.matches.is_(False), 1), else_=0)),
        func.sum(case((AiPromise.matches.is_(None), 1), else_=0)),
    ).where(*window).group_by(AiPromise.kind)).all()
    found = {str(k): {"count": n, "mismatches": int(bad or 0), "unchecked": int(unknown or 0)}
             for k, n, bad, unknown in rows}
    by_kind = {kind: found.get(kind, {"count": 0, "mismatches": 0, "unchecked": 0}) for kind in KINDS}
    examples = db.session.scalars(select(AiPromise).where(*window, AiPromise.matches.is_(False))
                                  .order_by(AiPromise.created_at.desc(), AiPromise.id.desc())
                                  .limit(MAX_EXAMPLES)).all()
    return {
        "promises": sum(v["count"] for v in by_kind.values()),
        "mismatches": sum(v["mismatches"] for v in by_kind.values()),
        "by_kind": by_kind,
        "examples": [{"id": p.id, "kind": str(p.kind), "stated": p.stated(), "on_record": p.on_record(),
                      "conversation_id": p.conversation_id, "text": p.text[:200]} for p in examples],
    }
