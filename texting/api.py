"""The messaging JSON API: what the Webex App (sending) and the carrier (receiving, delivery reports) call.

Not cookie-authenticated, so exempt from CSRF:
- `POST /api/texting/messages`: `Authorization: Bearer <token>` (a token an administrator issued to the user),
  `X-Webex-App-Version: 42.12.0.1234`, JSON `{"to": "+14155550123", "body": "...", "media": [...], "from": "..."}`
  (`media` and `from` optional; a text goes out from the user's primary number).
- `POST /api/texting/inbound` and `POST /carrier/callbacks/messages`: signed by the carrier, HMAC-SHA256 of the raw
  body with CARRIER_WEBHOOK_SECRET in `X-Carrier-Signature` (carrier.verify_webhook_signature).

Every answer is JSON. Every refusal carries a machine-readable `reason` and words in `detail`; every refusal of a
text is stored as a *blocked* text — except a request that is not authenticated (401), not readable (400/413/415),
or names another organisation's number as sender (403 `number_not_in_organisation`): those belong to nobody.
"""

import json
from functools import wraps

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from carrier import SIGNATURE_HEADER, parse_message, verify_webhook_signature
from portal.lists import clipped, storable
from portal.models import User

from . import actions
from .models import Message
from .policy import HTTP_STATUS, ForeignNumber
from .volume import CountersUnavailable

APP_VERSION_HEADER = "X-Webex-App-Version"
# A text is at most a few kilobytes; anything much bigger is not a text.
MAX_REQUEST_BYTES = 64 * 1024
CARRIER_ID_LENGTH = Message._meta.get_field("carrier_message_id").max_length
APP_VERSION_LENGTH = User._meta.get_field("webex_app_version").max_length


def refuse(status: int, reason: str, detail: str, **extra) -> JsonResponse:
    return JsonResponse({"status": "refused", "reason": reason, "detail": detail, **extra}, status=status)


def _json_object(request) -> dict | None:
    """The body's JSON object, or None when it is not one we can read and store: not JSON, not UTF-8, nested deeper
    than the parser goes, not an object, or carrying a string no text column holds (portal.lists.storable: a NUL, or
    a lone surrogate such as "\\ud800", which JSON may escape although no UTF-8 text can hold it)."""
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and _all_storable(data) else None


def _all_storable(data) -> bool:
    """Whether every string (key or value) in decoded JSON is storable. Iterative: the JSON may be nested deep."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not storable(item):
                return False
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def _unreadable(request) -> JsonResponse | None:
    """The refusal of a body the API does not read at all (413 too large, 415 not declared as JSON), or None."""
    if len(request.body) > MAX_REQUEST_BYTES:
        return refuse(
            413, "request_too_large", _("A request may be at most %(size)s KB.") % {"size": MAX_REQUEST_BYTES // 1024}
        )
    if request.content_type != "application/json":
        return refuse(415, "unsupported_media_type", _("Send a JSON body with `Content-Type: application/json`."))
    return None


def api_token_view(func):
    """Token-authenticated API view: `request.api_user` is the token's user; 401 (nothing stored) otherwise."""

    @csrf_exempt
    @require_POST
    @wraps(func)
    def wrapper(request, *args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _space, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            response = refuse(
                401, "authentication_required", _("Send the user's API token as `Authorization: Bearer <token>`.")
            )
        else:
            request.api_user = actions.authenticate_api_token(token.strip())
            if request.api_user is not None:
                return func(request, *args, **kwargs)
            response = refuse(401, "invalid_token", _("This API token is not valid (unknown or revoked)."))
        response["WWW-Authenticate"] = 'Bearer realm="texting"'
        return response

    wrapper.access = "api_token"
    return wrapper


def carrier_signed_view(func):
    """Carrier webhook: the body must carry the carrier's HMAC signature; 401 (nothing stored) otherwise."""

    @csrf_exempt
    @require_POST
    @wraps(func)
    def wrapper(request, *args, **kwargs):
        if not verify_webhook_signature(request.body, request.headers.get(SIGNATURE_HEADER, "")):
            return refuse(
                401,
                "invalid_signature",
                _("The %(header)s header does not sign this body.") % {"header": SIGNATURE_HEADER},
            )
        return func(request, *args, **kwargs)

    wrapper.access = "carrier_signature"
    return wrapper


@api_token_view
def send_message(request):
    if unreadable := _unreadable(request):
        return unreadable
    data = _json_object(request)
    if data is None:
        return refuse(400, "malformed_request", _('Send a JSON object: {"to": "+1…", "body": "…"}.'))
    try:
        message = actions.send_text(
            request.api_user,
            to=data.get("to"),
            body=data.get("body"),
            media=data.get("media"),
            app_version=clipped(request.headers.get(APP_VERSION_HEADER, "").strip(), APP_VERSION_LENGTH),
            from_number=data.get("from") if isinstance(data.get("from"), str) else None,
        )
    except ForeignNumber as exc:
        return refuse(403, "number_not_in_organisation", str(exc))
    except CountersUnavailable:
        return refuse(503, "service_unavailable", _("Texting is briefly unavailable. Try again in a moment."))
    answer = {
        "id": message.pk,
        "status": message.status,
        "from": message.business_number,
        "to": message.other_party,
        "segments": message.segments,
        "encoding": message.encoding,
    }
    if message.status == Message.Status.BLOCKED:
        # The reason code stays English; its words are in the caller's language (Accept-Language), stored in English.
        answer.update(reason=message.blocked_reason, detail=str(message.refusal_detail))
        return JsonResponse(answer, status=HTTP_STATUS[message.blocked_reason])
    return JsonResponse(answer, status=202)


@carrier_signed_view
def receive_message(request):
    """An inbound text: JSON `{"message_id": "...", "from": "+1...", "to": "<our number>", "body": "...",
    "media": [...]}`, bare or wrapped as the carrier's events are (`{"type": ..., "payload": {...}}`)."""
    if unreadable := _unreadable(request):
        return unreadable
    data = _json_object(request)
    if data is not None and isinstance(data.get("payload"), dict):
        data = data["payload"]
    if (
        data is None
        or not all(isinstance(data.get(key, ""), str) for key in ("message_id", "from", "to"))
        or len(data.get("message_id", "")) > CARRIER_ID_LENGTH
    ):
        return refuse(400, "malformed_request", _("Send a JSON object with message_id, from, to and body."))
    try:
        message, created = actions.receive_text(
            carrier_message_id=data.get("message_id", ""),
            sender=data.get("from"),
            recipient=data.get("to"),
            body=data.get("body"),
            media=data.get("media"),
        )
    except actions.UnknownNumber as exc:
        return refuse(404, "unknown_number", str(exc))
    answer = {"id": message.pk, "status": message.status, "duplicate": not created}
    if message.status == Message.Status.BLOCKED:
        answer.update(reason=message.blocked_reason, detail=message.status_detail)
    return JsonResponse(answer, status=201 if created else 200)


@carrier_signed_view
def message_status_callback(request):
    """The carrier's `message.updated` event for a text we sent. Duplicates and late arrivals change nothing."""
    if unreadable := _unreadable(request):
        return unreadable
    data = _json_object(request)
    try:
        result = parse_message(data["payload"])
    except (KeyError, TypeError, ValueError):
        return refuse(400, "malformed_request", _("Expected a message.updated event with a payload."))
    return JsonResponse({"applied": actions.apply_carrier_status(result)})
