"""The eligibility checklist's counts and boundaries, as the admin reads them (found by `make mutation`)."""

import pytest
from django.urls import reverse

from portal.models import User
from provisioning.eligibility import authorisable_numbers, check_eligibility
from provisioning.models import Licence, Location, PhoneNumber
from tests.factories import make_location, make_numbers, make_org, make_user

pytestmark = pytest.mark.django_db


def detail(org, key):
    return next(r for r in check_eligibility(org).requirements if r.key == key)


def texter(org, location, app_version):
    user = make_user(org, role=User.Role.END_USER, app_version=app_version)
    number = make_numbers(location, 1)[0]
    PhoneNumber.objects.filter(pk=number.pk).update(assigned_user=user, is_primary=True)
    return user


def test_a_canadian_organisation_with_cisco_calling_plan_is_eligible():
    org = make_org(country="CA")
    make_location(org, country="CA")
    assert detail(org, "calling_plan").met and check_eligibility(org).eligible


def test_the_checklist_counts_locations_and_licences_in_words():
    org = make_org()
    make_location(org)
    assert detail(org, "cisco_pstn_location").detail.startswith("1 location uses Cisco Calling Plan")
    make_location(org)
    make_location(org, pstn=Location.PstnConnection.CLOUD_CONNECTED)
    assert detail(org, "cisco_pstn_location").detail.startswith("2 locations use Cisco Calling Plan")
    assert detail(org, "addon_licence").detail == "Business Texting Add-On: 100 licences."


def test_a_suspended_add_on_blocks_although_the_card_stays_visible(admin_client, org):
    make_location(org)
    Licence.objects.filter(organisation=org, sku=Licence.Sku.BUSINESS_TEXTING_ADDON).update(
        status=Licence.Status.SUSPENDED
    )
    assert not detail(org, "addon_licence").met and not check_eligibility(org).eligible
    page = admin_client.get(reverse("portal:overview")).content.decode()
    # The add-on, and the three advisory items of an organisation without texters yet.
    assert "<h2>Business Texting</h2>" in page and "4 prerequisites not met yet." in page


def test_without_the_add_on_the_business_texting_card_is_not_shown(client):
    org = make_org(addon=False)
    client.force_login(make_user(org))
    page = client.get(reverse("portal:overview")).content.decode()
    assert "<h2>Business Texting</h2>" not in page


def test_the_wizard_checks_only_the_blocking_requirements():
    org = make_org()
    make_location(org)
    keys = [r.key for r in check_eligibility(org, advisory=False).requirements]
    assert keys == ["enterprise", "calling_plan", "cisco_pstn_location", "addon_licence"]
    assert len(check_eligibility(org).requirements) == 7


@pytest.mark.parametrize(
    "versions, met, words",
    [
        (["42.12"], True, "All texting users run Webex App 42.12 or later."),
        (["42.12.0.1", "43.0", "42.13.5"], True, "All texting users run Webex App 42.12 or later."),
        (["42.11.99", "42.12.1"], False, "1 texting user needs to upgrade to Webex App 42.12 or later."),
        (["41.99", "", "42.12"], False, "2 texting users need to upgrade to Webex App 42.12 or later."),
        ([], False, "No texting users yet."),
    ],
)
def test_webex_app_versions_of_the_texting_users(versions, met, words):
    org = make_org()
    location = make_location(org)
    for version in versions:
        texter(org, location, version)
    requirement = detail(org, "webex_app_version")
    assert (requirement.met, requirement.detail) == (met, words)
    assert check_eligibility(org).eligible  # advisory: never blocks


def test_only_primary_numbers_of_cisco_calling_plan_locations_make_a_texter():
    org = make_org()
    location = make_location(org)
    cloud = make_location(org, pstn=Location.PstnConnection.CLOUD_CONNECTED)
    texter(org, location, "42.12")
    texter(org, cloud, "42.12")  # a primary number, but not from Cisco Calling Plan
    make_user(org)  # an administrator counts as a user too
    colleague = make_user(org, role=User.Role.END_USER)
    make_numbers(location, 1, assigned_user=colleague)  # a number, but not their primary one
    other_org = make_org()
    texter(other_org, make_location(other_org), "42.12")  # another organisation's texter counts for neither
    requirement = detail(org, "primary_numbers")
    assert requirement.met and requirement.detail.startswith("1 of 4 users have a primary number")
    assert not requirement.blocking


def test_ten_dlc_registration_says_what_to_do_next():
    org = make_org()
    number = make_numbers(make_location(org), 1)[0]
    other_org = make_org()
    make_numbers(make_location(other_org), 1, texting_state=PhoneNumber.TextingState.REGISTERED)
    assert "open a Cisco Calling Plan support case" in detail(org, "ten_dlc").detail  # theirs is not ours
    PhoneNumber.objects.filter(pk=number.pk).update(texting_state=PhoneNumber.TextingState.REGISTERED)
    assert detail(org, "ten_dlc").detail == "Numbers are registered in an approved 10DLC campaign."


def test_not_authorised_and_failed_numbers_can_be_authorised_the_others_not():
    org = make_org()
    location = make_location(org)
    states = list(PhoneNumber.TextingState)
    numbers = make_numbers(location, len(states))
    for number, state in zip(numbers, states, strict=True):
        PhoneNumber.objects.filter(pk=number.pk).update(texting_state=state)
    offered = set(authorisable_numbers(location).values_list("texting_state", flat=True))
    assert offered == {PhoneNumber.TextingState.NOT_AUTHORISED, PhoneNumber.TextingState.FAILED}
    make_numbers(make_location(org), 3)  # another location's numbers are authorised from that location
    assert authorisable_numbers(location).count() == 2
    cloud = make_location(org, pstn=Location.PstnConnection.CLOUD_CONNECTED)
    make_numbers(cloud, 2)
    assert not authorisable_numbers(cloud).exists()


def test_another_organisations_licences_and_locations_do_not_count(client):
    org = make_org(addon=False)
    make_location(make_org())  # another organisation, with the add-on and a Cisco Calling Plan location
    client.force_login(make_user(org))
    assert "<h2>Business Texting</h2>" not in client.get(reverse("portal:overview")).content.decode()
    assert not detail(org, "cisco_pstn_location").met and not check_eligibility(org).eligible
