"""The carrier signs the time of sending with the body (`X-Carrier-Signature: t=<unix time>,v1=<hmac>`), and every
callback view refuses a signature made more than CARRIER_WEBHOOK_TOLERANCE_SECONDS (300) from now, either way: a
captured callback replayed later is refused and changes nothing, and so is one whose time was altered.

Swept over the four callback views: a text received, a text's delivery status, a number order answered, a 10DLC brand
decided. The texting API's views answer 401 with `invalid_signature` (its documented contract); the others 403.
"""

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from carrier import SIGNATURE_HEADER, sign_webhook_body
from compliance.models import RegistrationCase
from portal.models import Organisation, User
from provisioning.actions import place_authorisation_order
from tests.compliance.factories import make_case
from tests.factories import make_location, make_numbers, make_org, make_user
from tests.texting.factories import RECIPIENT, make_texter, send

from .snapshot import differences, fingerprint

pytestmark = pytest.mark.django_db

HEADER = f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}"
TOLERANCE = 300


@dataclass
class Callback:
    url: str
    body: bytes
    refused: int  # the answer to a signature that is not good now
    accepted: dict  # the JSON answer of a callback that was applied
    org: Organisation | None = None


def text_received(org, admin):
    _, number = make_texter(org)
    body = {"message_id": "M-replay", "from": RECIPIENT, "to": number.e164, "body": "Running late"}
    return Callback(reverse("texting:api_inbound"), json.dumps(body).encode(), 401, {"status": "received"})


def text_status(org, admin):
    user, _ = make_texter(org)
    message = send(user)
    payload = {"message_id": "M-out", "reference": message.reference, "status": "sent", "reason": ""}
    body = {"type": "message.updated", "id": "M-out", "payload": payload}
    return Callback(reverse("texting:carrier_message_callback"), json.dumps(body).encode(), 401, {"applied": True})


def number_order_answered(org, admin):
    location = make_location(org)
    numbers = make_numbers(location, 2)
    order, _ = place_authorisation_order(org, admin, location, [n.pk for n in numbers], str(uuid.uuid4()))
    order.chunks.update(carrier_order_id="ORD-replay")
    chunk = order.chunks.get()
    payload = {
        "order_id": "ORD-replay",
        "reference": chunk.reference,
        "status": "completed",
        "numbers": [{"e164": n.e164, "status": "authorised", "reason": ""} for n in numbers],
    }
    body = {"type": "number_order.completed", "id": "ORD-replay", "reference": chunk.reference, "payload": payload}
    return Callback(
        reverse("provisioning:number_order_callback"), json.dumps(body).encode(), 403, {"applied": 2, "known": True}
    )


def brand_decided(org, admin):
    case = make_case(org, RegistrationCase.State.BRAND_SUBMITTED)
    payload = {"brand_id": case.brand.registry_id, "reference": case.brand_reference, "status": "APPROVED"}
    body = {"type": "brand.updated", "payload": payload}
    return Callback(
        reverse("compliance:registration_callback"), json.dumps(body).encode(), 403, {"applied": True, "known": True}
    )


CALLBACKS = [text_received, text_status, number_order_answered, brand_decided]


@pytest.fixture(params=CALLBACKS, ids=lambda build: build.__name__)
def callback(request, settings):
    assert settings.CARRIER_WEBHOOK_TOLERANCE_SECONDS == TOLERANCE  # the documented default
    org = make_org("Callback Replay Ltd")
    admin = make_user(org, role=User.Role.FULL_ADMIN)
    built = request.param(org, admin)
    built.org = org
    return built


def post(client, callback, header):
    return client.post(callback.url, data=callback.body, content_type="application/json", **{HEADER: header})


def signed_at(callback, moment, secret):
    """The header the carrier would have sent at `moment`."""
    with time_machine.travel(moment, tick=False):
        return sign_webhook_body(callback.body, secret)


def assert_applied(response, callback):
    assert response.status_code in (200, 201, 202), response.content
    assert response.json().items() >= callback.accepted.items(), response.json()


def assert_refused_and_nothing_changed(client, callback, header):
    before = fingerprint({callback.org.pk: "org"})
    response = post(client, callback, header)
    assert response.status_code == callback.refused, (response.status_code, response.content)
    assert differences(before, fingerprint({callback.org.pk: "org"})) == []


def test_a_fresh_signature_is_accepted_and_applied(client, callback, settings):
    header = sign_webhook_body(callback.body, settings.CARRIER_WEBHOOK_SECRET)
    assert header.startswith("t=") and ",v1=" in header
    assert_applied(post(client, callback, header), callback)


def test_a_captured_callback_replayed_after_the_tolerance_is_refused(client, callback, settings):
    now = timezone.now()
    captured = signed_at(callback, now, settings.CARRIER_WEBHOOK_SECRET)
    with time_machine.travel(now + timedelta(seconds=TOLERANCE + 5), tick=False):
        assert_refused_and_nothing_changed(client, callback, captured)
    # The same callback delivered on time is applied: the refusal was about time alone.
    with time_machine.travel(now + timedelta(seconds=TOLERANCE - 5), tick=False):
        assert_applied(post(client, callback, captured), callback)


def test_a_signature_from_further_ahead_than_the_tolerance_is_refused(client, callback, settings):
    ahead = signed_at(callback, timezone.now() + timedelta(seconds=TOLERANCE + 60), settings.CARRIER_WEBHOOK_SECRET)
    assert_refused_and_nothing_changed(client, callback, ahead)


def test_a_captured_signature_with_its_time_changed_is_refused(client, callback, settings):
    captured = signed_at(callback, timezone.now() - timedelta(hours=1), settings.CARRIER_WEBHOOK_SECRET)
    _, signature = captured.split(",", 1)
    assert_refused_and_nothing_changed(client, callback, f"t={int(timezone.now().timestamp())},{signature}")


def test_a_signature_of_the_body_alone_is_refused(client, callback, settings):
    """The old shape (no time in it) proves nothing about when the callback was sent."""
    body_only = hmac.new(settings.CARRIER_WEBHOOK_SECRET.encode(), callback.body, hashlib.sha256).hexdigest()
    assert_refused_and_nothing_changed(client, callback, body_only)


@pytest.mark.parametrize("callback", [text_received], indirect=True, ids=["text_received"])
def test_the_tolerance_is_a_setting(client, callback, settings):
    settings.CARRIER_WEBHOOK_TOLERANCE_SECONDS = 30
    now = timezone.now()
    late = signed_at(callback, now - timedelta(seconds=60), settings.CARRIER_WEBHOOK_SECRET)
    assert_refused_and_nothing_changed(client, callback, late)
    on_time = signed_at(callback, now - timedelta(seconds=20), settings.CARRIER_WEBHOOK_SECRET)
    assert_applied(post(client, callback, on_time), callback)
