"""The carrier's callback when a number order is answered. Server to server: authenticated by the carrier's HMAC
signature over the time of sending and the body (a stale one is refused: carrier/webhooks.py), not by a session, so
it is exempt from CSRF. Applying a result is idempotent (duplicates are harmless)."""

import json

from django.http import HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from carrier import SIGNATURE_HEADER, parse_number_order, verify_webhook_signature

from ..actions import apply_carrier_results
from ..models import OrderChunk


@csrf_exempt
@require_POST
def number_order_callback(request):
    if not verify_webhook_signature(request.body, request.headers.get(SIGNATURE_HEADER, "")):
        return HttpResponseForbidden("Invalid or expired signature.")
    try:
        event = json.loads(request.body)
        carrier_order = parse_number_order(event["payload"])
    except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: JSON nested too deep to read
        return HttpResponseBadRequest("Malformed callback.")
    chunk = OrderChunk.objects.filter(carrier_order_id=carrier_order.order_id).first()
    if chunk is None:
        # Not ours (yet): the submit task records the carrier id after the carrier answers; polling catches up.
        return JsonResponse({"applied": 0, "known": False}, status=202)
    applied = apply_carrier_results(chunk.pk, carrier_order.numbers) if carrier_order.status == "completed" else 0
    return JsonResponse({"applied": applied, "known": True})
