"""The registration form and support's steps with the registry: send the form, keep drafts, submit; submit the brand
and the campaign, record the registry's decisions, assign the numbers."""

from django.db import transaction
from django.utils import timezone

from portal import audit
from portal.models import User

from ..forms import RegistrationFormForm
from ..models import RegistrationCase, RegistrationForm
from .cases import CaseRefused, _enqueue, _plural, _require_customer_admin, _require_support, refusal, transition
from .unread import note_customer_activity

State = RegistrationCase.State


# --- the registration form --------------------------------------------------------------------------------------------


def send_registration_form(
    case: RegistrationCase, by: User, *, expected: str | None = None, text: str = ""
) -> RegistrationCase:
    """Support sends the 10DLC registration form: opened → form sent. The form starts with what the portal knows
    (organisation name and country, the case contact); the contact is emailed."""
    _require_support(by)
    with transaction.atomic():
        case = transition(
            case,
            State.FORM_SENT,
            by,
            expected=expected,
            text=text or "The 10DLC registration form is ready for the customer to fill in.",
        )
        RegistrationForm.objects.get_or_create(
            case=case,
            defaults={
                "legal_name": case.organisation.name,
                "country": case.organisation.country,
                "support_email": case.contact_email,
                "support_phone": case.contact_phone,
            },
        )
    return case


def save_registration_draft(case: RegistrationCase, by: User, data) -> RegistrationFormForm:
    """Keep what the customer typed, valid or not, and return the bound form showing what is still wrong.

    Allowed while the form is with the customer (form sent, or returned after a rejection). Never changes the
    case's state. Fields that cannot hold a value (a choice that does not exist) keep their previous value.
    """
    _require_customer_admin(case, by)
    with transaction.atomic():
        locked = _lock_editable(case)
        form = RegistrationFormForm(data, instance=locked.registration, case=locked)
        form.save_draft(by)
        audit.record("registration_form.draft_saved", actor=by, organisation=locked.organisation, target=locked)
    return form


def submit_registration_form(
    case: RegistrationCase, by: User, data, *, expected: str | None = None
) -> tuple[RegistrationFormForm, bool]:
    """Submit the form to support: form sent / brand rejected / campaign rejected → form submitted.

    Returns (form, submitted). An incomplete form is not submitted (the state does not change) but what was typed
    is kept as the draft, and the form carries the errors to show next to each field.
    """
    _require_customer_admin(case, by)
    with transaction.atomic():
        locked = _lock_editable(case, expected)
        form = RegistrationFormForm(data, instance=locked.registration, case=locked)
        if not form.is_valid():
            form.save_draft(by, for_submission=True)
            return form, False
        registration = form.save(commit=False)
        registration.saved_at = registration.submitted_at = timezone.now()
        registration.saved_by = registration.submitted_by = by
        registration.save()
        again = locked.state != State.FORM_SENT
        transition(
            case,
            State.FORM_SUBMITTED,
            by,
            text="The corrected form was submitted again." if again else "The registration form was submitted.",
        )
        note_customer_activity(locked, by, "form")
    return form, True


def _lock_editable(case: RegistrationCase, expected: str | None = None) -> RegistrationCase:
    locked = (
        RegistrationCase.objects.select_for_update(of=("self",))
        .select_related("organisation", "registration")
        .get(pk=case.pk)
    )
    if expected and expected != locked.state:
        raise CaseRefused(refusal(locked, State.FORM_SUBMITTED, expected))
    if not locked.customer_may_edit_form or not hasattr(locked, "registration"):
        raise CaseRefused(
            f"This case is in '{locked.get_state_display()}': the registration form can be changed "
            "only while it is with you (after support sent it, or after the carrier rejected it)."
        )
    return locked


# --- support: brand and campaign ----------------------------------------------------------------------------------


def submit_brand(case: RegistrationCase, by: User, *, expected: str | None = None) -> RegistrationCase:
    """Support submits the brand to the registry: form submitted → brand submitted. A new submission round (its own
    carrier reference) starts; the Celery task sends it after commit."""
    _require_support(by)
    case = transition(
        case,
        State.BRAND_SUBMITTED,
        by,
        expected=expected,
        text="Support is registering the brand with The Campaign Registry.",
        fields={
            "brand_round": case.brand_round + 1,
            "brand_attempts": 0,
            "brand_registry_id": "",
            "brand_identity_status": "",
            "brand_reason": "",
            "brand_approved_at": None,
            "carrier_problem": "",
        },
    )
    _enqueue("submit_brand_registration", case.pk)
    return case


