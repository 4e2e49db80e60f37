"""The whole 10DLC registration journey in headless Chromium, two people at once (two browser windows): the admin
opens a case, support sends the form, the admin fills and submits it, support submits the brand and the campaign,
the simulator approves each (calling the portal back; the support page refreshes itself by HTMX polling), support
assigns the numbers, and the case completes with the numbers registered in the campaign."""

import re

import pytest
from playwright.sync_api import expect

from compliance.models import RegistrationCase
from portal.models import User
from provisioning.models import PhoneNumber
from tests.conftest import login
from tests.factories import make_location, make_numbers, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

FORM = {
    "DBA name (doing business as)": "Acme",
    "Tax number": "12-3456789",
    "Street address": "100 Market St",
    "City": "San Francisco",
    "State / province": "CA",
    "Postal code": "94105",
    "Website": "https://www.acme.example",
    "Support phone": "415 555 0100",
    "Campaign description": "Acme support agents answer customers who contacted Acme support about their orders.",
    "Sample message 1": "Acme Support: your ticket 4512 was updated. Reply STOP to opt out.",
    "Sample message 2": "Hi, this is Dana from Acme Support. Your replacement part ships tomorrow.",
    "How end users opt in (message flow)": "Customers tick a box on the Acme support web form to get texts "
    "about their ticket.",
    "Opt-out reply": "Acme Support: you are unsubscribed and will get no more texts.",
    "Help reply": "Acme Support: call +1 415-555-0100 or visit https://www.acme.example/help.",
}
SELECTS = {
    "Entity type": "Private for-profit company",
    "Vertical (industry)": "Information technology",
    "Use case": "Customer care",
    "Expected monthly volume": "2,000 to 10,000 messages a month",
}


def test_registration_case_from_opening_to_registered_numbers(page, browser, live_server, carrier_sim, settings):
    settings.CARRIER_CALLBACK_BASE_URL = live_server.url  # the simulator calls the portal back when it decides
    carrier_sim.set_faults(delay_seconds=1.0)
    org = make_org("Acme Corp")
    numbers = make_numbers(make_location(org, "New York Office"), 3, texting_state=PhoneNumber.TextingState.AUTHORISED)
    make_user(org, role=User.Role.FULL_ADMIN, email="alex@acme.example")
    make_user(None, role=User.Role.SUPPORT, email="pat@pstn.example")
    admin = page
    support_window = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    support = support_window.new_page()
    support.set_default_timeout(10_000)

    # The admin opens a case for two of the three authorised numbers.
    login(admin, "alex@acme.example")
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Calling").click()
    card = admin.locator("#business-texting")
    card.get_by_role("button", name="Manage").click()
    card.get_by_role("menuitem", name="Open Cisco Calling Plan Support Case").click()
    admin.get_by_role("heading", name="Open Cisco Calling Plan Support Case").wait_for()
    admin.get_by_label(numbers[0].display).check()
    admin.get_by_label(numbers[2].display).check()
    admin.get_by_label("Contact name").fill("Alex Admin")
    admin.get_by_label("Note for support").fill("Please register our New York support lines.")
    admin.get_by_role("button", name="Open case").click()
    expect(admin.locator("#case-state")).to_have_text("Opened")
    case = RegistrationCase.objects.get()
    case_path = admin.url

    # Support finds it in the queue and sends the registration form.
    login(support, "pat@pstn.example")
    support.get_by_role("link", name="10DLC case queue").click()
    support.get_by_role("link", name=f"Case #{case.pk}").click()
    support.get_by_role("button", name="Send registration form").click()
    expect(support.locator("#case-state")).to_have_text("Form sent")

    # The admin fills in the form and submits it.
    admin.goto(case_path)
    expect(admin.locator("#case-state")).to_have_text("Form sent")
    for label, value in FORM.items():
        admin.get_by_label(label, exact=True).fill(value)
    for label, option in SELECTS.items():
        admin.get_by_label(label, exact=True).select_option(label=option)
    admin.get_by_role("button", name="Save draft").click()
    expect(admin.get_by_text("Draft saved.")).to_be_visible()
    admin.get_by_role("button", name="Submit form").click()
    expect(admin.locator("#case-state")).to_have_text("Form submitted")
    admin.screenshot(path="/tmp/texting-hub-case-form-submitted.png", full_page=True)

    # Support submits the brand; the simulator decides after a second and calls back; the page refreshes itself.
    support.reload()
    support.get_by_role("button", name="Submit brand").click()
    expect(support.locator("#case-state")).to_have_text("Brand submitted")
    expect(support.locator("#case-state")).to_have_text("Brand approved", timeout=15_000)
    support.get_by_role("button", name="Submit campaign").click()
    expect(support.locator("#case-state")).to_have_text("Campaign submitted")
    expect(support.locator("#case-state")).to_have_text("Campaign approved", timeout=15_000)
    support.get_by_role("button", name="Assign numbers").click()
    expect(support.locator("#case-state")).to_have_text("Completed")
    support.screenshot(path="/tmp/texting-hub-case-support-completed.png", full_page=True)

    # The admin sees the case completed and the numbers registered in the campaign.
    admin.goto(case_path)
    expect(admin.locator("#case-state")).to_have_text("Completed")
    table = admin.get_by_role("table", name="Numbers in this case")
    expect(table).to_contain_text(numbers[0].display)
    expect(table.get_by_text("Registered in campaign")).to_have_count(2)
    expect(admin.get_by_role("list", name="Timeline")).to_contain_text(re.compile(r"confirmed 2 numbers in campaign C"))
    admin.screenshot(path="/tmp/texting-hub-case-completed.png", full_page=True)
    support_window.close()

    registered = set(
        PhoneNumber.objects.filter(texting_state=PhoneNumber.TextingState.REGISTERED).values_list("pk", flat=True)
    )
    assert registered == {numbers[0].pk, numbers[2].pk}
    assert carrier_sim.stats()["callbacks_sent"] >= 2 and carrier_sim.stats()["duplicate_submissions"] == 0
