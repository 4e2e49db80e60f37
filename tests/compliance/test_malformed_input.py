"""Input that once made the case pages and the registry's callback answer 500, or re-show a page without the error
(all found by tests/security/test_fuzzing.py). Each is now refused plainly and changes nothing."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from carrier import SIGNATURE_HEADER, sign_webhook_body
from compliance.models import CaseEvent, RegistrationCase
from tests.compliance.factories import VALID_FORM, make_authorised_numbers, make_case

pytestmark = pytest.mark.django_db
State = RegistrationCase.State


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.CARRIER_WEBHOOK_SECRET = settings.CARRIER_WEBHOOK_SECRET or "test-webhook-secret"


NOT_AN_ID = "The selection holds something that is not a valid choice. Reload the page and select again."


# "²" passes str.isdigit() but not int(); twenty-five nines overflow SQLite's integers.
@pytest.mark.parametrize("field, value", [("numbers", "²"), ("numbers", "9" * 25), ("location", "²")])
def test_number_ids_that_are_not_ids_are_refused_on_the_open_case_form(admin_client, org, field, value):
    make_authorised_numbers(org, 1)
    form = {"contact_name": "Casey", "contact_email": "casey@acme.test", field: value}
    response = admin_client.post(reverse("compliance:case_open"), form)
    message = NOT_AN_ID if field == "numbers" else "Select at least one authorised number"
    assert response.status_code == 200 and message in response.content.decode()
    assert not RegistrationCase.objects.exists()


@pytest.mark.parametrize("malformed", ["abc", "-1", "²", "9" * 25, ""])
def test_a_case_is_not_opened_for_fewer_numbers_than_were_ticked(admin_client, org, malformed):
    """A list of ticked numbers with one that is not an id is refused whole, not opened for the rest."""
    numbers = make_authorised_numbers(org, 2)
    form = {
        "contact_name": "Casey",
        "contact_email": "casey@acme.test",
        "numbers": [numbers[0].pk, malformed, numbers[1].pk],
    }
    response = admin_client.post(reverse("compliance:case_open"), form)
    assert response.status_code == 200 and NOT_AN_ID in response.content.decode()
    assert not RegistrationCase.objects.exists()


def test_the_support_queue_refuses_an_organisation_filter_that_is_not_an_id(support):
    client = Client()
    client.force_login(support)
    response = client.get(reverse("compliance:support_queue"), {"organisation": "²"})
    assert response.status_code == 400 and "Choose an organisation from the list." in response.content.decode()


def test_a_draft_keeps_what_was_typed_without_nul_characters(admin_client, org):
    case = make_case(org, State.FORM_SENT)
    response = admin_client.post(
        reverse("compliance:case_form", args=[case.pk]),
        {**VALID_FORM, "city": "San\x00 Francisco", "legal_name": "\x00"},
    )
    assert response.status_code == 302
    case.registration.refresh_from_db()
    assert case.registration.city == "San Francisco" and case.registration.legal_name == ""


def test_a_draft_field_longer_than_it_holds_is_kept_as_it_was_and_named_not_cut(admin_client, org):
    case = make_case(org, State.FORM_SENT)
    before = case.registration.legal_name
    response = admin_client.post(
        reverse("compliance:case_form", args=[case.pk]),
        {**VALID_FORM, "legal_name": "X" * 256, "city": "Oakland"},
        follow=True,
    )
    assert "Draft saved, except what was too long to keep (these fields are as they were): Legal company name." in (
        response.content.decode()
    )
    case.registration.refresh_from_db()
    assert case.registration.legal_name == before and case.registration.city == "Oakland"


@pytest.mark.parametrize(
    "url_name, form",
    [("compliance:case_message", {"message-text": ""}), ("compliance:case_cancel", {"cancel-reason": ""})],
)
def test_an_empty_form_on_a_closed_case_says_the_case_is_closed(admin_client, org, url_name, form):
    # A closed case shows neither form, so re-showing the page with the form's errors would show no error at all.
    case = make_case(org, State.CANCELLED)
    events = CaseEvent.objects.count()
    response = admin_client.post(reverse(url_name, args=[case.pk]), form, follow=True)
    assert "This case is cancelled: it takes no more messages or changes." in response.content.decode()
    assert CaseEvent.objects.count() == events


def _callback(client, settings, body: bytes):
    signature = sign_webhook_body(body, settings.CARRIER_WEBHOOK_SECRET)
    return client.post(
        reverse("compliance:registration_callback"),
        data=body,
        content_type="application/json",
        **{f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": signature},
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"brand_id": "B\x00", "reference": "case-1-brand-1", "status": "APPROVED"},
        {"brand_id": "BTEST01", "reference": "case-1-brand-1", "status": "APPROVED", "identity_status": "V" * 21},
        {"brand_id": "B" * 21, "reference": "case-1-brand-1", "status": "APPROVED"},
        {"brand_id": "B\ud800", "reference": "case-1-brand-1", "status": "APPROVED"},  # a lone surrogate
        {"brand_id": "BTEST01", "reference": "case-1-brand-1", "status": "REJECTED", "reason": "\udfff"},
    ],
)
def test_a_signed_brand_callback_the_portal_cannot_store_is_malformed(client, org, settings, payload):
    case = make_case(org, State.BRAND_SUBMITTED)
    payload["reference"] = case.brand_reference
    response = _callback(client, settings, json.dumps({"type": "brand.updated", "payload": payload}).encode())
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.state == State.BRAND_SUBMITTED and case.brand.registry_id == "BTEST01"


def test_a_signed_callback_nested_too_deep_to_read_is_malformed(client, settings):
    assert _callback(client, settings, b"[" * 20_000 + b"]" * 20_000).status_code == 400
