"""The sign-in page says what is wrong with every refused submission, not only with wrong credentials (found by
tests/security/test_fuzzing.py: a missing password or a NUL in the email re-showed the form with no message)."""

import pytest
from django.urls import reverse

from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "form, shown",
    [
        ({"username": "admin@acme.test"}, "Password: This field is required."),
        ({"password": "whatever"}, "This field is required."),
        ({"username": "a\x00b@acme.test", "password": "whatever"}, "Null characters are not allowed."),
    ],
)
def test_a_refused_sign_in_always_says_why(client, admin, form, shown):
    response = client.post(reverse("login"), form)
    page = response.content.decode()
    assert response.status_code == 200 and 'role="alert"' in page and shown in page
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.exclude(action="auth.login_failed").exists()


def test_wrong_credentials_still_get_the_usual_message(client, admin):
    response = client.post(reverse("login"), {"username": admin.email, "password": "not-it"})
    assert "Please enter a correct" in response.content.decode()


@pytest.mark.parametrize("username", ["a" * 1_000_000 + "@acme.test", "a" * 245 + "@acme.test"])
def test_an_email_longer_than_any_account_is_refused_and_not_echoed(client, admin, username):
    """Issue 14.4: a megabyte typed as the email came back inside the sign-in page."""
    response = client.post(reverse("login"), {"username": username, "password": "whatever"})
    page = response.content.decode()
    assert response.status_code == 200 and "An email address has at most 254 characters." in page
    assert "a" * 255 not in page and len(page) < 20_000
    assert "_auth_user_id" not in client.session


def test_an_email_of_the_longest_length_is_still_echoed_to_correct(client, admin):
    username = "a" * 244 + "@acme.test"
    response = client.post(reverse("login"), {"username": username, "password": "whatever"})
    assert f'value="{username}"' in response.content.decode()
