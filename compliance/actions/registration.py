"""The registration form and support's steps with the registry: send the form, keep drafts, submit; submit the brand
and the campaign, record the registry's decisions, assign the numbers."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from portal import audit
from portal.models import Organisation, User

from .. import stored_texts
from ..forms import BRAND_FIELDS, RegistrationFormForm, use_case_fixed
from ..models import NUMBER_POOL_THRESHOLD, Brand, Campaign, RegistrationCase, RegistrationForm, RegistrationVersion
from .cases import (
    CaseRefused,
    _enqueue,
    _require_customer_admin,
    _require_support,
    complete_case_when_numbers_settle,
    refusal,
    transition,
)
from .numbers import NumbersRefused, assign_numbers_to_campaign, remove_numbers_from_campaign
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
            text=text or stored_texts.store(stored_texts.FORM_READY),
        )
        RegistrationForm.objects.get_or_create(case=case, defaults=_form_start(case))
    return case


def _form_start(case: RegistrationCase) -> dict:
    """What the form starts with: the last version the organisation submitted for the campaign being corrected, or
    for the approved brand a new campaign goes under (its brand part then cannot change), else what the portal knows
    (organisation name and country, the case contact)."""
    known = None
    if case.campaign_id is not None:
        known = RegistrationVersion.objects.filter(case__campaign_id=case.campaign_id).order_by("-submitted_at").first()
    if known is None and case.brand_id is not None:
        known = RegistrationVersion.objects.filter(case__brand_id=case.brand_id).order_by("-submitted_at").first()
    if known is not None:
        fields = {f.attname for f in RegistrationForm._meta.concrete_fields}
        start = {name: value for name, value in known.data.items() if name in fields}
        if case.kind == RegistrationCase.Kind.NEW_CAMPAIGN:
            # A new campaign: the brand part carries over, the campaign part starts empty.
            start = {name: start[name] for name in BRAND_FIELDS if name in start}
        return start
    return {
        "legal_name": case.organisation.name,
        "country": case.organisation.country,
        "support_email": case.contact_email,
        "support_phone": case.contact_phone,
    }


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
        _keep_version(locked, registration, by)
        again = locked.state != State.FORM_SENT
        transition(
            case,
            State.FORM_SUBMITTED,
            by,
            text=stored_texts.store(stored_texts.FORM_SUBMITTED_AGAIN if again else stored_texts.FORM_SUBMITTED),
        )
        note_customer_activity(locked, by, "form")
    return form, True


def _keep_version(case: RegistrationCase, registration: RegistrationForm, by: User) -> RegistrationVersion:
    """Keep the form exactly as submitted, as the case's next version (never changed afterwards)."""
    last = case.versions.order_by("-number").values_list("number", flat=True).first() or 0
    return RegistrationVersion.objects.create(
        case=case,
        number=last + 1,
        submitted_at=registration.submitted_at,
        submitted_by=by,
        data=registration.submitted_data(),
    )


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
            gettext(
                "This case is in '%(state)s': the registration form can be changed "
                "only while it is with you (after support sent it, or after the carrier rejected it)."
            )
            % {"state": locked.get_state_display()}
        )
    return locked


# --- support: brand and campaign ----------------------------------------------------------------------------------


