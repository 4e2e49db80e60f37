"""Demo registration cases for `manage.py seed_demo`: Acme Corp has one case in each state, one of them overdue.

Built directly (not through the actions) so that each case has a believable history spread over past weeks without
calling the carrier. Idempotent: a case is found by its demo note first, so a second run changes nothing.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from portal.models import Organisation, User
from provisioning.models import PhoneNumber

from .models import CaseEvent, CaseNumber, RegistrationCase, RegistrationForm

State = RegistrationCase.State

NEW_YORK = "New York Office"
NEW_YORK_PREFIX = "+1212555"
# The order a case goes through its life; a rejected or cancelled case leaves the path where noted below.
PATH = [
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
HISTORY = {
    **{state: PATH[: index + 1] for index, state in enumerate(PATH)},
    State.BRAND_REJECTED: PATH[:4] + [State.BRAND_REJECTED],
    State.CAMPAIGN_REJECTED: PATH[:6] + [State.CAMPAIGN_REJECTED],
    State.CANCELLED: PATH[:2] + [State.CANCELLED],
}
# state -> (days since opened, New York number suffixes it covers). Brand submitted (OVERDUE) is past four weeks.
CASES = {
    State.OPENED: (1, range(200, 203)),
    State.FORM_SENT: (4, range(203, 206)),
    State.FORM_SUBMITTED: (7, range(206, 209)),
    State.BRAND_SUBMITTED: (35, range(209, 212)),
    State.BRAND_APPROVED: (12, range(212, 215)),
    State.BRAND_REJECTED: (10, range(215, 218)),
    State.CAMPAIGN_SUBMITTED: (16, range(218, 221)),
    State.CAMPAIGN_APPROVED: (19, range(221, 224)),
    State.CAMPAIGN_REJECTED: (18, range(224, 227)),
    State.NUMBERS_ASSIGNED: (22, range(227, 230)),
    # Users' primary numbers (every eighth New York number is one), so texting can be tried from them.
    State.COMPLETED: (30, [96, 104, 112, 120, 230, 231]),
    State.CANCELLED: (9, range(232, 235)),
}
# Authorised but in no case: what "Open Cisco Calling Plan Support Case" offers in the demo.
FREE_SUFFIXES = range(240, 260)
OVERDUE = State.BRAND_SUBMITTED
# Who takes each step: the customer's admin, the registry (no one in the portal), or support.
BY_CUSTOMER = {State.OPENED, State.FORM_SUBMITTED, State.CANCELLED}
BY_REGISTRY = {
    State.BRAND_APPROVED,
    State.BRAND_REJECTED,
    State.CAMPAIGN_APPROVED,
    State.CAMPAIGN_REJECTED,
    State.COMPLETED,
}
BRAND_REASON = "Brand identity could not be verified: legal name and tax number do not match IRS records"
CAMPAIGN_REASON = "Sample messages do not match the declared use case"

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
TEXT = {
    State.OPENED: "Case opened to register numbers for business texting.",
    State.FORM_SENT: "The 10DLC registration form is ready for the customer to fill in.",
    State.FORM_SUBMITTED: "The registration form was submitted.",
    State.BRAND_SUBMITTED: "Support is registering the brand with The Campaign Registry.",
    State.BRAND_APPROVED: "Brand BACME01 approved (reported by the registry). Identity status: VERIFIED.",
    State.BRAND_REJECTED: f"Brand rejected (reported by the registry): {BRAND_REASON}. The form is back with the "
    "customer for correction.",
    State.CAMPAIGN_SUBMITTED: "Support is registering the campaign with The Campaign Registry.",
    State.CAMPAIGN_APPROVED: "Campaign CACME01 approved (reported by the registry).",
    State.CAMPAIGN_REJECTED: f"Campaign rejected (reported by the registry): {CAMPAIGN_REASON}. The form is back "
    "with the customer for correction.",
    State.NUMBERS_ASSIGNED: "Support asked the carrier to assign the numbers to campaign CACME01.",
    State.COMPLETED: "The carrier confirmed the numbers in campaign CACME01: they are registered and can text.",
    State.CANCELLED: "Cancelled: opened twice by mistake.",
}


def _note(state) -> str:
    return f"Demo case in '{State(state).label}'."


@transaction.atomic
def seed_demo_cases() -> int:
    """Create Acme Corp's demo cases (one per state; the brand-submitted one overdue). Returns how many it made."""
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
    wanted = [suffix for _days, suffixes in CASES.values() for suffix in suffixes] + list(FREE_SUFFIXES)
    # In the demo these New York numbers were authorised earlier (through Authorize Business Texting); the
    # San Francisco HQ numbers stay untouched for trying the Authorize wizard.
    PhoneNumber.objects.filter(
        e164__in=[f"{NEW_YORK_PREFIX}{s:04d}" for s in wanted],
        location__organisation=acme,
        texting_state=PhoneNumber.TextingState.NOT_AUTHORISED,
    ).update(
        texting_state=PhoneNumber.TextingState.AUTHORISED, texting_state_changed=timezone.now() - timedelta(days=40)
    )
    made = 0
    for state, (days, suffixes) in CASES.items():
        if RegistrationCase.objects.filter(organisation=acme, note=_note(state)).exists():
            continue
        e164s = [f"{NEW_YORK_PREFIX}{suffix:04d}" for suffix in suffixes]
        case_numbers = [numbers[e164] for e164 in e164s if e164 in numbers]
        _make_case(acme, admin, support, state, days, case_numbers)
        made += 1
    return made


