"""The onboarding wizard's decisions: which step is next, and saving each step.

Four steps, each done or skipped and resumable in any order: the business profile, documents
(app.services.documents), the first campaign, and connecting a channel (the integrations
screens do the connecting; the wizard only records that the step is behind the owner). What a
step saves goes straight into the rows replies read (BusinessProfile, Campaign, Product), so
the content stamp (app.services.tenant_content) puts it in front of the agent at once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    ONBOARDING_STEPS,
    BusinessProfile,
    Campaign,
    CampaignStatus,
    OnboardingProgress,
    Product,
    StepStatus,
    TargetPlatform,
    Tenant,
    utcnow,
)
from app.money import to_minor

STEP_TITLES = {"profile": "Business profile", "documents": "Documents",
               "campaign": "First campaign", "channel": "Connect a channel"}
PROFILE_FIELDS = ("business_name", "owner_name", "industry", "description", "website", "phone",
                  "goals", "audience", "tone", "policies")
CAMPAIGN_FIELDS = ("greeting", "qualification_questions", "objection_handling", "closing",
                   "audience")


class OnboardingError(ValueError):
    """A step that can't be saved as given (message is shown to the owner)."""


def progress(tenant_id: int) -> OnboardingProgress:
    """The tenant's progress row, created on first use (two tabs racing get the same row).

    Creating it commits, so callers ask for it before changing anything else.
    """
    row = _find(tenant_id)
    if row is not None:
        return row
    try:
        row = OnboardingProgress(tenant_id=tenant_id)
        db.session.add(row)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        row = _find(tenant_id)
    return row


def _find(tenant_id: int) -> OnboardingProgress | None:
    return db.session.scalar(select(OnboardingProgress).where(OnboardingProgress.tenant_id == tenant_id))


def next_step(row: OnboardingProgress) -> str | None:
    """The first step neither done nor skipped (None: the wizard is behind the owner)."""
    return next((s for s in ONBOARDING_STEPS if row.status_of(s) == StepStatus.PENDING), None)


def percent_complete(row: OnboardingProgress) -> int:
    finished = sum(row.status_of(s) != StepStatus.PENDING for s in ONBOARDING_STEPS)
    return round(100 * finished / len(ONBOARDING_STEPS))


def mark(tenant_id: int, step: str, status: StepStatus) -> OnboardingProgress:
    """Record a step as done or skipped (a done step stays done when later skipped past)."""
    if step not in ONBOARDING_STEPS:
        raise OnboardingError(f"Unknown step {step!r}")
    row = progress(tenant_id)
    if not (status == StepStatus.SKIPPED and row.status_of(step) == StepStatus.DONE):
        setattr(row, step, StepStatus(status))
    if next_step(row) is None and row.completed_at is None:
        row.completed_at = utcnow()
    db.session.commit()
    return row


def profile_of(tenant_id: int) -> BusinessProfile | None:
    return db.session.scalar(select(BusinessProfile).where(BusinessProfile.tenant_id == tenant_id))


def save_profile(tenant_id: int, values: dict) -> BusinessProfile:
    """Write the business profile (creating it if an operator removed it) and mark the step."""
    progress(tenant_id)
    profile = profile_of(tenant_id)
    if profile is None:
        profile = BusinessProfile(tenant_id=tenant_id)
        db.session.add(profile)
    for name in PROFILE_FIELDS:
        if name in values:
            value = values[name]
            setattr(profile, name, value.strip() if isinstance(value, str) and value.strip() else None)
    if not profile.business_name:
        db.session.rollback()
        raise OnboardingError("The business needs a name")
    mark(tenant_id, "profile", StepStatus.DONE)  # commits the profile with it
    return profile


def tenant_products(tenant_id: int) -> list[Product]:
    return list(db.session.scalars(select(Product).where(
        Product.tenant_id == tenant_id, Product.active.is_(True)).order_by(Product.name)))


def wizard_campaign(tenant_id: int) -> Campaign | None:
    row = progress(tenant_id)
    if row.campaign_id is None:
        return None
    return db.session.scalar(select(Campaign).where(
        Campaign.id == row.campaign_id, Campaign.tenant_id == tenant_id))


@dataclass(frozen=True)
class NewProduct:
    """A product typed into the campaign step, its price as typed (major units, e.g. 799.50)."""

    name: str
    price: Decimal | None
    stock: int = 0


def save_campaign(tenant_id: int, *, name: str, target_platform: str, values: dict,
                  product_ids: list[int], new_product: NewProduct | None = None) -> Campaign:
    """Create (or, coming back, update) the wizard's campaign, active at once, with its
    products: chosen ones of this tenant and optionally one typed in here."""
    name = (name or "").strip()
    if not name:
        raise OnboardingError("The campaign needs a name")
    if target_platform not in {p.value for p in TargetPlatform}:
        raise OnboardingError("Choose a platform")
    products = list(db.session.scalars(select(Product).where(
        Product.tenant_id == tenant_id, Product.id.in_(product_ids or [-1]))))
    if len(products) != len(set(product_ids or [])):
        raise OnboardingError("A chosen product was not found")
    row = progress(tenant_id)
    campaign = wizard_campaign(tenant_id)
    clash = db.session.scalar(select(Campaign.id).where(
        Campaign.tenant_id == tenant_id, func.lower(Campaign.name) == name.lower()))
    if clash is not None and (campaign is None or clash != campaign.id):
        raise OnboardingError(f"There is already a campaign named {name}")
    if new_product is not None:
        products.append(_add_product(tenant_id, new_product))
    if campaign is None:
        campaign = Campaign(tenant_id=tenant_id, status=CampaignStatus.ACTIVE)
        db.session.add(campaign)
    campaign.name = name
    campaign.target_platform = TargetPlatform(target_platform)
    for field in CAMPAIGN_FIELDS:
        value = values.get(field)
        setattr(campaign, field, value.strip() if isinstance(value, str) and value.strip() else None)
    campaign.products = products
    db.session.flush()
    row.campaign_id = campaign.id
    mark(tenant_id, "campaign", StepStatus.DONE)
    return campaign


def _add_product(tenant_id: int, new: NewProduct) -> Product:
    """A new product of this tenant (checked before anything of the step is added)."""
    product_name = new.name.strip()
    if not product_name:
        raise OnboardingError("The new product needs a name")
    if new.price is None:
        raise OnboardingError("Give the new product a price")
    if new.price < 0 or new.stock < 0:
        raise OnboardingError("Price and stock can't be negative")
    currency = db.session.scalar(select(Tenant.currency).where(Tenant.id == tenant_id))
    product = Product(tenant_id=tenant_id, sku=_free_sku(tenant_id, product_name), name=product_name,
                      price_minor=to_minor(new.price, currency), currency=currency, stock=new.stock)
    db.session.add(product)
    return product


def _free_sku(tenant_id: int, name: str) -> str:
    base = (re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-") or "ITEM")[:40]
    sku, n = base, 1
    while db.session.scalar(select(Product.id).where(Product.tenant_id == tenant_id, Product.sku == sku)):
        n += 1
        sku = f"{base}-{n}"
    return sku
