"""Secondary (external) vetting of an approved brand (SPEC.md 8): the only way up the throughput tiers for a brand
outside the Russell 3000. Support asks for it, seeing the cost first; the registry answers a score 0-100 that lands on
the brand, and the brand's tier (texts per minute per campaign, per day for the brand) follows from it.

Vetting is billed per request and the registry's write is not idempotent, so a request is sent once per round: the
round's reference is the idempotency key, the attempt is counted before the call, and a retry looks the request up by
reference first (as brand registration does, compliance.actions.carrier).
"""

import logging
import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carrier import CarrierGateway, CarrierRejected, VettingStatus, callback_url
from portal import audit
from portal.models import User
from portal.transitions import ActionRefused

from .. import stored_texts
from ..models import Brand

log = logging.getLogger(__name__)

Vetting = Brand.Vetting
REFERENCE = re.compile(r"^brand-(\d+)-vetting-(\d+)$")


class VettingRefused(ActionRefused):
    """Secondary vetting cannot be requested as asked."""


def vetting_cost() -> Decimal:
    return settings.REGISTRY_COST_SECONDARY_VETTING


def vetting_refusal(brand: Brand) -> str | None:
    """Why the brand cannot be vetted now, or None."""
    if not brand.is_approved:
        return _("Only a brand the registry approved can be vetted; this one is %(status)s.") % {
            "status": brand.get_status_display().lower()
        }
    if brand.vetting_status == Vetting.REQUESTED:
        return _("Secondary vetting was already requested for this brand; the registry has not answered yet.")
    if brand.vetting_status == Vetting.VETTED:
        return _("This brand is already vetted (score %(score)s).") % {"score": brand.vetting_score}
    return None


