"""In Chromium: the registration form's pre-submission checks follow what the customer types, before any save."""

import pytest
from playwright.sync_api import expect

from compliance import actions
from compliance.models import RegistrationCase
from portal.models import User
from tests.conftest import login
from tests.factories import make_org, make_user

from .factories import make_case

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_the_website_warning_follows_what_is_typed(page):
    org = make_org("Typing Corp")
    make_user(org, role=User.Role.FULL_ADMIN, email="admin@typing.test")
    support = make_user(None, role=User.Role.SUPPORT, email="support@typing.test")
    case = actions.send_registration_form(make_case(org, RegistrationCase.State.OPENED), support)
    login(page, "admin@typing.test")
    page.goto(f"/cases/{case.pk}/")
    checks = page.locator("#presubmission-warnings")
    website = page.get_by_label("Website", exact=True)
    expect(website).to_have_value("")
    expect(checks).not_to_contain_text("website")  # a fresh form: nothing typed, nothing to warn about

    website.fill("http://typing.example")
    expect(checks).to_contain_text("The website is not a valid https:// address")
    expect(page.locator("#id_website-warnings")).to_contain_text("Check: The website is not a valid https://")
    website.fill("https://www.typing.example")
    expect(checks).not_to_contain_text("website")
    expect(page.locator("#id_website-warnings")).to_have_text("")
    case.registration.refresh_from_db()
    assert case.registration.website == "" and case.registration.saved_at is None  # nothing was saved
