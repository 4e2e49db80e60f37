"""The carrier's side of a case, called by the Celery tasks and the callback view: register the brand and the
campaign exactly once per round (reconciling by reference after a failure), apply the registry's answers once, assign
the numbers and complete the case."""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from carrier import CarrierGateway, CarrierRejected, RegistrationStatus, callback_url
from portal.models import User

from .. import stored_texts
from ..models import Brand, Campaign, CaseEvent, RegistrationCase
from .campaigns import apply_campaign_answer
from .cases import (
    CaseRefused,
    _enqueue,
    _require_support,
    _timeline,
    complete_case_when_numbers_settle,
)
from .numbers import poll_campaign_numbers
from .registration import record_brand_decision, record_campaign_decision

log = logging.getLogger(__name__)

State = RegistrationCase.State


# --- the carrier's side (called by tasks and the webhook) -----------------------------------------------------------


def send_brand_to_carrier(case_id: int, gateway: CarrierGateway) -> None:
    """Register the case's brand at the registry, exactly once per submission round.

    The round's reference is the idempotency key, and the attempt is counted (and committed) before the request, so
    after a timeout or crash the next attempt looks the brand up by reference (reconciles) instead of registering a
    second, billable brand. Raises CarrierUnavailable for the task to retry; a refusal rejects the brand with the
    registry's words.
    """
    case = RegistrationCase.objects.select_related("registration", "brand").get(pk=case_id)
    brand = case.brand
    if case.state != State.BRAND_SUBMITTED or brand is None or brand.registry_id:
        return
    reference = brand.reference
    reconcile = brand.attempts > 0
    Brand.objects.filter(pk=brand.pk).update(attempts=brand.attempts + 1)
    try:
        status = gateway.find_brand(reference) if reconcile else None
        if status is None:
            status = _submit(
                gateway.submit_brand,
                reference=reference,
                brand=case.registration.brand_payload(),
                idempotency_key=reference,
            )
    except CarrierRejected as exc:
        _refused_by_carrier(
            case, State.BRAND_SUBMITTED, reference, stored_texts.store(stored_texts.REGISTRY_REFUSED_BRAND, error=exc)
        )
        return
    record_registry_id(case, "brand", reference, status)
    apply_brand_status(case.pk, status)


def send_campaign_to_carrier(case_id: int, gateway: CarrierGateway) -> None:
    """Register the case's campaign under its approved brand, exactly once per round (see `send_brand_to_carrier`).
    A corrected campaign the registry knows already is resubmitted under its id (its numbers stay in it) rather
    than registered anew. The registry refuses a campaign under an UNVERIFIED brand: recorded as a campaign rejection
    with its reason."""
    case = RegistrationCase.objects.select_related("registration", "brand", "campaign").get(pk=case_id)
    campaign = case.campaign
    if case.state != State.CAMPAIGN_SUBMITTED or campaign is None or campaign.sent_reference == campaign.reference:
        return
    reference = campaign.reference
    reconcile = campaign.attempts > 0
    Campaign.objects.filter(pk=campaign.pk).update(attempts=campaign.attempts + 1)
    payload = {**case.registration.campaign_payload(), "number_pool": campaign.is_number_pool}
    try:
        status = gateway.find_campaign(reference) if reconcile else None
        if status is None and campaign.registry_id:
            status = _submit(
                gateway.resubmit_campaign,
                campaign_id=campaign.registry_id,
                reference=reference,
                campaign=payload,
                idempotency_key=reference,
            )
        elif status is None:
            status = _submit(
                gateway.submit_campaign,
                reference=reference,
                brand_id=case.brand.registry_id,
                campaign=payload,
                idempotency_key=reference,
            )
    except CarrierRejected as exc:
        _refused_by_carrier(
            case,
            State.CAMPAIGN_SUBMITTED,
            reference,
            stored_texts.store(stored_texts.REGISTRY_REFUSED_CAMPAIGN, error=exc),
        )
        return
    record_registry_id(case, "campaign", reference, status)
    apply_campaign_status(case.pk, status)


def _submit(method, **kwargs) -> RegistrationStatus:
    url = callback_url("compliance:registration_callback")
    return method(**kwargs, callback_url=url) if url else method(**kwargs)


def record_registry_id(case: RegistrationCase, what: str, reference: str, status: RegistrationStatus) -> None:
    """Remember the registry's id for this round's brand or campaign (once), with a timeline entry."""
    waiting = State.BRAND_SUBMITTED if what == "brand" else State.CAMPAIGN_SUBMITTED
    with transaction.atomic():
        locked = RegistrationCase.objects.select_for_update().get(pk=case.pk)
        record_id = locked.brand_id if what == "brand" else locked.campaign_id
        if locked.state != waiting or record_id is None:
            return
        if what == "brand":
            received = Brand.objects.filter(pk=record_id, reference=reference, registry_id="")
            changed = received.update(registry_id=status.registry_id)
        else:
            received = Campaign.objects.filter(pk=record_id, reference=reference).exclude(sent_reference=reference)
            changed = received.update(registry_id=status.registry_id, sent_reference=reference)
        if not changed:
            return  # another round, or this round's answer is known already
        locked.carrier_problem = ""
        locked.save(update_fields=["carrier_problem"])
        _timeline(
            locked,
            CaseEvent.Kind.CARRIER,
            None,
            stored_texts.store(
                stored_texts.REGISTRY_RECEIVED_BRAND if what == "brand" else stored_texts.REGISTRY_RECEIVED_CAMPAIGN,
                id=status.registry_id,
                reference=reference,
            ),
        )


