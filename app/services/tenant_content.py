"""The content a reply reads about its tenant, cached per process, never stale.

Every reply needs the business profile, the campaigns with their products, the automation
rules, the names the guardrails accept and the knowledge to retrieve from. Re-reading all of
that for every message was eight queries and most of a reply's ORM work; it changes only
when staff edit it. So each worker process keeps one read-only `Content` per tenant, and
`tenant.content_stamp` says whether it is current: every flush that changes such a row gives
the tenant a new random stamp in the same transaction (`_stamp_changes`, installed by the app
factory through `init_content_stamps`), and a reply reads the stamp along with its
conversation. An edit therefore reaches the very next reply, in every process, and nothing
depends on clocks or on Redis.

What is deliberately not here: prices, stock and orders (the tools read those live, and
reserving stock must not invalidate anything), and channels (their status and tokens change
from sends).
"""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session, selectinload

from app.ai.knowledge import MAX_CHUNKS, Knowledge
from app.extensions import db
from app.models import (
    AutomationRule,
    BusinessProfile,
    Campaign,
    CampaignStatus,
    Category,
    KnowledgeChunk,
    KnowledgeDocument,
    Product,
    RuleStep,
    TargetPlatform,
    Template,
    Tenant,
)

MAX_TENANTS = 512  # per process; a miss costs one rebuild, not a wrong answer
# Which changes make a new stamp: None means any column or collection of the class.
WATCHED: dict[type, frozenset[str] | None] = {
    Tenant: frozenset({"name", "currency", "timezone"}),
    BusinessProfile: None, Campaign: None, AutomationRule: None, RuleStep: None, Template: None,
    Category: None,
    KnowledgeDocument: None, KnowledgeChunk: None,
    Product: frozenset({"name", "active", "category_id", "tenant_id"}),  # not stock or prices
}


def new_stamp() -> str:
    return secrets.token_hex(8)


def _plain(obj, **extra) -> SimpleNamespace:
    """A detached, read-only copy of a row's columns (safe to share between threads)."""
    values = {c.key: getattr(obj, c.key) for c in inspect(obj).mapper.column_attrs}
    return SimpleNamespace(**values, **extra)


@dataclass(frozen=True)
class Content:
    stamp: str
    tenant: SimpleNamespace  # id, name, currency, timezone...
    profile: SimpleNamespace | None
    campaigns: tuple[SimpleNamespace, ...]  # each with .products: (id, name, active) namespaces
    rules: tuple[SimpleNamespace, ...]  # active rules in priority order, each with .template
    names: tuple[str, ...]  # products, categories, campaigns, the business: for the guardrails
    knowledge: Knowledge = field(default_factory=Knowledge)

    def campaign(self, campaign_id: int | None) -> SimpleNamespace | None:
        return next((c for c in self.campaigns if c.id == campaign_id), None) if campaign_id else None

    def default_campaign(self, platform: str) -> SimpleNamespace | None:
        """The newest active campaign for this platform, a platform-specific one before an
        'all' one. The Playground stands in for any platform: an 'all' campaign, else any."""
        targets = [t.value for t in TargetPlatform]
        active = sorted((c for c in self.campaigns if c.status == CampaignStatus.ACTIVE),
                        key=lambda c: (c.created_at, c.id), reverse=True)
        if platform in targets:
            active = [c for c in active if c.target_platform in (platform, TargetPlatform.ALL)]
        preferred = [c for c in active if c.target_platform == (
            platform if platform in targets else TargetPlatform.ALL)]
        return (preferred or active or [None])[0]


_cache: OrderedDict[int, Content] = OrderedDict()
_lock = threading.Lock()


def stamp_of(tenant_id: int) -> str | None:
    return db.session.scalar(select(Tenant.content_stamp).where(Tenant.id == tenant_id))


