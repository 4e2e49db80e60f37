"""Secondary vetting (SPEC.md 8): support requests it for an approved brand, seeing the configured cost first; the
registry's score lands on the brand (by poll or signed callback) and the brand's tier follows, shown to support and
to the customer. Requested once per round (reconciled by reference after a failure); customers never request it."""

import json
from decimal import Decimal

import pytest
from django.core import mail  # noqa: F401
from django.test import Client
from django.urls import reverse

from carrier import SIGNATURE_HEADER, CarrierUnavailable, get_gateway, sign_webhook_body
from compliance import actions, tasks
from compliance.models import Brand, RegistrationCase, throughput_for_score
from portal.models import AuditEvent
from tests.compliance.brand_factories import make_brand, registered_at_sim
from tests.compliance.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_client(support):
    client = Client()
    client.force_login(support)
    return client


@pytest.fixture
def brand(org, carrier_sim):
    """Acme's approved brand, registered at the simulator; its legal name asks the simulator for a score of 80."""
    brand_id, _ = registered_at_sim(carrier_sim, legal_name="Acme Score 80 Inc.")
    return make_brand(org, registry_id=brand_id, legal_name="Acme Score 80 Inc.")


def brand_page(client, brand):
    return client.get(reverse("compliance:support_brand", args=[brand.pk])).content.decode()


def request_vetting(client, brand, cost="40.00"):
    return client.post(
        reverse("compliance:support_brand_vetting", args=[brand.pk]), {"confirmed_cost": cost}, follow=True
    )


def test_support_sees_the_cost_requests_vetting_and_the_score_sets_the_tier(
    brand, support_client, support, carrier_sim, django_capture_on_commit_callbacks, settings
):
    settings.REGISTRY_COST_SECONDARY_VETTING = Decimal("40.00")
    page = brand_page(support_client, brand)
    assert "40.00 USD" in page and "Request secondary vetting" in page
    assert 'data-tier="per-minute">75' in page  # unvetted: the bottom tier

    with django_capture_on_commit_callbacks(execute=True):
        answer = request_vetting(support_client, brand)
    assert "Secondary vetting is requested" in answer.content.decode()
    brand.refresh_from_db()
    assert brand.vetting_status == Brand.Vetting.REQUESTED and brand.vetting_id.startswith("V")
    event = AuditEvent.objects.get(action="brand.vetting_requested")
    assert event.actor == support and event.details["cost"] == "40.00" and event.details["currency"] == "USD"

    carrier_sim.decide_pending()
    tasks.poll_live_campaigns.delay()  # the periodic look finds the score
    brand.refresh_from_db()
    assert (brand.vetting_status, brand.vetting_score) == (Brand.Vetting.VETTED, 80)
    assert brand.throughput == throughput_for_score(80) == (4500, 200_000)
    assert AuditEvent.objects.filter(action="brand.vetted", target_id=str(brand.pk)).count() == 1
    page = brand_page(support_client, brand)
    assert 'data-tier="per-minute">4500' in page and 'data-tier="daily-cap">200000' in page
    assert "already vetted" in page  # nothing more to request
    assert carrier_sim.stats()["writes_created"]["vettings"] == 1


def test_the_customer_sees_the_tier_on_the_case_page(org, brand, admin_client):
    case = make_case(org, RegistrationCase.State.COMPLETED)
    RegistrationCase.objects.filter(pk=case.pk).update(brand=brand)
    Brand.objects.filter(pk=brand.pk).update(vetting_status=Brand.Vetting.VETTED, vetting_score=55)
    page = admin_client.get(reverse("compliance:case", args=[case.pk])).content.decode()
    assert 'data-tier="per-minute">2400' in page and 'data-tier="daily-cap">40000' in page
    assert "score 55 of 100" in page


