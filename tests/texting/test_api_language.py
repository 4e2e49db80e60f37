"""The messaging API speaks its caller's language (Accept-Language, through LocaleMiddleware): the reason CODE stays
the same English word in every language, the words in `detail` are translated, and the text is stored with its
words in English whoever sent it (one record for the administrators)."""

import pytest

from tests.texting.factories import RECIPIENT, enable_texting, issue_token, make_texter
from tests.texting.test_api import post_text
from texting.models import Message

pytestmark = pytest.mark.django_db

ENGLISH = "Business Texting is switched off for {org} (Calling → Service Settings)."
FRENCH = "La Messagerie texte d'entreprise est désactivée pour {org} (Appels → Paramètres du service)."
SLOVAK = "Firemné SMS sú pre {org} vypnuté (Volanie → Nastavenia služby)."


def switched_off_refusal(client, org, admin, **headers):
    user, _ = make_texter(org)
    enable_texting(org, on=False)
    token = issue_token(admin, user)
    return client.post(
        "/api/texting/messages",
        data={"to": RECIPIENT, "body": "hi"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_WEBEX_APP_VERSION="42.12.0.1",
        **headers,
    )


@pytest.mark.parametrize(
    "accept_language,expected",
    [(None, ENGLISH), ("fr-CA,fr;q=0.9,en;q=0.5", FRENCH), ("sk", SLOVAK), ("de-DE", ENGLISH)],
)
def test_the_refusal_is_worded_in_the_callers_language_with_the_same_reason_code(
    client, org, admin, accept_language, expected
):
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    response = switched_off_refusal(client, org, admin, **headers)
    data = response.json()
    assert response.status_code == 403 and data["reason"] == "texting_disabled"
    assert data["detail"] == expected.format(org=org.name)
    # Stored once, in English, whatever language the caller spoke.
    assert Message.objects.get(pk=data["id"]).status_detail == ENGLISH.format(org=org.name)


def test_an_opted_out_recipient_is_refused_in_french_with_the_number_in_it(client, org, admin):
    from texting.actions import receive_text

    user, number = make_texter(org)
    receive_text(carrier_message_id="M1", sender=RECIPIENT, recipient=number.e164, body="ARRÊT")
    response = post_text(client, issue_token(admin, user), {"to": RECIPIENT, "body": "Bonjour"})
    assert response.json()["reason"] == "recipient_opted_out"
    french = client.post(
        "/api/texting/messages",
        data={"to": RECIPIENT, "body": "Bonjour"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {issue_token(admin, user)}",
        HTTP_X_WEBEX_APP_VERSION="42.12.0.1",
        HTTP_ACCEPT_LANGUAGE="fr-CA",
    ).json()
    assert french["reason"] == "recipient_opted_out"
    assert french["detail"] == (
        f"Le +1 415-555-0123 a répondu STOP à {org.name} : il ne reçoit aucun texto tant qu'il n'a pas répondu START."
    )


def test_an_unauthenticated_request_is_refused_in_the_callers_language(client):
    response = client.post(
        "/api/texting/messages", data={}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="fr-CA"
    )
    assert response.status_code == 401 and response.json()["reason"] == "authentication_required"
    assert response.json()["detail"] == "Envoyez le jeton d'API de l'utilisateur dans `Authorization: Bearer <token>`."
    english = client.post("/api/texting/messages", data={}, content_type="application/json").json()
    assert english["detail"] == "Send the user's API token as `Authorization: Bearer <token>`."
