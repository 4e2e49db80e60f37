"""Requests that once made the messaging API, the carrier's texting callbacks or the token form answer 500 (found by
tests/security/test_fuzzing.py). Each is now refused as malformed and stores nothing."""

import json

import pytest
from django.urls import reverse

from carrier import SIGNATURE_HEADER, sign_webhook_body
from tests.texting.factories import APP_VERSION, RECIPIENT, issue_token, make_texter, send
from texting import actions
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


# JSON may escape a lone UTF-16 surrogate ("\ud800"); Python decodes it into a string no UTF-8 text (a database
# column, a JSON answer) can hold. json.dumps writes it as the escape, as an attacker's client would.
LONE_SURROGATE = "\ud800"


def _send(client, token, body: bytes, content_type="application/json"):
    return client.post(
        reverse("texting:api_send_message"),
        data=body,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_WEBEX_APP_VERSION=APP_VERSION,
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"to": RECIPIENT, "body": f"hi {LONE_SURROGATE}"},
        {"to": f"+1415555{LONE_SURROGATE}0123", "body": "hi"},
        {"to": RECIPIENT, "body": "hi", "media": [f"https://example.test/{LONE_SURROGATE}.png"]},
        {"to": RECIPIENT, "body": "hi", f"x{LONE_SURROGATE}": 1},
    ],
)
def test_a_send_request_with_a_lone_surrogate_is_malformed_json_not_a_500(client, org, admin, payload):
    user, _number = make_texter(org)
    response = _send(client, issue_token(admin, user), json.dumps(payload).encode())
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["reason"] == "malformed_request"
    assert not Message.objects.exists()


@pytest.mark.parametrize("field", ["body", "from", "message_id"])
def test_a_signed_inbound_text_with_a_lone_surrogate_is_malformed_json_not_a_500(client, org, settings, field):
    _user, number = make_texter(org)
    payload = {"message_id": "M-1", "from": RECIPIENT, "to": number.e164, "body": "Hello"}
    payload[field] += LONE_SURROGATE
    response = _signed_post(client, settings, "texting:api_inbound", json.dumps(payload).encode())
    assert response.status_code == 400 and response.json()["reason"] == "malformed_request"
    assert not Message.objects.exists()


def test_a_signed_delivery_report_with_a_lone_surrogate_changes_nothing(client, org, settings):
    user, _number = make_texter(org)
    text = send(user)
    payload = {"message_id": "M-9", "reference": text.reference, "status": "failed", "reason": LONE_SURROGATE}
    body = json.dumps({"type": "message.updated", "payload": payload}).encode()
    response = _signed_post(client, settings, "texting:carrier_message_callback", body)
    assert response.status_code == 400 and response.json()["reason"] == "malformed_request"
    text.refresh_from_db()
    assert text.status == Message.Status.ACCEPTED and not text.carrier_message_id


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", ""])
def test_a_send_request_not_declared_as_json_is_refused_as_unsupported(client, org, admin, content_type):
    user, _number = make_texter(org)
    body = json.dumps({"to": RECIPIENT, "body": "hi"}).encode()
    response = _send(client, issue_token(admin, user), body, content_type=content_type)
    assert response.status_code == 415 and response.json()["reason"] == "unsupported_media_type"
    assert not Message.objects.exists()


def test_a_send_request_declared_as_json_with_a_charset_is_read(client, org, admin):
    user, _number = make_texter(org)
    body = json.dumps({"to": RECIPIENT, "body": "hi"}).encode()
    response = _send(client, issue_token(admin, user), body, content_type="application/json; charset=utf-8")
    assert response.status_code == 202 and Message.objects.count() == 1


def test_a_signed_inbound_text_not_declared_as_json_is_refused_as_unsupported(client, org, settings):
    _user, number = make_texter(org)
    body = json.dumps({"message_id": "M-1", "from": RECIPIENT, "to": number.e164, "body": "Hello"}).encode()
    signature = sign_webhook_body(body, settings.CARRIER_WEBHOOK_SECRET)
    response = client.post(
        reverse("texting:api_inbound"),
        data=body,
        content_type="text/plain",
        **{f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": signature},
    )
    assert response.status_code == 415 and response.json()["reason"] == "unsupported_media_type"
    assert not Message.objects.exists()


def test_a_token_label_longer_than_a_label_is_refused_not_cut(admin_client, org):
    make_texter(org, email="dana@acme.test")
    label = "L" * 1_000_000
    response = admin_client.post(reverse("texting:issue_api_token"), {"email": "dana@acme.test", "label": label})
    page = response.content.decode()
    assert response.status_code == 422 and "Ensure this value has at most 100 characters" in page
    assert "L" * 101 not in page  # the megabyte is not sent back
    assert not ApiToken.objects.exists()


def test_a_token_label_of_the_longest_length_is_kept_whole(admin_client, org):
    make_texter(org, email="dana@acme.test")
    label = "L" * 99 + "Z"
    response = admin_client.post(reverse("texting:issue_api_token"), {"email": "dana@acme.test", "label": label})
    assert response.status_code == 201
    assert ApiToken.objects.get().label == label


def test_the_token_action_refuses_a_label_it_cannot_store_whole(org, admin):
    user, _number = make_texter(org)
    with pytest.raises(actions.TextingError, match="at most 100 characters"):
        actions.issue_api_token(org, admin, user, label="L" * 101)
    assert not ApiToken.objects.exists()


# The first 40 characters are a valid number; the whole is not one. Cutting before judging sent the text anyway.
PADDED_DESTINATION = "+1 415 555 0123" + " " * 30 + "and more"


def test_a_destination_is_judged_whole_not_by_its_first_40_characters(client, org, admin):
    user, _number = make_texter(org)
    body = json.dumps({"to": PADDED_DESTINATION, "body": "hi"}).encode()
    response = _send(client, issue_token(admin, user), body)
    assert response.status_code == 422 and response.json()["reason"] == "invalid_destination"
    text = Message.objects.get()
    assert text.status == Message.Status.BLOCKED and text.other_party.endswith("…") and len(text.other_party) == 40


def test_a_refused_inbound_sender_is_recorded_with_a_visible_cut(client, org, settings):
    _user, number = make_texter(org)
    payload = {"message_id": "M-1", "from": PADDED_DESTINATION, "to": number.e164, "body": "Hello"}
    response = _signed_post(client, settings, "texting:api_inbound", json.dumps(payload).encode())
    assert response.status_code == 201
    text = Message.objects.get()
    assert text.status == Message.Status.BLOCKED and text.other_party == PADDED_DESTINATION[:39] + "…"


def test_an_app_version_header_too_long_to_store_is_not_cut_into_a_valid_one(client, org, admin):
    user, _number = make_texter(org)
    version = "42.12.0." + "9" * 30  # its first 32 characters are a version new enough
    response = client.post(
        reverse("texting:api_send_message"),
        data=json.dumps({"to": RECIPIENT, "body": "hi"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {issue_token(admin, user)}",
        HTTP_X_WEBEX_APP_VERSION=version,
    )
    assert response.json()["reason"] == "app_version_too_old"
    user.refresh_from_db()
    assert user.webex_app_version == APP_VERSION
