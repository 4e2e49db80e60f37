"""The domain actions on cases: opening one, the form's draft and submission, support's manual decisions,
cancelling, messages and notes, and the emails that ask the customer to act."""

from datetime import timedelta

import pytest

from carrier import CampaignNumberStatus
from compliance import actions
from compliance.actions import CaseRefused
from compliance.actions import numbers as number_actions
from compliance.models import CampaignNumber, CaseEvent, CaseNumber, RegistrationCase, RegistrationForm
from portal.models import AuditEvent, User
from provisioning.models import PhoneNumber
from tests.factories import make_location, make_numbers, make_user

from .factories import VALID_FORM, make_authorised_numbers, make_case

pytestmark = pytest.mark.django_db
State = RegistrationCase.State


def open_with(org, admin, numbers, **extra):
    fields = {"contact_name": "Casey", "contact_email": "Casey@Acme.example", **extra}
    return actions.open_case(org, admin, [n.pk for n in numbers], **fields)


# --- opening --------------------------------------------------------------------------------------------------------


def test_open_case_covers_the_chosen_authorised_numbers(org, admin):
    numbers = make_authorised_numbers(org, 3)
    case = open_with(org, admin, numbers[:2], note="Please register our support line.")
    assert case.state == State.OPENED and case.organisation == org and case.opened_by == admin
    assert case.contact_email == "casey@acme.example"
    assert set(CaseNumber.objects.filter(case=case, is_open=True).values_list("number", flat=True)) == {
        numbers[0].pk,
        numbers[1].pk,
    }
    assert case.events.get().to_state == State.OPENED and "2 numbers" in case.events.get().text
    assert AuditEvent.objects.filter(action="registration_case.opened", target_id=str(case.pk)).exists()
    assert case.expected_completion - case.opened_at == timedelta(days=28)


@pytest.mark.parametrize(
    "state",
    [
        PhoneNumber.TextingState.NOT_AUTHORISED,
        PhoneNumber.TextingState.PENDING,
        PhoneNumber.TextingState.FAILED,
        PhoneNumber.TextingState.REGISTERED,
    ],
)
def test_only_authorised_numbers_can_be_registered(org, admin, state):
    number = make_numbers(make_location(org), 1, texting_state=state)[0]
    with pytest.raises(CaseRefused, match="Only authorised numbers can join a campaign"):
        open_with(org, admin, [number])
    assert not RegistrationCase.objects.exists()


def test_a_number_is_in_at_most_one_open_case(org, admin):
    numbers = make_authorised_numbers(org, 2)
    first = open_with(org, admin, numbers)
    with pytest.raises(CaseRefused, match=f"already in case #{first.pk}"):
        open_with(org, admin, numbers[1:])
    assert RegistrationCase.objects.count() == 1


def test_the_database_refuses_a_second_open_case_line_for_a_number(org, admin):
    from django.db import IntegrityError, transaction

    number = make_authorised_numbers(org, 1)[0]
    open_with(org, admin, [number])
    other = make_case(org, numbers=[])
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseNumber.objects.create(case=other, number=number, is_open=True)


def test_open_case_refuses_other_organisations_numbers_and_empty_selection(org, other_org, admin):
    theirs = make_authorised_numbers(other_org, 1)
    with pytest.raises(CaseRefused, match="not numbers of your organisation"):
        open_with(org, admin, theirs)
    with pytest.raises(CaseRefused, match="Select at least one"):
        open_with(org, admin, [])


def test_only_full_administrators_open_cases(org, readonly, support):
    numbers = make_authorised_numbers(org, 1)
    for user in (readonly, support):
        with pytest.raises(CaseRefused, match="Only full administrators"):
            open_with(org, user, numbers)


def test_cancelling_frees_the_numbers_for_a_new_case(org, admin, support):
    numbers = make_authorised_numbers(org, 2)
    case = open_with(org, admin, numbers)
    actions.cancel_case(case, support, reason="Opened by mistake")
    assert case.state == State.CANCELLED and case.closed_at is not None
    assert not CaseNumber.objects.filter(case=case, is_open=True).exists()
    again = open_with(org, admin, numbers)
    assert again.case_numbers.count() == 2
    with pytest.raises(CaseRefused, match="Say why"):
        actions.cancel_case(again, admin, reason="  ")


# --- the form -------------------------------------------------------------------------------------------------------


def test_sending_the_form_prefills_it_and_emails_the_contact(
    org, support, mailoutbox, django_capture_on_commit_callbacks
):
    case = make_case(org, State.OPENED, contact_phone="+14155550142")
    with django_capture_on_commit_callbacks(execute=True):
        actions.send_registration_form(case, support)
    form = RegistrationForm.objects.get(case=case)
    assert (form.legal_name, form.country, form.support_email, form.support_phone) == (
        org.name,
        "US",
        "casey@acme.example",
        "+14155550142",
    )
    assert case.state == State.FORM_SENT
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["casey@acme.example"]
    assert "Action needed" in mailoutbox[0].subject and f"/cases/{case.pk}/" in mailoutbox[0].body