def request_secondary_vetting(brand: Brand, by: User, *, confirmed_cost) -> Brand:
    """Support asks the registry to vet an approved brand, having seen the cost (`confirmed_cost`, as shown).

    Refused, changing nothing: anyone but support; a brand not approved, already vetted or with a request pending;
    a cost that differs from the configured one (it changed since the page was shown). Otherwise the brand is
    *vetting requested* with a new round's reference, the request is audited with its cost, and the registry is asked
    after commit (Celery).
    """
    if by is None or not by.is_support:
        raise VettingRefused(_("Only Cisco PSTN support staff can request secondary vetting."))
    try:
        confirmed = Decimal(str(confirmed_cost)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        confirmed = None
    cost = vetting_cost()
    if confirmed != cost:
        raise VettingRefused(
            _("Secondary vetting now costs %(cost)s %(currency)s: check the cost and confirm again.")
            % {"cost": cost, "currency": settings.REGISTRY_COST_CURRENCY}
        )
    with transaction.atomic():
        locked = Brand.objects.select_for_update().select_related("organisation").get(pk=brand.pk)
        if why := vetting_refusal(locked):
            raise VettingRefused(why)
        match = REFERENCE.match(locked.vetting_reference)
        round_ = int(match.group(2)) + 1 if match else 1
        now = timezone.now()
        locked.vetting_status = Vetting.REQUESTED
        locked.vetting_reference = f"brand-{locked.pk}-vetting-{round_}"
        locked.vetting_id, locked.vetting_attempts, locked.vetting_reason = "", 0, ""
        locked.vetting_requested_at = now
        locked.save(
            update_fields=[
                "vetting_status",
                "vetting_reference",
                "vetting_id",
                "vetting_attempts",
                "vetting_reason",
                "vetting_requested_at",
            ]
        )
        audit.record(
            "brand.vetting_requested",
            actor=by,
            organisation=locked.organisation,
            target=locked,
            reference=locked.vetting_reference,
            cost=str(cost),
            currency=settings.REGISTRY_COST_CURRENCY,
        )
        brand_id = locked.pk
        transaction.on_commit(lambda: _enqueue_vetting(brand_id), robust=True)
    return locked


def _enqueue_vetting(brand_id: int) -> None:
    from ..tasks import submit_vetting

    submit_vetting.delay(brand_id)


def send_vetting_to_carrier(brand_id: int, gateway: CarrierGateway) -> None:
    """Ask the registry to vet the brand, once per round (reconciling by reference on a retry); then apply its
    answer. Raises CarrierUnavailable for the task to retry; a refusal ends the round as *vetting failed*."""
    brand = Brand.objects.get(pk=brand_id)
    if brand.vetting_status != Vetting.REQUESTED or brand.vetting_id:
        return
    reference = brand.vetting_reference
    reconcile = brand.vetting_attempts > 0
    Brand.objects.filter(pk=brand.pk).update(vetting_attempts=brand.vetting_attempts + 1)
    try:
        status = gateway.find_vetting(reference) if reconcile else None
        if status is None:
            url = callback_url("compliance:registration_callback")
            status = gateway.request_vetting(
                reference=reference,
                brand_id=brand.registry_id,
                idempotency_key=reference,
                **({"callback_url": url} if url else {}),
            )
    except CarrierRejected as exc:
        _finish(brand.pk, reference, failed_reason=stored_texts.store(stored_texts.VETTING_REFUSED, error=exc))
        return
    apply_vetting_status(status)


def apply_vetting_status(status: VettingStatus) -> bool:
    """Apply the registry's answer to the brand's current vetting request; True if it decided it now. Idempotent:
    an answer for another round, a pending answer or a brand no longer waiting changes nothing (but the registry's
    id of the request is remembered)."""
    with transaction.atomic():
        brand = (
            Brand.objects.select_for_update()
            .select_related("organisation")
            .filter(vetting_reference=status.reference)
            .exclude(vetting_reference="")
            .first()
        )
        if brand is None or brand.vetting_status != Vetting.REQUESTED:
            return False
        if status.brand_id and brand.registry_id and status.brand_id != brand.registry_id:
            return False
        if not brand.vetting_id and status.vetting_id:
            brand.vetting_id = status.vetting_id
            brand.save(update_fields=["vetting_id"])
        decided = status.status.upper()
        if decided == "VETTED" and status.score is not None:
            return _finish(brand.pk, status.reference, score=status.score)
        if decided == "FAILED":
            return _finish(
                brand.pk,
                status.reference,
                failed_reason=status.reason or stored_texts.store(stored_texts.VETTING_FAILED),
            )
        return False


def _finish(brand_id: int, reference: str, *, score: int | None = None, failed_reason: str = "") -> bool:
    with transaction.atomic():
        brand = Brand.objects.select_for_update().select_related("organisation").get(pk=brand_id)
        if brand.vetting_status != Vetting.REQUESTED or brand.vetting_reference != reference:
            return False
        now = timezone.now()
        if score is not None:
            brand.vetting_status, brand.vetting_score, brand.vetted_at, brand.vetting_reason = (
                Vetting.VETTED,
                score,
                now,
                "",
            )
        else:
            brand.vetting_status, brand.vetting_reason = Vetting.FAILED, failed_reason[:500]
        brand.save(update_fields=["vetting_status", "vetting_score", "vetted_at", "vetting_reason"])
        per_minute, daily_cap = brand.throughput
        audit.record(
            "brand.vetted" if score is not None else "brand.vetting_failed",
            actor=None,
            organisation=brand.organisation,
            target=brand,
            reference=reference,
            score=score,
            reason=brand.vetting_reason,
            per_minute=per_minute,
            daily_cap=daily_cap,
        )
    return True


def poll_vetting(brand_id: int, gateway: CarrierGateway) -> None:
    """Look at the registry once for a brand whose vetting was requested (idempotent). Raises CarrierUnavailable."""
    brand = Brand.objects.get(pk=brand_id)
    if brand.vetting_status != Vetting.REQUESTED:
        return
    if not brand.vetting_id:
        send_vetting_to_carrier(brand.pk, gateway)
    else:
        apply_vetting_status(gateway.get_vetting(brand.vetting_id))