def _make_case(org, admin, support, state, days, numbers):
    now = timezone.now()
    opened = now - timedelta(days=days)
    history = HISTORY[state]
    # The case's steps, spread evenly over the first 85% of its life so far.
    stamps = [opened + (now - opened) * 0.85 * i / max(1, len(history) - 1) for i in range(len(history))]
    reached = set(history)
    closed = state in RegistrationCase.CLOSED_STATES
    case = RegistrationCase.objects.create(
        organisation=org,
        state=state,
        opened_by=admin,
        opened_at=opened,
        state_changed=stamps[-1],
        closed_at=stamps[-1] if closed else None,
        contact_name="Alex Admin",
        contact_email="admin@acme.example",
        contact_phone="+14155550142",
        note=_note(state),
        brand_round=1 if State.BRAND_SUBMITTED in reached else 0,
        brand_registry_id="BACME01" if reached & {State.BRAND_APPROVED, State.BRAND_REJECTED} else "",
        brand_identity_status="VERIFIED"
        if State.BRAND_APPROVED in reached
        else "UNVERIFIED"
        if State.BRAND_REJECTED in reached
        else "",
        brand_reason=BRAND_REASON if State.BRAND_REJECTED in reached else "",
        brand_approved_at=stamps[history.index(State.BRAND_APPROVED)] if State.BRAND_APPROVED in reached else None,
        campaign_round=1 if State.CAMPAIGN_SUBMITTED in reached else 0,
        campaign_registry_id="CACME01" if reached & {State.CAMPAIGN_APPROVED, State.CAMPAIGN_REJECTED} else "",
        campaign_reason=CAMPAIGN_REASON if State.CAMPAIGN_REJECTED in reached else "",
    )
    CaseNumber.objects.bulk_create([CaseNumber(case=case, number=n, is_open=not closed) for n in numbers])
    if state == State.COMPLETED:
        PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers]).update(
            texting_state=PhoneNumber.TextingState.REGISTERED,
            texting_state_changed=stamps[-1],
            texting_state_reason="Registered in campaign CACME01",
        )
    if State.FORM_SENT in reached:
        form = dict(FORM)
        submitted = State.FORM_SUBMITTED in reached
        if not submitted:  # still a draft: half filled in
            form.update(tax_number="12-34567", sample_2="", message_flow="", help_message="")
        if state == State.BRAND_REJECTED:
            form["legal_name"] = "Acme Corporation Holdings"
        RegistrationForm.objects.create(
            case=case,
            **form,
            saved_at=stamps[min(2, len(stamps) - 1)],
            saved_by=admin,
            submitted_at=stamps[history.index(State.FORM_SUBMITTED)] if submitted else None,
            submitted_by=admin if submitted else None,
        )
    previous = ""
    for to_state, stamp in zip(history, stamps, strict=True):
        by = admin if to_state in BY_CUSTOMER else None if to_state in BY_REGISTRY else support
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.TRANSITION,
            created=stamp,
            actor=by,
            actor_name=(by.full_name or by.email) if by else "",
            by_support=bool(by and by.is_support),
            from_state=previous,
            to_state=to_state,
            text=TEXT[to_state],
        )
        previous = to_state
    if state == State.BRAND_SUBMITTED:
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.INTERNAL_NOTE,
            created=stamps[-1] + timedelta(hours=1),
            actor=support,
            actor_name=support.full_name if support else "",
            by_support=True,
            text="Registry vetting is slow this month; chased TCR twice.",
        )
    if state == State.FORM_SENT and support is not None:
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.MESSAGE,
            created=stamps[-1] + timedelta(hours=2),
            actor=support,
            actor_name=support.full_name,
            by_support=True,
            text="Hi Alex, please use the legal name exactly as on your IRS letter.",
        )
    return case
