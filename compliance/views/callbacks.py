"""The carrier's callback when a brand or campaign is decided. Server to server: authenticated by the carrier's HMAC
signature over the time of sending and the raw body (a stale one is refused: carrier/webhooks.py), not by a session,
hence exempt from CSRF. Applying an answer is idempotent, so a duplicate callback (or one racing the poll) is
harmless."""

import json
import re

from django.http import HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from carrier import SIGNATURE_HEADER, parse_brand, parse_campaign, parse_vetting, verify_webhook_signature

from .. import actions
from ..models import Campaign, RegistrationCase

# Our references: case-<id>-brand-<round> / case-<id>-campaign-<round> (see RegistrationCase.brand_reference).
REFERENCE = re.compile(r"^case-(\d+)-(brand|campaign)-(\d+)$")
KINDS = {
    "brand.updated": ("brand", parse_brand),
    "campaign.updated": ("campaign", parse_campaign),
    "vetting.updated": ("vetting", parse_vetting),
}


@csrf_exempt
@require_POST
def registration_callback(request):
    if not verify_webhook_signature(request.body, request.headers.get(SIGNATURE_HEADER, "")):
        return HttpResponseForbidden("Invalid or expired signature.")
    try:
        event = json.loads(request.body)
        kind, parse = KINDS[event["type"]]
        status = parse(event["payload"])
    except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: JSON nested too deep to read
        return HttpResponseBadRequest("Malformed callback.")
    if kind == "vetting":
        return JsonResponse({"applied": actions.apply_vetting_status(status)})
    case = _case_for(kind, status)
    applied = case is not None and (actions.apply_brand_status if kind == "brand" else actions.apply_campaign_status)(
        case.pk, status
    )
    # A campaign's life goes on after its case: operators' statuses, suspensions, expiry (compliance.actions.campaigns).
    lifecycle = kind == "campaign" and actions.apply_campaign_answer(status)
    known_campaign = kind == "campaign" and Campaign.objects.filter(registry_id=status.registry_id).exists()
    if case is None and not known_campaign:
        # Not ours, or the submitting task has not recorded the registry's id yet: the poll catches up.
        return JsonResponse({"applied": False, "known": False}, status=202)
    return JsonResponse({"applied": bool(applied or lifecycle), "known": True})


def _case_for(kind: str, status) -> RegistrationCase | None:
    # The case waiting for this brand's (or campaign's) decision: later cases about the same campaign (numbers added
    # or removed) are not the ones the answer is for.
    waiting = RegistrationCase.State.BRAND_SUBMITTED if kind == "brand" else RegistrationCase.State.CAMPAIGN_SUBMITTED
    case = (
        RegistrationCase.objects.filter(**{f"{kind}__registry_id": status.registry_id}, state=waiting)
        .order_by("-pk")
        .first()
    )
    if case is not None:
        return case
    # The callback can beat the submitting task to recording the id: match our reference, current round only.
    match = REFERENCE.match(status.reference)
    if not match or match.group(2) != kind:
        return None
    case = RegistrationCase.objects.filter(pk=int(match.group(1))).first()
    if case is None:
        return None
    actions.record_registry_id(case, kind, status.reference, status)
    case.refresh_from_db()
    record = case.brand if kind == "brand" else case.campaign
    return case if record is not None and record.registry_id == status.registry_id else None
