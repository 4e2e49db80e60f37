"""The language a user chooses in the user menu: remembered on the user, audited, applied on every page they open
(over the language cookie and the browser's Accept-Language), and nobody else's pages change. Anonymous pages follow
the cookie, then Accept-Language."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import AuditEvent, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("compiled_catalogues")


def choose(client, language, next_url="/overview/"):
    return client.post(reverse("portal:set_language"), {"language": language, "next": next_url})


def test_a_user_who_chooses_french_gets_french_pages_and_the_choice_is_audited(admin_client, admin):
    response = choose(admin_client, "fr-ca")
    assert response.status_code == 302 and response["Location"] == "/overview/"
    admin.refresh_from_db()
    assert admin.language == "fr-ca"
    page = admin_client.get("/overview/")
    html = page.content.decode()
    assert '<html lang="fr-ca">' in html
    assert "<h1>Aperçu</h1>" in html and "<h1>Overview</h1>" not in html
    assert "Heures en UTC" in html  # the time zone is said, in French
    assert "Langue changée : Français (Canada)." in html  # the confirmation, in the new language
    assert page["Content-Language"] == "fr-ca"
    event = AuditEvent.objects.get(action="user.language_changed")
    assert event.actor == admin and event.details == {"previous": "", "language": "fr-ca"}


def test_another_user_of_the_same_organisation_keeps_english(admin_client, readonly_client):
    choose(admin_client, "fr-ca")
    html = readonly_client.get("/overview/").content.decode()
    assert "<h1>Overview</h1>" in html and "Aperçu" not in html


def test_an_unknown_language_is_refused_with_a_message_and_nothing_saved(admin_client, admin):
    response = choose(admin_client, "xx")
    assert response.status_code == 302
    admin.refresh_from_db()
    assert admin.language == ""
    assert not AuditEvent.objects.filter(action="user.language_changed").exists()
    assert settings_cookie(response) is None
    html = admin_client.get("/overview/").content.decode()
    assert "Choose one of the languages offered." in html and "<h1>Overview</h1>" in html


def settings_cookie(response):
    from django.conf import settings

    return response.cookies.get(settings.LANGUAGE_COOKIE_NAME)


def test_choosing_is_a_post_with_csrf(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert client.get(reverse("portal:set_language")).status_code == 405
    assert choose(client, "sk").status_code == 403
    admin.refresh_from_db()
    assert admin.language == ""


def test_an_address_elsewhere_is_not_followed(admin_client):
    response = choose(admin_client, "sk", next_url="https://evil.example/")
    assert response["Location"] == reverse("home")


def test_the_users_choice_wins_over_cookie_and_accept_language(admin_client, admin):
    User.objects.filter(pk=admin.pk).update(language="sk")
    admin_client.cookies["django_language"] = "fr-ca"
    html = admin_client.get("/overview/", HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.9").content.decode()
    assert "<h1>Prehľad</h1>" in html


def test_the_choice_applies_from_sign_in(db, admin):
    User.objects.filter(pk=admin.pk).update(language="fr-ca")
    client = Client()
    login = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Sign in to Control Hub" in login.content.decode()  # anonymous: the browser's language
    response = client.post(reverse("login"), {"username": admin.email, "password": PASSWORD}, follow=True)
    html = response.content.decode()
    assert "<h1>Aperçu</h1>" in html
    # No language cookie on this client: the French comes from the user alone.
    assert "Se déconnecter" in html


def test_anonymous_pages_follow_the_cookie_then_accept_language(client):
    assert "Se connecter" in client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fr-CA").content.decode()
    assert "Prihlásiť sa" in client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="sk").content.decode()
    client.cookies["django_language"] = "sk"
    assert "Prihlásiť sa" in client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fr-CA").content.decode()


def test_signing_out_after_choosing_leaves_the_sign_in_page_in_that_language(admin_client):
    choose(admin_client, "sk")
    admin_client.post(reverse("logout"))
    assert "Prihlásenie do Control Hubu" in admin_client.get(reverse("login")).content.decode()


def test_dates_are_written_as_each_language_writes_them(admin_client, admin, org):
    AuditEvent.objects.create(
        actor=admin,
        actor_email=admin.email,
        organisation=org,
        action="auth.login",
        created=datetime.datetime(2026, 3, 4, 5, 6, tzinfo=datetime.UTC),
    )
    assert "2026-03-04 05:06 UTC" in admin_client.get("/audit/").content.decode()
    choose(admin_client, "sk")
    html = admin_client.get("/audit/").content.decode()
    assert "4. 3. 2026 05:06 UTC" in html
    assert "Prihlásenie" in html and "auth.login" in html  # the event's label translated, its code kept


def test_choice_labels_are_shown_in_the_readers_language(org):
    from django.utils import translation

    from provisioning.models import PhoneNumber
    from tests.factories import make_location, make_numbers

    number = make_numbers(make_location(org, "Site"), 1)[0]
    number.texting_state = PhoneNumber.TextingState.PENDING
    with translation.override("fr-ca"):
        assert number.get_texting_state_display() == "Autorisation en attente"
    with translation.override("sk"):
        assert number.get_texting_state_display() == "Autorizácia čaká"
    with translation.override("en"):
        assert number.get_texting_state_display() == "Authorisation pending"
    number.texting_state = "no_such_state"
    assert number.get_texting_state_display() == "no_such_state"
