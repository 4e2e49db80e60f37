"""The customer's pages: Manage → Open Cisco Calling Plan Support Case, the case list, the case page with the
registration form (draft, errors next to fields, pre-submission warnings, submit), messages and cancelling."""

import pytest
from django.urls import reverse

from compliance.models import RegistrationCase, RegistrationForm
from provisioning.models import PhoneNumber
from tests.factories import make_location, make_numbers

from .factories import VALID_FORM, make_authorised_numbers, make_case

pytestmark = pytest.mark.django_db
State = RegistrationCase.State
OPEN = reverse("compliance:case_open")


def page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def test_open_case_lists_only_authorised_numbers_in_no_open_case(admin_client, org, other_org):
    location = make_location(org, "New York Office")
    free = make_numbers(location, 3, texting_state=PhoneNumber.TextingState.AUTHORISED)
    not_authorised = make_numbers(location, 1)[0]
    in_case = make_authorised_numbers(org, 1)
    make_case(org, State.FORM_SENT, numbers=in_case)
    theirs = make_authorised_numbers(other_org, 1)[0]
    html = page(admin_client, OPEN)
    assert "<h1>Open Cisco Calling Plan Support Case</h1>" in html
    assert "3 authorised numbers are not yet in a campaign or an open case" in html
    for number in free:
        assert number.display in html
    for number in (not_authorised, in_case[0], theirs):
        assert number.display not in html
    assert 'value="admin@acme.test"' in html  # the contact defaults to the admin


def test_open_case_without_authorised_numbers_links_to_authorize(admin_client, org):
    make_numbers(make_location(org), 2)  # new numbers start not authorised
    html = page(admin_client, OPEN)
    assert "No authorised numbers to register" in html and "Your organisation has no authorised numbers" in html
    assert "new or ported start <em>not authorised</em>" in html
    assert reverse("provisioning:authorize") in html and "Authorize Business Texting" in html


def test_open_case_when_every_authorised_number_is_already_in_a_case(admin_client, org):
    make_case(org, State.FORM_SENT, numbers=make_authorised_numbers(org, 2))
    html = page(admin_client, OPEN)
    assert "Every authorised number of your organisation is already in an open case" in html


def test_case_list_query_count_is_fixed(admin_client, org, django_assert_num_queries):
    for state in (State.OPENED, State.FORM_SENT, State.COMPLETED, State.CANCELLED):
        make_case(org, state)
    # session, user, the user's organisation (shell), the page's count, the page's rows.
    with django_assert_num_queries(5):
        html = admin_client.get(reverse("compliance:cases")).content.decode()
    assert html.count("Case #") == 4


def test_open_a_case_for_chosen_numbers(admin_client, org):
    numbers = make_authorised_numbers(org, 3)
    response = admin_client.post(
        OPEN,
        {
            "numbers": [numbers[0].pk, numbers[2].pk],
            "contact_name": "Casey",
            "contact_email": "casey@acme.test",
            "contact_phone": "415 555 0142",
            "note": "Our support line",
        },
    )
    case = RegistrationCase.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("compliance:case", args=[case.pk])
    assert set(case.case_numbers.values_list("number", flat=True)) == {numbers[0].pk, numbers[2].pk}
    assert case.contact_phone == "+14155550142"
    html = page(admin_client, response["Location"])
    assert f"Case #{case.pk} is open" in html and "Opened" in html
    assert "Cisco PSTN support will send you the 10DLC registration form." in html


def test_open_all_matching_numbers_of_a_location(admin_client, org):
    ny = make_location(org, "New York Office")
    ny_numbers = make_numbers(ny, 4, texting_state=PhoneNumber.TextingState.AUTHORISED)
    make_authorised_numbers(org, 2)  # another location
    admin_client.post(
        OPEN, {"all_matching": "1", "location": ny.pk, "contact_name": "Casey", "contact_email": "casey@acme.test"}
    )
    case = RegistrationCase.objects.get()
    assert set(case.case_numbers.values_list("number", flat=True)) == {n.pk for n in ny_numbers}


