"""Brands and campaigns for the campaign-number tests: registered at the carrier simulator (so numbers can join them
there) or only in the portal (refusal tests that never reach the carrier)."""

from carrier import get_gateway
from compliance.models import Brand, Campaign

BRAND = {"legal_name": "Acme Test Inc.", "entity_type": "PRIVATE_PROFIT", "country": "US"}
CAMPAIGN = {
    "use_case": "CUSTOMER_CARE",
    "description": "Customer care conversations between Acme support agents and Acme customers.",
    "sample_messages": ["Acme: your ticket 4512 was updated. Reply STOP to opt out.", "Hi, Dana from Acme here."],
}


def make_campaign(org, *, registry_id="CNUM001", status=Campaign.Status.ACTIVE, is_number_pool=False):
    """An approved brand and an active campaign of `org`, in the portal only (registry ids of their own, apart from
    the case factory's BTEST01 / CTEST01)."""
    brand = Brand.objects.create(
        organisation=org,
        legal_name="Acme Test Inc.",
        registry_id=f"B{registry_id[1:]}",
        status=Brand.Status.APPROVED,
        identity_status="VERIFIED",
    )
    return Campaign.objects.create(
        organisation=org,
        brand=brand,
        use_case="CUSTOMER_CARE",
        registry_id=registry_id,
        status=status,
        is_number_pool=is_number_pool,
    )


def registered_campaign(org, carrier_sim, **fields):
    """An approved brand and an active campaign of `org`, registered at the carrier simulator (which decides at once
    with the `carrier_sim` fixture's delay 0)."""
    gateway = get_gateway()
    brand = gateway.submit_brand(reference=f"test-brand-{org.pk}", brand=BRAND, idempotency_key=f"tb-{org.pk}")
    brand = gateway.get_brand(brand.registry_id)
    campaign = gateway.submit_campaign(
        reference=f"test-campaign-{org.pk}",
        brand_id=brand.registry_id,
        campaign=CAMPAIGN,
        idempotency_key=f"tc-{org.pk}",
    )
    return make_campaign(org, registry_id=campaign.registry_id, **fields)
