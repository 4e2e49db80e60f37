"""10DLC cases end to end in headless Chromium, two people at once (two browser windows), through a real Celery
worker on Redis and the carrier simulator calling the portal back:

- a first registration: the admin opens a case, support sends the form, the admin fills and submits it, support
  submits the brand and the campaign, the registry approves each (the pages refresh themselves), support assigns the
  numbers, and the case completes with the numbers registered in the campaign;
- adding numbers to that approved campaign later: the admin authorises new numbers, opens a case of that kind (no
  form), support assigns them, the case completes, and the carrier saw no new brand or campaign submission.

Screenshots land in /tmp/texting-hub-*.png."""

import re
import time

import pytest
from playwright.sync_api import expect

from compliance import actions
from compliance.models import Brand, Campaign, RegistrationCase
from portal.models import User
from provisioning.models import PhoneNumber
from tests.compliance.factories import make_case
from tests.conftest import login
from tests.factories import make_location, make_numbers, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

State = RegistrationCase.State
REGISTERED = "Registered in campaign"

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


@pytest.fixture
def carrier(postgres, celery_worker, carrier_sim, live_server, settings):
    """The simulator deciding after a second and calling the portal (live_server) back; tasks go to the worker.
    PostgreSQL: on SQLite the worker, the live server and the test write at once and SQLite locks them out."""
    settings.CARRIER_CALLBACK_BASE_URL = live_server.url
    carrier_sim.set_faults(delay_seconds=1.0)
    return carrier_sim


@pytest.fixture
def support_page(browser, live_server):
    """A second browser window, for Cisco PSTN support."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def open_manage_menu_item(page, item):
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calling").click()
    card = page.locator("#business-texting")
    card.get_by_role("button", name="Manage").click()
    card.get_by_role("menuitem", name=item).click()
    page.get_by_role("heading", name=item).wait_for()


def open_support_case(support, case):
    support.get_by_role("link", name="10DLC case queue").click()
    support.get_by_role("link", name=f"Case #{case.pk}").click()


def numbers_on_location_page(page, location):
    """{number as shown: its Business Texting state} on the location's page, as the customer sees them."""
    page.goto(f"/locations/{location.pk}/")
    rows = page.locator("#number-rows tbody tr")
    rows.first.wait_for()
    headers = [text.strip().lower() for text in page.locator("#number-rows thead th").all_inner_texts()]
    number, state = headers.index("number"), headers.index("business texting")  # (CSS shows them in capitals)
    return {row.locator("td").nth(number).inner_text(): row.locator("td").nth(state).inner_text() for row in rows.all()}


def test_first_registration_from_opening_to_registered_numbers(page, support_page, carrier):
    org = make_org("Acme Corp")
    office = make_location(org, "New York Office")
    numbers = make_numbers(office, 3, texting_state=PhoneNumber.TextingState.AUTHORISED)
    make_user(org, role=User.Role.FULL_ADMIN, email="alex@acme.example")
    make_user(None, role=User.Role.SUPPORT, email="pat@pstn.example")
    admin, support = page, support_page

    # The admin opens a first-registration case for two of the three authorised numbers.
    login(admin, "alex@acme.example")
    open_manage_menu_item(admin, "Open Cisco Calling Plan Support Case")
    expect(admin.locator("#case-kinds [aria-current=true]")).to_have_text("First registration: brand and campaign")
    admin.get_by_label(numbers[0].display).check()
    admin.get_by_label(numbers[2].display).check()
    admin.get_by_label("Contact name").fill("Alex Admin")
    admin.get_by_label("Note for support").fill("Please register our New York support lines.")
    admin.get_by_role("button", name="Open case").click()
    expect(admin.locator("#case-state")).to_have_text("Opened")
    case = RegistrationCase.objects.get()
    assert case.kind == RegistrationCase.Kind.FIRST_REGISTRATION
    case_path = admin.url

    # Support finds it in the queue and sends the registration form.
    login(support, "pat@pstn.example")
    open_support_case(support, case)
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

    # Support submits the brand: the worker sends it, the registry decides a second later and calls back. Both
    # pages, left alone, refresh themselves (HTMX polling) when the decision lands.
    support.reload()
    support.get_by_role("button", name="Submit brand").click()
    expect(support.locator("#case-state")).to_have_text("Brand submitted")
    admin.reload()
    expect(admin.get_by_text("Waiting for the carrier · this page updates by itself")).to_be_visible()
    expect(support.locator("#case-state")).to_have_text("Brand approved", timeout=20_000)
    expect(admin.locator("#case-state")).to_have_text("Brand approved", timeout=20_000)
    support.get_by_role("button", name="Submit campaign").click()
    expect(support.locator("#case-state")).to_have_text("Campaign submitted")
    expect(support.locator("#case-state")).to_have_text("Campaign approved", timeout=20_000)
    support.get_by_role("button", name="Assign numbers").click()
    expect(support.locator("#case-state")).to_have_text("Completed", timeout=20_000)
    support.screenshot(path="/tmp/texting-hub-case-support-completed.png", full_page=True)

    # The admin sees the case completed and the numbers registered in the campaign, on the case and the location.
    admin.goto(case_path)
    expect(admin.locator("#case-state")).to_have_text("Completed")
    table = admin.get_by_role("table", name="Numbers in this case")
    expect(table).to_contain_text(numbers[0].display)
    expect(table.get_by_text(REGISTERED)).to_have_count(2)
    expect(admin.get_by_role("list", name="Timeline")).to_contain_text(re.compile(r"confirmed 2 numbers in campaign C"))
    admin.screenshot(path="/tmp/texting-hub-case-completed.png", full_page=True)
    assert numbers_on_location_page(admin, office) == {
        numbers[0].display: REGISTERED,
        numbers[1].display: "Authorised",
        numbers[2].display: REGISTERED,
    }

    stats = carrier.stats()
    assert stats["writes_created"]["brands"] == 1 and stats["writes_created"]["campaigns"] == 1
    assert stats["callbacks_sent"] >= 2 and stats["duplicate_submissions"] == 0