def _refused_by_carrier(case: RegistrationCase, waiting: str, reference: str, reason: str) -> None:
    """The registry refused the submission outright: a rejection the customer can correct, recorded once."""
    try:
        if waiting == State.BRAND_SUBMITTED:
            record_brand_decision(
                case, None, approved=False, reason=reason, source="carrier", expected=State.BRAND_SUBMITTED
            )
        else:
            record_campaign_decision(
                case, None, approved=False, reason=reason, source="carrier", expected=State.CAMPAIGN_SUBMITTED
            )
    except CaseRefused:
        log.info("Case %s: carrier refusal of %s arrived after the case moved on", case.pk, reference)


def apply_brand_status(case_id: int, status: RegistrationStatus) -> bool:
    """Apply the registry's status of the case's current brand; True if it decided the brand now.

    Idempotent: a pending status, a status of another (older) brand, or a case that already moved on changes
    nothing, so a callback racing a poll, or a duplicate callback, applies the answer once.
    """
    case = RegistrationCase.objects.select_related("brand").get(pk=case_id)
    if case.state != State.BRAND_SUBMITTED or case.brand is None or case.brand.registry_id != status.registry_id:
        return False
    decided = status.status.upper()
    if decided == "PENDING":
        return False
    try:
        record_brand_decision(
            case,
            None,
            approved=decided == "APPROVED",
            source="carrier",
            reason=status.reason
            or (
                "" if decided == "APPROVED" else stored_texts.store(stored_texts.REGISTRY_REPORTS_BRAND, status=decided)
            ),
            registry_id=status.registry_id,
            identity_status=status.identity_status,
            expected=State.BRAND_SUBMITTED,
        )
    except CaseRefused:
        return False  # someone (support, another callback) decided it a moment ago
    return True


def apply_campaign_status(case_id: int, status: RegistrationStatus) -> bool:
    """Apply the registry's status of the case's current campaign (idempotent, as `apply_brand_status`)."""
    case = RegistrationCase.objects.select_related("campaign").get(pk=case_id)
    if case.state != State.CAMPAIGN_SUBMITTED or case.campaign_registry_id != status.registry_id:
        return False
    if status.reference and status.reference != case.campaign.reference:
        return False  # an answer about an earlier submission of the campaign (before it was corrected)
    decided = status.status.upper()
    if decided in ("PENDING", "SUBMITTED", "DRAFT"):
        return False
    try:
        record_campaign_decision(
            case,
            None,
            approved=decided == "ACTIVE",
            source="carrier",
            reason=status.reason
            or (
                ""
                if decided == "ACTIVE"
                else stored_texts.store(stored_texts.REGISTRY_REPORTS_CAMPAIGN, status=decided)
            ),
            registry_id=status.registry_id,
            expected=State.CAMPAIGN_SUBMITTED,
        )
    except CaseRefused:
        return False
    return True


def poll_case(case_id: int, gateway: CarrierGateway) -> None:
    """Look at the carrier once for a case that waits on it, and apply what it says (idempotent).

    A submission that never reached the carrier is (re)sent, reconciling by reference first; a brand or campaign is
    fetched and its answer applied; an assignment is asked again (harmless twice). Raises CarrierUnavailable.
    """
    RegistrationCase.objects.filter(pk=case_id).update(last_polled_at=timezone.now())
    case = RegistrationCase.objects.select_related("brand", "campaign").get(pk=case_id)
    try:
        if case.state == State.BRAND_SUBMITTED:
            if not case.brand.registry_id:
                send_brand_to_carrier(case.pk, gateway)
            else:
                apply_brand_status(case.pk, gateway.get_brand(case.brand.registry_id))
        elif case.state == State.CAMPAIGN_SUBMITTED:
            if case.campaign.sent_reference != case.campaign.reference:
                send_campaign_to_carrier(case.pk, gateway)
            else:
                status = gateway.get_campaign(case.campaign_registry_id)
                apply_campaign_status(case.pk, status)
                apply_campaign_answer(status)  # the operators' statuses, once the campaign is accepted
        elif case.state in (State.NUMBERS_ASSIGNED, State.REMOVING_NUMBERS):
            # The campaign's numbers are polled (and requests the carrier never received sent again); the case
            # completes once every one of its numbers has the carrier's final answer.
            poll_campaign_numbers(case.campaign_id, gateway)
            complete_case_when_numbers_settle(case.pk)
    except CarrierRejected as exc:
        note_carrier_problem(case.pk, stored_texts.store(stored_texts.CARRIER_REFUSED_STATUS, error=exc))


def note_carrier_problem(case_id: int, problem: str) -> None:
    """Show support a carrier failure on the case (and in its timeline, once per distinct problem)."""
    with transaction.atomic():
        case = RegistrationCase.objects.select_for_update().get(pk=case_id)
        if case.carrier_problem == problem[:500]:
            return
        case.carrier_problem = problem[:500]
        case.save(update_fields=["carrier_problem"])
        _timeline(case, CaseEvent.Kind.INTERNAL_NOTE, None, problem)


def check_with_carrier(case: RegistrationCase, by: User) -> None:
    """Support asks the portal to look at the carrier now rather than at the next periodic poll."""
    _require_support(by)
    if not case.waits_for_carrier:
        raise CaseRefused(
            gettext("This case is in '%(state)s': it is not waiting for the carrier.")
            % {"state": case.get_state_display()}
        )
    _enqueue("poll_registration", case.pk)
