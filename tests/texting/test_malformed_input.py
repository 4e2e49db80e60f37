"""Requests that once made the messaging API, the carrier's texting callbacks or the token form answer 500 (found by
tests/security/test_fuzzing.py). Each is now refused as malformed and stores nothing."""

import json

import pytest
from django.urls import reverse

from carrier import SIGNATURE_HEADER, sign_webhook_body
from tests.texting.factories import APP_VERSION, RECIPIENT, issue_token, make_texter, send
from texting.models import ApiToken, Message

pytestmark = pytest.mark.django_db

DEEP = b"[" * 20_000 + b"]" * 20_000  # 40 KB, under the API's size limit: json.loads raises RecursionError


def _signed_post(client, settings, url_name, body: bytes):
    signature = sign_webhook_body(body, settings.CARRIER_WEBHOOK_SECRET)
    return client.post(
        reverse(url_name),
        data=body,
        content_type="application/json",
        **{f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": signature},
    )


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        json.dumps({"to": RECIPIENT, "body": "a\u0000b"}).encode(),
        json.dumps({"to": "+1415555\u00000123", "body": "hi"}).encode(),
    ],
)
def test_a_send_request_that_cannot_be_read_or_stored_is_malformed(client, org, admin, body):
    user, _number = make_texter(org)
    response = client.post(
        reverse("texting:api_send_message"),
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {issue_token(admin, user)}",
        HTTP_X_WEBEX_APP_VERSION=APP_VERSION,
    )
    assert response.status_code == 400 and response.json()["reason"] == "malformed_request"
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"to": 14155550123},
        {"from": 14155550123},
        {"message_id": "m" * 65},
        {"body": "STOP\u0000"},
        {"from": "+1\u0000"},
    ],
)
def test_an_inbound_text_with_fields_the_portal_cannot_store_is_malformed(client, org, settings, change):
    _user, number = make_texter(org)
    payload = {"message_id": "M-1", "from": RECIPIENT, "to": number.e164, "body": "Hello", **change}
    response = _signed_post(client, settings, "texting:api_inbound", json.dumps(payload).encode())
    assert response.status_code == 400 and response.json()["reason"] == "malformed_request"
    assert not Message.objects.exists()


def test_an_inbound_text_nested_too_deep_to_read_is_malformed(client, settings):
    assert _signed_post(client, settings, "texting:api_inbound", DEEP).status_code == 400


@pytest.mark.parametrize(
    "payload, status",
    [
        ({"message_id": "M-9", "reference": "texting-message-²", "status": "delivered"}, 200),  # not ours: ignored
        ({"message_id": "m" * 65, "reference": "{reference}", "status": "delivered"}, 400),
        ({"message_id": "M-9", "reference": "{reference}", "status": "failed", "reason": "off\u0000"}, 400),
    ],
)
def test_a_delivery_report_the_portal_cannot_use_changes_nothing(client, org, settings, payload, status):
    user, _number = make_texter(org)
    text = send(user)
    payload["reference"] = payload["reference"].format(reference=text.reference)
    body = json.dumps({"type": "message.updated", "payload": payload}).encode()
    response = _signed_post(client, settings, "texting:carrier_message_callback", body)
    assert response.status_code == status
    text.refresh_from_db()
    assert text.status == Message.Status.ACCEPTED and not text.carrier_message_id


def test_a_token_for_an_email_with_a_nul_character_is_refused(admin_client, org):
    make_texter(org, email="dana@acme.test")
    response = admin_client.post(reverse("texting:issue_api_token"), {"email": "dana@acme.test\x00"})
    assert (
        response.status_code == 422 and "Enter the email of a user of this organisation." in response.content.decode()
    )
    assert not ApiToken.objects.exists()


def test_a_token_label_with_a_nul_character_is_refused(admin_client, org):
    make_texter(org, email="dana@acme.test")
    response = admin_client.post(reverse("texting:issue_api_token"), {"email": "dana@acme.test", "label": "laptop\x00"})
    page = response.content.decode()
    assert response.status_code == 422 and "The label cannot contain NUL characters." in page
    assert 'value="laptop"' in page  # what was typed, minus the NUL, to correct
    assert not ApiToken.objects.exists()
