"""The registration form's pre-submission warnings follow what is on screen: none about a field nobody has filled
yet, and checked again (HTMX) as the customer types, without saving anything."""

import pytest
from django.urls import reverse

from compliance import actions
from compliance.models import RegistrationCase
from portal.models import AuditEvent

from .factories import VALID_FORM, make_case

pytestmark = pytest.mark.django_db
State = RegistrationCase.State
WEBSITE_WARNING = "The website is not a valid https:// address."


def test_a_fresh_form_warns_about_nothing_nobody_has_filled_yet(admin_client, org, support):
    case = actions.send_registration_form(make_case(org, State.OPENED), support)
    assert case.registration.website == ""
    html = admin_client.get(reverse("compliance:case", args=[case.pk])).content.decode()
    assert 'id="presubmission-warnings"' in html and "Pre-submission checks" not in html
    assert WEBSITE_WARNING not in html


def check(client, case, **changes):
    response = client.post(
        reverse("compliance:case_form_check", args=[case.pk]), {**VALID_FORM, **changes}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    return response.content.decode()


def test_the_warnings_follow_what_is_typed_and_nothing_is_stored(admin_client, org):
    case = make_case(org, State.FORM_SENT, form={"website": "http://acme.example"})
    saved = case.registration.saved_at
    events = AuditEvent.objects.count()
    # The draft says http://: the page warns. The customer types https://: the check says nothing more.
    assert WEBSITE_WARNING in admin_client.get(reverse("compliance:case", args=[case.pk])).content.decode()
    html = check(admin_client, case, website="https://www.acme.example")
    assert WEBSITE_WARNING not in html and "Pre-submission checks" not in html
    assert '<div class="field-warnings" id="id_website-warnings" hx-swap-oob="true"></div>' in html
    # Typed back to http://: the summary and the field's own place both say it again.
    html = check(admin_client, case, website="http://acme.example", sample_2="Your part ships tomorrow.")
    assert html.count(WEBSITE_WARNING) == 2 and "Sample message 2 does not name your brand" in html
    assert 'id="id_website-warnings" hx-swap-oob="true"><p class="field-warning" role="note">Check:' in html
    # Emptied: nobody's website yet, no warning (the form's errors say a website is needed).
    assert WEBSITE_WARNING not in check(admin_client, case, website="")
    case.registration.refresh_from_db()
    assert case.registration.website == "http://acme.example" and case.registration.saved_at == saved
    assert AuditEvent.objects.count() == events


def test_only_a_full_admin_of_the_organisation_checks_an_editable_form(admin_client, readonly_client, org, other_org):
    case = make_case(org, State.FORM_SENT)
    url = reverse("compliance:case_form_check", args=[case.pk])
    assert readonly_client.post(url, VALID_FORM).status_code == 403
    assert admin_client.get(url).status_code == 405
    theirs = make_case(other_org, State.FORM_SENT)
    assert admin_client.post(reverse("compliance:case_form_check", args=[theirs.pk]), VALID_FORM).status_code == 404
    submitted = make_case(org, State.FORM_SUBMITTED)
    assert admin_client.post(reverse("compliance:case_form_check", args=[submitted.pk]), VALID_FORM).status_code == 404