def submit_brand(case: RegistrationCase, by: User, *, expected: str | None = None) -> RegistrationCase:
    """Support submits the brand to the registry: form submitted → brand submitted. Only a first registration does
    this, and only while the organisation has no approved brand for the same legal entity (a brand is registered
    once; registering it again is billed again). The case's Brand is created (or, after a rejection, updated with
    the corrected identity) under a new submission round, whose reference the Celery task sends after commit."""
    _require_support(by)
    with transaction.atomic():
        locked = RegistrationCase.objects.select_for_update(of=("self",)).select_related("registration").get(pk=case.pk)
        refused = refusal(locked, State.BRAND_SUBMITTED, expected)
        if refused:
            raise CaseRefused(refused)
        form = locked.registration
        # One brand per legal entity: the organisation's row is locked so two cases submitting the same entity at
        # once are decided one after the other, and a brand already approved or at the registry is not sent again.
        Organisation.objects.select_for_update().filter(pk=locked.organisation_id).first()
        twin = (
            Brand.objects.filter(
                organisation_id=locked.organisation_id, status__in=(Brand.Status.APPROVED, Brand.Status.PENDING)
            )
            .exclude(pk=locked.brand_id)
            .filter(tax_number=form.tax_number, country=form.country)
            .first()
        )
        if twin is not None:
            if twin.status == Brand.Status.APPROVED:
                refused = gettext(
                    "The organisation's brand for this legal entity is already registered (%(brand)s): registering "
                    "it again would be billed again. Cancel this case; to add numbers or a use case, open a case to "
                    "add numbers or for a new campaign."
                ) % {"brand": twin.registry_id}
            else:
                refused = gettext(
                    "The organisation's brand for this legal entity is at the registry already, by another case: "
                    "registering it again would be billed again. Cancel this case; to add numbers or a use case, "
                    "open a case to add numbers or for a new campaign."
                )
            raise CaseRefused(refused)
        round_ = locked.brand_round + 1
        identity = {
            "legal_name": form.legal_name,
            "dba_name": form.dba_name,
            "entity_type": form.entity_type,
            "tax_number": form.tax_number,
            "country": form.country,
        }
        submission = {
            "reference": f"case-{locked.pk}-brand-{round_}",
            "attempts": 0,
            "registry_id": "",
            "status": Brand.Status.PENDING,
            "identity_status": "",
            "reason": "",
            "approved_at": None,
            "submitted_at": timezone.now(),
            "status_changed": timezone.now(),
        }
        if locked.brand_id is None:
            brand = Brand.objects.create(organisation_id=locked.organisation_id, **identity, **submission)
        else:
            brand = locked.brand
            Brand.objects.filter(pk=brand.pk).update(**identity, **submission)
        case = transition(
            case,
            State.BRAND_SUBMITTED,
            by,
            expected=expected,
            text=stored_texts.store(stored_texts.REGISTERING_BRAND),
            fields={"brand_round": round_, "brand": brand, "carrier_problem": ""},
        )
    _enqueue("submit_brand_registration", case.pk)
    return case


