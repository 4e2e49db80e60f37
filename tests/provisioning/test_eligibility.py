"""Each Business Texting prerequisite (SPEC.md 1) on its own: met, and unmet with words saying what to do."""

import pytest

from portal.models import Organisation, User
from provisioning.eligibility import check_eligibility
from provisioning.models import Licence, Location, PhoneNumber
from tests.factories import make_location, make_numbers, make_org, make_user

pytestmark = pytest.mark.django_db


def eligible_org(**kwargs):
    org = make_org(**kwargs)
    make_location(org)
    return org


def requirement(org, key):
    return next(r for r in check_eligibility(org).requirements if r.key == key)


def test_a_complete_enterprise_organisation_is_eligible():
    org = eligible_org()
    result = check_eligibility(org)
    assert result.eligible
    assert [r.key for r in result.requirements if r.blocking] == [
        "enterprise",
        "calling_plan",
        "cisco_pstn_location",
        "addon_licence",
    ]


@pytest.mark.parametrize(
    "customer_type, words",
    [
        (Organisation.CustomerType.ONLINE, "online (self-service) customer"),
        (Organisation.CustomerType.TRIAL, "trial customer"),
    ],
)
def test_online_and_trial_customers_are_not_eligible(customer_type, words):
    org = eligible_org(customer_type=customer_type)
    req = requirement(org, "enterprise")
    assert not req.met and words in req.detail and "Enterprise" in req.detail
    assert not check_eligibility(org).eligible


def test_without_cisco_calling_plan_licence_not_eligible():
    org = eligible_org(calling_plan=False)
    req = requirement(org, "calling_plan")
    assert not req.met and "order Cisco Calling Plan" in req.detail
    assert not check_eligibility(org).eligible


def test_calling_plan_outside_us_and_canada_not_eligible():
    org = eligible_org(country="GB")
    req = requirement(org, "calling_plan")
    assert not req.met and "United States or Canada" in req.detail


def test_suspended_calling_plan_not_eligible():
    org = eligible_org()
    Licence.objects.filter(organisation=org, sku=Licence.Sku.CISCO_CALLING_PLAN).update(status=Licence.Status.SUSPENDED)
    assert not requirement(org, "calling_plan").met


def test_only_other_pstn_locations_is_not_eligible():
    org = make_org()
    make_location(org, pstn=Location.PstnConnection.CLOUD_CONNECTED)
    make_location(org, pstn=Location.PstnConnection.PREMISES)
    req = requirement(org, "cisco_pstn_location")
    assert not req.met and "cannot text" in req.detail
    assert not check_eligibility(org).eligible


def test_without_addon_licence_not_eligible():
    org = eligible_org(addon=False)
    req = requirement(org, "addon_licence")
    assert not req.met and "Business Texting Add-On" in req.detail and "partner" in req.detail


def test_users_without_primary_number_and_old_app_are_reported_but_do_not_block():
    org = eligible_org()
    location = Location.objects.get(organisation=org)
    numbers = make_numbers(location, 3)
    current = make_user(org, role=User.Role.END_USER, app_version="42.12.0.1")
    old = make_user(org, role=User.Role.END_USER, app_version="42.10.1.9")
    make_user(org, role=User.Role.END_USER)  # no number
    PhoneNumber.objects.filter(pk=numbers[0].pk).update(assigned_user=current, is_primary=True)
    PhoneNumber.objects.filter(pk=numbers[1].pk).update(assigned_user=old, is_primary=True)

    primary = requirement(org, "primary_numbers")
    assert primary.met and "2 of" in primary.detail and "cannot text" in primary.detail
    app = requirement(org, "webex_app_version")
    assert not app.met and "1 texting user needs to upgrade to Webex App 42.12" in app.detail
    assert check_eligibility(org).eligible  # advisory items do not block authorising numbers


def test_no_users_with_primary_number_is_reported():
    org = eligible_org()
    req = requirement(org, "primary_numbers")
    assert not req.met and "assign numbers" in req.detail


def test_ten_dlc_registration_is_reported_until_a_number_is_registered():
    org = eligible_org()
    location = Location.objects.get(organisation=org)
    number = make_numbers(location, 1)[0]
    assert not requirement(org, "ten_dlc").met
    PhoneNumber.objects.filter(pk=number.pk).update(texting_state=PhoneNumber.TextingState.REGISTERED)
    assert requirement(org, "ten_dlc").met
