"""Password guessing is throttled (django-axes): 5 wrong passwords for one email from one address lock that pair for
15 minutes with a page that says until when; every failed sign-in is in the audit log."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from portal.models import AuditEvent, User
from tests.factories import PASSWORD, make_org, make_user

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture
def victim(db):
    return make_user(make_org("Throttle Test"), role=User.Role.FULL_ADMIN, email="victim@throttle.test")


def sign_in(client, email, password, ip="203.0.113.7"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_five_wrong_passwords_lock_the_sign_in_even_with_the_right_password(client, victim):
    assert settings.AXES_FAILURE_LIMIT == 5
    for attempt in range(4):
        response = sign_in(client, victim.email, f"wrong-{attempt}")
        assert response.status_code == 200 and "Please enter a correct" in response.content.decode()
    fifth = sign_in(client, victim.email, "wrong-4")
    assert fifth.status_code == 429

    response = sign_in(client, victim.email, PASSWORD)
    page = response.content.decode()
    assert response.status_code == 429 and not signed_in(client)
    assert "Sign-in temporarily locked" in page and "Try again in 15 minutes" in page
    assert response["Retry-After"] == str(15 * 60)
    # The failed sign-ins are in the audit log, naming the email that was tried.
    failed = AuditEvent.objects.filter(action="auth.login_failed")
    assert failed.count() >= 5
    assert {event.details["attempted_email"] for event in failed} == {victim.email}


def test_the_lock_is_per_email_and_address_and_ignores_letter_case(client, victim):
    for attempt in range(5):
        sign_in(client, victim.email.upper() if attempt % 2 else victim.email, f"wrong-{attempt}")
    assert sign_in(client, victim.email, PASSWORD).status_code == 429

    # The owner signing in from another address is not locked out by the guesser.
    elsewhere = Client()
    response = sign_in(elsewhere, victim.email, PASSWORD, ip="198.51.100.20")
    assert response.status_code == 302 and signed_in(elsewhere)


def test_the_lock_lifts_after_the_cool_off(client, victim):
    for attempt in range(5):
        sign_in(client, victim.email, f"wrong-{attempt}")
    with time_machine.travel(timezone.now() + timedelta(minutes=14), tick=False):
        assert sign_in(Client(), victim.email, PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=14 + 16), tick=False):
        later = Client()
        assert sign_in(later, victim.email, PASSWORD).status_code == 302 and signed_in(later)


def test_a_right_password_resets_the_count(client, victim):
    for attempt in range(4):
        sign_in(client, victim.email, f"wrong-{attempt}")
    assert sign_in(client, victim.email, PASSWORD).status_code == 302
    client.logout()
    for attempt in range(4):
        assert sign_in(client, victim.email, f"again-{attempt}").status_code == 200
    assert sign_in(client, victim.email, PASSWORD).status_code == 302