def test_filtering_numbers_answers_the_partial(admin_client, org):
    ny = make_location(org, "New York Office")
    ny_numbers = make_numbers(ny, 2, texting_state=PhoneNumber.TextingState.AUTHORISED)
    other = make_authorised_numbers(org, 2)
    html = admin_client.get(OPEN, {"location": ny.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html and 'id="case-numbers"' in html
    assert ny_numbers[0].display in html and other[0].display not in html
    assert "Include all 2 matching numbers (filtered)" in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"contact_name": "Casey", "contact_email": "casey@acme.test"}, "Select at least one authorised number"),
        ({"contact_name": "", "contact_email": "casey@acme.test", "numbers": "x"}, "This field is required."),
        ({"contact_name": "Casey", "contact_email": "not-an-email", "numbers": "x"}, "Enter a valid email address."),
        (
            {
                "contact_name": "Casey",
                "contact_email": "c@acme.test",
                "contact_phone": "+44 20 7946 0958",
                "numbers": "x",
            },
            "not a US or Canadian number",
        ),
    ],
)
def test_bad_input_on_opening_is_explained_and_saves_nothing(admin_client, org, data, message):
    numbers = make_authorised_numbers(org, 1)
    if data.get("numbers") == "x":
        data = {**data, "numbers": numbers[0].pk}
    response = admin_client.post(OPEN, data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not RegistrationCase.objects.exists()


def test_a_not_authorised_number_slipped_into_the_post_is_refused(admin_client, org):
    sneaky = make_numbers(make_location(org), 1)[0]
    make_authorised_numbers(org, 1)
    html = admin_client.post(
        OPEN, {"numbers": sneaky.pk, "contact_name": "C", "contact_email": "c@acme.test"}
    ).content.decode()
    assert "cannot be registered: it is not authorised" in html and not RegistrationCase.objects.exists()


def test_case_list_shows_the_organisation_s_cases(admin_client, org, other_org):
    mine = make_case(org, State.BRAND_SUBMITTED, opened_days_ago=35)
    theirs = make_case(other_org, State.FORM_SENT)
    html = page(admin_client, reverse("compliance:cases"))
    assert f"Case #{mine.pk}" in html and f"Case #{theirs.pk}" not in html
    assert "Brand submitted" in html and "Overdue" in html


def test_case_page_shows_state_steps_expected_completion_and_numbers(admin_client, org):
    case = make_case(org, State.CAMPAIGN_SUBMITTED, opened_days_ago=30)
    html = page(admin_client, reverse("compliance:case", args=[case.pk]))
    assert 'id="case-state">Campaign submitted' in html
    assert 'aria-current="step">Campaign' in html and 'class="done">Brand' in html
    assert case.expected_completion.strftime("%Y-%m-%d") in html and "overdue by 2 days" in html
    assert "every 2s" in html  # waits for the carrier: the page polls
    assert "Authorised" in html


def test_registration_form_draft_keeps_invalid_input_and_shows_errors_next_to_fields(admin_client, org):
    case = make_case(org, State.FORM_SENT)
    url = reverse("compliance:case_form", args=[case.pk])
    response = admin_client.post(url, {**VALID_FORM, "save": "1", "tax_number": "12-34", "website": "acme.example"})
    assert response.status_code == 302
    html = page(admin_client, reverse("compliance:case", args=[case.pk]))
    assert "Draft saved." in html
    assert 'value="12-34"' in html and "Enter the EIN as NN-NNNNNNN" in html
    assert 'value="acme.example"' in html and "full https:// address" in html
    assert "Pre-submission checks" in html and "not a valid https:// address" in html
    case.refresh_from_db()
    assert case.state == State.FORM_SENT


def test_submitting_an_incomplete_form_shows_every_error_and_keeps_the_input(admin_client, org):
    case = make_case(org, State.FORM_SENT)
    url = reverse("compliance:case_form", args=[case.pk])
    response = admin_client.post(
        url,
        {
            **VALID_FORM,
            "submit": "1",
            "legal_name": "",
            "sample_2": "",
            "entity_type": "PUBLIC_PROFIT",
            "expected_state": "form_sent",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "The form is not complete" in html
    assert "A public company gives its stock symbol." in html and "Give at least two sample messages." in html
    assert RegistrationForm.objects.get(case=case).entity_type == "PUBLIC_PROFIT"
    case.refresh_from_db()
    assert case.state == State.FORM_SENT


def test_submitting_the_complete_form(admin_client, org):
    case = make_case(org, State.FORM_SENT)
    response = admin_client.post(
        reverse("compliance:case_form", args=[case.pk]), {**VALID_FORM, "submit": "1", "expected_state": "form_sent"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.FORM_SUBMITTED
    html = page(admin_client, reverse("compliance:case", args=[case.pk]))
    assert "Your registration form is submitted" in html
    assert (
        "Acme Test Inc." in html
        and f'<form method="post" action="{reverse("compliance:case_form", args=[case.pk])}"' not in html
    )  # read-only now


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        ({"sample_2": "Your replacement part ships tomorrow, thank you for waiting."}, "does not name your brand"),
        ({"sample_1": "Acme: your support ticket 4512 was updated today."}, "how to opt out"),
        ({"opt_out_message": "You are unsubscribed and will receive no more messages."}, "opt-out reply does not name"),
        ({"website": "http://www.acme.example"}, "not a valid https:// address"),
        ({"use_case": "MARKETING", "message_flow": "Web form."}, "marketing campaign needs an opt-in description"),
    ],
)
def test_pre_submission_warnings_show_on_the_page(admin_client, org, change, warning):
    case = make_case(org, State.FORM_SENT, form=change)
    RegistrationForm.objects.filter(case=case).update(saved_at=case.opened_at)
    html = page(admin_client, reverse("compliance:case", args=[case.pk]))
    assert warning in html


def test_read_only_admin_reads_the_case_but_gets_no_forms(readonly_client, org):
    case = make_case(org, State.FORM_SENT)
    html = page(readonly_client, reverse("compliance:case", args=[case.pk]))
    assert "Only full administrators can fill in the form." in html
    assert "Save draft" not in html and "Send message" not in html and "Cancel case" not in html


def test_customer_sees_messages_but_never_internal_notes(admin_client, org, support):
    from compliance import actions

    case = make_case(org, State.FORM_SENT)
    actions.post_message(case, support, "Please use your legal name exactly.")
    actions.add_internal_note(case, support, "Checked the IRS letter: name differs.")
    response = admin_client.post(
        reverse("compliance:case_message", args=[case.pk]), {"message-text": "Thanks, will do."}
    )
    assert response.status_code == 302
    html = page(admin_client, reverse("compliance:case", args=[case.pk]))
    assert "Please use your legal name exactly." in html and "Thanks, will do." in html
    assert "Checked the IRS letter" not in html and "Internal note" not in html


def test_customer_cancels_the_case(admin_client, org):
    case = make_case(org, State.FORM_SENT)
    url = reverse("compliance:case_cancel", args=[case.pk])
    html = admin_client.post(url, {"cancel-reason": ""}).content.decode()
    assert "This field is required." in html
    admin_client.post(url, {"cancel-reason": "We will text from Canada only", "expected_state": "form_sent"})
    case.refresh_from_db()
    assert case.state == State.CANCELLED


def test_an_out_of_date_page_is_told_what_happened(admin_client, org):
    case = make_case(org, State.BRAND_SUBMITTED)
    response = admin_client.post(
        reverse("compliance:case_cancel", args=[case.pk]),
        {"cancel-reason": "x", "expected_state": "form_sent"},
        follow=True,
    )
    assert "it is now in &#x27;Brand submitted&#x27;" in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.BRAND_SUBMITTED


def test_live_poll_reloads_only_when_the_state_changed(admin_client, org):
    case = make_case(org, State.BRAND_SUBMITTED)
    url = reverse("compliance:case", args=[case.pk])
    same = admin_client.get(url, {"seen": "brand_submitted"}, HTTP_HX_REQUEST="true")
    assert same.status_code == 204
    moved = admin_client.get(url, {"seen": "form_submitted"}, HTTP_HX_REQUEST="true")
    assert moved.status_code == 200 and moved["HX-Refresh"] == "true"
