"""Demo 10DLC data for `manage.py seed_demo`: the story of Acme Corp's registration after its first months.

- One brand, Acme Corp (BACME01, approved, identity VERIFIED), registered once by the first case.
- Campaign CACME01 (customer care) is active with every operator, with the numbers of the first case (the Austin
  users' primary numbers, so texting can be tried from them) and, since then, more numbers joining it.
- A second campaign, CACME02 (marketing), was rejected: its case waits for Acme to correct the form.
- A subsidiary, Acme Labs LLC, registers a brand of its own: that case is overdue at the registry.
- Cases of every kind: the first registration (completed), a new campaign (rejected), numbers being added (one
  waiting for support, one waiting for the carrier), a number removed, a case opened twice by mistake (cancelled).
- Twenty New York numbers are authorised and in no case: new numbers waiting to join the campaign.

Built directly (not through the actions) so that each case has a believable history spread over past weeks without
calling the carrier. Idempotent: a case is found by its demo note first, so a second run changes nothing.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from portal.models import Organisation, User
from provisioning.models import PhoneNumber

from . import stored_texts
from .models import (
    Brand,
    Campaign,
    CampaignCarrierStatus,
    CampaignNumber,
    Carrier,
    CaseEvent,
    CaseNumber,
    RegistrationCase,
    RegistrationForm,
    RegistrationVersion,
)

State = RegistrationCase.State
Kind = RegistrationCase.Kind

NEW_YORK = "New York Office"
NEW_YORK_PREFIX = "+1212555"
FIRST_PATH = [
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


@dataclass(frozen=True)
class DemoCase:
    note: str
    kind: str
    history: list
    days: int  # since opened
    suffixes: tuple  # New York numbers it covers
    brand: str = ""  # registry id, or LABS for Acme Labs' brand in flight
    campaign: str = ""


LABS = "labs"
STORY = [
    # Users' primary numbers (every eighth New York number is one), so texting can be tried from them.
    DemoCase(
        "First registration",
        Kind.FIRST_REGISTRATION,
        FIRST_PATH,
        120,
        (96, 104, 112, 120, 230, 231),
        "BACME01",
        "CACME01",
    ),
    DemoCase("Opened twice by mistake", Kind.FIRST_REGISTRATION, [State.OPENED, State.CANCELLED], 119, (232, 233, 234)),
    DemoCase(
        "Number leaving",
        Kind.REMOVE_NUMBERS,
        [State.OPENED, State.REMOVING_NUMBERS, State.COMPLETED],
        60,
        (235,),
        "BACME01",
        "CACME01",
    ),
    DemoCase(
        "Acme Labs brand",
        Kind.FIRST_REGISTRATION,
        [State.OPENED, State.FORM_SENT, State.FORM_SUBMITTED, State.BRAND_SUBMITTED],
        35,
        (209, 210, 211),
        LABS,
    ),
    DemoCase(
        "Marketing campaign",
        Kind.NEW_CAMPAIGN,
        [State.OPENED, State.FORM_SENT, State.FORM_SUBMITTED, State.CAMPAIGN_SUBMITTED, State.CAMPAIGN_REJECTED],
        20,
        (224, 225, 226),
        "BACME01",
        "CACME02",
    ),
    DemoCase(
        "Numbers joining",
        Kind.ADD_NUMBERS,
        [State.OPENED, State.NUMBERS_ASSIGNED],
        2,
        (227, 228, 229),
        "BACME01",
        "CACME01",
    ),
    DemoCase("New numbers", Kind.ADD_NUMBERS, [State.OPENED], 0, (200, 201, 202), "BACME01", "CACME01"),
]
# Authorised but in no case and no campaign: the new numbers waiting to join the campaign.
FREE_SUFFIXES = range(240, 260)
OVERDUE = "Acme Labs brand"
# Who takes each step: the customer's admin, the registry or the carrier (no one in the portal), or support.
BY_CUSTOMER = {State.OPENED, State.FORM_SUBMITTED, State.CANCELLED}
BY_REGISTRY = {State.BRAND_APPROVED, State.BRAND_REJECTED, State.CAMPAIGN_APPROVED, State.CAMPAIGN_REJECTED}
CAMPAIGN_REASON = (
    "Sample messages do not name the brand or say how to opt out (Reply STOP), and the message flow does not show "
    "how recipients agree to marketing texts"
)

FORM = {
    "legal_name": "Acme Corp",
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
    "support_phone": "+14155550100",
    "use_case": "CUSTOMER_CARE",
    "description": "Acme support agents answer customers who contacted Acme support about orders and repairs.",
    "sample_1": "Acme Support: your ticket 4512 was updated. Reply STOP to opt out, HELP for help.",
    "sample_2": "Hi, this is Dana from Acme Support. Your replacement part ships tomorrow.",
    "message_flow": "Customers give their mobile number on the Acme support web form and tick a box agreeing to "
    "receive texts about their ticket. The form links to our terms and privacy policy.",
    "opt_in_keywords": "START",
    "opt_in_message": "Acme Support: you will now get texts about your tickets. Reply STOP to opt out.",
    "opt_out_keywords": "STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT",
    "opt_out_message": "Acme Support: you are unsubscribed and will get no more texts.",
    "help_keywords": "HELP, INFO",
    "help_message": "Acme Support: call +1 415-555-0100 or visit https://www.acme.example/help. Reply STOP to opt out.",
    "embedded_links": True,
    "monthly_volume": "up_to_10k",
}
MARKETING_FORM = {
    **FORM,
    "use_case": "MARKETING",
    "description": "Acme tells customers who asked for it about new products and seasonal offers.",
    "sample_1": "New this week: the Acme Roadrunner 3000. Visit acme.example/new",
    "sample_2": "Spring sale! 20% off all repairs until Friday.",
    "message_flow": "Customers tick a box at checkout.",
    "monthly_volume": "up_to_100k",
}
LABS_FORM = {
    **FORM,
    "legal_name": "Acme Labs LLC",
    "dba_name": "Acme Labs",
    "tax_number": "98-7654321",
    "website": "https://labs.acme.example",
    "support_email": "hello@labs.acme.example",
}


def _text(case: DemoCase, state: str, count: int) -> str:
    """The timeline text the real action writes (English, translated when shown: compliance.stored_texts)."""
    campaign, t = case.campaign, stored_texts
    by_registry = t.store(t.BY_REGISTRY)
    opened = {Kind.ADD_NUMBERS: t.OPENED_ADD, Kind.REMOVE_NUMBERS: t.OPENED_REMOVE}
    texts = {
        State.OPENED: lambda: (
            t.store(opened[case.kind], count=count, campaign=campaign)
            if case.kind in opened
            else t.store(t.OPENED_NEW_CAMPAIGN if case.kind == Kind.NEW_CAMPAIGN else t.OPENED_REGISTER, count=count)
        ),
        State.FORM_SENT: lambda: t.store(t.FORM_READY),
        State.FORM_SUBMITTED: lambda: t.store(t.FORM_SUBMITTED),
        State.BRAND_SUBMITTED: lambda: t.store(t.REGISTERING_BRAND),
        State.BRAND_APPROVED: lambda: t.store(
            t.BRAND_APPROVED_IDENTITY, brand="BACME01", by=by_registry, identity="VERIFIED"
        ),
        State.CAMPAIGN_SUBMITTED: lambda: t.store(t.REGISTERING_CAMPAIGN),
        State.CAMPAIGN_APPROVED: lambda: t.store(t.CAMPAIGN_APPROVED, campaign=campaign, by=by_registry),
        State.CAMPAIGN_REJECTED: lambda: t.store(t.CAMPAIGN_REJECTED, by=by_registry, reason=f"{CAMPAIGN_REASON}."),
        State.NUMBERS_ASSIGNED: lambda: t.store(t.ASKED_TO_ASSIGN, count=count, campaign=campaign),
        State.REMOVING_NUMBERS: lambda: t.store(t.ASKED_TO_REMOVE, count=count, campaign=campaign),
        State.COMPLETED: lambda: t.store(
            t.NUMBERS_LEFT if case.kind == Kind.REMOVE_NUMBERS else t.NUMBERS_REGISTERED, count=count, campaign=campaign
        ),
        State.CANCELLED: lambda: t.store(t.CANCELLED, reason="opened twice by mistake."),
    }
    return texts[state]()


def _note(case: DemoCase) -> str:
    return f"Demo: {case.note}."


@transaction.atomic
def seed_demo_cases() -> int:
    """Create Acme Corp's demo brands, campaigns and cases (see the module's story). Returns how many cases it made."""
    acme = Organisation.objects.filter(name="Acme Corp").first()
    if acme is None:
        return 0
    admin = User.objects.filter(email="admin@acme.example").first()
    support = User.objects.filter(role=User.Role.SUPPORT).order_by("pk").first()
    numbers = {
        n.e164: n
        for n in PhoneNumber.objects.filter(
            location__organisation=acme, location__name=NEW_YORK, e164__startswith=NEW_YORK_PREFIX
        )
    }
    wanted = [suffix for case in STORY for suffix in case.suffixes] + list(FREE_SUFFIXES)
    # In the demo these New York numbers were authorised earlier (through Authorize Business Texting); the
    # San Francisco HQ numbers stay untouched for trying the Authorize wizard.
    PhoneNumber.objects.filter(
        e164__in=[f"{NEW_YORK_PREFIX}{s:04d}" for s in wanted],
        location__organisation=acme,
        texting_state=PhoneNumber.TextingState.NOT_AUTHORISED,
    ).update(
        texting_state=PhoneNumber.TextingState.AUTHORISED, texting_state_changed=timezone.now() - timedelta(days=130)
    )
    made = 0
    for story in STORY:
        if RegistrationCase.objects.filter(organisation=acme, note=_note(story)).exists():
            continue
        case_numbers = [numbers[e] for e in (f"{NEW_YORK_PREFIX}{s:04d}" for s in story.suffixes) if e in numbers]
        _make_case(acme, admin, support, story, case_numbers)
        made += 1
    return made


def _brand(org, story: DemoCase, when):
    if not story.brand:
        return None
    if story.brand == LABS:
        return Brand.objects.create(
            organisation=org,
            legal_name=LABS_FORM["legal_name"],
            dba_name=LABS_FORM["dba_name"],
            entity_type=LABS_FORM["entity_type"],
            tax_number=LABS_FORM["tax_number"],
            registry_id="BLABS01",
            reference="demo-brand-labs",
            status=Brand.Status.PENDING,
            submitted_at=when,
            status_changed=when,
        )
    brand, _created = Brand.objects.get_or_create(
        registry_id=story.brand,
        defaults={
            "organisation": org,
            "legal_name": FORM["legal_name"],
            "dba_name": FORM["dba_name"],
            "entity_type": FORM["entity_type"],
            "tax_number": FORM["tax_number"],
            "country": FORM["country"],
            "status": Brand.Status.APPROVED,
            "identity_status": "VERIFIED",
            "approved_at": when,
            "submitted_at": when,
            "status_changed": when,
            "reference": "demo-brand-acme",
        },
    )
    return brand


def _campaign(org, brand, story: DemoCase, when):
    if not story.campaign:
        return None
    rejected = story.campaign == "CACME02"
    form = MARKETING_FORM if rejected else FORM
    campaign, created = Campaign.objects.get_or_create(
        registry_id=story.campaign,
        defaults={
            "organisation": org,
            "brand": brand,
            "use_case": form["use_case"],
            "description": form["description"],
            "status": Campaign.Status.REJECTED if rejected else Campaign.Status.ACTIVE,
            "reason": CAMPAIGN_REASON if rejected else "",
            "approved_at": None if rejected else when,
            "submitted_at": when,
            "status_changed": when,
            "reference": f"demo-campaign-{story.campaign.lower()}",
            "sent_reference": f"demo-campaign-{story.campaign.lower()}",
        },
    )
    if created:
        CampaignCarrierStatus.objects.bulk_create(
            CampaignCarrierStatus(
                campaign=campaign,
                carrier=carrier,
                status=CampaignCarrierStatus.Status.PENDING if rejected else CampaignCarrierStatus.Status.ACCEPTED,
                changed_at=when,
            )
            for carrier in Carrier.values
        )
    return campaign


def _make_case(org, admin, support, story: DemoCase, numbers):
    now = timezone.now()
    opened = now - timedelta(days=story.days)
    history = story.history
    state = history[-1]
    # The case's steps, spread evenly over the first 85% of its life so far.
    stamps = [opened + (now - opened) * 0.85 * i / max(1, len(history) - 1) for i in range(len(history))]
    closed = state in RegistrationCase.CLOSED_STATES
    brand = _brand(org, story, stamps[min(4, len(stamps) - 1)])
    campaign = _campaign(org, brand, story, stamps[-1])
    case = RegistrationCase.objects.create(
        organisation=org,
        kind=story.kind,
        state=state,
        brand=brand,
        campaign=campaign,
        opened_by=admin,
        opened_at=opened,
        state_changed=stamps[-1],
        closed_at=stamps[-1] if closed else None,
        contact_name="Alex Admin",
        contact_email="admin@acme.example",
        contact_phone="+14155550142",
        note=_note(story),
        unread_by_support=state == State.OPENED,
        owner=support if state not in (State.OPENED, State.CANCELLED) else None,
        brand_round=1 if State.BRAND_SUBMITTED in history else 0,
        campaign_round=1 if State.CAMPAIGN_SUBMITTED in history else 0,
    )
    CaseNumber.objects.bulk_create([CaseNumber(case=case, number=n, is_open=not closed) for n in numbers])
    _memberships(case, story, numbers, stamps[-1])
    if State.FORM_SENT in history:
        form = LABS_FORM if story.brand == LABS else MARKETING_FORM if story.campaign == "CACME02" else FORM
        submitted = stamps[history.index(State.FORM_SUBMITTED)]
        registration = RegistrationForm.objects.create(
            case=case, **form, saved_at=submitted, saved_by=admin, submitted_at=submitted, submitted_by=admin
        )
        data = registration.submitted_data()
        RegistrationVersion.objects.create(
            case=case,
            number=1,
            submitted_at=submitted,
            submitted_by=admin,
            data=data,
            rejection_reason=CAMPAIGN_REASON if state == State.CAMPAIGN_REJECTED else "",
        )
    previous = ""
    for to_state, stamp in zip(history, stamps, strict=True):
        by = admin if to_state in BY_CUSTOMER else None if to_state in BY_REGISTRY else support
        if to_state == State.COMPLETED:
            by = None  # the carrier confirmed
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.TRANSITION,
            created=stamp,
            actor=by,
            actor_name=(by.full_name or by.email) if by else "",
            by_support=bool(by and by.is_support),
            from_state=previous,
            to_state=to_state,
            text=_text(story, to_state, len(numbers)),
        )
        previous = to_state
    if story.note == OVERDUE and support is not None:
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.INTERNAL_NOTE,
            created=stamps[-1] + timedelta(hours=1),
            actor=support,
            actor_name=support.full_name,
            by_support=True,
            text="Registry vetting is slow this month; chased TCR twice.",
        )
    if state == State.CAMPAIGN_REJECTED and support is not None:
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.MESSAGE,
            created=stamps[-1] + timedelta(hours=2),
            actor=support,
            actor_name=support.full_name,
            by_support=True,
            text="Hi Alex, every marketing sample needs your brand name and 'Reply STOP to opt out'. The use case "
            "stays Marketing: correct the samples and the opt-in flow and submit the form again.",
        )
    return case


def _memberships(case, story: DemoCase, numbers, when) -> None:
    """The numbers' membership of the campaign as the case left it; registered numbers can text."""
    state = story.history[-1]
    if story.kind == Kind.REMOVE_NUMBERS:
        status = CampaignNumber.Status.REMOVED
    elif state == State.COMPLETED:
        status = CampaignNumber.Status.ASSIGNED
    elif state == State.NUMBERS_ASSIGNED:
        status = CampaignNumber.Status.PENDING_ASSIGNMENT
    else:
        return
    CampaignNumber.objects.bulk_create(
        CampaignNumber(campaign=case.campaign, number=n, status=status, case=case, changed_at=when) for n in numbers
    )
    if status == CampaignNumber.Status.ASSIGNED:
        PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers]).update(
            texting_state=PhoneNumber.TextingState.REGISTERED,
            texting_state_changed=when,
            texting_state_reason=f"Registered in campaign {case.campaign.registry_id}",
        )
