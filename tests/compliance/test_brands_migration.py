"""Migrations compliance.0002-0004 move the registry's answers from each case onto the organisation's Brand and
Campaign records: built in the old shape (every case carrying its own brand and campaign fields), migrated, and every
case, form, brand, campaign and number checked to have arrived."""

import pytest
from django.utils import timezone

from compliance.models import Brand, Campaign, CampaignNumber, RegistrationCase, RegistrationForm, RegistrationVersion
from tests.compliance.factories import VALID_FORM
from tests.factories import make_location, make_numbers, make_org, make_user
from tests.migrations import migrate, migrate_to_latest

BEFORE = [("compliance", "0001_initial")]

# note (the case's name here): (state, brand id, brand approved?, identity, brand reason, campaign id, campaign reason)
OLD_CASES = {
    "opened": ("opened", "", False, "", "", "", ""),
    "draft": ("form_sent", "", False, "", "", "", ""),
    "brand in flight": ("brand_submitted", "", False, "", "", "", ""),
    "brand pending": ("brand_submitted", "BOLD001", False, "", "", "", ""),
    "brand rejected": ("brand_rejected", "BOLD002", False, "UNVERIFIED", "EIN does not match", "", ""),
    "brand approved": ("brand_approved", "BOLD003", True, "VERIFIED", "", "", ""),
    "campaign in flight": ("campaign_submitted", "BOLD003", True, "VERIFIED", "", "", ""),
    "campaign rejected": ("campaign_rejected", "BOLD003", True, "VERIFIED", "", "COLD001", "Samples do not match"),
    "assigning": ("numbers_assigned", "BOLD003", True, "VERIFIED", "", "COLD002", ""),
    "completed": ("completed", "BOLD003", True, "VERIFIED", "", "COLD003", ""),
    "cancelled late": ("cancelled", "BOLD003", True, "VERIFIED", "", "COLD004", ""),
    "cancelled waiting": ("cancelled", "BOLD003", True, "VERIFIED", "", "COLD005", ""),
    "refused outright": ("brand_rejected", "", False, "", "The registry refused the brand: bad EIN", "", ""),
}
# The state each cancelled case was cancelled in (its timeline says so).
CANCELLED_FROM = {"cancelled late": "campaign_approved", "cancelled waiting": "campaign_submitted"}
SUBMITTED = {"brand in flight", "brand pending", "brand rejected", "brand approved", "campaign in flight"} | {
    "campaign rejected",
    "assigning",
    "completed",
    "cancelled late",
    "cancelled waiting",
    "refused outright",
}


