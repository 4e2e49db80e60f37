"""Keyboard only, in headless Chromium (WCAG 2.1.1, 2.4.1, 2.4.3, 2.4.7): no mouse click anywhere. A full administrator
signs in, skips the navigation with the skip link, opens the Business Texting card's Manage menu with Enter and with
Space, moves through it with the arrow keys, closes it with Escape (focus back on the button) and with Tab, and goes
through the Authorize wizard: chooses a location, ticks numbers (each new count in a live region that a screen reader
reads out), reaches Next, reads the summary, submits the order. At every stop the focused element shows a visible focus
indicator. A read-only administrator's disabled entries are reached but do nothing."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from provisioning.models import AuthorisationOrder

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-demo-pass"
FOCUSED = """() => {
  const el = document.activeElement, style = getComputedStyle(el), box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), id: el.id, role: el.getAttribute("role") || "", name: el.name || "",
    type: el.type || "", text: (el.innerText || el.getAttribute("aria-label") || el.value || "").trim().slice(0, 60),
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 1,
    shadow: style.boxShadow !== "none", shown: box.width > 0 && box.height > 0,
    disabled: el.getAttribute("aria-disabled") === "true",
  };
}"""


@pytest.fixture
def demo(settings, live_server, carrier_sim):
    settings.DEBUG = True
    settings.PORTAL_DEMO_PASSWORD = PASSWORD
    settings.CARRIER_CALLBACK_BASE_URL = live_server.url
    call_command("seed_demo", stdout=open("/dev/null", "w"))


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def assert_focus_visible(page, where: str) -> dict:
    now = focused(page)
    assert now["tag"] != "body", f"{where}: focus was lost (on <body>)"
    assert now["shown"] and (now["outline"] or now["shadow"]), f"{where}: no visible focus on {now}"
    return now


def tab_to(page, wanted, what: str, limit: int = 150, key: str = "Tab") -> dict:
    """Press Tab until `wanted(focused)` holds, checking at every stop that the focus is visible."""
    for _ in range(limit):
        page.keyboard.press(key)
        now = assert_focus_visible(page, f"tabbing to {what}")
        if wanted(now):
            return now
    raise AssertionError(f"{limit} presses of {key} never reached {what}")


def sign_in(page, email):
    page.goto("/accounts/login/")
    assert focused(page)["id"] == "id_username"  # the email field has the focus from the start
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/login" not in url)


def manage_button(page):
    return page.locator("#business-texting summary")


def test_admin_walks_the_manage_menu_and_the_authorize_wizard_with_the_keyboard(page, demo):
    sign_in(page, "admin@acme.example")
    page.goto("/calling/pstn/")

    # Skip link: the first Tab stop, shown when focused; it lands in the main content, past the navigation.
    skip = tab_to(page, lambda f: True, "the skip link", limit=1)
    assert skip["tag"] == "a" and skip["text"] == "Skip to main content"
    box = page.locator(".skip-link").bounding_box()
    assert box["y"] >= 0 and box["height"] > 0, "the skip link stays off screen when focused"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "content"
    first_in_main = tab_to(page, lambda f: True, "the first control in the main content", limit=1)
    assert first_in_main["text"] == "PSTN", f"Tab after the skip link went to {first_in_main}"

    # The Manage menu: a menu button.
    button = manage_button(page)
    tab_to(page, lambda f: f["tag"] == "summary", "the Manage button")
    expect(button).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    now = assert_focus_visible(page, "menu opened with Enter")
    assert (now["role"], now["text"]) == ("menuitem", "Authorize Business Texting")
    page.keyboard.press("ArrowDown")
    assert assert_focus_visible(page, "Arrow Down")["text"] == "Open Cisco Calling Plan Support Case"
    page.keyboard.press("ArrowDown")  # wraps round
    assert assert_focus_visible(page, "Arrow Down at the end")["text"] == "Authorize Business Texting"
    page.keyboard.press("ArrowUp")
    assert assert_focus_visible(page, "Arrow Up")["text"] == "Open Cisco Calling Plan Support Case"
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("menuitem", name="Authorize Business Texting")).to_be_hidden()
    assert assert_focus_visible(page, "Escape")["tag"] == "summary", "Escape did not give the focus back to Manage"

    page.keyboard.press(" ")
    expect(button).to_have_attribute("aria-expanded", "true")
    assert focused(page)["text"] == "Authorize Business Texting", "Space did not open the menu on its first item"
    page.keyboard.press("Tab")  # leaves the menu, which closes
    expect(button).to_have_attribute("aria-expanded", "false")
    assert_focus_visible(page, "Tab out of the menu")
    page.keyboard.press("Shift+Tab")
    assert focused(page)["tag"] == "summary"

    page.keyboard.press("ArrowDown")  # Arrow Down opens it too
    expect(button).to_have_attribute("aria-expanded", "true")
    assert focused(page)["text"] == "Authorize Business Texting"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Authorize Business Texting").wait_for()

    # The wizard: a location (arrow keys on the select), two numbers (Space), Next, the summary, Submit.
    tab_to(page, lambda f: f["id"] == "wizard-location", "the location")
    location = page.locator("#wizard-location")
    for _ in range(10):
        if location.evaluate("s => s.selectedOptions[0].text").startswith("San Francisco HQ"):
            break
        page.keyboard.press("ArrowDown")
    page.get_by_role("heading", name="Numbers in San Francisco HQ").wait_for()
    expect(page.locator("#wizard-steps [aria-current=step]")).to_have_text("Select numbers")
    assert focused(page)["id"] == "wizard-location", "choosing a location lost the keyboard's place"
    # The count is read out: the live region around it stays in the page while the bar inside it is swapped.
    page.evaluate("window.liveRegion = document.querySelector('#wizard-selection').closest('[aria-live]')")
    for ticked in (1, 2):
        tab_to(page, lambda f: f["type"] == "checkbox" and f["name"] == "number", f"number {ticked}")
        page.keyboard.press("Space")
        count = f"{ticked} number{'s' if ticked > 1 else ''} selected"
        expect(page.locator("#selected-count")).to_have_text(count)
        assert focused(page)["type"] == "checkbox", "ticking a number lost the keyboard's place"
        assert page.evaluate(
            "(count) => liveRegion && liveRegion.isConnected && liveRegion.innerText.includes(count)", count
        ), "the selected count changed outside the live region that was there before (a screen reader says nothing)"
    tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "Next", "Next", limit=200)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Order summary").wait_for()
    assert page.locator("#summary-count").inner_text() == "2"
    tab_to(page, lambda f: f["text"] == "Submit order", "Submit order")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=re.compile(r"Authorisation order #\d+")).wait_for()
    assert AuthorisationOrder.objects.get().lines.count() == 2


def test_read_only_admin_reaches_the_disabled_entries_which_do_nothing(page, demo):
    sign_in(page, "readonly@acme.example")
    page.goto("/calling/pstn/")
    tab_to(page, lambda f: f["tag"] == "summary", "the Manage button")
    page.keyboard.press("Enter")
    expect(manage_button(page)).to_have_attribute("aria-expanded", "true")
    now = assert_focus_visible(page, "menu opened")
    assert (now["role"], now["text"], now["disabled"]) == ("menuitem", "Authorize Business Texting", True)
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    now = assert_focus_visible(page, "the second entry")
    assert (now["text"], now["disabled"]) == ("Open Cisco Calling Plan Support Case", True)
    assert page.url.endswith("/calling/pstn/")
    page.keyboard.press("Escape")
    expect(manage_button(page)).to_have_attribute("aria-expanded", "false")
    assert focused(page)["tag"] == "summary"