def submit_campaign(case: RegistrationCase, by: User, *, expected: str | None = None) -> RegistrationCase:
    """Support submits the campaign under the organisation's approved brand: brand approved (or a corrected form,
    when the brand was approved before) → campaign submitted. The case's Campaign is created with the form's use
    case, or — for a correction of a rejected or suspended campaign — the same Campaign is resubmitted (its use case
    cannot change). The Celery task sends it after commit, under a new round's reference."""
    _require_support(by)
    with transaction.atomic():
        locked = (
            RegistrationCase.objects.select_for_update(of=("self",))
            .select_related("registration", "brand", "campaign")
            .get(pk=case.pk)
        )
        refused = refusal(locked, State.CAMPAIGN_SUBMITTED, expected)
        if refused:
            raise CaseRefused(refused)
        form = locked.registration
        round_ = locked.campaign_round + 1
        submission = {
            "reference": f"case-{locked.pk}-campaign-{round_}",
            "attempts": 0,
            "status": Campaign.Status.PENDING,
            "reason": "",
            "description": form.description,
            "submitted_at": timezone.now(),
            "status_changed": timezone.now(),
        }
        # T-Mobile: a campaign for more than NUMBER_POOL_THRESHOLD numbers is registered as a number pool.
        pool = locked.case_numbers.count() > NUMBER_POOL_THRESHOLD
        if locked.campaign_id is None:
            campaign = Campaign.objects.create(
                registry_id="",
                organisation_id=locked.organisation_id,
                brand=locked.brand,
                use_case=form.use_case,
                is_number_pool=pool,
                **submission,
            )
        else:
            campaign = locked.campaign
            if campaign.use_case != form.use_case:
                raise CaseRefused(use_case_fixed(campaign))
            # A campaign the registry knows keeps its id: it is resubmitted under it (its numbers stay in it).
            Campaign.objects.filter(pk=campaign.pk).update(is_number_pool=campaign.is_number_pool or pool, **submission)
        case = transition(
            case,
            State.CAMPAIGN_SUBMITTED,
            by,
            expected=expected,
            text=stored_texts.store(stored_texts.REGISTERING_CAMPAIGN),
            fields={"campaign_round": round_, "campaign": campaign, "carrier_problem": ""},
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
    the customer, who is emailed the reason). Recorded by support by hand, or by the poll / callback. The case's
    Brand takes the answer in the same transaction."""
    if source == "support":
        _require_support(by)
    brand = case.brand
    registry_id = registry_id.strip().upper() or (brand.registry_id if brand else "")
    if approved and not registry_id:
        raise CaseRefused(
            gettext("Give the brand id the registry assigned (B and 6 characters): campaigns are submitted under it.")
        )
    if not approved and not reason.strip():
        raise CaseRefused(gettext("Say why the brand was rejected: the customer needs the reason to correct the form."))
    if brand is None:
        raise CaseRefused(
            refusal(case, State.BRAND_APPROVED, expected) or gettext("This case has not submitted a brand.")
        )
    by_whom = stored_texts.store(stored_texts.BY_SUPPORT if source == "support" else stored_texts.BY_REGISTRY)
    now = timezone.now()
    with transaction.atomic():
        if approved:
            texts = stored_texts
            if identity_status:
                approved_text = texts.BRAND_APPROVED_IDENTITY_REASON if reason else texts.BRAND_APPROVED_IDENTITY
            else:
                approved_text = texts.BRAND_APPROVED_REASON if reason else texts.BRAND_APPROVED
            text = texts.store(
                approved_text, brand=registry_id, by=by_whom, identity=identity_status, reason=_sentence(reason)
            )
            case = transition(
                case,
                State.BRAND_APPROVED,
                by,
                expected=expected,
                text=text,
                fields={"carrier_problem": ""},
                registry_id=registry_id,
                source=source,
            )
            _decide(
                brand,
                status=Brand.Status.APPROVED,
                registry_id=registry_id,
                identity_status=identity_status,
                reason=reason[:500],
                approved_at=now,
                status_changed=now,
            )
            return case
        case = transition(
            case,
            State.BRAND_REJECTED,
            by,
            expected=expected,
            text=stored_texts.store(stored_texts.BRAND_REJECTED, by=by_whom, reason=_sentence(reason)),
            fields={"carrier_problem": ""},
            registry_id=registry_id,
            reason=reason,
            source=source,
        )
        _decide(
            brand,
            status=Brand.Status.REJECTED,
            registry_id=registry_id,
            identity_status=identity_status,
            reason=reason[:500],
            status_changed=now,
        )
        _note_rejection(case, reason)
    return case


def _decide(record, **fields) -> None:
    """Store the registry's decision on a Brand or Campaign (and on the instance the caller holds)."""
    type(record).objects.filter(pk=record.pk).update(**fields)
    for name, value in fields.items():
        setattr(record, name, value)


def _note_rejection(case: RegistrationCase, reason: str) -> None:
    """The version the registry rejected remembers why: support later sees what the customer changed since."""
    latest = case.versions.order_by("-number").first()
    if latest is not None:
        latest.rejection_reason = reason.strip()[:500]
        latest.save(update_fields=["rejection_reason"])


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
    goes back to the customer, who is emailed the reason). The case's Campaign takes the answer too."""
    if source == "support":
        _require_support(by)
    campaign = case.campaign
    registry_id = registry_id.strip().upper() or (campaign.registry_id if campaign else "")
    if approved and not registry_id:
        raise CaseRefused(
            gettext("Give the campaign id the registry assigned (C and 6 characters): numbers are assigned to it.")
        )
    if not approved and not reason.strip():
        raise CaseRefused(
            gettext("Say why the campaign was rejected: the customer needs the reason to correct the form.")
        )
    if campaign is None:
        raise CaseRefused(
            refusal(case, State.CAMPAIGN_APPROVED, expected) or gettext("This case has not submitted a campaign.")
        )
    by_whom = stored_texts.store(stored_texts.BY_SUPPORT if source == "support" else stored_texts.BY_REGISTRY)
    now = timezone.now()
    with transaction.atomic():
        if approved:
            case = transition(
                case,
                State.CAMPAIGN_APPROVED,
                by,
                expected=expected,
                text=stored_texts.store(stored_texts.CAMPAIGN_APPROVED, campaign=registry_id, by=by_whom),
                fields={"carrier_problem": ""},
                registry_id=registry_id,
                source=source,
            )
            _decide(
                campaign,
                status=Campaign.Status.ACTIVE,
                registry_id=registry_id,
                reason="",
                approved_at=now,
                status_changed=now,
            )
            return case
        case = transition(
            case,
            State.CAMPAIGN_REJECTED,
            by,
            expected=expected,
            text=stored_texts.store(stored_texts.CAMPAIGN_REJECTED, by=by_whom, reason=_sentence(reason)),
            fields={"carrier_problem": ""},
            registry_id=registry_id,
            reason=reason,
            source=source,
        )
        _decide(
            campaign, status=Campaign.Status.REJECTED, registry_id=registry_id, reason=reason[:500], status_changed=now
        )
        _note_rejection(case, reason)
    return case


