"""Signed number-order callbacks that once answered 500 (found by tests/security/test_fuzzing.py): now 400, and no
number changes."""

import json
import uuid

import pytest
from django.urls import reverse

from carrier import sign_webhook_body
from provisioning.actions import place_authorisation_order
from provisioning.models import OrderLine
from tests.factories import make_location, make_numbers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.CARRIER_WEBHOOK_SECRET = settings.CARRIER_WEBHOOK_SECRET or "test-webhook-secret"


@pytest.fixture
def order(admin, org):
    numbers = make_numbers(make_location(org), 2)
    order, _ = place_authorisation_order(org, admin, numbers[0].location, [n.pk for n in numbers], str(uuid.uuid4()))
    order.chunks.update(carrier_order_id="O123456789")
    return order


def _completed(order_id, e164s):
    return json.dumps(
        {
            "type": "number_order.completed",
            "payload": {
                "order_id": order_id,
                "reference": "r",
                "status": "completed",
                "numbers": [{"e164": e164, "status": "authorised"} for e164 in e164s],
            },
        }
    ).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 20_000 + b"]" * 20_000,  # nested deeper than json.loads goes: RecursionError
        _completed("O\x00", []),  # PostgreSQL refuses NUL, even in a lookup
        _completed("O" * 41, []),  # longer than any order id the portal stores
        _completed("O123456789", ["+1415\x00"]),
        _completed("O\ud800", []),  # a lone surrogate: JSON escapes it, no UTF-8 text (nor PostgreSQL) holds it
    ],
)
def test_a_signed_callback_the_portal_cannot_read_is_malformed(client, settings, order, body):
    signature = sign_webhook_body(body, settings.CARRIER_WEBHOOK_SECRET)
    response = client.post(
        reverse("provisioning:number_order_callback"),
        data=body,
        content_type="application/json",
        HTTP_X_CARRIER_SIGNATURE=signature,
    )
    assert response.status_code == 400
    assert not order.lines.exclude(state=OrderLine.State.PENDING).exists()
