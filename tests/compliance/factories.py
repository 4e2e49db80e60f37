"""Small factory functions for registration cases (tests only): a case in any state, valid form data."""

from datetime import timedelta

from django.utils import timezone

from compliance.models import CaseNumber, RegistrationCase, RegistrationForm
from provisioning.models import PhoneNumber
from tests.factories import make_location, make_numbers

State = RegistrationCase.State

# A registration form that passes validation and every pre-submission check (Acme Test, a US private company).
VALID_FORM = {
    "legal_name": "Acme Test Inc.",
    "dba_name": "Acme",
    "entity_type": "PRIVATE_PROFIT",
    "tax_number": "12-3456789",
    "country": "US",
    "street": "100 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "website": "https://www.acme.example",
    "vertical": "TECHNOLOGY",
    "support_email": "support@acme.example",
    "support_phone": "+1 415 555 0100",
    "stock_symbol": "",
    "stock_exchange": "",
    "use_case": "CUSTOMER_CARE",
    "description": "Customer care conversations between Acme support agents and Acme customers who wrote to us.",
    "sample_1": "Acme: your support ticket 4512 was updated. Reply STOP to opt out.",
    "sample_2": "Hi, this is Dana from Acme support. Your replacement part ships tomorrow.",
    "sample_3": "",
    "sample_4": "",
    "sample_5": "",
    "message_flow": "Customers give their mobile number on the Acme support web form and tick a box to receive "
    "texts about their ticket.",
    "opt_in_keywords": "START",
    "opt_in_message": "Acme: you will now receive support texts. Reply STOP to opt out.",
    "opt_out_keywords": "STOP, UNSUBSCRIBE",
    "opt_out_message": "Acme: you are unsubscribed and will receive no more messages.",
    "help_keywords": "HELP, INFO",
    "help_message": "Acme support: call +1 415 555 0100 or visit https://www.acme.example/help.",
    "monthly_volume": "up_to_10k",
}

# The states in order along the happy path, and the cases' carrier facts once each point is passed.
HAPPY_PATH = [
    State.OPENED,
    State.FORM_SENT,
    State.FORM_SUBMITTED,
    State.BRAND_SUBMITTED,
    State.BRAND_APPROVED,
    State.CAMPAIGN_SUBMITTED,
    State.CAMPAIGN_APPROVED,
    State.NUMBERS_ASSIGNED,
    State.COMPLETED,
]


def make_authorised_numbers(org, count=3, location=None):
    location = location or make_location(org)
    return make_numbers(location, count, texting_state=PhoneNumber.TextingState.AUTHORISED)


def make_case(org, state=State.OPENED, *, numbers=None, opened_by=None, opened_days_ago=0, form=None, **fields):
    """A case of `org` already in `state`, with the data that state implies (form, registry ids, closed_at).

    Built directly, not through the actions: tests then exercise one action from that starting point."""
    numbers = numbers if numbers is not None else make_authorised_numbers(org, 2)
    opened = timezone.now() - timedelta(days=opened_days_ago)
    facts = dict(
        organisation=org,
        state=state,
        opened_by=opened_by,
        opened_at=opened,
        state_changed=opened,
        contact_name="Casey Contact",
        contact_email="casey@acme.example",
    )
    reached = HAPPY_PATH.index(state) if state in HAPPY_PATH else None
    if state in (State.BRAND_REJECTED, State.CAMPAIGN_REJECTED, State.CANCELLED):
        reached = HAPPY_PATH.index(
            State.BRAND_SUBMITTED
            if state == State.BRAND_REJECTED
            else State.CAMPAIGN_SUBMITTED
            if state == State.CAMPAIGN_REJECTED
            else State.OPENED
        )
    if reached >= HAPPY_PATH.index(State.BRAND_SUBMITTED):
        facts.update(brand_round=1, brand_registry_id="BTEST01")
    if state == State.BRAND_REJECTED:
        facts.update(brand_reason="Brand identity could not be verified")
    if reached >= HAPPY_PATH.index(State.BRAND_APPROVED) and state != State.BRAND_REJECTED:
        facts.update(brand_approved_at=opened, brand_identity_status="VERIFIED")
    if reached >= HAPPY_PATH.index(State.CAMPAIGN_SUBMITTED):
        facts.update(campaign_round=1, campaign_registry_id="CTEST01")
    if state == State.CAMPAIGN_REJECTED:
        facts.update(campaign_reason="Sample messages do not match the declared use case")
    if state in RegistrationCase.CLOSED_STATES:
        facts["closed_at"] = timezone.now()
    facts.update(fields)
    case = RegistrationCase.objects.create(**facts)
    CaseNumber.objects.bulk_create(
        [
            CaseNumber(case=case, number=number, is_open=state not in RegistrationCase.CLOSED_STATES)
            for number in numbers
        ]
    )
    if state == State.COMPLETED:
        PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers]).update(
            texting_state=PhoneNumber.TextingState.REGISTERED
        )
    if state != State.OPENED and (state != State.CANCELLED or form):
        values = {**VALID_FORM, **(form or {})}
        RegistrationForm.objects.create(case=case, **{k: v for k, v in values.items()})
    return case
