"""Factories for an organisation's 10DLC brand and campaign (tests only), optionally registered at the carrier
simulator so that its events and vetting reach real registry ids."""

import itertools

from django.utils import timezone

from carrier import get_gateway
from compliance.models import Brand, Campaign, CampaignNumber
from tests.compliance.factories import VALID_FORM

_seq = itertools.count(1)


def registered_at_sim(sim, *, legal_name="Acme Test Inc.", description=VALID_FORM["description"]) -> tuple[str, str]:
    """Register a brand and a campaign at the simulator and let both be decided (operators included); returns their
    registry ids."""
    gateway = get_gateway()
    n = next(_seq)
    brand = gateway.submit_brand(
        reference=f"test-brand-{n}",
        brand={"legal_name": legal_name, "entity_type": "PRIVATE_PROFIT", "country": "US"},
        idempotency_key=f"test-brand-{n}",
    )
    sim.decide_pending()
    campaign = gateway.submit_campaign(
        reference=f"test-campaign-{n}",
        brand_id=brand.registry_id,
        campaign={
            "use_case": "CUSTOMER_CARE",
            "description": description,
            "sample_messages": [VALID_FORM["sample_1"], VALID_FORM["sample_2"]],
        },
        idempotency_key=f"test-campaign-{n}",
    )
    sim.decide_pending()
    return brand.registry_id, campaign.registry_id


def make_brand(org, *, registry_id=None, legal_name="Acme Test Inc.", vetting_score=None, **fields) -> Brand:
    """An approved, verified brand; vetted with `vetting_score` when given."""
    n = next(_seq)
    vetting = {}
    if vetting_score is not None:
        vetting = {"vetting_status": Brand.Vetting.VETTED, "vetting_score": vetting_score, "vetted_at": timezone.now()}
    facts = {
        "organisation": org,
        "legal_name": legal_name,
        "entity_type": "PRIVATE_PROFIT",
        "tax_number": "12-3456789",
        "registry_id": registry_id if registry_id is not None else f"BT{n:05d}",
        "status": Brand.Status.APPROVED,
        "identity_status": "VERIFIED",
        "approved_at": timezone.now(),
    }
    return Brand.objects.create(**{**facts, **vetting, **fields})


def make_campaign(brand, *, registry_id=None, numbers=(), status=Campaign.Status.ACTIVE, **fields) -> Campaign:
    """An active campaign of `brand` holding `numbers` (assigned at the carrier)."""
    n = next(_seq)
    facts = {
        "organisation": brand.organisation,
        "brand": brand,
        "use_case": "CUSTOMER_CARE",
        "description": VALID_FORM["description"],
        "registry_id": registry_id if registry_id is not None else f"CT{n:05d}",
        "status": status,
        "approved_at": timezone.now(),
    }
    campaign = Campaign.objects.create(**{**facts, **fields})
    CampaignNumber.objects.bulk_create(
        [CampaignNumber(campaign=campaign, number=number, status=CampaignNumber.Status.ASSIGNED) for number in numbers]
    )
    return campaign
