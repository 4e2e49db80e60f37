"""Back after an htmx swap, in Chromium: the page comes back whole, with the Control Hub shell around the list, even
when htmx's history cache has no copy of it (it then asks the server, with HX-Request) and when the browser's own
cache holds the swapped piece under the same URL (Vary: HX-Request keeps them apart)."""

import pytest

from portal.models import User
from tests.conftest import login
from tests.factories import make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

# Empties htmx's history cache: its copies of the pages it pushed (htmx 2.0.11 keeps them in sessionStorage; earlier
# versions in localStorage).
FORGET_HISTORY = "for (const s of [sessionStorage, localStorage]) s.removeItem('htmx-history-cache')"


@pytest.fixture
def admin_with_users():
    org = make_org("History Corp")
    admin = make_user(org, role=User.Role.FULL_ADMIN, email="admin@history.test")
    for n in range(30):
        make_user(org, role=User.Role.READONLY_ADMIN, email=f"reader{n:02d}@history.test")
    return admin


def whole_users_page(page, search):
    """The users page with the shell: sidebar, heading, search box, and the list."""
    shell = page.get_by_role("navigation", name="Main")
    assert shell.is_visible(), "no sidebar: the browser shows a bare piece of the page"
    assert page.get_by_role("heading", name="Users").is_visible()
    assert page.get_by_role("searchbox", name="Search users").input_value() == search
    assert page.locator("#user-rows table").is_visible()


def test_back_after_swaps_shows_the_whole_page_when_the_history_cache_misses(page, admin_with_users):
    login(page, admin_with_users.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    page.evaluate("window.sameDocument = true")

    # Search (a swap that pushes ?q=reader), then page 2 of the results (another swap, pushing &page=2).
    page.get_by_role("searchbox", name="Search users").fill("reader")
    page.wait_for_url("**/users/?q=reader")
    page.get_by_text("30 users matching").wait_for()
    page.locator("#user-rows").get_by_role("link", name="Next ›").click()
    page.wait_for_url("**/users/?q=reader&page=2")
    page.get_by_text("Page 2 of 2").wait_for()
    assert page.evaluate("window.sameDocument === true"), "the swaps reloaded the page"

    # Back with htmx's cache emptied: htmx asks the server for ?q=reader (HX-Request, HX-History-Restore-Request)
    # and puts the answer in place of the whole body.
    page.evaluate(FORGET_HISTORY)
    with page.expect_response(lambda r: r.request.headers.get("hx-history-restore-request") == "true") as restore:
        page.go_back()
    assert restore.value.status == 200
    page.wait_for_url("**/users/?q=reader")
    page.get_by_text("Page 1 of 2").wait_for()
    whole_users_page(page, "reader")
    page.screenshot(path="/tmp/texting-hub-history-restore.png", full_page=True)


def test_back_from_another_page_after_a_swap_shows_the_whole_page(page, admin_with_users):
    login(page, admin_with_users.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    page.get_by_role("searchbox", name="Search users").fill("reader")
    page.wait_for_url("**/users/?q=reader")
    page.get_by_text("30 users matching").wait_for()

    # Away to another page (a full load), and Back with htmx's cache emptied: the browser loads ?q=reader itself.
    # Its HTTP cache holds the piece the swap fetched from that very URL; it must not show it as the page.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Locations").click()
    page.get_by_role("heading", name="Locations").wait_for()
    page.evaluate(FORGET_HISTORY)
    page.go_back()
    page.wait_for_url("**/users/?q=reader")
    page.locator("#user-rows").wait_for()
    whole_users_page(page, "reader")