def test_only_support_sends_the_form(org, admin):
    case = make_case(org, State.OPENED)
    with pytest.raises(CaseRefused, match="Only Cisco PSTN support"):
        actions.send_registration_form(case, admin)


def test_a_draft_keeps_what_was_typed_even_when_invalid(org, admin):
    case = make_case(org, State.FORM_SENT)
    data = {
        **VALID_FORM,
        "tax_number": "12345",
        "website": "http://acme.example",
        "sample_2": "too short",
        "legal_name": "",
        "monthly_volume": "a lot",
    }
    form = actions.save_registration_draft(case, admin, data)
    stored = RegistrationForm.objects.get(case=case)
    assert (stored.tax_number, stored.website, stored.sample_2, stored.legal_name) == (
        "12345",
        "http://acme.example",
        "too short",
        "",
    )
    assert stored.monthly_volume == VALID_FORM["monthly_volume"]  # no such choice: the previous value stays
    assert stored.saved_by == admin and stored.saved_at is not None
    assert "Enter the EIN as NN-NNNNNNN" in str(form.errors["tax_number"])
    assert "https://" in str(form.errors["website"])
    assert "legal_name" not in form.errors  # an empty field is fine in a draft
    case.refresh_from_db()
    assert case.state == State.FORM_SENT


def test_submitting_an_incomplete_form_keeps_the_draft_and_the_state(org, admin):
    case = make_case(org, State.FORM_SENT)
    form, submitted = actions.submit_registration_form(
        case, admin, {**VALID_FORM, "legal_name": "", "tax_number": "98-76"}
    )
    assert not submitted
    assert "This field is required." in str(form.errors["legal_name"])
    assert RegistrationForm.objects.get(case=case).tax_number == "98-76"
    case.refresh_from_db()
    assert case.state == State.FORM_SENT and not case.events.filter(kind="transition").exists()


def test_submitting_a_complete_form(org, admin):
    case = make_case(org, State.FORM_SENT)
    form, submitted = actions.submit_registration_form(
        case, admin, {**VALID_FORM, "tax_number": "123456789"}, expected=State.FORM_SENT
    )
    assert submitted and case.state == State.FORM_SUBMITTED
    stored = RegistrationForm.objects.get(case=case)
    assert stored.tax_number == "12-3456789" and stored.support_phone == "+14155550100"
    assert stored.submitted_by == admin and stored.submitted_at is not None


def test_the_form_is_editable_only_while_it_is_with_the_customer(org, admin):
    case = make_case(org, State.BRAND_SUBMITTED)
    with pytest.raises(CaseRefused, match="can be changed only while it is with you"):
        actions.save_registration_draft(case, admin, VALID_FORM)
    with pytest.raises(CaseRefused):
        actions.submit_registration_form(case, admin, VALID_FORM)


def test_read_only_admins_and_support_cannot_edit_the_form(org, readonly, support):
    case = make_case(org, State.FORM_SENT)
    for user in (readonly, support):
        with pytest.raises(CaseRefused, match="Only full administrators"):
            actions.save_registration_draft(case, user, VALID_FORM)


def test_after_a_campaign_rejection_only_the_campaign_changes(org, admin):
    case = make_case(org, State.CAMPAIGN_REJECTED)
    data = {**VALID_FORM, "legal_name": "Another Name LLC", "description": VALID_FORM["description"] + " Updated."}
    form, submitted = actions.submit_registration_form(case, admin, data)
    assert submitted
    stored = RegistrationForm.objects.get(case=case)
    assert stored.legal_name == VALID_FORM["legal_name"] and stored.description.endswith("Updated.")
    assert case.state == State.FORM_SUBMITTED
    assert State.CAMPAIGN_SUBMITTED in actions.allowed_transitions(case)


def test_after_a_brand_rejection_the_corrected_form_goes_back_to_brand_submission(org, admin):
    case = make_case(org, State.BRAND_REJECTED)
    actions.submit_registration_form(case, admin, {**VALID_FORM, "legal_name": "Acme Test Incorporated"})
    assert case.state == State.FORM_SUBMITTED
    assert actions.allowed_transitions(case) == {State.BRAND_SUBMITTED, State.CANCELLED}
    assert "submitted again" in case.events.filter(kind="transition").last().text


# --- support's manual decisions --------------------------------------------------------------------------------------


def test_manual_brand_rejection_needs_a_reason_and_emails_the_contact(
    org, support, mailoutbox, django_capture_on_commit_callbacks
):
    case = make_case(org, State.BRAND_SUBMITTED)
    with pytest.raises(CaseRefused, match="Say why"):
        actions.record_brand_decision(case, support, approved=False)
    with django_capture_on_commit_callbacks(execute=True):
        actions.record_brand_decision(case, support, approved=False, reason="EIN does not match the legal name")
    assert case.state == State.BRAND_REJECTED and case.brand.reason == "EIN does not match the legal name"
    assert len(mailoutbox) == 1 and "EIN does not match the legal name" in mailoutbox[0].body


