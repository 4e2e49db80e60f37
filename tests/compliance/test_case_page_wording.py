"""What the case pages say matches the case: the message after assigning numbers, no expected completion once a
case is closed, labels without colons like every other form, phone numbers written as Control Hub writes them."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance import actions
from compliance.models import RegistrationCase

from .factories import make_authorised_numbers, make_case

pytestmark = pytest.mark.django_db
State = RegistrationCase.State


@pytest.fixture
def support_client(support):
    client = Client()  # not the `client` fixture: admin_client signs that one in
    client.force_login(support)
    return client


def messages_shown(html):
    return re.findall(r'<li class="message [a-z ]+">([^<]*)</li>', html)


@pytest.mark.django_db(transaction=True)
def test_after_assigning_numbers_the_message_says_what_the_case_state_says(support_client, support, org, carrier_sim):
    # Registered with the simulator for real. Each step commits at once, so its carrier task runs in-process
    # right away (as with `make run`), and the simulator decides at once.
    case = make_case(org, State.FORM_SUBMITTED, brand_registry_id="")
    actions.submit_brand(case, support)
    case.refresh_from_db()
    actions.submit_campaign(case, support)
    case.refresh_from_db()
    assert case.state == State.CAMPAIGN_APPROVED
    url = reverse("compliance:support_action", args=[case.pk, "assign-numbers"])
    response = support_client.post(url, {"expected_state": State.CAMPAIGN_APPROVED})
    html = support_client.get(response["Location"]).content.decode()
    case.refresh_from_db()
    assert 'id="case-state">Completed<' in html
    assert messages_shown(html) == [
        f"The carrier confirmed the numbers in campaign {case.campaign_registry_id}: the case is complete."
    ]


def test_while_the_carrier_has_not_confirmed_the_message_says_the_numbers_are_sent(support_client, org):
    case = make_case(org, State.CAMPAIGN_APPROVED)
    url = reverse("compliance:support_action", args=[case.pk, "assign-numbers"])
    html = support_client.post(url, {"expected_state": State.CAMPAIGN_APPROVED}, follow=True).content.decode()
    assert 'id="case-state">Numbers assigned<' in html
    assert messages_shown(html) == [
        "The numbers are sent to the carrier for campaign CTEST01. The case completes when it confirms."
    ]


@pytest.mark.parametrize("state", [State.COMPLETED, State.CANCELLED])
def test_a_closed_case_shows_no_expected_completion(support_client, admin_client, org, state):
    case = make_case(org, state)
    for client, url in ((support_client, "compliance:support_case"), (admin_client, "compliance:case")):
        html = client.get(reverse(url, args=[case.pk])).content.decode()
        assert "Expected completion" not in html and "after 0 days" in html
    open_case = make_case(org, State.FORM_SENT)
    assert "Expected completion" in admin_client.get(reverse("compliance:case", args=[open_case.pk])).content.decode()


def test_the_open_case_form_labels_end_without_a_colon(admin_client, org):
    make_authorised_numbers(org, 1)
    html = admin_client.get(reverse("compliance:case_open")).content.decode()
    labels = re.findall(r'<label for="id_[a-z_]+">([^<]+)</label>', html)
    assert set(labels) >= {"Contact name", "Contact email", "Contact phone", "Note for support"}
    case = make_case(org, State.FORM_SENT)
    html = admin_client.get(reverse("compliance:case", args=[case.pk])).content.decode()
    assert '<label for="id_message-text">Message</label>' in html


def test_contact_and_support_phones_read_like_every_other_number(support_client, admin_client, org):
    case = make_case(org, State.FORM_SUBMITTED, contact_phone="+15125550100", form={"submitted_at": timezone.now()})
    for client, url in ((support_client, "compliance:support_case"), (admin_client, "compliance:case")):
        html = client.get(reverse(url, args=[case.pk])).content.decode()
        assert "+1 512-555-0100" in html and "+15125550100" not in html
        assert "+1 415-555-0100" in html  # the registration form's support phone