@pytest.mark.django_db(transaction=True)
def test_every_case_form_brand_campaign_and_number_arrives():
    old = migrate(BEFORE)
    OldCase = old.get_model("compliance", "RegistrationCase")
    OldForm = old.get_model("compliance", "RegistrationForm")
    OldCaseNumber = old.get_model("compliance", "CaseNumber")
    OldCaseEvent = old.get_model("compliance", "CaseEvent")
    org = make_org("Old Acme")
    admin = make_user(org)
    numbers = make_numbers(make_location(org), 2 * len(OLD_CASES), texting_state="authorised")
    now = timezone.now()
    for i, (note, (state, brand_id, approved, identity, brand_reason, campaign_id, campaign_reason)) in enumerate(
        OLD_CASES.items()
    ):
        closed = state in ("completed", "cancelled")
        case = OldCase.objects.create(
            organisation_id=org.pk,
            state=state,
            note=note,
            opened_by_id=admin.pk,
            contact_name="Casey",
            contact_email="casey@acme.example",
            closed_at=now if closed else None,
            brand_round=1 if brand_id or state == "brand_submitted" else 0,
            brand_attempts=2 if state == "brand_submitted" else 1,
            brand_registry_id=brand_id,
            brand_identity_status=identity,
            brand_reason=brand_reason,
            brand_approved_at=now if approved else None,
            campaign_round=1 if campaign_id or state == "campaign_submitted" else 0,
            campaign_attempts=1,
            campaign_registry_id=campaign_id,
            campaign_reason=campaign_reason,
        )
        if note in CANCELLED_FROM:
            OldCaseEvent.objects.create(
                case=case, kind="transition", from_state=CANCELLED_FROM[note], to_state="cancelled", text="Cancelled"
            )
        for number in numbers[2 * i : 2 * i + 2]:
            OldCaseNumber.objects.create(case=case, number_id=number.pk, is_open=not closed)
        if state != "opened":
            OldForm.objects.create(
                case=case,
                **{**VALID_FORM, "legal_name": f"Acme {note}"},
                saved_at=now,
                submitted_at=now if note in SUBMITTED else None,
                submitted_by_id=admin.pk if note in SUBMITTED else None,
            )
    forms_before = {row["case_id"]: row for row in OldForm.objects.values()}
    cases_before = {row["note"]: row for row in OldCase.objects.values("id", "note", "state", "opened_at")}

    migrate_to_latest()

    cases = {case.note: case for case in RegistrationCase.objects.select_related("brand", "campaign")}
    assert set(cases) == set(OLD_CASES)
    for note, case in cases.items():
        assert {k: getattr(case, k) for k in ("id", "state", "opened_at")} == {
            k: v for k, v in cases_before[note].items() if k != "note"
        }, note
        assert case.kind == RegistrationCase.Kind.FIRST_REGISTRATION
        assert case.case_numbers.count() == 2, note
    # Every form arrived unchanged, and each submitted one is also kept as the case's first version.
    assert {row["case_id"]: row for row in RegistrationForm.objects.values()} == forms_before
    versions = {v.case.note: v for v in RegistrationVersion.objects.select_related("case")}
    assert set(versions) == SUBMITTED
    assert versions["brand rejected"].data["legal_name"] == "Acme brand rejected"
    assert versions["brand rejected"].rejection_reason == "EIN does not match"
    assert versions["campaign rejected"].rejection_reason == "Samples do not match"
    assert versions["refused outright"].rejection_reason == "The registry refused the brand: bad EIN"

    # Brands: none for cases that never submitted one; one per registry id; in flight keeps its reference.
    for note in ("opened", "draft"):
        assert cases[note].brand is None and cases[note].campaign is None
    # In flight, BOLD001, BOLD002, BOLD003 (shared by eight cases), and the one refused before it had an id.
    assert Brand.objects.count() == 5
    outright = cases["refused outright"].brand
    assert (outright.registry_id, outright.status, outright.reason) == (
        "",
        "rejected",
        "The registry refused the brand: bad EIN",
    )
    in_flight = cases["brand in flight"].brand
    assert (in_flight.registry_id, in_flight.status, in_flight.attempts) == ("", "pending", 2)
    assert in_flight.reference == f"case-{cases['brand in flight'].pk}-brand-1"
    assert (cases["brand pending"].brand.registry_id, cases["brand pending"].brand.status) == ("BOLD001", "pending")
    rejected = cases["brand rejected"].brand
    assert (rejected.status, rejected.identity_status, rejected.reason) == (
        "rejected",
        "UNVERIFIED",
        "EIN does not match",
    )
    approved = Brand.objects.get(registry_id="BOLD003")
    assert (approved.status, approved.identity_status) == ("approved", "VERIFIED")
    assert {case.note for case in cases.values() if case.brand_id == approved.pk} == {
        "brand approved",
        "campaign in flight",
        "campaign rejected",
        "assigning",
        "completed",
        "cancelled late",
        "cancelled waiting",
    }
    assert approved.legal_name == "Acme brand approved"  # the first case that registered it

    # Campaigns: one per registry id (and the one in flight), each under the approved brand, with its state.
    campaign_states = {c.registry_id or "in flight": c.status for c in Campaign.objects.all()}
    assert campaign_states == {
        "in flight": "pending",
        "COLD001": "rejected",
        "COLD002": "active",
        "COLD003": "active",
        "COLD004": "active",  # the case was cancelled after the registry accepted the campaign: it lives on
        "COLD005": "pending",  # cancelled while the registry was deciding: still to be reconciled
    }
    assert cases["campaign rejected"].campaign.reason == "Samples do not match"
    assert all(c.brand_id == approved.pk and c.use_case == VALID_FORM["use_case"] for c in Campaign.objects.all())

    # Numbers: those of the completed case are assigned, those being assigned are pending; no others are members.
    members = {
        (m.number_id, m.campaign.registry_id, m.status) for m in CampaignNumber.objects.select_related("campaign")
    }
    expected = {(n.number_id, "COLD003", "assigned") for n in cases["completed"].case_numbers.all()} | {
        (n.number_id, "COLD002", "pending_assignment") for n in cases["assigning"].case_numbers.all()
    }
    assert members == expected
