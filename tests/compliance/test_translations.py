"""The compliance pages and e-mails in French (Canada) and Slovak: a case's state badge, the support queue, a
timeline entry written in English and shown in the reader's language, and the e-mail to the case contact.

The language is chosen the way Django's LocaleMiddleware reads it here: the `django_language` cookie
(settings.LANGUAGE_COOKIE_NAME)."""

import html

import pytest
from django.conf import settings
from django.core import mail
from django.utils import translation

from compliance import actions, stored_texts
from compliance.models import RegistrationCase
from compliance.notifications import notify_case_contact
from portal.models import User
from tests.factories import make_user

from .factories import make_case

State = RegistrationCase.State


@pytest.fixture(autouse=True)
def _catalogues(compiled_catalogues):
    yield
    translation.activate(settings.LANGUAGE_CODE)


def main_of(response) -> str:
    """The page's own content (the shell around it, the sidebar and the user menu, is the portal's), unescaped."""
    page = html.unescape(response.content.decode())
    return page.split('<main id="content"', 1)[1].split(">", 1)[1].split("</main>", 1)[0]


def in_language(client, code):
    """The client asks in `code` from now on (the cookie LocaleMiddleware reads)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
    return client


def test_customer_case_page_in_french_shows_the_state_and_next_step_in_french(org, admin, admin_client):
    case = make_case(org, State.FORM_SENT, opened_by=admin)
    page = in_language(admin_client, "fr-ca").get(f"/cases/{case.pk}/").content.decode()
    page = html.unescape(page)
    assert 'id="case-state">Formulaire envoyé</span>' in page
    assert "Remplissez le formulaire d'inscription 10DLC ci-dessous et soumettez-le." in page
    assert "Enregistrer le brouillon" in page  # the form's button
    assert "Form sent" not in page and "Save draft" not in page


def test_support_queue_in_slovak_has_slovak_states_counts_and_headings(org, support, client):
    make_case(org, State.FORM_SENT)
    make_case(org, State.FORM_SUBMITTED, unread_by_support=True)
    client.force_login(support)
    page = main_of(in_language(client, "sk").get("/support/cases/"))
    assert "<h1>Front prípadov 10DLC</h1>" in page
    assert '<span class="state state-form_sent">Formulár odoslaný</span>' in page
    assert "2 prípady" in page  # Slovak's second plural form (2–4)
    assert '<span class="badge">Neprečítané</span>' in page
    for english in ("10DLC case queue", "Form sent", "Expected completion", "Unread", "No cases match."):
        assert english not in page


def test_a_timeline_entry_written_by_a_slovak_speaker_reads_in_french_for_the_customer(org, admin, support, client):
    """Stored in English whoever wrote it, shown in the reader's language (compliance.stored_texts)."""
    case = make_case(org, State.FORM_SUBMITTED, opened_by=admin)
    client.force_login(support)
    in_language(client, "sk").post(f"/support/cases/{case.pk}/submit-brand/", {"expected_state": State.FORM_SUBMITTED})
    event = case.events.get(to_state=State.BRAND_SUBMITTED)
    assert event.text == "Support is registering the brand with The Campaign Registry."
    client.force_login(admin)
    page = in_language(client, "fr-ca").get(f"/cases/{case.pk}/").content.decode()
    page = html.unescape(page)
    assert "L'assistance inscrit la marque auprès de The Campaign Registry." in page
    assert "Support is registering the brand" not in page


def test_stored_texts_with_values_and_plurals_are_recognised_in_each_language():
    text = stored_texts.store(stored_texts.OPENED_ADD, count=3, campaign="CACME01")
    assert text == "3 numbers to add to campaign CACME01."
    with translation.override("sk"):
        assert stored_texts.translate(text) == "3 čísla na pridanie do kampane CACME01."
        assert stored_texts.translate(stored_texts.store(stored_texts.OPENED_ADD, count=5, campaign="C1")) == (
            "5 čísel na pridanie do kampane C1."
        )
    approved = stored_texts.store(
        stored_texts.BRAND_APPROVED_IDENTITY,
        brand="BACME01",
        by=stored_texts.store(stored_texts.BY_REGISTRY),
        identity="VERIFIED",
    )
    with translation.override("fr-ca"):
        assert stored_texts.translate(approved) == (
            "Marque BACME01 approuvée (signalée par le registre). Statut de l'identité\u00a0: VERIFIED."
        )
        assert stored_texts.translate("A message the customer typed.") == "A message the customer typed."


def test_the_contact_email_is_in_the_portal_language_not_in_the_language_of_support(
    org, admin, support, client, django_capture_on_commit_callbacks
):
    """Support works in Slovak; the e-mail it causes goes to the customer in the portal's language."""
    case = make_case(org, State.OPENED, opened_by=admin)
    client.force_login(support)
    with django_capture_on_commit_callbacks(execute=True):
        in_language(client, "sk").post(f"/support/cases/{case.pk}/send-form/", {"expected_state": State.OPENED})
    case.refresh_from_db()
    assert case.state == State.FORM_SENT
    (message,) = mail.outbox
    assert message.subject == f"Action needed: complete the 10DLC registration form for case #{case.pk}"
    assert message.body.startswith("Hello Casey Contact,")


def test_the_contact_email_in_french_has_a_french_subject_and_body(org, admin, settings):
    settings.LANGUAGE_CODE = "fr-ca"
    case = make_case(org, State.FORM_SENT, opened_by=admin)
    assert notify_case_contact(case.pk, State.FORM_SENT)
    (message,) = mail.outbox
    assert message.subject == (
        f"Action requise\u00a0: remplissez le formulaire d'inscription 10DLC du dossier nº {case.pk}"
    )
    assert message.body.startswith("Bonjour Casey Contact,")
    assert f"votre dossier nº {case.pk} (Acme Test)" in message.body
    assert "Ouvrir le dossier\u00a0:" in message.body


def test_a_refusal_is_said_in_the_language_of_the_person_refused(org):
    """CaseRefused messages are shown at once, to whoever acted: in their language."""
    case = make_case(org, State.FORM_SENT)
    support = make_user(None, role=User.Role.SUPPORT, email="slovak-support@pstn.test")
    with translation.override("sk"), pytest.raises(actions.CaseRefused) as refused:
        actions.submit_brand(case, support)
    assert str(refused.value) == (
        "Tento prípad je v stave „Formulár odoslaný“: značku možno odoslať až potom, čo zákazník odoslal formulár."
    )