# --- adding numbers to the approved campaign ---------------------------------------------------------------------


def wait_for_state(case, state, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        case.refresh_from_db()
        if case.state == state:
            return
        time.sleep(0.1)
    pytest.fail(f"case #{case.pk} stayed {case.state} (expected {state}); carrier: {case.carrier_problem}")


def registered_brand_and_campaign(org, location, support):
    """The organisation's first registration done through the actions, the worker and the simulator (the browser
    journey above walks the same path): a brand and an active campaign that the carrier knows, two numbers in it."""
    case = make_case(
        org,
        State.FORM_SUBMITTED,
        numbers=make_numbers(location, 2, texting_state=PhoneNumber.TextingState.AUTHORISED),
        brand_registry_id="",
    )
    actions.submit_brand(case, support)
    wait_for_state(case, State.BRAND_APPROVED)
    actions.submit_campaign(case, support)
    wait_for_state(case, State.CAMPAIGN_APPROVED)
    actions.assign_numbers(case, support)
    wait_for_state(case, State.COMPLETED)
    campaign = Campaign.objects.get(organisation=org)
    assert campaign.status == Campaign.Status.ACTIVE and campaign.registry_id
    return campaign


def test_adding_new_numbers_to_the_approved_campaign(page, support_page, carrier):
    org = make_org("Acme Corp")
    make_user(org, role=User.Role.FULL_ADMIN, email="alex@acme.example")
    support_user = make_user(None, role=User.Role.SUPPORT, email="pat@pstn.example")
    campaign = registered_brand_and_campaign(org, make_location(org, "New York Office"), support_user)
    boston = make_location(org, "Boston Office")
    # New numbers, not authorised yet (none ends in 0000: the carrier refuses to authorise those).
    new_numbers = make_numbers(boston, 3, start=1)
    before = carrier.stats()
    admin, support = page, support_page

    # The admin authorises two of the new numbers for business texting (the carrier answers by callback).
    login(admin, "alex@acme.example")
    open_manage_menu_item(admin, "Authorize Business Texting")
    admin.get_by_label("Cisco Calling Plan location").select_option(label="Boston Office (Springfield, US)")
    admin.get_by_text("3 numbers can be authorised").wait_for()
    admin.get_by_label(f"Select {new_numbers[0].display}").check()
    admin.get_by_label(f"Select {new_numbers[1].display}").check()
    admin.get_by_text("2 numbers selected").wait_for()
    admin.locator("#wizard-selection").get_by_role("link", name="Next").click()
    admin.get_by_role("button", name="Submit order").click()
    admin.locator("#order-status", has_text="Completed").wait_for(timeout=20_000)

    # Manage → Open Cisco Calling Plan Support Case offers the kinds; the admin adds the numbers to the campaign.
    open_manage_menu_item(admin, "Open Cisco Calling Plan Support Case")
    kinds = admin.locator("#case-kinds")
    # With an active campaign, the page starts on adding numbers to it.
    expect(kinds.locator("[aria-current=true]")).to_have_text("Add numbers to an approved campaign")
    expect(kinds).to_contain_text("only for another legal entity: your brand is already registered")
    admin.screenshot(path="/tmp/texting-hub-case-open-kinds.png", full_page=True)
    choice = admin.get_by_label("Campaign", exact=True)
    expect(choice.locator("option:checked")).to_contain_text(campaign.registry_id)
    expect(admin.get_by_role("heading", name=f"Numbers to add to campaign {campaign}")).to_be_visible()
    listed = admin.get_by_role("table", name="Authorised numbers")
    expect(listed.locator("tbody tr")).to_have_count(2)  # the new authorised numbers only, not the campaign's own
    admin.screenshot(path="/tmp/texting-hub-case-open-add-numbers.png", full_page=True)
    admin.get_by_label(new_numbers[0].display).check()
    admin.get_by_label(new_numbers[1].display).check()
    admin.get_by_role("button", name="Open case").click()
    expect(admin.locator("#case-state")).to_have_text("Opened")
    expect(admin.get_by_role("heading", level=1)).to_have_text(re.compile(r"Add numbers to an approved campaign$"))
    expect(admin.get_by_text("no new registration form is needed", exact=False)).to_be_visible()
    expect(admin.locator("#registration-form")).to_contain_text(
        "No registration form is needed: this case adds the numbers below to campaign"
    )
    steps = admin.get_by_role("list", name="Registration steps").get_by_role("listitem")
    expect(steps).to_have_text(["Opened", "Numbers", "Completed"])
    admin.screenshot(path="/tmp/texting-hub-case-add-numbers-customer.png", full_page=True)
    case = RegistrationCase.objects.get(kind=RegistrationCase.Kind.ADD_NUMBERS)
    case_path = admin.url

    # Support opens the case: nothing to send or submit, only the numbers to assign.
    login(support, "pat@pstn.example")
    open_support_case(support, case)
    actions_card = support.locator("#case-actions")
    expect(actions_card.get_by_role("button", name="Assign numbers")).to_be_visible()
    for absent in ("Send registration form", "Submit brand", "Submit campaign"):
        expect(actions_card.get_by_role("button", name=absent)).to_have_count(0)
    expect(support.locator("#registration-form")).to_contain_text("None needed: this case only adds numbers")
    support.screenshot(path="/tmp/texting-hub-case-add-numbers-support.png", full_page=True)
    actions_card.get_by_role("button", name="Assign numbers").click()
    expect(support.locator("#case-state")).to_have_text("Completed", timeout=20_000)
    support.screenshot(path="/tmp/texting-hub-case-add-numbers-support-completed.png", full_page=True)

    # The admin sees the case completed and the new numbers registered in the same campaign.
    admin.goto(case_path)
    expect(admin.locator("#case-state")).to_have_text("Completed")
    table = admin.get_by_role("table", name="Numbers in this case")
    expect(table.get_by_text(REGISTERED)).to_have_count(2)
    admin.screenshot(path="/tmp/texting-hub-case-add-numbers-completed.png", full_page=True)
    assert numbers_on_location_page(admin, boston) == {
        new_numbers[0].display: REGISTERED,
        new_numbers[1].display: REGISTERED,
        new_numbers[2].display: "Not authorised",
    }

    # The carrier registered no brand and no campaign for this: the numbers joined the one it already had.
    after = carrier.stats()
    for kind in ("brands", "campaigns"):
        assert after["writes_created"][kind] - before["writes_created"][kind] == 0, kind
    assert after["requests"].get("POST /v1/campaigns/{id}/numbers", 0) > before["requests"].get(
        "POST /v1/campaigns/{id}/numbers", 0
    )
    assert Brand.objects.filter(organisation=org).count() == 1
    assert Campaign.objects.filter(organisation=org).count() == 1
    assert set(campaign.campaign_numbers.values_list("number_id", flat=True)) >= {n.pk for n in new_numbers[:2]}
