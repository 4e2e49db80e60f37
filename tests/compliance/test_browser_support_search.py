"""In Chromium: support types a phone number into the queue's search box and the list follows (HTMX, no reload);
then takes the case with *Assign to me*."""

import pytest
from playwright.sync_api import expect

from compliance.models import RegistrationCase
from portal.models import User
from provisioning.models import PhoneNumber
from tests.conftest import login
from tests.factories import make_location, make_org, make_user

from .factories import make_case

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_typing_a_number_narrows_the_queue_and_support_takes_the_case(page):
    org = make_org("Search Corp")
    location = make_location(org)
    wanted = PhoneNumber.objects.create(e164="+15125550142", location=location, texting_state="authorised")
    other = PhoneNumber.objects.create(e164="+15125550999", location=location, texting_state="authorised")
    case = make_case(org, RegistrationCase.State.FORM_SUBMITTED, numbers=[wanted], unread_by_support=True)
    elsewhere = make_case(org, RegistrationCase.State.FORM_SENT, numbers=[other])
    support = make_user(None, role=User.Role.SUPPORT, email="support@search.test")
    login(page, "support@search.test")
    page.goto("/support/cases/")
    rows = page.locator("#queue tbody")
    expect(rows).to_contain_text(f"Case #{elsewhere.pk}")
    expect(page.locator("#queue tr.unread")).to_contain_text(f"Case #{case.pk}")  # bold: the customer submitted

    page.get_by_role("searchbox", name="Search").press_sequentially("(512) 555-0142", delay=20)
    expect(rows).not_to_contain_text(f"Case #{elsewhere.pk}")
    expect(rows).to_contain_text(f"Case #{case.pk}")
    expect(page.locator("#queue")).to_contain_text("searched for the number +15125550142")
    assert "q=" in page.url  # the search is in the address: bookmarkable

    page.get_by_role("link", name=f"Case #{case.pk}").click()
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("#owner")).to_contain_text("You own this case.")
    case.refresh_from_db()
    assert case.owner == support and not case.unread_by_support
