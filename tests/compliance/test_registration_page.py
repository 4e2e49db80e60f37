"""The customer's Registration page (Business Texting → 10DLC registration): the brand, each campaign with its
per-carrier status, the numbers in each campaign with their assignment status, and the cases that touched them; in
constant queries; never another organisation's data. And the wording for Canada (SPEC.md 1.7): every number, US and
Canadian alike, needs a campaign, said the same way everywhere."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.models import Brand, Campaign, CampaignCarrierStatus, CampaignNumber, RegistrationCase
from portal.models import User
from provisioning.eligibility import EVERY_NUMBER_NEEDS_A_CAMPAIGN
from provisioning.models import PhoneNumber
from tests.factories import make_location, make_numbers, make_org, make_user

from .factories import make_case

pytestmark = pytest.mark.django_db
State = RegistrationCase.State
PAGE = reverse("compliance:registration")
RULE = "Every business texting number, US and Canadian, must be in a 10DLC campaign."
Status = CampaignNumber.Status


def build_registration(org, *, campaigns=1, numbers_per_campaign=4, registry_suffix="1"):
    """A brand with `campaigns` campaigns, each with per-carrier statuses, numbers in every assignment status, and
    the cases that made them."""
    location = make_location(org)
    brand = Brand.objects.create(
        organisation=org,
        legal_name=f"{org.name} Inc.",
        dba_name=org.name,
        registry_id=f"B{registry_suffix:0>6}",
        status=Brand.Status.APPROVED,
        identity_status="VERIFIED",
        vetting_status=Brand.Vetting.VETTED,
        vetting_score=60,
    )
    first_case = make_case(org, State.COMPLETED, numbers=[], brand=brand)
    built = []
    for c in range(campaigns):
        campaign = Campaign.objects.create(
            organisation=org,
            brand=brand,
            use_case="CUSTOMER_CARE" if c == 0 else "MIXED",
            registry_id=f"C{registry_suffix:0>4}{c:02d}",
            status=Campaign.Status.ACTIVE,
            is_number_pool=c == 1,
        )
        case = make_case(org, State.COMPLETED, numbers=[], brand=brand, campaign=campaign)
        CampaignCarrierStatus.objects.create(campaign=campaign, carrier="att", status="accepted")
        CampaignCarrierStatus.objects.create(
            campaign=campaign,
            carrier="tmobile",
            status="rejected",
            reason="Sample messages do not match the use case",
            changed_at=timezone.now() - timedelta(days=2),
        )
        numbers = make_numbers(location, numbers_per_campaign, start=c * 100)
        statuses = [Status.PENDING_ASSIGNMENT, Status.ASSIGNED, Status.FAILED_ASSIGNMENT, Status.PENDING_REMOVAL]
        CampaignNumber.objects.bulk_create(
            [
                CampaignNumber(
                    campaign=campaign,
                    number=number,
                    status=statuses[i % len(statuses)],
                    reason="Number is not authorised for texting"
                    if statuses[i % 4] == Status.FAILED_ASSIGNMENT
                    else "",
                    case=case,
                )
                for i, number in enumerate(numbers)
            ]
        )
        built.append((campaign, case, numbers))
    return brand, first_case, built


def test_the_page_shows_brand_campaigns_carrier_statuses_numbers_and_cases(admin_client, org):
    brand, first_case, [(campaign, case, numbers)] = build_registration(org)
    # A number that left the campaign is history, not shown as in it.
    gone = make_numbers(make_location(org), 1, start=900)[0]
    CampaignNumber.objects.create(campaign=campaign, number=gone, status=Status.REMOVED)

    html = admin_client.get(PAGE).content.decode()
    assert "Brand: Acme Test Inc." in html and "B000001" in html and "VERIFIED" in html
    assert "Approved" in html and "Vetted" in html and "score 60" in html
    assert "2,400 texts a minute per campaign" in html and "40,000 texts a day for the brand" in html
    assert "Customer care" in html or "CUSTOMER_CARE" in html
    assert "C000100" in html and "Active" in html
    assert "AT&amp;T" in html and "T-Mobile" in html
    assert "Sample messages do not match the use case" in html
    assert (timezone.now() - timedelta(days=2)).strftime("%Y-%m-%d") in html
    for number in numbers:
        assert number.display in html
    for label in ("Pending assignment", "Assigned", "Assignment failed", "Pending removal"):
        assert label in html
    assert "Number is not authorised for texting" in html
    assert gone.display not in html
    assert reverse("compliance:case", args=[case.pk]) in html
    assert reverse("compliance:case", args=[first_case.pk]) in html
    assert "Number pool</dt><dd>No" in html


def test_read_only_admins_see_it_too_without_the_open_case_link(readonly_client, org):
    build_registration(org)
    html = readonly_client.get(PAGE).content.decode()
    assert "B000001" in html and reverse("compliance:case_open") not in html


def test_an_organisation_without_a_brand_is_told_how_to_get_one(admin_client, org):
    html = admin_client.get(PAGE).content.decode()
    assert "Your organisation has no 10DLC brand yet." in html and reverse("compliance:case_open") in html


def test_end_users_and_strangers_do_not_reach_it(client, org):
    end_user = make_user(org, role=User.Role.END_USER)
    client.force_login(end_user)
    assert client.get(PAGE).status_code == 403
    anonymous = Client()
    assert anonymous.get(PAGE).status_code == 302


def test_another_organisations_registration_never_shows(admin_client, org, other_org):
    build_registration(org, registry_suffix="1")
    _brand, other_case, [(other_campaign, _case, other_numbers)] = build_registration(other_org, registry_suffix="9")
    html = admin_client.get(PAGE).content.decode()
    assert "Globex" not in html and "B000009" not in html and other_campaign.registry_id not in html
    assert not any(number.display in html or number.e164 in html for number in other_numbers)
    assert reverse("compliance:case", args=[other_case.pk]) not in html


def test_the_page_answers_in_constant_queries(admin_client, org, django_assert_num_queries):
    build_registration(org, campaigns=1, numbers_per_campaign=2)
    # session + user, the organisation (middleware), brands, campaigns, their carrier statuses, their numbers, their
    # cases, the brands' cases.
    with django_assert_num_queries(9) as small:
        admin_client.get(PAGE)
    build_registration(org, campaigns=3, numbers_per_campaign=12, registry_suffix="2")
    with django_assert_num_queries(len(small)):
        response = admin_client.get(PAGE)
    assert response.content.decode().count(">Pending assignment<") == 1 + 3 * 3  # one in four numbers of each campaign


def test_the_page_is_linked_from_the_business_texting_card(admin_client, org):
    html = admin_client.get(reverse("provisioning:calling_pstn")).content.decode()
    assert f'href="{PAGE}"' in html
    assert f'href="{PAGE}"' in admin_client.get(reverse("compliance:cases")).content.decode()


# --- Canada (SPEC.md 1.7) -----------------------------------------------------------------------------------------


def test_a_canadian_organisation_is_told_its_numbers_need_a_campaign_too(client):
    maple = make_org("Maple Test", country="CA")
    location = make_location(maple, country="CA")
    make_numbers(location, 2, texting_state=PhoneNumber.TextingState.AUTHORISED)
    client.force_login(make_user(maple, role=User.Role.FULL_ADMIN))
    pages = {
        "card": reverse("provisioning:calling_pstn"),
        "cases": reverse("compliance:cases"),
        "open a case": reverse("compliance:case_open"),
        "registration": PAGE,
    }
    for name, url in pages.items():
        html = client.get(url).content.decode()
        assert RULE in html, name
        assert not re.search(r"(?i)to text in the US|US numbers must", html), name
    # The prerequisite on the card says it in the same words, and names both countries.
    card = client.get(reverse("provisioning:calling_pstn")).content.decode()
    assert "10DLC brand and campaign registered (US and Canadian numbers alike)" in card
    assert str(EVERY_NUMBER_NEEDS_A_CAMPAIGN) == RULE
