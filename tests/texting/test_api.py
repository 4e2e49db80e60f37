"""The messaging API: authentication, JSON answers with machine-readable reasons, the inbound webhook and STOP/HELP."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from carrier import SIGNATURE_HEADER, sign_webhook_body
from portal.models import AuditEvent
from provisioning.eligibility import check_eligibility
from tests.texting.factories import APP_VERSION, RECIPIENT, enable_texting, issue_token, make_texter
from texting.actions import receive_text, revoke_api_token
from texting.models import ApiToken, Message, OptOut

pytestmark = pytest.mark.django_db

SEND_URL = "/api/texting/messages"
INBOUND_URL = "/api/texting/inbound"


@pytest.fixture
def api():
    # Token-authenticated, not cookie-authenticated: the API must work with CSRF checks on.
    return Client(enforce_csrf_checks=True)


def post_text(api, token, payload, version=APP_VERSION):
    headers = {"HTTP_X_WEBEX_APP_VERSION": version}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return api.post(SEND_URL, data=json.dumps(payload), content_type="application/json", **headers)


def post_inbound(api, settings, payload, *, signature=None):
    raw = json.dumps(payload).encode()
    signature = signature if signature is not None else sign_webhook_body(raw, settings.CARRIER_WEBHOOK_SECRET)
    return api.post(
        INBOUND_URL,
        data=raw,
        content_type="application/json",
        **{f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": signature},
    )


def test_urls_are_the_documented_ones():
    assert reverse("texting:api_send_message") == SEND_URL
    assert reverse("texting:api_inbound") == INBOUND_URL


def test_a_user_sends_a_text_with_their_token(api, org, admin):
    user, number = make_texter(org)
    response = post_text(api, issue_token(admin, user), {"to": "415-555-0123", "body": "On my way!"})
    assert response.status_code == 202
    data = response.json()
    assert data["status"] == "accepted" and data["from"] == number.e164 and data["to"] == RECIPIENT
    assert data["segments"] == 1 and data["encoding"] == "gsm7"
    assert Message.objects.get(pk=data["id"]).user == user


def test_without_a_token_nothing_is_stored(api, org):
    make_texter(org)
    response = post_text(api, None, {"to": RECIPIENT, "body": "hi"})
    assert response.status_code == 401
    assert response.json()["reason"] == "authentication_required"
    assert response["WWW-Authenticate"].startswith("Bearer")
    for header in ("Basic abc", "Bearer ", "Token thx_abc"):
        refused = api.post(SEND_URL, data="{}", content_type="application/json", HTTP_AUTHORIZATION=header)
        assert refused.status_code == 401
    assert not Message.objects.exists()


def test_an_unknown_or_revoked_token_is_refused_and_nothing_stored(api, org, admin):
    user, _ = make_texter(org)
    token = issue_token(admin, user)
    assert post_text(api, token + "x", {"to": RECIPIENT, "body": "hi"}).json()["reason"] == "invalid_token"
    assert post_text(api, token, {"to": RECIPIENT, "body": "hi"}).status_code == 202
    revoke_api_token(org, admin, ApiToken.objects.get(user=user).pk)
    response = post_text(api, token, {"to": RECIPIENT, "body": "hi again"})
    assert response.status_code == 401 and response.json()["reason"] == "invalid_token"
    assert Message.objects.count() == 1


def test_the_token_of_a_deactivated_user_is_refused(api, org, admin):
    user, _ = make_texter(org)
    token = issue_token(admin, user)
    user.is_active = False
    user.save()
    response = post_text(api, token, {"to": RECIPIENT, "body": "hi"})
    assert response.status_code == 401 and response.json()["reason"] == "invalid_token"
    assert not Message.objects.exists()


def test_another_organisations_number_is_refused_and_not_stored(api, org, other_org, admin):
    user, _ = make_texter(org)
    _, theirs = make_texter(other_org)
    response = post_text(api, issue_token(admin, user), {"to": RECIPIENT, "body": "hi", "from": theirs.e164})
    assert response.status_code == 403
    assert response.json()["reason"] == "number_not_in_organisation"
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "payload,version,status,reason",
    [
        ({"to": "+44 7911 123456", "body": "hi"}, APP_VERSION, 422, "international_destination"),
        ({"to": "12", "body": "hi"}, APP_VERSION, 422, "invalid_destination"),
        (
            {"to": RECIPIENT, "body": "hi", "media": ["https://example.com/a.png"]},
            APP_VERSION,
            422,
            "media_not_supported",
        ),
        ({"to": RECIPIENT, "body": "hi"}, "42.11.0", 403, "app_version_too_old"),
        ({"to": RECIPIENT, "body": ""}, APP_VERSION, 422, "empty_body"),
    ],
)
def test_refusals_answer_a_reason_and_are_stored_blocked(api, org, admin, payload, version, status, reason):
    user, _ = make_texter(org)
    response = post_text(api, issue_token(admin, user), payload, version=version)
    assert response.status_code == status
    data = response.json()
    assert data["status"] == "blocked" and data["reason"] == reason and data["detail"]
    stored = Message.objects.get(pk=data["id"])
    assert stored.status == "blocked" and stored.blocked_reason == reason


def test_switched_off_is_refused_with_texting_disabled(api, org, admin):
    user, _ = make_texter(org)
    enable_texting(org, on=False)
    response = post_text(api, issue_token(admin, user), {"to": RECIPIENT, "body": "hi"})
    assert response.status_code == 403 and response.json()["reason"] == "texting_disabled"


def test_unreadable_requests_are_refused(api, org, admin):
    user, _ = make_texter(org)
    token = issue_token(admin, user)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert api.post(SEND_URL, data="not json", content_type="application/json", **auth).json()["reason"] == (
        "malformed_request"
    )
    assert api.post(SEND_URL, data="[1, 2]", content_type="application/json", **auth).status_code == 400
    big = json.dumps({"to": RECIPIENT, "body": "a" * 70_000})
    assert api.post(SEND_URL, data=big, content_type="application/json", **auth).status_code == 413
    assert api.get(SEND_URL, **auth).status_code == 405
    assert not Message.objects.exists()


# --- inbound ---------------------------------------------------------------------------------------------------


def test_an_inbound_text_needs_the_carrier_signature(api, org, settings):
    _, number = make_texter(org)
    payload = {"message_id": "M1", "from": RECIPIENT, "to": number.e164, "body": "Hi"}
    assert post_inbound(api, settings, payload, signature="0" * 64).status_code == 401
    assert post_inbound(api, settings, payload, signature="").json()["reason"] == "invalid_signature"
    assert not Message.objects.exists()
    response = post_inbound(api, settings, payload)
    assert response.status_code == 201
    stored = Message.objects.get(pk=response.json()["id"])
    assert stored.direction == "inbound" and stored.status == "received" and stored.organisation == org
    assert stored.other_party == RECIPIENT and stored.business_number == number.e164


def test_a_redelivered_inbound_text_is_stored_once(api, org, settings):
    _, number = make_texter(org)
    payload = {"message_id": "M-dup", "from": RECIPIENT, "to": number.e164, "body": "Hi"}
    first = post_inbound(api, settings, payload)
    again = post_inbound(api, settings, {"type": "message.received", "payload": payload})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == {"id": first.json()["id"], "status": "received", "duplicate": True}
    assert Message.objects.count() == 1


def test_inbound_for_a_number_not_ours_is_refused(api, org, settings):
    response = post_inbound(api, settings, {"message_id": "M2", "from": RECIPIENT, "to": "+15125559999", "body": "x"})
    assert response.status_code == 404 and response.json()["reason"] == "unknown_number"


@pytest.mark.parametrize(
    "sender,media,reason",
    [
        ("+447911123456", None, "international_sender"),
        ("not a number", None, "invalid_sender"),
        (RECIPIENT, ["https://example.com/a.png"], "media_not_supported"),
    ],
)
def test_inbound_international_or_media_is_stored_blocked(api, org, settings, sender, media, reason):
    _, number = make_texter(org)
    response = post_inbound(
        api, settings, {"message_id": f"M-{reason}", "from": sender, "to": number.e164, "body": "STOP", "media": media}
    )
    assert response.status_code == 201 and response.json()["reason"] == reason
    assert Message.objects.get().blocked_reason == reason
    assert not OptOut.objects.exists()  # a blocked text is not acted on


# --- STOP, START, HELP -----------------------------------------------------------------------------------------


def replies_to(party):
    return list(Message.objects.filter(other_party=party, is_automatic_reply=True).order_by("id"))


@pytest.mark.parametrize(
    "keyword",
    [
        *("STOP", "stop", " Stop ", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"),
        *("OPT-OUT", "optout", "REMOVE", "Revoke", "TD"),
    ],
)
def test_every_ctia_opt_out_keyword_opts_the_party_out(org, keyword):
    _, number = make_texter(org)
    receive_text(carrier_message_id="M", sender=RECIPIENT, recipient=number.e164, body=keyword)
    opt_out = OptOut.objects.get(organisation=org, party=RECIPIENT)
    assert opt_out.is_active and opt_out.keyword == keyword.strip().upper()


def test_opt_out_and_back_in(api, org, admin, settings):
    user, number = make_texter(org)
    colleague, _ = make_texter(org)
    token = issue_token(admin, user)
    inbound = iter(range(100))

    def text_in(body):
        return post_inbound(
            api, settings, {"message_id": f"M{next(inbound)}", "from": RECIPIENT, "to": number.e164, "body": body}
        )

    assert text_in("STOP").status_code == 201
    confirmation = replies_to(RECIPIENT)
    assert len(confirmation) == 1 and "unsubscribed" in confirmation[0].body.lower()
    assert confirmation[0].status == "accepted" and confirmation[0].business_number == number.e164

    # Exactly one confirmation, however many STOPs follow.
    text_in("STOP")
    text_in("quit")
    assert len(replies_to(RECIPIENT)) == 1

    # Nobody in the organisation can text them now (and the refusal is stored).
    refused = post_text(api, token, {"to": RECIPIENT, "body": "Sale today!"})
    assert refused.status_code == 403 and refused.json()["reason"] == "recipient_opted_out"
    colleague_token = issue_token(admin, colleague)
    assert post_text(api, colleague_token, {"to": RECIPIENT, "body": "hi"}).json()["reason"] == "recipient_opted_out"

    text_in("START")
    assert not OptOut.objects.get(party=RECIPIENT).is_active
    assert len(replies_to(RECIPIENT)) == 2 and "subscribed again" in replies_to(RECIPIENT)[-1].body
    assert post_text(api, token, {"to": RECIPIENT, "body": "Welcome back"}).status_code == 202

    # A new STOP is a new opt-out, with its own single confirmation.
    text_in("UNSUBSCRIBE")
    assert OptOut.objects.get(party=RECIPIENT).is_active and len(replies_to(RECIPIENT)) == 3


def test_start_without_an_opt_out_sends_nothing(org):
    _, number = make_texter(org)
    receive_text(carrier_message_id="M1", sender=RECIPIENT, recipient=number.e164, body="YES")
    assert replies_to(RECIPIENT) == []


def test_help_gets_the_help_reply(org):
    _, number = make_texter(org)
    receive_text(carrier_message_id="M1", sender=RECIPIENT, recipient=number.e164, body="help")
    receive_text(carrier_message_id="M2", sender=RECIPIENT, recipient=number.e164, body="INFO")
    replies = replies_to(RECIPIENT)
    assert len(replies) == 2 and org.name in replies[0].body and "STOP" in replies[0].body
    assert not OptOut.objects.exists()


def test_keywords_in_a_sentence_are_ordinary_texts(org):
    _, number = make_texter(org)
    receive_text(carrier_message_id="M1", sender=RECIPIENT, recipient=number.e164, body="Please stop by at 5")
    assert not OptOut.objects.exists() and replies_to(RECIPIENT) == []


def test_no_automatic_reply_while_texting_is_switched_off_but_the_opt_out_still_counts(org):
    _, number = make_texter(org, switch_on=False)
    receive_text(carrier_message_id="M1", sender=RECIPIENT, recipient=number.e164, body="STOP")
    assert OptOut.objects.get().is_active and replies_to(RECIPIENT) == []


def test_an_inbound_stop_from_a_redelivered_webhook_is_confirmed_once(api, org, settings):
    _, number = make_texter(org)
    payload = {"message_id": "M-stop", "from": RECIPIENT, "to": number.e164, "body": "STOP"}
    post_inbound(api, settings, payload)
    post_inbound(api, settings, payload)
    assert len(replies_to(RECIPIENT)) == 1


def test_issuing_and_revoking_tokens_is_audited(org, admin):
    user, _ = make_texter(org)
    issue_token(admin, user)
    revoke_api_token(org, admin, ApiToken.objects.get().pk)
    revoke_api_token(org, admin, ApiToken.objects.get().pk)  # twice: changes nothing
    assert list(
        AuditEvent.objects.filter(organisation=org, action__startswith="texting.")
        .values_list("action", flat=True)
        .order_by("id")
    ) == ["texting.api_token.issued", "texting.api_token.revoked"]


def test_stop_and_help_use_the_replies_registered_in_the_campaign(org):
    from compliance.models import RegistrationCase
    from tests.compliance.factories import VALID_FORM, make_case

    _, number = make_texter(org)
    make_case(org, RegistrationCase.State.COMPLETED, numbers=[number])
    receive_text(carrier_message_id="M1", sender=RECIPIENT, recipient=number.e164, body="HELP")
    receive_text(carrier_message_id="M2", sender=RECIPIENT, recipient=number.e164, body="STOP")
    assert [m.body for m in replies_to(RECIPIENT)] == [VALID_FORM["help_message"], VALID_FORM["opt_out_message"]]


def test_the_checklist_follows_the_app_version_the_users_app_reports(api, org, admin):
    """An outdated app is refused and counted on the Business Texting checklist; once the user's app reports an
    upgrade, the checklist counts them as up to date. A garbled version header changes nothing."""

    def app_check():
        return next(r for r in check_eligibility(org).requirements if r.key == "webex_app_version")

    user, _ = make_texter(org)
    token = issue_token(admin, user)
    assert post_text(api, token, {"to": RECIPIENT, "body": "hi"}, version="42.11.0").status_code == 403
    assert not app_check().met and "1 texting user needs to upgrade" in app_check().detail

    assert post_text(api, token, {"to": RECIPIENT, "body": "hi"}, version="not-a-version").status_code == 403
    user.refresh_from_db()
    assert user.webex_app_version == "42.11.0"

    assert post_text(api, token, {"to": RECIPIENT, "body": "hi"}, version=APP_VERSION).status_code == 202
    assert app_check().met
