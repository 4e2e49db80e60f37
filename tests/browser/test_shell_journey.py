"""In a real browser: the Business Texting card appears for Acme (add-on licence) and not for Maple."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    settings.PORTAL_DEMO_PASSWORD = "browser-demo-pass"
    call_command("seed_demo", stdout=open("/dev/null", "w"))


def test_admin_sees_business_texting_card_and_checklist_only_with_addon(page, demo):
    login(page, "admin@acme.example", "browser-demo-pass")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calling").click()
    card = page.locator("#business-texting")
    card.get_by_role("heading", name="Business Texting").wait_for()
    checklist = card.get_by_role("list", name="Business Texting prerequisites")
    assert "Enterprise customer" in checklist.inner_text()
    assert checklist.locator("li.met").count() >= 4
    card.get_by_role("button", name="Manage").click()
    # expect() waits for the menu to open; a full administrator gets the link, not the disabled entry.
    authorize = card.get_by_role("menuitem", name="Authorize Business Texting")
    expect(authorize).to_be_visible()
    expect(authorize).to_have_attribute("href", reverse("provisioning:authorize"))
    page.screenshot(path="/tmp/texting-hub-acme-pstn.png", full_page=True)

    page.get_by_role("button", name="Sign out").click()
    login(page, "admin@maple.example", "browser-demo-pass")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calling").click()
    page.get_by_role("heading", name="PSTN connections").wait_for()
    assert page.locator("#business-texting").count() == 0
    assert "Toronto Clinic" in page.content()