def assign_numbers(case: RegistrationCase, by: User, *, expected: str | None = None) -> RegistrationCase:
    """Support assigns the case's numbers to its campaign: campaign approved (or, for a case that adds numbers to an
    active campaign, opened) → numbers assigned. Each number becomes *pending assignment* in the campaign
    (`compliance.actions.numbers`: same checks as anywhere numbers join a campaign, the number pool included) and the
    carrier answers per number; the case completes when every number is assigned
    (`complete_case_when_numbers_settle`). Refused, nothing changes."""
    return _move_numbers(
        case, by, expected, State.NUMBERS_ASSIGNED, stored_texts.ASKED_TO_ASSIGN, assign_numbers_to_campaign
    )


def remove_numbers(case: RegistrationCase, by: User, *, expected: str | None = None) -> RegistrationCase:
    """Support takes the numbers of a remove-numbers case out of its campaign: opened → removing numbers. Each
    becomes *pending removal* (a failed assignment is simply removed) and the carrier answers per number; the case
    completes when every number is removed. Refused, nothing changes."""
    return _move_numbers(
        case, by, expected, State.REMOVING_NUMBERS, stored_texts.ASKED_TO_REMOVE, remove_numbers_from_campaign
    )


def _move_numbers(case: RegistrationCase, by: User, expected: str | None, to_state: str, text, move):
    """Move the case to `to_state` and its numbers into or out of its campaign (`move`), in one transaction."""
    _require_support(by)
    number_ids = list(case.case_numbers.values_list("number_id", flat=True))
    with transaction.atomic():
        case = transition(
            case,
            to_state,
            by,
            expected=expected,
            text=stored_texts.store(text, count=len(number_ids), campaign=case.campaign_registry_id),
            fields={"carrier_problem": ""},
            numbers=len(number_ids),
        )
        try:
            move(case.campaign, number_ids, by=by, case=case)
        except NumbersRefused as refused:
            raise CaseRefused(str(refused)) from None
        _settle_or_poll(case.pk)
    case.refresh_from_db()
    return case


def _settle_or_poll(case_id: int) -> None:
    """After commit: complete the case if the carrier already answered for every number (a quick carrier), else look
    again soon and then with a growing delay (`compliance.tasks.poll_registration`; the beat carries on after)."""

    def settle():
        from .. import tasks

        if not complete_case_when_numbers_settle(case_id):
            tasks.chain_poll(case_id)

    transaction.on_commit(settle, robust=True)


def _sentence(text: str) -> str:
    """The registry's reason as a sentence in the timeline (its texts often lack the final full stop)."""
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def complete_case(case: RegistrationCase, by: User, *, expected: str | None = None) -> RegistrationCase:
    """Support completes a case that has nothing left to do at the carrier: a corrected campaign is active again
    and the case brought no numbers to add (campaign approved → completed; refused while it has numbers)."""
    _require_support(by)
    if expected is not None and expected != State.CAMPAIGN_APPROVED:
        raise CaseRefused(refusal(case, State.COMPLETED, expected) or RegistrationCase.REFUSALS[State.COMPLETED])
    # Only from "campaign approved": the other way into "completed" is the carrier confirming the numbers.
    return transition(
        case,
        State.COMPLETED,
        by,
        expected=State.CAMPAIGN_APPROVED,
        text=stored_texts.store(stored_texts.ACTIVE_AGAIN),
    )