def test_the_score_also_arrives_by_signed_callback(brand, support, carrier_sim, client, settings):
    actions.request_secondary_vetting(brand, support, confirmed_cost=settings.REGISTRY_COST_SECONDARY_VETTING)
    actions.send_vetting_to_carrier(brand.pk, get_gateway())
    carrier_sim.decide_pending()
    brand.refresh_from_db()
    view = get_gateway()._http.get(f"/v1/vettings/{brand.vetting_id}").json()
    raw = json.dumps({"type": "vetting.updated", "id": brand.vetting_id, "payload": view}).encode()
    headers = {
        f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": sign_webhook_body(raw, settings.CARRIER_WEBHOOK_SECRET)
    }
    url = reverse("compliance:registration_callback")
    assert client.post(url, data=raw, content_type="application/json", **headers).json() == {"applied": True}
    assert client.post(url, data=raw, content_type="application/json", **headers).json() == {"applied": False}
    brand.refresh_from_db()
    assert brand.vetting_score == 80
    assert AuditEvent.objects.filter(action="brand.vetted").count() == 1


def test_a_retry_after_a_timeout_reconciles_instead_of_paying_twice(brand, support, carrier_sim, settings):
    actions.request_secondary_vetting(brand, support, confirmed_cost="40")
    carrier_sim.set_faults(timeout_rate=1.0)  # the registry does the work but answers too late
    with pytest.raises(CarrierUnavailable):
        actions.send_vetting_to_carrier(brand.pk, get_gateway())
    carrier_sim.set_faults(timeout_rate=0.0)
    actions.poll_vetting(brand.pk, get_gateway())
    stats = carrier_sim.stats()
    assert stats["writes_created"]["vettings"] == 1 and stats["resubmissions"] == 0
    brand.refresh_from_db()
    assert brand.vetting_id and brand.vetting_attempts == 2


def test_a_failed_vetting_keeps_the_bottom_tier(org, support, carrier_sim, settings):
    brand_id, _ = registered_at_sim(carrier_sim, legal_name="Unvettable LLC")
    brand = make_brand(org, registry_id=brand_id, legal_name="Unvettable LLC")
    actions.request_secondary_vetting(brand, support, confirmed_cost="40.00")
    actions.send_vetting_to_carrier(brand.pk, get_gateway())
    carrier_sim.decide_pending()
    actions.poll_vetting(brand.pk, get_gateway())
    brand.refresh_from_db()
    assert brand.vetting_status == Brand.Vetting.FAILED and brand.vetting_reason
    assert brand.throughput == throughput_for_score(None)


def test_a_changed_cost_is_refused_and_changes_nothing(brand, support_client, settings, carrier_sim):
    settings.REGISTRY_COST_SECONDARY_VETTING = Decimal("55.00")  # changed since the page showed 40.00
    answer = request_vetting(support_client, brand, cost="40.00")
    assert "now costs 55.00 USD" in answer.content.decode()
    for bad in ("", "forty", "NaN", "-1"):
        assert "check the cost" in request_vetting(support_client, brand, cost=bad).content.decode()
    brand.refresh_from_db()
    assert brand.vetting_status == Brand.Vetting.NONE
    assert not AuditEvent.objects.filter(action="brand.vetting_requested").exists()
    assert carrier_sim.stats()["writes_created"]["vettings"] == 0


def test_refusals_for_unapproved_and_already_requested_brands(org, brand, support, support_client, carrier_sim):
    pending = make_brand(org, status=Brand.Status.PENDING, registry_id="")
    assert "Only a brand the registry approved" in request_vetting(support_client, pending).content.decode()
    actions.request_secondary_vetting(brand, support, confirmed_cost="40.00")
    assert "already requested" in request_vetting(support_client, brand).content.decode()
    assert AuditEvent.objects.filter(action="brand.vetting_requested").count() == 1
    pending.refresh_from_db()
    assert pending.vetting_status == Brand.Vetting.NONE


def test_customers_never_request_vetting_or_see_the_brand_page(brand, admin_client, admin, carrier_sim):
    assert admin_client.get(reverse("compliance:support_brand", args=[brand.pk])).status_code in (403, 404)
    assert request_vetting(admin_client, brand).status_code in (403, 404)
    with pytest.raises(actions.VettingRefused):
        actions.request_secondary_vetting(brand, admin, confirmed_cost="40.00")
    brand.refresh_from_db()
    assert brand.vetting_status == Brand.Vetting.NONE
    assert carrier_sim.stats()["writes_created"]["vettings"] == 0


def test_vetting_needs_a_post(brand, support_client):
    assert support_client.get(reverse("compliance:support_brand_vetting", args=[brand.pk])).status_code == 405
    assert support_client.get(reverse("compliance:support_brand", args=[brand.pk + 999])).status_code == 404