def submit_campaign(case: RegistrationCase, by: User, *, expected: str | None = None) -> RegistrationCase:
    """Support submits the campaign under the approved brand: brand approved (or a corrected form, when the brand
    was approved before) → campaign submitted. The Celery task sends it after commit."""
    _require_support(by)
    case = transition(
        case,
        State.CAMPAIGN_SUBMITTED,
        by,
        expected=expected,
        text="Support is registering the campaign with The Campaign Registry.",
        fields={
            "campaign_round": case.campaign_round + 1,
            "campaign_attempts": 0,
            "campaign_registry_id": "",
            "campaign_reason": "",
            "carrier_problem": "",
        },
    )
    _enqueue("submit_campaign_registration", case.pk)
    return case


def record_brand_decision(
    case: RegistrationCase,
    by: User | None,
    *,
    approved: bool,
    reason: str = "",
    registry_id: str = "",
    identity_status: str = "",
    expected: str | None = None,
    source: str = "support",
) -> RegistrationCase:
    """The registry's answer on the brand: brand submitted → brand approved | brand rejected (the form goes back to
    the customer, who is emailed the reason). Recorded by support by hand, or by the poll / callback."""
    if source == "support":
        _require_support(by)
    registry_id = registry_id.strip().upper() or case.brand_registry_id
    if approved and not registry_id:
        raise CaseRefused(
            "Give the brand id the registry assigned (B and 6 characters): campaigns are submitted under it."
        )
    if not approved and not reason.strip():
        raise CaseRefused("Say why the brand was rejected: the customer needs the reason to correct the form.")
    by_whom = "recorded by support" if source == "support" else "reported by the registry"
    if approved:
        text = f"Brand {registry_id} approved ({by_whom})."
        if identity_status:
            text += f" Identity status: {identity_status}."
        if reason:
            text += f" {_sentence(reason)}"
        return transition(
            case,
            State.BRAND_APPROVED,
            by,
            expected=expected,
            text=text,
            fields={
                "brand_registry_id": registry_id,
                "brand_identity_status": identity_status,
                "brand_reason": reason[:500],
                "brand_approved_at": timezone.now(),
                "carrier_problem": "",
            },
            registry_id=registry_id,
            source=source,
        )
    return transition(
        case,
        State.BRAND_REJECTED,
        by,
        expected=expected,
        text=f"Brand rejected ({by_whom}): {_sentence(reason)} The form is back with the customer for correction.",
        fields={
            "brand_registry_id": registry_id,
            "brand_identity_status": identity_status,
            "brand_reason": reason[:500],
            "carrier_problem": "",
        },
        registry_id=registry_id,
        reason=reason,
        source=source,
    )


def record_campaign_decision(
    case: RegistrationCase,
    by: User | None,
    *,
    approved: bool,
    reason: str = "",
    registry_id: str = "",
    expected: str | None = None,
    source: str = "support",
) -> RegistrationCase:
    """The registry's answer on the campaign: campaign submitted → campaign approved | campaign rejected (the form
    goes back to the customer, who is emailed the reason)."""
    if source == "support":
        _require_support(by)
    registry_id = registry_id.strip().upper() or case.campaign_registry_id
    if approved and not registry_id:
        raise CaseRefused(
            "Give the campaign id the registry assigned (C and 6 characters): numbers are assigned to it."
        )
    if not approved and not reason.strip():
        raise CaseRefused("Say why the campaign was rejected: the customer needs the reason to correct the form.")
    by_whom = "recorded by support" if source == "support" else "reported by the registry"
    if approved:
        return transition(
            case,
            State.CAMPAIGN_APPROVED,
            by,
            expected=expected,
            text=f"Campaign {registry_id} approved ({by_whom}).",
            fields={"campaign_registry_id": registry_id, "campaign_reason": "", "carrier_problem": ""},
            registry_id=registry_id,
            source=source,
        )
    return transition(
        case,
        State.CAMPAIGN_REJECTED,
        by,
        expected=expected,
        text=f"Campaign rejected ({by_whom}): {_sentence(reason)} The form is back with the customer for correction.",
        fields={"campaign_registry_id": registry_id, "campaign_reason": reason[:500], "carrier_problem": ""},
        registry_id=registry_id,
        reason=reason,
        source=source,
    )


def assign_numbers(case: RegistrationCase, by: User, *, expected: str | None = None) -> RegistrationCase:
    """Support assigns the case's numbers to the approved campaign: campaign approved → numbers assigned. The task
    asks the carrier after commit; the case completes when the carrier confirms (`confirm_numbers_assigned`)."""
    _require_support(by)
    count = case.case_numbers.count()
    case = transition(
        case,
        State.NUMBERS_ASSIGNED,
        by,
        expected=expected,
        text=f"Support asked the carrier to assign {_plural(count, 'number')} to campaign {case.campaign_registry_id}.",
        fields={"assignment_attempts": 0, "carrier_problem": ""},
        numbers=count,
    )
    _enqueue("assign_campaign_numbers", case.pk)
    return case


def _sentence(text: str) -> str:
    """The registry's reason as a sentence in the timeline (its texts often lack the final full stop)."""
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."
