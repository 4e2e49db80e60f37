"""Small factory functions for registration cases (tests only): a case in any state, valid form data."""

from datetime import timedelta

from django.utils import timezone

from compliance.models import Brand, Campaign, CampaignNumber, CaseNumber, RegistrationCase, RegistrationForm
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


def make_case(
    org,
    state=State.OPENED,
    *,
    numbers=None,
    opened_by=None,
    opened_days_ago=0,
    form=None,
    brand_registry_id=None,
    brand_approved_at=None,
    campaign_registry_id=None,
    **fields,
):
    """A case of `org` already in `state`, with the data that state implies (form, the organisation's Brand and
    Campaign as the registry left them, closed_at).

    `brand_registry_id` / `campaign_registry_id` name the registry ids ("" for one submitted but not yet received;
    default: BTEST01 / CTEST01, or a fresh id when another organisation has those); `brand_approved_at` marks the
    brand approved even in a state before that on the happy path (a form returned after a campaign rejection).
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
    if reached is None:  # removing numbers: a case of the brand and campaign that exist
        reached = HAPPY_PATH.index(State.OPENED)
    if reached >= HAPPY_PATH.index(State.BRAND_SUBMITTED) or brand_registry_id is not None:
        facts["brand_round"] = 1
    if reached >= HAPPY_PATH.index(State.CAMPAIGN_SUBMITTED) or campaign_registry_id is not None:
        facts["campaign_round"] = 1
    if state in RegistrationCase.CLOSED_STATES:
        facts["closed_at"] = timezone.now()
    facts.update(fields)
    case = RegistrationCase.objects.create(**facts)
    values = {**VALID_FORM, **(form or {})}
    if "brand" not in fields and (reached >= HAPPY_PATH.index(State.BRAND_SUBMITTED) or brand_registry_id is not None):
        approved = brand_approved_at is not None or (
            reached >= HAPPY_PATH.index(State.BRAND_APPROVED) and state != State.BRAND_REJECTED
        )
        rejected = state == State.BRAND_REJECTED
        case.brand = make_brand(
            org,
            registry_id=_registry_id(Brand, brand_registry_id, "BTEST01"),
            status=Brand.Status.APPROVED if approved else Brand.Status.REJECTED if rejected else Brand.Status.PENDING,
            identity_status="VERIFIED" if approved else "",
            reason="Brand identity could not be verified" if rejected else "",
            approved_at=(brand_approved_at or opened) if approved else None,
            reference=case.brand_reference,
            legal_name=values["legal_name"] or "Acme Test Inc.",
            tax_number=values["tax_number"],
        )
    if (
        "campaign" not in fields
        and case.brand is not None
        and (reached >= HAPPY_PATH.index(State.CAMPAIGN_SUBMITTED) or campaign_registry_id is not None)
    ):
        active = reached >= HAPPY_PATH.index(State.CAMPAIGN_APPROVED)
        rejected = state == State.CAMPAIGN_REJECTED
        case.campaign = make_campaign(
            case.brand,
            registry_id=_registry_id(Campaign, campaign_registry_id, "CTEST01"),
            status=Campaign.Status.ACTIVE
            if active
            else Campaign.Status.REJECTED
            if rejected
            else Campaign.Status.PENDING,
            reason="Sample messages do not match the declared use case" if rejected else "",
            reference=case.campaign_reference,
            use_case=values["use_case"] or "CUSTOMER_CARE",
        )
    case.save(update_fields=["brand", "campaign"])
    CaseNumber.objects.bulk_create(
        [
            CaseNumber(case=case, number=number, is_open=state not in RegistrationCase.CLOSED_STATES)
            for number in numbers
        ]
    )
    if state in (State.NUMBERS_ASSIGNED, State.COMPLETED) and case.campaign is not None:
        member = (
            CampaignNumber.Status.ASSIGNED if state == State.COMPLETED else CampaignNumber.Status.PENDING_ASSIGNMENT
        )
        CampaignNumber.objects.bulk_create(
            CampaignNumber(campaign=case.campaign, number=number, status=member, case=case) for number in numbers
        )
    if state == State.COMPLETED:
        PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers]).update(
            texting_state=PhoneNumber.TextingState.REGISTERED
        )
    if state != State.OPENED and (state != State.CANCELLED or form):
        RegistrationForm.objects.create(case=case, **{k: v for k, v in values.items()})
    return case


def _registry_id(model, wanted, default):
    """The registry id to give: as asked, else the default unless another record holds it, else a fresh one."""
    if wanted is not None:
        return wanted
    if not model.objects.filter(registry_id=default).exists():
        return default
    return f"{default[0]}{model.objects.count() + 1:06d}"


def make_brand(org, *, registry_id="", status=Brand.Status.APPROVED, **fields):
    """The organisation's brand (the one with `registry_id` if it exists already)."""
    if registry_id:
        existing = Brand.objects.filter(registry_id=registry_id).first()
        if existing is not None:
            return existing
    fields.setdefault("legal_name", "Acme Test Inc.")
    fields.setdefault("identity_status", "VERIFIED" if status == Brand.Status.APPROVED else "")
    if status == Brand.Status.APPROVED:
        fields.setdefault("approved_at", timezone.now())
    return Brand.objects.create(organisation=org, registry_id=registry_id, status=status, **fields)


def make_campaign(brand, *, registry_id="", status=Campaign.Status.ACTIVE, numbers=(), **fields):
    """A campaign of `brand` (the one with `registry_id` if it exists already), with `numbers` assigned to it."""
    campaign = Campaign.objects.filter(registry_id=registry_id).first() if registry_id else None
    if campaign is None:
        fields.setdefault("use_case", "CUSTOMER_CARE")
        if status == Campaign.Status.ACTIVE:
            fields.setdefault("approved_at", timezone.now())
        if registry_id:  # the registry received it: this round was sent
            fields.setdefault("sent_reference", fields.get("reference", ""))
        campaign = Campaign.objects.create(
            organisation_id=brand.organisation_id, brand=brand, registry_id=registry_id, status=status, **fields
        )
    CampaignNumber.objects.bulk_create(
        CampaignNumber(campaign=campaign, number=number, status=CampaignNumber.Status.ASSIGNED) for number in numbers
    )
    if numbers:
        PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers]).update(
            texting_state=PhoneNumber.TextingState.REGISTERED
        )
    return campaign