def test_manual_brand_approval_needs_the_registry_id(org, support):
    case = make_case(org, State.BRAND_SUBMITTED, brand_registry_id="")
    with pytest.raises(CaseRefused, match="brand id"):
        actions.record_brand_decision(case, support, approved=True)
    actions.record_brand_decision(case, support, approved=True, registry_id="b1a2b3c", identity_status="VERIFIED")
    assert case.state == State.BRAND_APPROVED and case.brand.registry_id == "B1A2B3C" and case.brand_is_approved


def test_manual_campaign_decisions(org, support, mailoutbox, django_capture_on_commit_callbacks):
    approved = make_case(org, State.CAMPAIGN_SUBMITTED)
    actions.record_campaign_decision(approved, support, approved=True)
    assert approved.state == State.CAMPAIGN_APPROVED
    rejected = make_case(org, State.CAMPAIGN_SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        actions.record_campaign_decision(rejected, support, approved=False, reason="Samples do not match")
    assert rejected.state == State.CAMPAIGN_REJECTED and "Samples do not match" in mailoutbox[0].body


def test_customers_cannot_record_decisions_or_submit(org, admin):
    case = make_case(org, State.FORM_SUBMITTED)
    with pytest.raises(CaseRefused, match="Only Cisco PSTN support"):
        actions.submit_brand(case, admin)
    brand_case = make_case(org, State.BRAND_SUBMITTED)
    with pytest.raises(CaseRefused, match="Only Cisco PSTN support"):
        actions.record_brand_decision(brand_case, admin, approved=True)


# --- messages and notes ------------------------------------------------------------------------------------------


def test_messages_and_internal_notes(org, admin, readonly, support):
    case = make_case(org, State.FORM_SENT)
    actions.post_message(case, admin, "When will the form be reviewed?")
    actions.post_message(case, support, "Within two business days.")
    actions.add_internal_note(case, support, "Customer called twice.")
    kinds = list(case.events.values_list("kind", "by_support"))
    assert kinds == [("message", False), ("message", True), ("internal_note", True)]
    with pytest.raises(CaseRefused):
        actions.post_message(case, readonly, "Hello")
    with pytest.raises(CaseRefused):
        actions.add_internal_note(case, admin, "Sneaky")
    with pytest.raises(CaseRefused, match="Write a message"):
        actions.post_message(case, admin, "   ")
    assert not CaseEvent.objects.get(text="Customer called twice.").customer_visible


def carrier_answers(case, **statuses):
    """The carrier's per-number answers for the case's numbers (e164 -> ASSIGNED | FAILED_ASSIGNMENT ...)."""
    return number_actions.apply_campaign_number_statuses(
        case.campaign_id,
        [
            CampaignNumberStatus(e164, status, "Number is held elsewhere" if "FAILED" in status else "")
            for e164, status in statuses.items()
        ],
    )


def test_completed_case_emails_the_contact(org, support, mailoutbox, django_capture_on_commit_callbacks):
    case = make_case(org, State.NUMBERS_ASSIGNED)
    numbers = list(PhoneNumber.objects.filter(registration_case_lines__case=case))
    with django_capture_on_commit_callbacks(execute=True):
        carrier_answers(case, **{n.e164: "ASSIGNED" for n in numbers})
    case.refresh_from_db()
    assert case.state == State.COMPLETED
    assert set(PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers]).values_list("texting_state", flat=True)) == {
        PhoneNumber.TextingState.REGISTERED
    }
    assert "registered" in mailoutbox[0].subject and "CTEST01" in mailoutbox[0].body
    # A second confirmation (a duplicate answer) changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        carrier_answers(case, **{n.e164: "ASSIGNED" for n in numbers})
    assert not actions.complete_case_when_numbers_settle(case.pk)
    assert len(mailoutbox) == 1


def test_a_failed_assignment_keeps_the_case_open_with_the_carrier_s_reason(org):
    case = make_case(org, State.NUMBERS_ASSIGNED)
    numbers = list(PhoneNumber.objects.filter(registration_case_lines__case=case).order_by("e164"))
    carrier_answers(case, **{numbers[0].e164: "ASSIGNED", numbers[1].e164: "FAILED_ASSIGNMENT"})
    case.refresh_from_db()
    assert case.state == State.NUMBERS_ASSIGNED
    failed = CampaignNumber.objects.get(number=numbers[1])
    assert failed.status == CampaignNumber.Status.FAILED_ASSIGNMENT and failed.reason == "Number is held elsewhere"
    assert PhoneNumber.objects.get(pk=numbers[1].pk).texting_state == PhoneNumber.TextingState.AUTHORISED
    assert PhoneNumber.objects.get(pk=numbers[0].pk).texting_state == PhoneNumber.TextingState.REGISTERED


def test_no_email_for_states_that_do_not_need_the_customer(
    org, support, mailoutbox, django_capture_on_commit_callbacks
):
    case = make_case(org, State.FORM_SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        actions.transition(case, State.CANCELLED, support)
    assert mailoutbox == []


def test_end_users_cannot_act(org):
    person = make_user(org, role=User.Role.END_USER)
    case = make_case(org, State.FORM_SENT)
    with pytest.raises(CaseRefused):
        actions.save_registration_draft(case, person, VALID_FORM)
