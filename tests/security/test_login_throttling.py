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


# --- one address trying many accounts (a password sprayed over them) ----------------------------------------------


def spray(client, count, ip="203.0.113.7", password="Spring2026!"):
    """One password tried once on each of `count` accounts from one address; the answers."""
    org = make_org("Spray Target")
    emails = [make_user(org, role=User.Role.FULL_ADMIN, email=f"person{i}@spray.test").email for i in range(count)]
    return [sign_in(client, email, password, ip=ip) for email in emails]


def test_one_address_failing_on_many_accounts_is_locked_but_the_owner_elsewhere_is_not(client, victim):
    limit = settings.SIGN_IN_CLIENT_FAILURE_LIMIT
    assert limit == 20  # the documented default
    answers = spray(client, limit)
    assert [a.status_code for a in answers[:-1]] == [200] * (limit - 1)  # each account saw one wrong password only
    assert answers[-1].status_code == 429

    # From that address even a right password is refused now, with a page saying which lock this is.
    response = sign_in(client, victim.email, PASSWORD)
    page = response.content.decode()
    assert response.status_code == 429 and not signed_in(client)
    assert f"There were {limit} failed sign-ins from your network, for several accounts" in page
    assert "Try again in 15 minutes" in page and response["Retry-After"] == str(15 * 60)

    # The owner of the account, signing in from their own address, is not slowed at all.
    elsewhere = Client()
    response = sign_in(elsewhere, victim.email, PASSWORD, ip="198.51.100.20")
    assert response.status_code == 302 and signed_in(elsewhere)

    # The lockout is in the audit log once, with the lock and the address.
    [locked] = AuditEvent.objects.filter(action="auth.locked_out")
    assert locked.details["lock"] == "client" and locked.details["client"] == "203.0.113.7"


def test_the_address_lock_lifts_after_the_cool_off(client, victim):
    spray(client, settings.SIGN_IN_CLIENT_FAILURE_LIMIT)
    assert sign_in(Client(), victim.email, PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        later = Client()
        assert sign_in(later, victim.email, PASSWORD).status_code == 302 and signed_in(later)


def test_an_account_lockout_is_audited_once(client, victim):
    for attempt in range(7):
        sign_in(client, victim.email, f"wrong-{attempt}")
    [locked] = AuditEvent.objects.filter(action="auth.locked_out")
    assert locked.details == {"lock": "account", "attempted_email": victim.email, "client": "203.0.113.7"}