def get(tenant_id: int, stamp: str | None = None) -> Content:
    """The tenant's content as of `stamp` (read with the caller's row; read here if None)."""
    if stamp is None:
        stamp = stamp_of(tenant_id)
    with _lock:
        content = _cache.get(tenant_id)
        if content is not None and content.stamp == stamp:
            _cache.move_to_end(tenant_id)
            return content
    content = _load(tenant_id)
    with _lock:
        _cache[tenant_id] = content
        _cache.move_to_end(tenant_id)
        while len(_cache) > MAX_TENANTS:
            _cache.popitem(last=False)
    return content


def _load(tenant_id: int) -> Content:
    # The stamp is read first: the rows read after it are at least as new, so a copy is
    # never labelled newer than it is (at worst it is rebuilt once more).
    tenant = db.session.get(Tenant, tenant_id, populate_existing=True)
    profile = db.session.scalar(select(BusinessProfile).where(BusinessProfile.tenant_id == tenant_id))
    campaigns = db.session.scalars(select(Campaign).where(Campaign.tenant_id == tenant_id)
                                   .options(selectinload(Campaign.products))).all()
    rules = db.session.scalars(select(AutomationRule).where(
        AutomationRule.tenant_id == tenant_id, AutomationRule.active.is_(True),
    ).options(selectinload(AutomationRule.template),
              selectinload(AutomationRule.steps).selectinload(RuleStep.template))
        .order_by(AutomationRule.priority, AutomationRule.id)).all()
    names = list(db.session.scalars(select(Product.name).where(Product.tenant_id == tenant_id)))
    names += db.session.scalars(select(Category.name).where(Category.tenant_id == tenant_id))
    names += [c.name for c in campaigns] + [tenant.name] + ([profile.business_name] if profile else [])
    chunks = db.session.scalars(select(KnowledgeChunk.content).where(
        KnowledgeChunk.tenant_id == tenant_id).order_by(KnowledgeChunk.id).limit(MAX_CHUNKS)).all()
    return Content(
        stamp=tenant.content_stamp,
        tenant=_plain(tenant),
        profile=_plain(profile) if profile else None,
        campaigns=tuple(_plain(c, products=tuple(
            SimpleNamespace(id=p.id, name=p.name, active=p.active) for p in c.products))
            for c in campaigns),
        rules=tuple(_plain(r, template=_plain(r.template) if r.template else None, steps=tuple(
            _plain(s, template=_plain(s.template) if s.template else None) for s in r.steps))
            for r in rules),
        names=tuple(names),
        knowledge=Knowledge.build(list(chunks)),
    )


def _changed(session: Session) -> set[int]:
    tenants: set[int] = set()
    for obj in (*session.new, *session.deleted):
        if type(obj) in WATCHED:
            tenants.add(obj.id if isinstance(obj, Tenant) else obj.tenant_id)
    for obj in session.dirty:
        watched = WATCHED.get(type(obj), False)
        if watched is False or obj in session.deleted:
            continue
        state = inspect(obj)
        keys = watched if watched is not None else [a.key for a in state.mapper.attrs]
        if any(state.attrs[k].history.has_changes() for k in keys):
            tenants.add(obj.id if isinstance(obj, Tenant) else obj.tenant_id)
            if isinstance(obj, Product) and state.attrs.tenant_id.history.deleted:
                tenants.update(t for t in state.attrs.tenant_id.history.deleted if t)
    tenants.discard(None)
    return tenants


def init_content_stamps() -> None:
    """Stamp content edits on every session's flush (once per process; later calls add nothing)."""
    if not event.contains(Session, "after_flush", _stamp_changes):
        event.listen(Session, "after_flush", _stamp_changes)


def _stamp_changes(session: Session, flush_context) -> None:
    """New stamp for every tenant whose content this flush changed, in the same transaction.

    after_flush still sees the flush's new/dirty/deleted objects and their history; the
    UPDATE goes straight to the connection so no second flush starts."""
    tenants = _changed(session)
    if tenants:
        session.connection().execute(
            update(Tenant.__table__).where(Tenant.__table__.c.id.in_(sorted(tenants)))
            .values(content_stamp=new_stamp()))
