"""The whole Authorize Business Texting journey in headless Chromium, as admin@acme.example: choose a location,
search, select three numbers across two pages, Next, read the summary, submit, watch them become authorised."""

import re

import pytest
from django.core.management import call_command

from provisioning.models import AuthorisationOrder, PhoneNumber
from tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_admin_authorises_three_numbers_across_two_pages(page, live_server, carrier_sim, settings):
    settings.DEBUG = True
    settings.PORTAL_DEMO_PASSWORD = "browser-demo-pass"
    settings.CARRIER_CALLBACK_BASE_URL = live_server.url  # the simulator calls the portal back when it decides
    carrier_sim.set_faults(delay_seconds=1.0)
    call_command("seed_demo", stdout=open("/dev/null", "w"))

    login(page, "admin@acme.example", "browser-demo-pass")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calling").click()
    card = page.locator("#business-texting")
    card.get_by_role("button", name="Manage").click()
    card.get_by_role("menuitem", name="Authorize Business Texting").click()
    page.get_by_role("heading", name="Authorize Business Texting").wait_for()

    page.get_by_label("Cisco Calling Plan location").select_option(label="San Francisco HQ (San Francisco, US)")
    page.get_by_text("800 numbers can be authorised").wait_for()
    steps = page.get_by_role("list", name="Steps")
    assert steps.locator("[aria-current=step]").inner_text() == "Select numbers"
    # Back to no location, and to this one again: the page stays one page, its steps follow.
    page.get_by_label("Cisco Calling Plan location").select_option(label="Choose a location…")
    page.get_by_text("Choose a location to list the numbers").wait_for()
    assert page.get_by_role("heading", name="Authorize Business Texting").count() == 1
    assert steps.locator("[aria-current=step]").inner_text() == "Choose location"
    page.get_by_label("Cisco Calling Plan location").select_option(label="San Francisco HQ (San Francisco, US)")
    page.get_by_text("800 numbers can be authorised").wait_for()
    next_button = page.locator("#wizard-selection").get_by_role("button", name="Next")
    assert next_button.is_disabled()

    # Search, then tick one number from the results.
    page.get_by_label("Search numbers by digits").fill("4155550012")
    page.get_by_text("1 number can be authorised").wait_for()
    page.get_by_label("Select +1 415-555-0012").check()
    page.get_by_text("1 number selected").wait_for()
    # Changed their mind: the bar offers to clear the selection as soon as something is ticked (htmx: no reload).
    page.evaluate("window.sameDocument = true")
    page.locator("#wizard-selection").get_by_role("button", name="Clear selection").click()
    page.get_by_text("0 numbers selected").wait_for()
    assert page.evaluate("window.sameDocument === true"), "clearing reloaded the page instead of swapping the list"
    assert not page.get_by_label("Select +1 415-555-0012").is_checked()
    assert page.locator("#wizard-selection").get_by_role("button", name="Clear selection").count() == 0
    page.get_by_label("Select +1 415-555-0012").check()
    page.get_by_text("1 number selected").wait_for()

    # Clear the search, tick one number on page 1 and one on page 2.
    page.get_by_label("Search numbers by digits").fill("")
    page.get_by_text("800 numbers can be authorised").wait_for()
    assert page.get_by_label("Select +1 415-555-0012").is_checked()  # the selection survived the search
    page.get_by_label("Select +1 415-555-0003").check()
    page.get_by_text("2 numbers selected").wait_for()
    page.get_by_role("link", name="Next ›").click()
    page.get_by_text("Page 2 of 16").wait_for()
    page.get_by_label("Select +1 415-555-0077").check()
    page.get_by_text("3 numbers selected").wait_for()
    page.screenshot(path="/tmp/texting-hub-authorize-step2.png", full_page=True)

    page.locator("#wizard-selection").get_by_role("link", name="Next").click()
    page.get_by_role("heading", name="Order summary").wait_for()
    summary = page.get_by_role("table", name="Numbers ordered").inner_text()
    for number in ("+1 415-555-0003", "+1 415-555-0012", "+1 415-555-0077"):
        assert number in summary
    assert page.locator("#summary-count").inner_text() == "3"
    page.screenshot(path="/tmp/texting-hub-authorize-summary.png", full_page=True)
    page.get_by_role("button", name="Submit order").click()

    page.get_by_role("heading", name=re.compile(r"Authorisation order #\d+")).wait_for()
    page.get_by_text("Order placed: 3 numbers").wait_for()
    # The live part polls itself until the carrier (1 s later, by callback) has answered.
    page.locator("#order-status", has_text="Completed").wait_for(timeout=20_000)
    assert "3 of 3 answered · 3 authorised · 0 failed" in page.locator("#order-counts").inner_text()
    results = page.get_by_role("table", name="Numbers in this order").inner_text()
    assert results.count("Authorised") == 3
    page.screenshot(path="/tmp/texting-hub-authorize-done.png", full_page=True)

    order = AuthorisationOrder.objects.get()
    assert order.number_count == 3 and order.status == AuthorisationOrder.Status.COMPLETED
    assert set(PhoneNumber.objects.filter(texting_state="authorised").values_list("e164", flat=True)) >= {
        "+14155550003",
        "+14155550012",
        "+14155550077",
    }

    # Reload and back do not place the order again.
    page.reload()
    page.go_back()
    assert AuthorisationOrder.objects.count() == 1
